#!/usr/bin/env node
// Cache compiled modules between runs: start-up time is what users feel on every command.
import module from 'node:module'
module.enableCompileCache?.()

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
