#!/usr/bin/env bash
# Creates the project-local virtualenv with the pinned AWS emulator (moto server) on first use.
# Idempotent: a venv whose moto matches the pin is left alone.
set -euo pipefail
MOTO_VERSION="5.2.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
if [ -x "$venv/bin/moto_server" ] && [ "$(cat "$venv/.moto-version" 2>/dev/null)" = "$MOTO_VERSION" ]; then
  exit 0
fi
echo "wa-registrar: installing moto[server]==$MOTO_VERSION into .venv (first run only)..." >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
echo "$MOTO_VERSION" > "$venv/.moto-version"
