# Sourced: node, npm dependencies and a build that matches the sources.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$_root/scripts/ensure-node.sh"
cd "$_root"
if [ ! -d node_modules/@oclif/core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --silent --no-audit --no-fund >&2
fi
# Build only when something the build reads is newer than the last successful build (its stamp);
# WOLPHIN_REBUILD=1 forces it, WOLPHIN_SKIP_BUILD=1 skips it.
_build_inputs=(src scripts/bundle.mjs package.json package-lock.json tsconfig.json tsconfig.build.json node_modules/.package-lock.json)
_stamp=dist/.build-stamp
if [ -n "${WOLPHIN_SKIP_BUILD:-}" ]; then
  :
elif [ -z "${WOLPHIN_REBUILD:-}" ] && [ -f "$_stamp" ] && [ -f oclif.manifest.json ] &&
  [ -z "$(find "${_build_inputs[@]}" -newer "$_stamp" -print -quit 2>/dev/null)" ]; then
  : # the build is current: nothing in src/ or the build config changed since
else
  npm run --silent build >&2
  touch "$_stamp"
fi
