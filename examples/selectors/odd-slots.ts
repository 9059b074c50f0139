// The odd-slots selector in TypeScript. Node.js >= 22.18 (and 24) strips the types of a .ts file
// when it is imported, so wolphin loads it as it is, with no build step:
//   wolphin status --selector examples/selectors/odd-slots.ts
// Only erasable TypeScript works that way (types, interfaces, `import type`; no enums or
// namespaces), and not from inside node_modules. Type-check it with your own tsc, where
// 'wolphin' resolves to the installed package's declarations.
import type {Instance, Selector} from 'wolphin'

export default class OddSlots implements Selector {
  readonly description = 'odd slots'

  select(instances: Instance[]): Instance[] {
    return instances.filter((i) => i.slot !== null && i.slot % 2 === 1)
  }
}
