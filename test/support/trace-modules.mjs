// Preloaded with `node --import`: records every module URL the process resolves and writes the
// list (one per line) to $WOLPHIN_TRACE_FILE when the process exits. Uses Node's synchronous
// in-thread hooks (module.registerHooks, Node >= 22.15), which see both import and require.
import {appendFileSync} from 'node:fs'
import module from 'node:module'

const out = process.env.WOLPHIN_TRACE_FILE
const seen = new Set()
module.registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context)
    if (r && r.url) seen.add(r.url)
    return r
  },
})
process.on('exit', () => {
  if (out) appendFileSync(out, [...seen].join('\n') + '\n')
})
