#!/usr/bin/env bash
# Install solmeter into .venv on a fresh Debian 12 machine and run the end-to-end demo on the embedded
# localnet and SQLite. README command one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "== apt: installing python3-venv"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf .venv; "$PY" -m venv .venv
  fi
fi
echo "== pip: installing solmeter into .venv"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
pip_log=$(mktemp)
.venv/bin/python -m pip install -q -e . >"$pip_log" 2>&1 || { cat "$pip_log"; exit 1; }
rm -f "$pip_log"
exec .venv/bin/solmeter demo "$@"
