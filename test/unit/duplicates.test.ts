/**
 * No block of six or more lines stands twice in src/ (the same lines, or the same shape with other
 * names): one home for each rule. scripts/duplicates-allowed.json lists the pairs that stay, with
 * why; it only shrinks.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {expect} from 'chai'

import {ROOT} from '../support/moto.js'

interface Found {
  a: string
  b: string
  files: [string, string]
  lines: number
}
interface DuplicatesScript {
  findDuplicates(dirs: string[], opts?: {minLines?: number; root?: string}): Promise<Found[]>
  normalize(line: string, state: {inComment: boolean}): string | null
  shapeOf(line: string): string
}
const script = (): Promise<DuplicatesScript> => import(path.join(ROOT, 'scripts/duplicates.mjs'))
const pairKey = (files: string[]) => [...files].sort().join(' ~ ')

describe('no repeated blocks in src/', function () {
  this.timeout(30_000)

  it('finds a repeated block by shape, and passes over comments, imports and punctuation (control)', async () => {
    const {normalize, shapeOf} = await script()
    const state = {inComment: false}
    expect(normalize('import {x} from "y"', state)).to.equal(null)
    expect(normalize('  // a comment', state)).to.equal(null)
    expect(normalize('  })', state)).to.equal(null)
    expect(normalize('/** doc', state)).to.equal(null)
    expect(normalize(' * still doc */ const a =  1', state)).to.equal('const a = 1')
    expect(shapeOf("const fooBar = await this.get('x', 42)")).to.equal(
      shapeOf('const b = await this.z("q", 7)'),
    )
    expect(shapeOf('if (a) return b')).to.not.equal(shapeOf('while (a) return b'))
  })

  it('every pair of places sharing 6+ lines is one listed, with its reason, in scripts/duplicates-allowed.json', async () => {
    const {findDuplicates} = await script()
    const found = await findDuplicates(['src'])
    const allowed = JSON.parse(await readFile(path.join(ROOT, 'scripts/duplicates-allowed.json'), 'utf8'))
      .allowed as Array<{files: string[]; reason: string}>
    const ok = new Set(allowed.map((x) => pairKey(x.files)))
    const unexpected = found
      .filter((f) => !ok.has(pairKey(f.files)))
      .map((f) => `${f.a} ~ ${f.b} (${f.lines} lines)`)
    expect(
      unexpected,
      'give the repeated logic one home (or list the pair, with why, in duplicates-allowed.json)',
    ).to.deep.equal([])
    const seen = new Set(found.map((f) => pairKey(f.files)))
    const stale = allowed.filter((x) => !seen.has(pairKey(x.files))).map((x) => pairKey(x.files))
    expect(stale, 'no longer repeated: remove from scripts/duplicates-allowed.json').to.deep.equal([])
    for (const x of allowed) expect(x.reason, pairKey(x.files)).to.be.a('string').and.not.equal('')
  })
})
