# Sourced: node, npm dependencies and a build that matches the sources.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$_root/scripts/ensure-node.sh"
cd "$_root"
if [ ! -d node_modules/@oclif/core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --silent --no-audit --no-fund >&2
fi
# Build only when an input of `npm run build` changed since the last build here: dist/.build-stamp
# holds a checksum of their names and contents (a checkout that only touches mtimes does not count;
# an added, changed or deleted source does). WOLPHIN_SKIP_BUILD=1: never build.
_build_inputs() {
  find src scripts/bundle.mjs package.json package-lock.json tsconfig.json tsconfig.build.json \
    -type f -exec cksum {} + | LC_ALL=C sort -k3 | cksum
}
if [ -z "${WOLPHIN_SKIP_BUILD:-}" ] && [ "$(cat dist/.build-stamp 2>/dev/null)" != "$(_build_inputs)" ]; then
  npm run --silent build >&2
  _build_inputs >dist/.build-stamp
fi
