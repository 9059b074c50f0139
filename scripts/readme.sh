#!/usr/bin/env bash
# Regenerates the command reference in README.md (between <!-- commands --> and
# <!-- commandsstop -->) with `oclif readme`, from the built commands. Usage:
#   npm run readme            # build (tsc and bundle, no clean), refresh the manifest, rewrite README.md
#   bash scripts/readme.sh FILE   # the same into another file (the freshness test uses a copy)
# test/unit/readme.test.ts fails when the committed README.md differs from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
readme="${1:-README.md}"
if [ -z "${WOLPHIN_README_NO_BUILD:-}" ]; then
  npx tsc -p tsconfig.build.json
  node scripts/bundle.mjs
  npx oclif manifest >/dev/null
fi
# Fixed layout: help text is wrapped to the terminal width, so never run against a terminal.
env -u COLUMNS npx oclif readme --readme-path "$readme" --no-source-links </dev/null | cat >/dev/null
