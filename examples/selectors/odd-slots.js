// A custom selector: the instances in odd slots (1, 3, 5, ...). Use it with any command that
// takes a selection:
//   wolphin status --selector examples/selectors/odd-slots.js
//   wolphin stop --selector examples/selectors/odd-slots.js --state running
// A selector module exports (default) an object with select(instances), a class with such a
// method, or a plain function. It may only narrow: whatever it returns that it was not given is
// dropped. `instances` are wolphin's Instance objects (id, name, slot, state, tags, ...).

/** @type {import('wolphin').Selector} */
const oddSlots = {
  description: 'odd slots',
  select(instances) {
    return instances.filter((i) => i.slot !== null && i.slot % 2 === 1)
  },
}

export default oddSlots
