#!/usr/bin/env node
// Cache compiled modules between runs: start-up time is what users feel on every command.
import module from 'node:module'
module.enableCompileCache?.()

const {main} = await import('../dist/entry.js')
await main()
