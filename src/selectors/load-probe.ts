import {Worker} from 'node:worker_threads'

/** How long a selector module may take to load (its top-level code), unless overridden. */
export const SELECTOR_LOAD_TIMEOUT_MS = 10_000

/** Why a module could not be loaded safely; null when it loaded. */
export type ProbeFailure =
  {kind: 'timeout'; ms: number} | {kind: 'exit'; exitCode: number} | {kind: 'error'; message: string}

// CommonJS, evaluated in the worker: imports the module and says whether that finished.
const PROBE = `
const {parentPort, workerData} = require('node:worker_threads')
import(workerData.url).then(
  () => parentPort.postMessage({loaded: true}),
  (e) => parentPort.postMessage({loaded: false, message: String((e && e.message) || e).split('\\n')[0]}),
)
`

/**
 * Loads a user module once in a worker thread, bounded in time, before wolphin imports it itself: a
 * module whose top-level code loops for ever, never settles, or calls process.exit() would
 * otherwise hang wolphin or end it with that exit code (0 looks like success). In the worker an
 * endless loop is stopped by terminate() and process.exit() only ends the worker. The module's top
 * level therefore runs twice; a selector module should have no side effects when imported.
 */
export async function probeModuleLoad(
  url: string,
  timeoutMs = SELECTOR_LOAD_TIMEOUT_MS,
): Promise<ProbeFailure | null> {
  const worker = new Worker(PROBE, {
    eval: true,
    workerData: {url},
    // The module's output is not wolphin's: its stdout must not corrupt a --json document.
    stdout: true,
    stderr: true,
  })
  worker.stdout.resume()
  worker.stderr.resume()
  try {
    return await new Promise<ProbeFailure | null>((resolve) => {
      // The time limit is the module's: it starts once the worker runs (starting one on a busy
      // machine can take a while), with a bound on the start as well.
      let timer = setTimeout(() => resolve({kind: 'timeout', ms: timeoutMs}), timeoutMs + 30_000)
      worker.once('online', () => {
        clearTimeout(timer)
        timer = setTimeout(() => resolve({kind: 'timeout', ms: timeoutMs}), timeoutMs)
      })
      worker.once('message', (m: {loaded: boolean; message?: string}) => {
        clearTimeout(timer)
        resolve(m.loaded ? null : {kind: 'error', message: m.message ?? 'unknown error'})
      })
      worker.once('error', (e: Error) => {
        clearTimeout(timer)
        resolve({kind: 'error', message: String(e.message).split('\n')[0]})
      })
      // Exited without a message: process.exit() in the module, or a top-level await that never
      // settles (the worker's event loop ran dry).
      worker.once('exit', (exitCode) => {
        clearTimeout(timer)
        resolve({kind: 'exit', exitCode})
      })
    })
  } finally {
    await worker.terminate()
  }
}

export function probeMessage(p: ProbeFailure): string {
  if (p.kind === 'timeout')
    return `did not finish loading within ${p.ms / 1000}s (does its top-level code loop or wait?)`
  if (p.kind === 'exit')
    return `exited (code ${p.exitCode}) while loading: a selector module must not call process.exit() or leave a top-level await unsettled`
  return `failed to load: ${p.message}`
}
