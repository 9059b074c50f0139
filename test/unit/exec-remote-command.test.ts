import {expect} from 'chai'

import {UsageError} from '../../src/errors.js'
import {describeStop, parseEnv, parseStopReport, shellQuote, withEnv} from '../../src/exec/remote-command.js'

describe('exec: what is sent to the remote shell', () => {
  it('--env: KEY=VALUE pairs, the value taken as given (= and quotes included)', () => {
    expect(parseEnv(['A=1', 'B=x=y', "C=it's", 'EMPTY='])).to.deep.equal({
      A: '1',
      B: 'x=y',
      C: "it's",
      EMPTY: '',
    })
    for (const bad of ['=x', '1A=x', 'A-B=x', 'NOEQUALS', 'A B=x'])
      expect(() => parseEnv([bad]), bad).to.throw(UsageError, /--env/)
  })

  it('exports the variables before the command, single-quoted', () => {
    expect(withEnv('run.sh', {})).to.equal('run.sh')
    expect(withEnv('echo "$A"', {A: "it's $HOME `x`"})).to.equal(`export A='it'\\''s $HOME \`x\`'; echo "$A"`)
    expect(shellQuote("a'b")).to.equal(`'a'\\''b'`)
  })

  it('reads what the stop script found, and says it truthfully', () => {
    expect(parseStopReport('wolphin-stop: stopped\n')).to.deep.equal({kind: 'stopped'})
    expect(parseStopReport('noise\nwolphin-stop: none\n')).to.deep.equal({kind: 'none'})
    const left = parseStopReport('wolphin-stop: running 4242 root sleep 300;\n')
    expect(left).to.deep.equal({kind: 'running', detail: '4242 root sleep 300'})
    expect(describeStop(left)).to.equal('could NOT stop the command, still running: 4242 root sleep 300')
    expect(parseStopReport('sh: pgrep: not found').kind).to.equal('unknown')
  })
})
