#!/usr/bin/env bash
# npm run demo: a project's whole life on a local EC2 emulator (moto), no AWS account needed:
# create, stop, start, then put/exec/get a load test on every instance (each served by a throw-away
# sshd on loopback, when OpenSSH's sshd is installed), and terminate. The steps: scripts/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-deps.sh
. scripts/ensure-moto.sh
exec node --import tsx scripts/demo.ts
