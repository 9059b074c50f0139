#!/usr/bin/env bash
# The steps of examples/ci/github-workflow.yml, one per argument, so that CI and a laptop run the
# very same thing:
#   run-loadtest.sh up        validate the config against the account, then create the fleet
#   run-loadtest.sh run       copy loadtest/ to every running instance and run it there
#   run-loadtest.sh collect   write every instance's results and the fleet's status to $RESULTS_DIR
#   run-loadtest.sh down      terminate the fleet (the workflow runs this even when a step failed)
# Settings (environment):
#   WOLPHIN          how to call wolphin               (default: npx --no-install wolphin)
#   WOLPHIN_CONFIG   config files, space separated     (default: examples/loadgen.yaml)
#   WOLPHIN_PROJECT  project name, e.g. one per CI run (default: the config's)
#   TARGET_URL       what to load (required by run)
#   REQUESTS         requests per instance             (default: 100)
#   REMOTE_DIR       where the load test goes on the instances (default: /tmp/wolphin-loadtest)
#   RESULTS_DIR      where collect writes              (default: results)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
read -r -a wolphin <<<"${WOLPHIN:-npx --no-install wolphin}"
read -r -a configs <<<"${WOLPHIN_CONFIG:-examples/loadgen.yaml}"
args=()
for c in "${configs[@]}"; do args+=(-c "$c"); done
if [ -n "${WOLPHIN_PROJECT:-}" ]; then args+=(-p "$WOLPHIN_PROJECT"); fi
remote="${REMOTE_DIR:-/tmp/wolphin-loadtest}"
results="${RESULTS_DIR:-results}"

# The shared flags go right after the command name: everything after "--" belongs to exec.
w() { "${wolphin[@]}" "$1" "${args[@]}" "${@:2}"; }

case "${1:-}" in
up)
  w validate
  w create
  ;;
run)
  : "${TARGET_URL:?set TARGET_URL to what the fleet should load}"
  w put "$here/loadtest/" "$remote/"
  # Exit 0 only when the load test succeeded on every instance (3 when some failed).
  w exec -- "TARGET_URL='$TARGET_URL' REQUESTS='${REQUESTS:-100}' sh '$remote/run.sh'"
  ;;
collect)
  mkdir -p "$results"
  w exec --json -- "cat '$remote'/results/*.txt" >"$results/results.json"
  w status --json >"$results/fleet.json"
  echo "wrote $results/results.json and $results/fleet.json"
  ;;
down)
  w terminate --yes
  ;;
*)
  echo "usage: $0 up|run|collect|down" >&2
  exit 2
  ;;
esac
