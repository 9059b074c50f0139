#!/bin/sh
# The load test each instance runs: REQUESTS sequential requests to TARGET_URL, then one summary
# line on stdout, also kept in results/ next to this script for `collect`.
set -eu
: "${TARGET_URL:?set TARGET_URL}"
REQUESTS="${REQUESTS:-100}"
dir="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$dir/results"
ok=0
failed=0
started="$(date +%s)"
i=0
while [ "$i" -lt "$REQUESTS" ]; do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$TARGET_URL" || true)"
  case "$code" in
  2??) ok=$((ok + 1)) ;;
  *) failed=$((failed + 1)) ;;
  esac
  i=$((i + 1))
done
line="requests=$REQUESTS ok=$ok failed=$failed seconds=$(($(date +%s) - started))"
echo "$line" | tee "$dir/results/$(hostname)-$$.txt"
