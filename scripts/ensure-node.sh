# Sourced by the other scripts: puts a Node >= 22 first on PATH, installing Node 24 from the npm
# registry into .cache/node when the machine's own node is older.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_major)" -lt 22 ]; then
  if [ ! -x "$_root/.cache/node/node_modules/.bin/node" ]; then
    echo "wolphin: node $(node --version 2>/dev/null || echo missing) is older than 22; installing Node 24 into .cache/node" >&2
    mkdir -p "$_root/.cache/node"
    npm install --no-save --silent --prefix "$_root/.cache/node" node@24 >&2
  fi
  export PATH="$_root/.cache/node/node_modules/.bin:$PATH"
fi
