#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian 12 machine and run the whole suite.
# Used verbatim by README (command two) and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_apt=()
[ -x /usr/bin/rustc ] || need_apt+=(rustc-web cargo-web)
ls /usr/src/rustc-*/library >/dev/null 2>&1 || need_apt+=(rust-web-src)
command -v llvm-mc-19 >/dev/null || need_apt+=(llvm-19)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
"$PY" -c "import ensurepip" 2>/dev/null || need_apt+=(python3-venv)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)  # the dashboard's browser tests (Playwright never downloads one)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt: installing ${need_apt[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== pip: installing solmeter with the dev extra into .venv"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
pip_log=$(mktemp)
.venv/bin/python -m pip install -q -e '.[dev]' >"$pip_log" 2>&1 || { cat "$pip_log"; exit 1; }
rm -f "$pip_log"

# The user-side clients of the compatibility tests (tests/clients): anchorpy 0.21.0 and its pins in a venv of
# their own (.venv-anchorpy), @coral-xyz/anchor by `npm ci` (tests/clients/anchor-ts); reinstalled only when
# their pins change.
echo "== clients: anchorpy venv and @coral-xyz/anchor"
.venv/bin/python tests/clients/client_venvs.py

# A throw-away PostgreSQL cluster on a private port and socket, for the tests marked `postgres`.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDIR=$(mktemp -d /tmp/solmeter-pg.XXXXXX)
chmod 755 "$PGDIR"
PGPORT=${SOLMETER_TEST_PG_PORT:-55432}
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
echo "== postgres: starting a temporary cluster on 127.0.0.1:$PGPORT"
as_pg "$PGBIN/initdb -D $PGDIR/data -U solmeter --auth=trust >/dev/null"
as_pg "$PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start >/dev/null"
trap 'as_pg "$PGBIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$PGDIR"' EXIT
as_pg "$PGBIN/createdb -h 127.0.0.1 -p $PGPORT -U solmeter solmeter_test"
export SOLMETER_TEST_PG_URL="postgresql+psycopg://solmeter@127.0.0.1:$PGPORT/solmeter_test"

echo "== pytest"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "no tests ran: that is a failure"; exit 1; fi
exit $rc
