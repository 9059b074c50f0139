// The CI load test of examples/ci/ from code: create a fleet, copy the load test to it, run it,
// collect the results, and always terminate. Run it from a project that has wolphin installed:
//   TARGET_URL=https://staging.example.com/ node examples/library.mjs examples/loadgen.yaml
// Arguments are config files (later ones override earlier ones); settings as in run-loadtest.sh:
// WOLPHIN_PROJECT, TARGET_URL, REQUESTS, REMOTE_DIR, RESULTS_DIR.
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {ExitCode, Project, WolphinError} from 'wolphin'

const here = path.dirname(fileURLToPath(import.meta.url))
const files = process.argv.slice(2)
const target = process.env.TARGET_URL
if (!target) {
  console.error('set TARGET_URL to what the fleet should load')
  process.exit(ExitCode.Usage)
}
const remote = process.env.REMOTE_DIR ?? '/tmp/wolphin-loadtest'
const resultsDir = process.env.RESULTS_DIR ?? 'results'

// Progress arrives as events; a library user decides what to show (here: one line each on stderr).
const onEvent = (e) => {
  if (e.type === 'action:done' || e.type === 'warn' || e.type === 'info')
    console.error(`[wolphin] ${e.message}`)
}

let project
let code = 0
try {
  project = await Project.fromConfig({
    files: files.length ? files : undefined,
    project: process.env.WOLPHIN_PROJECT,
    onEvent,
  })
  const validation = await project.validate()
  if (!validation.ok)
    throw new Error(`the config does not fit the account:\n  ${validation.problems.join('\n  ')}`)

  const created = await project.create()
  console.error(
    `fleet ${project.name}: ${created.instances.length} instance(s), ${created.launched.length} launched`,
  )

  const put = await project.put(null, path.join(here, 'ci/loadtest/'), `${remote}/`)
  if (put.summary.ok !== put.results.length) throw new Error('copying the load test failed on some instances')

  const run = await project.exec(
    null,
    `TARGET_URL='${target}' REQUESTS='${process.env.REQUESTS ?? 100}' sh '${remote}/run.sh'`,
  )
  for (const r of run.results) console.log(`${r.name}: exit ${r.exitCode} ${r.stdout.trim()}`)
  if (run.summary.ok !== run.results.length) code = ExitCode.Partial

  // Collect: the results each instance kept, and the fleet as it is now.
  const collected = await project.exec(null, `cat '${remote}'/results/*.txt`)
  await mkdir(resultsDir, {recursive: true})
  await writeFile(path.join(resultsDir, 'results.json'), JSON.stringify(collected, null, 2))
  await writeFile(path.join(resultsDir, 'fleet.json'), JSON.stringify(await project.status(), null, 2))
} catch (e) {
  console.error(`error: ${e.message}`)
  code = e instanceof WolphinError ? e.exitCode : ExitCode.Failure
} finally {
  // Always terminate, whatever happened above.
  if (project) {
    const down = await project.terminate(null)
    console.error(`terminated ${down.instances.filter((i) => i.state === 'terminated').length} instance(s)`)
  }
}
process.exit(code)
