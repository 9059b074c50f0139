#!/usr/bin/env bash
# `npm run bench`: installs what the benchmarks compare against (Debian's awscli, pssh and rsync, GNU time
# for peak RSS) when missing, builds, provides moto, then runs the harness (bench/run.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/bin/aws ] || missing+=(awscli)
command -v parallel-ssh >/dev/null || [ -x /usr/bin/parallel-ssh ] || missing+=(pssh)
[ -x /usr/bin/time ] || missing+=(time)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v rsync >/dev/null || missing+=(rsync)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench: installing ${missing[*]} (apt-get)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if [ -n "${WOLPHIN_BENCH_INPLACE_BUILD:-}" ]; then
  # In a tree where others run tests against dist/: compile in place instead of a clean rebuild.
  . scripts/ensure-node.sh
  npx tsc -p tsconfig.build.json >&2
else
  . scripts/ensure-deps.sh
fi
. scripts/ensure-moto.sh
mkdir -p bench/tmp
exec npx tsx bench/run.ts "$@"
