/**
 * The two start-up checks that `@oclif/core`'s package index runs when it is imported. The
 * commands import oclif's subpaths (command, flags, args) instead: the index also loads semver (47
 * modules, ~10 ms of every command) only for the second check. Imported by base-command.ts, so
 * every wolphin command still runs them, at the same point as before (when its module loads).
 */
try {
  process.cwd()
} catch (error) {
  if ((error as NodeJS.ErrnoException)?.code === 'ENOENT')
    process.stderr.write('WARNING: current directory does not exist\n')
}
if (
  !['1', 'true', 'y', 'yes'].includes((process.env.OCLIF_DISABLE_ENGINE_WARNING ?? '').toLowerCase()) &&
  // @oclif/core's engines.node is >=22.0.0.
  Number(process.versions.node.split('.')[0]) < 22
)
  process.emitWarning(
    `Node version must be >=22.0.0 to use this CLI. Current node version: ${process.versions.node}`,
  )

export {}
