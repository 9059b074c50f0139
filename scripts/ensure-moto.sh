# Sourced: creates the moto virtualenv under .cache/moto-venv (pinned) when missing.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
if [ ! -x "$_root/.cache/moto-venv/bin/moto_server" ]; then
  echo "wolphin: creating the moto virtualenv in .cache/moto-venv (moto[server]==$MOTO_VERSION)" >&2
  python3 -m venv "$_root/.cache/moto-venv" >&2
  "$_root/.cache/moto-venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
export WOLPHIN_MOTO_SERVER="$_root/.cache/moto-venv/bin/moto_server"
