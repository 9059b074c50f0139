#!/usr/bin/env bash
# The test command of the README: installs what the tests need, builds, then checks everything CI
# checks: lint (ESLint with the import boundaries, Prettier), the type-check of src/ and test/, and
# every mocha suite under a coverage report. The last line is mocha's "N passed, N failed, N skipped".
# With arguments (test files), only those suites run, still under coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-deps.sh
. scripts/ensure-moto.sh
# sshd for the exec/put e2e tests: installed by .ci/run (apt-get); found here when present.
checks=0
if [ $# -eq 0 ]; then
  set -- "test/**/*.test.ts"
  echo "lint: eslint and prettier" >&2
  npm run --silent lint || checks=1
  echo "typecheck: tsc --noEmit over src and test" >&2
  npm run --silent typecheck || checks=1
fi
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
status=0
WOLPHIN_SUMMARY_FILE="$summary" npx c8 --reporter=none mocha "$@" || status=$?
npx c8 report || true
[ "$checks" -eq 0 ] || echo "lint or typecheck failed (see above)"
printf '\n'
cat "$summary"
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$checks"
