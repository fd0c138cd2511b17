#!/usr/bin/env bash
# Install, start, stop and probe the external STOMP brokers that the integration
# suite runs against (DESIGN.md §6): RabbitMQ on 127.0.0.1:61613 and ActiveMQ on
# 127.0.0.1:61623, both from Debian packages. Root on Debian bookworm, no systemd.
#
#   bash scripts/brokers.sh start    install when absent, start, wait for STOMP CONNECTED;
#                                    last line: PAYGATE_TEST_BROKERS=embedded,...
#   bash scripts/brokers.sh stop     stop both
#   bash scripts/brokers.sh status   exit 0 only when both answer STOMP
#
# Safe to run twice: a broker that already answers is left alone.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$ROOT/.brokers # git-ignored
TIMEOUT=${BROKERS_TIMEOUT:-90}

RABBIT_PORT=61613
RABBIT_LOG=$STATE/rabbitmq-start.log
RABBIT_NODE_LOG=/var/log/rabbitmq/rabbit@localhost.log

AMQ_PORT=61623
AMQ_HOME=/usr/share/activemq
AMQ_DIR=$STATE/activemq
AMQ_PID=$AMQ_DIR/activemq.pid
AMQ_LOG=$AMQ_DIR/console.log

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
say() { echo "brokers: $*" >&2; }

# True when 127.0.0.1:$1 answers a STOMP 1.2 CONNECT with CONNECTED (a TCP
# accept alone is not enough: both brokers open their port before they serve).
stomp_probe() {
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "CONNECT\naccept-version:1.2\nhost:/\nlogin:%s\npasscode:%s\nheart-beat:0,0\n\n\0" "$2" "$3" >&3
    IFS= read -r line <&3 || exit 1
    [ "${line%$'\''\r'\''}" = CONNECTED ] || exit 1
    printf "DISCONNECT\n\n\0" >&3 || true
  ' _ "$@" 2>/dev/null
}
rabbit_probe() { stomp_probe "$RABBIT_PORT" guest guest; }
amq_probe() { stomp_probe "$AMQ_PORT" admin admin; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# --- RabbitMQ -------------------------------------------------------------

# Written before the package is installed too: on a machine where the postinst
# may start the service, it then starts loopback-only from the first second.
rabbit_config() {
  mkdir -p /etc/rabbitmq
  cat >/etc/rabbitmq/rabbitmq.conf <<'EOF'
# Written by paygate scripts/brokers.sh: a loopback-only test broker.
listeners.tcp.default = 127.0.0.1:5672
stomp.listeners.tcp.1 = 127.0.0.1:61613
stomp.default_vhost = /
EOF
  # A fixed node name: rabbitmqctl must find the node whatever the container's
  # hostname is today (mnesia and the log file are named after it as well).
  cat >/etc/rabbitmq/rabbitmq-env.conf <<'EOF'
# Written by paygate scripts/brokers.sh.
NODENAME=rabbit@localhost
# Erlang distribution and epmd on loopback too: nothing here needs the network.
export ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
}

rabbit_pids() { pgrep -u rabbitmq -x beam.smp 2>/dev/null || true; }

# Erlang refuses a cookie that others can read, and a root-owned one after a
# manual run makes every rabbitmqctl call fail with an auth error.
rabbit_fix_cookie() {
  local cookie=/var/lib/rabbitmq/.erlang.cookie
  [ -f "$cookie" ] || return 0
  chown rabbitmq:rabbitmq "$cookie"
  chmod 400 "$cookie"
}

kill_pids() { # pid... : TERM, wait up to 30 s, then KILL
  [ $# -gt 0 ] || return 0
  kill "$@" 2>/dev/null || true
  kill -CONT "$@" 2>/dev/null || true # a stopped (SIGSTOP) process acts on TERM only once resumed
  local i
  for i in $(seq 60); do
    kill -0 "$@" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -9 "$@" 2>/dev/null || true
}

rabbit_stop() {
  if [ -n "$(rabbit_pids)" ]; then
    rabbit_fix_cookie
    timeout 30 rabbitmqctl shutdown >>"$RABBIT_LOG" 2>&1 || true
    # A half-dead node (other node name, lost cookie, hung) ignores rabbitmqctl.
    # shellcheck disable=SC2046
    kill_pids $(rabbit_pids)
  fi
  # epmd outlives the node; a stale one is harmless but would keep `stop` from
  # being a clean slate.
  # shellcheck disable=SC2046
  kill_pids $(pgrep -u rabbitmq -x epmd 2>/dev/null || true)
}

rabbit_launch() {
  rabbit_config
  grep -qs rabbitmq_stomp /etc/rabbitmq/enabled_plugins ||
    rabbitmq-plugins enable --offline rabbitmq_stomp >>"$RABBIT_LOG" 2>&1 || return 1
  # Anything still running here does not answer STOMP: an old config, a node
  # still booting from the postinst, or a half-dead one. Start from scratch.
  rabbit_stop
  rabbit_fix_cookie
  # fd 9 is our lock: the daemon must not inherit it.
  rabbitmq-server -detached >>"$RABBIT_LOG" 2>&1 9>&-
}

rabbit_alive() { [ -n "$(rabbit_pids)" ]; }
rabbit_logs() { tail -n 30 "$RABBIT_LOG" "$RABBIT_NODE_LOG" /var/log/rabbitmq/startup_err 2>/dev/null || true; }

# --- ActiveMQ -------------------------------------------------------------

# Our java processes, found by their command line rather than the pid file: a
# pid file can be lost (orphan broker) or stale (pid reused by someone else).
# KahaDB's lock is an OS file lock, so it goes away with its holder; a broker
# that cannot get it waits forever, hence no second broker on one data dir.
amq_pids() { pgrep -f -- "-Dactivemq.base=$AMQ_DIR " || true; }

amq_stop() {
  # shellcheck disable=SC2046
  kill_pids $(amq_pids) # TERM runs the broker's shutdown hook: a clean stop
  rm -f "$AMQ_PID"
}

amq_launch() {
  amq_stop
  mkdir -p "$AMQ_DIR/data" "$AMQ_DIR/tmp"
  cp "$ROOT/scripts/activemq/activemq.xml" "$AMQ_DIR/activemq.xml"
  cp "$ROOT/scripts/activemq/log4j.properties" "$AMQ_DIR/log4j.properties"
  local java
  java=$(command -v java || echo /usr/lib/jvm/default-java/bin/java)
  # Debian's init script runs a bin/run.jar that the package does not ship, and
  # needs systemd-less start-stop-daemon as user activemq: we run the jar directly.
  # setsid: a session of its own, so the broker outlives the shell (or tool job) that started it
  # instead of dying with that job's process group.
  setsid nohup "$java" -Xms64M -Xmx512M -Djava.awt.headless=true \
    -Djava.io.tmpdir="$AMQ_DIR/tmp" \
    -Dlog4j.configuration="file:$AMQ_DIR/log4j.properties" \
    -Dactivemq.base="$AMQ_DIR" -Dactivemq.home="$AMQ_HOME" \
    -Dactivemq.conf="$AMQ_DIR" -Dactivemq.data="$AMQ_DIR/data" \
    -jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$AMQ_DIR/activemq.xml" \
    >"$AMQ_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$AMQ_PID"
}

amq_alive() { [ -n "$(amq_pids)" ]; }
# Java stack frames would fill the tail; the "Caused by" lines say what broke.
amq_logs() { grep -Ev $'^\t+at |^\t*\\.\\.\\. [0-9]+ more' "$AMQ_LOG" 2>/dev/null | tail -n 30 || true; }

# --- commands -------------------------------------------------------------

install_missing() {
  local missing=() pkg
  for pkg in rabbitmq-server activemq; do installed "$pkg" || missing+=("$pkg"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  local t0
  t0=$(now)
  installed rabbitmq-server || rabbit_config
  export DEBIAN_FRONTEND=noninteractive
  say "installing ${missing[*]} (log: $STATE/apt.log)"
  if ! { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confold "${missing[@]}"; } >"$STATE/apt.log" 2>&1; then
    tail -n 30 "$STATE/apt.log" >&2
    say "apt-get failed installing ${missing[*]}"
    exit 1
  fi
  say "installed ${missing[*]} in $(since "$t0")"
}

# wait_ready NAME PORT T0 PROBE ALIVE LOGS: one line on success; on failure the
# broker is named, with the tail of its logs, on stderr.
wait_ready() {
  local name=$1 port=$2 t0=$3 probe=$4 alive=$5 logs=$6
  local deadline
  deadline=$(awk -v a="$t0" -v t="$TIMEOUT" 'BEGIN { printf "%d", a + t }')
  while :; do
    if "$probe"; then
      echo "$name: ready on 127.0.0.1:$port after $(since "$t0")"
      return 0
    fi
    local why=""
    "$alive" || why="its process exited"
    [ "$(date +%s)" -lt "$deadline" ] || why="no STOMP CONNECTED within ${TIMEOUT}s"
    if [ -n "$why" ]; then
      say "$name FAILED on 127.0.0.1:$port after $(since "$t0"): $why; last log lines:"
      "$logs" >&2
      return 1
    fi
    sleep 0.5
  done
}

cmd_start() {
  install_missing
  local ready=embedded failed=() rabbit_t0 amq_t0 rabbit_fresh=1 amq_fresh=1
  # Launch both, then wait: they boot in parallel.
  rabbit_t0=$(now)
  # A launch that fails shows up below as a dead process, with its log.
  if rabbit_probe; then rabbit_fresh=0; else rabbit_launch || true; fi
  amq_t0=$(now)
  if amq_probe; then amq_fresh=0; else amq_launch || true; fi

  if [ $rabbit_fresh = 0 ]; then
    echo "rabbitmq: already running on 127.0.0.1:$RABBIT_PORT"
    ready+=,rabbitmq
  elif wait_ready rabbitmq "$RABBIT_PORT" "$rabbit_t0" rabbit_probe rabbit_alive rabbit_logs; then
    ready+=,rabbitmq
  else failed+=(rabbitmq); fi

  if [ $amq_fresh = 0 ]; then
    echo "activemq: already running on 127.0.0.1:$AMQ_PORT"
    ready+=,activemq
  elif wait_ready activemq "$AMQ_PORT" "$amq_t0" amq_probe amq_alive amq_logs; then
    ready+=,activemq
  else failed+=(activemq); fi

  [ ${#failed[@]} -eq 0 ] || say "failed to start: ${failed[*]}"
  echo "PAYGATE_TEST_BROKERS=$ready"
  [ ${#failed[@]} -eq 0 ]
}

cmd_stop() {
  if installed rabbitmq-server; then rabbit_stop; fi
  amq_stop
  echo "rabbitmq: stopped"
  echo "activemq: stopped"
}

cmd_status() {
  local ok=0
  if rabbit_probe; then echo "rabbitmq: up (STOMP CONNECTED on 127.0.0.1:$RABBIT_PORT)"
  elif rabbit_alive; then echo "rabbitmq: running but STOMP not answering on 127.0.0.1:$RABBIT_PORT"; ok=1
  else echo "rabbitmq: down"; ok=1; fi
  if amq_probe; then echo "activemq: up (STOMP CONNECTED on 127.0.0.1:$AMQ_PORT)"
  elif amq_alive; then echo "activemq: running but STOMP not answering on 127.0.0.1:$AMQ_PORT"; ok=1
  else echo "activemq: down"; ok=1; fi
  return $ok
}

case "${1:-}" in
  start | stop)
    mkdir -p "$STATE"
    # Brokers and ports are machine-wide, so is the lock: two concurrent starts
    # (two work trees, two engineers) must not race each other.
    exec 9>/tmp/paygate-brokers.lock
    flock -w 600 9
    "cmd_$1"
    ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
