#!/usr/bin/env bash
# A throw-away PostgreSQL for the tests and benches of the PostgreSQL idempotency store: Debian's
# postgresql, one cluster per checkout under .brokers/postgres (git-ignored), listening on
# 127.0.0.1 only, on a free port chosen at its first start and kept. Root on Debian bookworm,
# no systemd.
#
#   bash scripts/postgres.sh start    install when absent, initdb when new, start, wait until the
#                                     paygate login works; last line:
#                                     PAYGATE_TEST_POSTGRES_URL=postgres://paygate:…@127.0.0.1:PORT/paygate
#   bash scripts/postgres.sh stop     stop it (fast mode: open sessions are rolled back)
#   bash scripts/postgres.sh status   exit 0 only when it accepts the paygate login
#   bash scripts/postgres.sh url      the URL alone (the cluster need not run)
#
# Safe to run twice: a running cluster is left alone (its role and database are checked again).
# PAYGATE_POSTGRES_STATE=DIR puts a second cluster in DIR instead (the tests start one of their
# own to stop and restart it: test/helpers/postgres.ts).
#
# fsync stays on, as in production: the store's bench measures real commits.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMEOUT=${POSTGRES_TIMEOUT:-60}

# Fixed test passwords on a loopback-only cluster, like the brokers' "<login>-test-pass".
ROLE=paygate
PASSWORD=paygate-test-pass
DATABASE=paygate
SUPERUSER=postgres
SUPERUSER_PASSWORD=postgres-test-pass

say() { echo "postgres: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# The newest Debian server binaries (never /usr/local/bin: a stray initdb there may be another
# build than the postgres next to it).
pg_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

install_missing() {
  pg_bin >/dev/null && return 0
  local t0 log=/tmp/paygate-postgres-apt.log
  t0=$(now)
  say "installing postgresql (log: $log)"
  # No Debian "main" cluster on port 5432 (its postinst would create one, and may start it):
  # the clusters here are this script's own.
  mkdir -p /etc/postgresql-common/createcluster.d
  cat >/etc/postgresql-common/createcluster.d/paygate.conf <<'EOF'
# Written by paygate scripts/postgres.sh: no main cluster; the tests run clusters of their own.
create_main_cluster = false
EOF
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold postgresql; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    say "apt-get failed installing postgresql"
    exit 1
  fi
  pg_bin >/dev/null || {
    say "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb"
    exit 1
  }
  say "installed postgresql in $(since "$t0")"
}

# initdb and postgres refuse to run as root: everything on the cluster runs as `postgres` (the
# system user the package creates), which must be able to reach the data folder.
as_postgres() { runuser -u postgres -- "$@"; }

# The cluster's folder: .brokers/postgres (git-ignored), unless PAYGATE_POSTGRES_STATE names
# another. The server runs as `postgres`, which must reach it: a checkout under a folder closed
# to that user (/root/...) keeps its cluster in /var/tmp instead, under a name made from the
# checkout's path (so start, stop and url of one checkout always find the same one).
set_state() {
  STATE=${PAYGATE_POSTGRES_STATE:-$ROOT/.brokers/postgres}
  if [ -z "${PAYGATE_POSTGRES_STATE:-}" ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    STATE=/var/tmp/paygate-postgres-$(printf %s "$ROOT" | sha256sum | cut -c1-16)
  fi
  DATA=$STATE/data
  PORT_FILE=$STATE/port
  LOG=$STATE/postgres.log
}
set_state

port() { cat "$PORT_FILE" 2>/dev/null; }
url() { echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$(port)/$DATABASE"; }

# Something (anything) accepts TCP connections on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port below Linux's ephemeral range (32768-60999), so that no outgoing connection of another
# program holds it when the cluster starts again later.
choose_port() {
  local port i
  for i in $(seq 50); do
    port=$((15000 + RANDOM % 15000))
    port_taken "$port" || {
      echo "$port"
      return 0
    }
  done
  say "no free port found"
  return 1
}

# psql over TCP (no Unix socket: its path would be under the checkout, often too long for one).
psql_as() { # USER PASSWORD DATABASE psql-args...
  local user=$1 password=$2 db=$3
  shift 3
  PGPASSWORD=$password PGCONNECT_TIMEOUT=5 "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port)" -U "$user" -d "$db" "$@"
}
login_works() { psql_as "$ROLE" "$PASSWORD" "$DATABASE" -tAc 'SELECT 1' >/dev/null 2>&1; }

postmaster_pid() { head -n 1 "$DATA/postmaster.pid" 2>/dev/null; }
# A killed server stays a zombie until its parent (init) reaps it; pg_ctl and the next postmaster
# both take a zombie for a live server.
zombie() { [ -n "$1" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
running() {
  local pid
  pid=$(postmaster_pid) || return 1
  ! zombie "$pid" && as_postgres "$(pg_bin)/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}
# Waits (up to $TIMEOUT s) for a killed server's zombie to be reaped, so that a new one may start.
wait_reaped() {
  local pid i
  pid=$(postmaster_pid) || return 0
  for i in $(seq $((TIMEOUT * 10))); do
    zombie "$pid" || return 0
    sleep 0.1
  done
}

logs() { tail -n 30 "$LOG" 2>/dev/null || true; }

# The folder the cluster lives in must be traversable by `postgres`: a checkout under a folder
# only root may enter (e.g. /root) cannot host it.
prepare_state() {
  mkdir -p "$STATE"
  chown postgres:postgres "$STATE"
  chmod 700 "$STATE"
  if ! as_postgres test -w "$STATE"; then
    say "the postgres user cannot write $STATE (a folder above it is closed to that user); set PAYGATE_POSTGRES_STATE to a folder it can reach"
    exit 1
  fi
}

init_cluster() {
  [ -f "$DATA/PG_VERSION" ] && return 0
  local pwfile t0
  t0=$(now)
  rm -rf "$DATA"
  pwfile=$STATE/superuser.pass
  echo "$SUPERUSER_PASSWORD" >"$pwfile"
  chown postgres:postgres "$pwfile"
  chmod 600 "$pwfile"
  if ! as_postgres "$(pg_bin)/initdb" -D "$DATA" -U "$SUPERUSER" --pwfile="$pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C >"$STATE/initdb.log" 2>&1; then
    tail -n 20 "$STATE/initdb.log" >&2
    rm -f "$pwfile"
    say "initdb failed in $DATA"
    exit 1
  fi
  rm -f "$pwfile"
  # Only TCP on loopback, password (SCRAM) for every login: the same path as a production host.
  cat >"$DATA/pg_hba.conf" <<'EOF'
# Written by paygate scripts/postgres.sh: loopback only, SCRAM passwords.
host all all 127.0.0.1/32 scram-sha-256
EOF
  cat >>"$DATA/postgresql.conf" <<'EOF'
# Written by paygate scripts/postgres.sh.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
password_encryption = scram-sha-256
# Many pools at once: every test file opens its own, each worker process of the e2e its own.
max_connections = 300
fsync = on
synchronous_commit = on
include_if_exists = 'paygate-port.conf'
EOF
  say "initialised $DATA in $(since "$t0")"
}

# The role and the database, created when missing (re-checked on every start: idempotent). The
# role may create databases: the tests make one per store they open (test/helpers/postgres.ts).
ensure_role() {
  psql_as "$SUPERUSER" "$SUPERUSER_PASSWORD" postgres >>"$LOG.setup" 2>&1 <<EOF
SELECT 'CREATE ROLE $ROLE LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
ALTER ROLE $ROLE WITH LOGIN CREATEDB PASSWORD '$PASSWORD';
SELECT 'CREATE DATABASE $DATABASE OWNER $ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DATABASE') \gexec
EOF
}

launch() {
  local p
  p=$(port || true)
  if [ -z "$p" ] || port_taken "$p"; then
    [ -z "$p" ] || say "port $p is taken by another program; choosing another (the URL changes)"
    p=$(choose_port)
    echo "$p" >"$PORT_FILE"
  fi
  echo "port = $p" >"$DATA/paygate-port.conf"
  chown postgres:postgres "$DATA/paygate-port.conf"
  touch "$LOG"
  chown postgres:postgres "$LOG"
  wait_reaped
  # setsid: a session of its own, so the cluster outlives the shell (or tool job) that started
  # it. fd 9 is our lock: the server must not inherit it.
  as_postgres setsid -w "$(pg_bin)/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$TIMEOUT" start >>"$LOG" 2>&1 9>&- </dev/null
}

cmd_start() {
  install_missing
  set_state # the postgres user exists now
  prepare_state
  init_cluster
  local t0
  t0=$(now)
  if running; then
    echo "postgres: already running on 127.0.0.1:$(port)"
  elif ! launch; then
    say "FAILED to start on 127.0.0.1:$(port) after $(since "$t0"); last log lines:"
    logs >&2
    exit 1
  fi
  if ! ensure_role; then
    say "FAILED: could not create the $ROLE role and database; last lines:"
    tail -n 20 "$LOG.setup" >&2
    exit 1
  fi
  if ! login_works; then
    say "FAILED: the $ROLE login does not work; last log lines:"
    logs >&2
    exit 1
  fi
  echo "postgres: ready on 127.0.0.1:$(port) after $(since "$t0") ($DATA)"
  echo "PAYGATE_TEST_POSTGRES_URL=$(url)"
}

cmd_stop() {
  if [ -f "$DATA/postmaster.pid" ] && pg_bin >/dev/null; then
    # pg_ctl fails on a stale pid file too (a killed cluster): only a cluster still running is a failure.
    if ! as_postgres "$(pg_bin)/pg_ctl" -D "$DATA" -m fast -w -t "$TIMEOUT" stop >>"$LOG" 2>&1 && running; then
      say "FAILED to stop; last log lines:"
      logs >&2
      exit 1
    fi
  fi
  echo "postgres: stopped"
}

cmd_status() {
  if [ -f "$PORT_FILE" ] && pg_bin >/dev/null && login_works; then
    echo "postgres: up on 127.0.0.1:$(port) ($DATA)"
  elif pg_bin >/dev/null && running; then
    echo "postgres: running but the $ROLE login fails on 127.0.0.1:$(port)"
    return 1
  else
    echo "postgres: down"
    return 1
  fi
}

cmd_url() {
  if [ ! -f "$PORT_FILE" ]; then
    say "never started here: run bash scripts/postgres.sh start"
    exit 1
  fi
  url
}

case "${1:-}" in
  start | stop)
    # One start or stop at a time per cluster; ports are chosen under a machine-wide lock, so
    # that two clusters starting at once never pick the same one.
    exec 9>/tmp/paygate-postgres.lock
    flock -w 300 9
    "cmd_$1"
    ;;
  status) cmd_status ;;
  url) cmd_url ;;
  *)
    echo "usage: $0 start|stop|status|url" >&2
    exit 2
    ;;
esac
