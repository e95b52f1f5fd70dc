#!/bin/sh
# The local PostgreSQL cluster of `make serve`'s Dagster instance (docs/postgres.md), with Debian's binaries.
#
#   deploy/postgres/pg.sh start DIR [PORT]   initialise DIR once (initdb), start the server, create the database
#   deploy/postgres/pg.sh stop DIR           stop it (fast shutdown: open sessions are ended, nothing is lost)
#   deploy/postgres/pg.sh status DIR         exit 0 when it runs
#   deploy/postgres/pg.sh url DIR [PORT]     the postgres_url of the database for Dagster (through the socket)
#
# The server listens on a unix socket in DIR only (listen_addresses is empty: no TCP port at all), DIR mode 0700,
# so only its owner (and root) can connect; the superuser is `pfpw`, trusted on that socket, the database
# `dagster`. PORT (default 5432) only names the socket file (DIR/.s.PGSQL.PORT). initdb and the server refuse
# to run as root: as root, DIR belongs to the `postgres` user and everything runs through runuser; otherwise
# as the current user. PFPW_PG_BIN names the binaries' folder (default: the newest /usr/lib/postgresql/*/bin).
set -eu

me="deploy/postgres/pg.sh"
cmd=${1:-}
dir=${2:-}
port=${3:-5432}
user=pfpw
db=dagster

die() { echo "$me: $*" >&2; exit 1; }

[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $me start|stop|status|url DIR [PORT]"
case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac
# the libpq URL carries DIR unquoted, and a unix socket's path is at most 107 bytes
case "$dir" in *[!A-Za-z0-9/._-]*) die "DIR may hold letters, digits and / . _ - only: $dir" ;; esac
case "$port" in '' | *[!0-9]*) die "PORT must be a number: $port" ;; esac
[ ${#dir} -le 90 ] || die "DIR is too long for a unix socket path (${#dir} > 90 characters): $dir"

# SQLAlchemy's form (dagster-postgres connects through SQLAlchemy 2.1, whose bare postgresql:// means psycopg 3)
url="postgresql+psycopg2://$user@/$db?host=$dir&port=$port"
if [ "$cmd" = url ]; then
  echo "$url"
  exit 0
fi

if [ -z "${PFPW_PG_BIN:-}" ]; then
  PFPW_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -n "$PFPW_PG_BIN" ] && [ -x "$PFPW_PG_BIN/initdb" ] && [ -x "$PFPW_PG_BIN/pg_ctl" ] ||
  die "no PostgreSQL binaries (${PFPW_PG_BIN:-/usr/lib/postgresql/*/bin}/initdb): apt-get install postgresql, or name an existing server in PFPW_DAGSTER_PG_URL"

if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run the server as"
  as_owner() { runuser -u postgres -- "$@"; }
else
  as_owner() { "$@"; }
fi

running() { [ -f "$dir/PG_VERSION" ] && as_owner "$PFPW_PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; }

case "$cmd" in
status)
  running
  ;;
stop)
  if running; then
    as_owner "$PFPW_PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
    echo "$me: stopped the cluster in $dir"
  fi
  ;;
start)
  if [ ! -f "$dir/PG_VERSION" ]; then
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
      die "$dir is neither empty nor a PostgreSQL cluster"
    fi
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres:postgres "$dir"
      as_owner test -w "$dir" -a -x "$dir" ||
        die "the postgres user cannot reach $dir (a parent folder it may not enter?): choose another PG_DIR"
    fi
    echo "$me: initialising a PostgreSQL cluster in $dir"
    as_owner "$PFPW_PG_BIN/initdb" -D "$dir" -U "$user" --auth-local=trust --auth-host=reject \
      -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 ||
      { cat "$dir.initdb.log" >&2; die "initdb failed"; }
    rm -f "$dir.initdb.log"
  fi
  if ! running; then
    as_owner "$PFPW_PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=$port" start >/dev/null ||
      { tail -n 20 "$dir/server.log" >&2; die "the server did not start (log: $dir/server.log)"; }
  fi
  exists=$("$PFPW_PG_BIN/psql" -X -q -t -A -h "$dir" -p "$port" -U "$user" -d postgres \
    -c "select 1 from pg_database where datname = '$db'")
  if [ "$exists" != 1 ]; then
    "$PFPW_PG_BIN/createdb" -h "$dir" -p "$port" -U "$user" "$db"
  fi
  echo "$me: PostgreSQL runs in $dir (socket only), database $db"
  ;;
*)
  die "unknown command $cmd (start, stop, status or url)"
  ;;
esac
