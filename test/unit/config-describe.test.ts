import {expect} from 'chai'

import {describeConfig} from '../../src/config/describe.js'
import {loadConfig} from '../../src/config/load.js'

describe('config: where each field came from', () => {
  it('names the layer of every field, keeps user data out, and says when the region comes from the env', async () => {
    const loaded = await loadConfig({
      inline: {project: 'p', subnet: ['subnet-1'], userData: '#!/bin/sh\necho secret', count: 3},
      region: 'eu-west-1',
    })
    const r = describeConfig(loaded.config, loaded.sources, loaded.files, {})
    expect(r.sources).to.include({
      project: 'inline',
      subnets: 'inline',
      userData: 'inline',
      count: 'inline',
      region: 'flag',
      instanceType: 'default',
      keyName: 'unset',
      ssh: 'unset',
    })
    expect(r.config.userData).to.equal('(21 bytes, not shown)')
    expect(JSON.stringify(r)).to.not.include('secret')
    expect(r.config.keyName).to.equal(null)

    const noRegion = await loadConfig({inline: {project: 'p'}})
    const env = describeConfig(noRegion.config, noRegion.sources, noRegion.files, {
      AWS_DEFAULT_REGION: 'ap-south-1',
    })
    expect([env.config.region, env.sources.region]).to.deep.equal(['ap-south-1', 'env AWS_DEFAULT_REGION'])
    const none = describeConfig(noRegion.config, noRegion.sources, noRegion.files, {})
    expect([none.config.region, none.sources.region]).to.deep.equal([null, 'unset'])
  })
})
