#!/usr/bin/env bash
# The test command: installs everything the tests need on a Debian machine, starts the
# services they use if they are down, then runs ruff and the whole pytest suite.
# Exits non-zero on any failure. Usage: bash scripts/test.sh [pytest args…]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

log() { printf '\n== %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------------------
fresh_pg=0
if [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  fresh_pg=1
fi
pgver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)"
want=(chromium chromium-driver fonts-noto-cjk fonts-wqy-microhei poppler-utils mosquitto mosquitto-clients
      libjpeg-turbo-progs)
if [ "$fresh_pg" = 1 ]; then
  want+=(postgresql postgresql-postgis)
else
  want+=("postgresql-${pgver}-postgis-3")
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
pgver="$(ls /etc/postgresql | sort -V | tail -1)"

# --- services ---------------------------------------------------------------------------
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL ${pgver}"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$pgver" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if [ "$fresh_pg" = 1 ]; then
  # A PostgreSQL this script just installed: let local test connections in without a password.
  hba="/etc/postgresql/${pgver}/main/pg_hba.conf"
  if ! grep -q "onegrid-tests" "$hba"; then
    echo "host all all 127.0.0.1/32 trust # onegrid-tests" | $SUDO tee -a "$hba" >/dev/null
    $SUDO sed -i '0,/^local/s//local all all trust # onegrid-tests\nlocal/' "$hba"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$pgver" main reload
  fi
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='test'" \
    | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
fi
PGOPTIONS="--client-min-messages=warning" psql -h 127.0.0.1 -U postgres -d test -qc \
  "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  log "starting Mosquitto"
  $SUDO mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi

# --- Python packages --------------------------------------------------------------------
log "installing Python packages (requirements-dev.txt)"
"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt

# --- checks -----------------------------------------------------------------------------
log "ruff"
"$PYTHON" -m ruff check .
log "pytest"
"$PYTHON" -m pytest -q "$@"
