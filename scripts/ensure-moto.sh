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
# pip's own chatter goes to a log, shown only if the install fails.
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" > "$venv/pip-install.log" 2>&1; then
  cat "$venv/pip-install.log" >&2
  echo "wa-registrar: could not install moto[server]==$MOTO_VERSION from PyPI (log above; python3 with venv is needed)" >&2
  exit 1
fi
echo "$MOTO_VERSION" > "$venv/.moto-version"
