#!/usr/bin/env bash
# The test command of the README: installs what the tests need, builds, runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-deps.sh
. scripts/ensure-moto.sh
# sshd for the exec/put e2e tests: installed by .ci/run (apt-get); found here when present.
if [ $# -eq 0 ]; then set -- "test/**/*.test.ts"; fi
exec npx mocha "$@"
