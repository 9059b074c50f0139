#!/bin/sh
# The load test each instance runs: REQUESTS sequential requests to TARGET_URL, then one summary
# line on stdout, also kept in results/ next to this script for `collect`.
set -eu
: "${TARGET_URL:?set TARGET_URL}"
REQUESTS="${REQUESTS:-100}"
dir="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$dir/results"
# The HTTP status of one GET: curl, else wget, else python3 (whichever the image has).
status_of() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$1" || true
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 10 -O /dev/null --server-response "$1" 2>&1 | awk '/^  HTTP\//{c=$2} END{print c}'
  else
    python3 -c 'import sys, urllib.request as u
try: print(u.urlopen(sys.argv[1], timeout=10).status)
except Exception as e: print(getattr(e, "code", 0))' "$1"
  fi
}
ok=0
failed=0
started="$(date +%s)"
i=0
while [ "$i" -lt "$REQUESTS" ]; do
  code="$(status_of "$TARGET_URL")"
  case "$code" in
  2??) ok=$((ok + 1)) ;;
  *) failed=$((failed + 1)) ;;
  esac
  i=$((i + 1))
done
line="requests=$REQUESTS ok=$ok failed=$failed seconds=$(($(date +%s) - started))"
echo "$line" | tee "$dir/results/$(hostname)-$$.txt"
