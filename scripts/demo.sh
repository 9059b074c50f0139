#!/usr/bin/env bash
# npm run demo: a project's whole life on a local EC2 emulator (moto), no AWS account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-deps.sh
. scripts/ensure-moto.sh
ROOT="$PWD"
PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
WORK="$(mktemp -d)"
"$WOLPHIN_MOTO_SERVER" -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/moto-api/data.json" >/dev/null 2>&1 && break; sleep 0.2; done

# Only loopback: the endpoint is the local emulator; fake credentials.
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null NODE_NO_WARNINGS=1
cat >"$WORK/wolphin.yaml" <<'YAML'
project: demo
email: you@example.com
ami: ami-12c6146b
instanceType: t3.micro
count: {min: 2, max: 3}
tags: {team: load-testing}
wait: {interval: 0.5, timeout: 60}
YAML
cd "$WORK"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
echo "moto (local EC2 emulator) on 127.0.0.1:$PORT; config:"
cat wolphin.yaml
step node "$ROOT/bin/run.js" create
step node "$ROOT/bin/run.js" status
step node "$ROOT/bin/run.js" create
step node "$ROOT/bin/run.js" stop -i 2
step node "$ROOT/bin/run.js" status
step node "$ROOT/bin/run.js" start
step node "$ROOT/bin/run.js" terminate --dry-run
step node "$ROOT/bin/run.js" terminate --yes
step node "$ROOT/bin/run.js" status
printf '\ndemo done: created, inspected, stopped, started and terminated project "demo" on a local emulator\n'
