/**
 * `wolphin autocomplete` (and its hidden `script` and `create`): @oclif/plugin-autocomplete's
 * commands, imported from the installed plugin only when one of them runs. Listed as an oclif
 * plugin instead, it was loaded by every command (its package.json, its manifest, dependency
 * matching: ~6 ms of `--help` and of `status`). The plugin's package "exports" hide its command
 * files, so they are found from its main file. Help, flags and arguments are the plugin's own.
 */
import {createRequire} from 'node:module'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {Command} from '@oclif/core/command'

/** What is used of a command class of the plugin (which extends its own copy of oclif's Command). */
type PluginCommand = Pick<
  typeof Command,
  'summary' | 'description' | 'examples' | 'args' | 'flags' | 'hidden'
> & {
  run(argv: string[], config: Command['config']): Promise<unknown>
}

/** The plugin's command class in lib/commands/autocomplete/`name`.js. */
async function pluginCommand(name: 'index' | 'script' | 'create'): Promise<PluginCommand> {
  const main = createRequire(import.meta.url).resolve('@oclif/plugin-autocomplete')
  const file = path.join(path.dirname(main), 'commands', 'autocomplete', `${name}.js`)
  return ((await import(pathToFileURL(file).href)) as {default: PluginCommand}).default
}

/** A command with the plugin command's help, flags and arguments, run by the plugin's class. */
export async function autocompleteCommand(name: 'index' | 'script' | 'create'): Promise<typeof Command> {
  const Plugin = await pluginCommand(name)
  return class extends Command {
    static summary = Plugin.summary
    static description = Plugin.description
    static examples = Plugin.examples
    static args = Plugin.args
    static flags = Plugin.flags
    static hidden = Plugin.hidden
    async run(): Promise<unknown> {
      return Plugin.run(this.argv, this.config)
    }
  }
}
