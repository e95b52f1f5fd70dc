#!/usr/bin/env bash
# `make bi`: Apache Superset on the served marts, in its own environment (.bi-venv, made by `make bi-install`).
#
#   prepares Superset's metadata database in $PFPW_BI_HOME (default .bi/), sets the admin's password,
#   starts gunicorn on $PFPW_BI_HOST:$PFPW_BI_PORT (default 127.0.0.1:8088), registers
#   $PFPW_WAREHOUSE_DIR/serving.duckdb read-only and provisions the datasets, charts and dashboards
#   (bi/provision.py, idempotent), then serves until Ctrl-C or SIGTERM, which stop gunicorn too.
#
# Environment: PFPW_WAREHOUSE_DIR (default warehouse/), PFPW_BI_PASSWORD (default admin),
# PFPW_BI_HOST, PFPW_BI_PORT, PFPW_BI_HOME, PFPW_BI_VENV (default .bi-venv), PFPW_BI_WORKERS (default 1),
# PFPW_BI_THREADS (default 8), PFPW_BI_LOG_LEVEL (default WARNING).
#
# A PFPW_BI_HOST other than a loopback address (127.x.x.x, ::1, localhost) serves other machines: it is
# refused (exit 2) while the admin's password is the default one (PFPW_BI_PASSWORD unset, empty or admin).
set -euo pipefail
HOST=${PFPW_BI_HOST:-127.0.0.1}
case "${PFPW_BI_PASSWORD:-admin}" in
  admin)
    if ! [[ ${HOST,,} =~ ^(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::1|\[::1\]|localhost)$ ]]; then
      echo "bi: PFPW_BI_HOST=$HOST is not a loopback address, and the admin's password is the default" \
        "(PFPW_BI_PASSWORD is unset, empty or 'admin'): set PFPW_BI_PASSWORD to a password of your own" \
        "to serve Superset beyond this machine" >&2
      exit 2
    fi
    ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${PFPW_BI_VENV:-$ROOT/.bi-venv}
PORT=${PFPW_BI_PORT:-8088}
export PFPW_BI_PASSWORD=${PFPW_BI_PASSWORD:-admin}
WAREHOUSE=${PFPW_WAREHOUSE_DIR:-$ROOT/warehouse}
export SUPERSET_HOME=${PFPW_BI_HOME:-$ROOT/.bi}
export SUPERSET_CONFIG_PATH=$ROOT/bi/superset_config.py
export FLASK_APP=superset
PY=$VENV/bin/python

if [ ! -x "$VENV/bin/gunicorn" ]; then
  echo "bi: no Superset environment in $VENV: run 'make bi-install' (make bi does)" >&2
  exit 2
fi
SERVING=$(cd "$WAREHOUSE" 2>/dev/null && pwd)/serving.duckdb
if [ ! -f "$SERVING" ]; then
  echo "bi: no serving.duckdb in $WAREHOUSE: run 'make run' first (or set PFPW_WAREHOUSE_DIR)" >&2
  exit 2
fi
if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
  echo "bi: $HOST:$PORT is taken already (another 'make bi'?): set PFPW_BI_PORT" >&2
  exit 2
fi
mkdir -p "$SUPERSET_HOME"
SUPERSET_HOME=$(cd "$SUPERSET_HOME" && pwd)
cd "$SUPERSET_HOME"  # whatever Superset or gunicorn writes beside itself lands here, not in the work tree

started=$(date +%s)
if "$PY" "$ROOT/bi/init_superset.py" >"$SUPERSET_HOME/init.log" 2>&1; then
  grep '^bi:' "$SUPERSET_HOME/init.log" || true
else
  tail -n 40 "$SUPERSET_HOME/init.log" >&2
  echo "bi: preparing Superset's metadata database failed (the whole log: $SUPERSET_HOME/init.log)" >&2
  exit 1
fi

"$VENV/bin/gunicorn" \
  --bind "$HOST:$PORT" \
  --workers "${PFPW_BI_WORKERS:-1}" --worker-class gthread --threads "${PFPW_BI_THREADS:-8}" \
  --timeout 120 --limit-request-line 8190 \
  --no-control-socket --log-level warning \
  "superset.app:create_app()" &
server=$!
stop() {
  trap - EXIT INT TERM
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

"$PY" "$ROOT/bi/provision.py" --url "http://$HOST:$PORT" --serving "$SERVING" --server-pid "$server"

cat <<EOF

  Superset on the served marts is up ($(( $(date +%s) - started )) s):
    http://$HOST:$PORT/superset/dashboard/pfpw-district/
    http://$HOST:$PORT/superset/dashboard/pfpw-supervision/   (月督查)
    login: admin   password: $PFPW_BI_PASSWORD   (set PFPW_BI_PASSWORD to change it)
    database: $SERVING (read-only, no access to other files, settings locked)
  Ctrl-C stops it.

EOF
wait "$server"
