// mocha's spec reporter, then the plain summary line CI reads: "N passed, N failed, N skipped".
// With WOLPHIN_SUMMARY_FILE set (scripts/test.sh), the line goes to that file instead, so that the
// script can print it last, after the coverage report.
const fs = require('node:fs')
const Mocha = require('mocha')
const {EVENT_RUN_END} = Mocha.Runner.constants

class WolphinReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats
      const line = `${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`
      if (process.env.WOLPHIN_SUMMARY_FILE) fs.writeFileSync(process.env.WOLPHIN_SUMMARY_FILE, line)
      else process.stdout.write(`\n${line}`)
    })
  }
}
module.exports = WolphinReporter
