# Sourced: node, npm dependencies and a fresh build.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$_root/scripts/ensure-node.sh"
cd "$_root"
if [ ! -d node_modules/@oclif/core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --silent --no-audit --no-fund >&2
fi
[ -n "${WOLPHIN_SKIP_BUILD:-}" ] || npm run --silent build >&2
