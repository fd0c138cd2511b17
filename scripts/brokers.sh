#!/usr/bin/env bash
# Install, start, stop and probe the external STOMP brokers that the integration
# suite runs against: RabbitMQ on 127.0.0.1:61613 and ActiveMQ on
# 127.0.0.1:61623, both from Debian packages. Root on Debian bookworm, no systemd.
#
#   bash scripts/brokers.sh start    install when absent, start, wait for STOMP CONNECTED;
#                                    last line: PAYGATE_TEST_BROKERS=embedded,...
#   bash scripts/brokers.sh stop     stop both
#   bash scripts/brokers.sh status   exit 0 only when both answer STOMP
#
# Safe to run twice: a broker that already answers with the current configuration is left
# alone; one running with an older configuration is reconfigured (RabbitMQ's logins and rights
# are re-applied on every start; either broker is restarted when its configuration files
# changed). Both run with the least-privilege logins of docs/broker-access.md and no anonymous
# access.
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

# The test logins and their RabbitMQ rights (LOGINS, passcode_of, PROBE_LOGIN,
# rabbit_definitions), shared with scripts/rabbitmq-cluster.sh; the embedded broker's are in
# test/helpers/brokers.ts.
# shellcheck source=scripts/rabbitmq-logins.sh
source "$ROOT/scripts/rabbitmq-logins.sh"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
say() { echo "brokers: $*" >&2; }

rabbit_probe() { stomp_probe "$RABBIT_PORT"; }
amq_probe() { stomp_probe "$AMQ_PORT"; }

# A broker runs with the configuration it was started with. After a start that succeeded, a
# stamp records the checksum of that configuration; a running broker whose stamp differs from
# the files now (edited since, or a start interrupted before it restarted) is restarted.
checksum() { cat "$@" | sha256sum | cut -d' ' -f1; }
stamp_matches() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# --- RabbitMQ -------------------------------------------------------------

# Written before the package is installed too: on a machine where the postinst
# may start the service, it then starts loopback-only from the first second.
RABBIT_FILES=(/etc/rabbitmq/rabbitmq.conf /etc/rabbitmq/advanced.config /etc/rabbitmq/rabbitmq-env.conf)
RABBIT_STAMP=$STATE/rabbitmq-config.sha256
rabbit_config() {
  mkdir -p /etc/rabbitmq
  # listeners.tcp = none: no AMQP port. paygate speaks STOMP only, and over AMQP a login with
  # configure rights on a queue could delete it (STOMP has no frame for that). rabbitmqctl
  # talks Erlang distribution (port 25672, loopback), not AMQP.
  cat >/etc/rabbitmq/rabbitmq.conf <<'EOF'
# Written by paygate scripts/brokers.sh: a loopback-only test broker.
listeners.tcp = none
stomp.listeners.tcp.1 = 127.0.0.1:61613
stomp.default_vhost = /
EOF
  # The STOMP plugin logs a CONNECT without login/passcode in as its default_user (guest by
  # default). An empty list means no default user: such a CONNECT is refused. rabbitmq.conf
  # cannot express "none" (stomp.default_user only sets a name), advanced.config can.
  cat >/etc/rabbitmq/advanced.config <<'EOF'
%% Written by paygate scripts/brokers.sh: no anonymous STOMP login.
[{rabbitmq_stomp, [{default_user, []}]}].
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

# Applies the logins and rights, then removes guest (an administrator with a known password).
rabbit_users() {
  local file=$STATE/rabbitmq-definitions.json
  rabbit_definitions >"$file"
  rabbitmqctl -q import_definitions "$file" >>"$RABBIT_LOG" 2>&1 || return 1
  if rabbitmqctl -q list_users --no-table-headers 2>/dev/null | grep -q '^guest[[:space:]]'; then
    rabbitmqctl -q delete_user guest >>"$RABBIT_LOG" 2>&1 || return 1
  fi
  # The firehose for `paygate audit capture` (docs/operations.md): a copy of every publish and
  # delivery on the vhost goes to amq.rabbitmq.trace, dropped unless a capture is bound there.
  # Not persisted by RabbitMQ across restarts, hence on every start; idempotent.
  rabbitmqctl -q trace_on -p / >>"$RABBIT_LOG" 2>&1 || return 1
}

rabbit_node_up() { rabbitmq-diagnostics -q ping >/dev/null 2>&1 && rabbitmqctl -q await_startup >/dev/null 2>&1; }

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
  grep -qs rabbitmq_stomp /etc/rabbitmq/enabled_plugins ||
    rabbitmq-plugins enable --offline rabbitmq_stomp >>"$RABBIT_LOG" 2>&1 || return 1
  # Anything still running here has an old config, is still booting from the
  # postinst, or is half-dead. Start from scratch.
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

# The broker plugin of scripts/activemq/src (temp queues consumed only by their creator),
# compiled into $AMQ_DIR/lib, which ActiveMQ puts on its class path; rebuilt when its source
# changed.
AMQ_PLUGIN_SRC=$ROOT/scripts/activemq/src
AMQ_STAMP=$AMQ_DIR/config.sha256
amq_sources() { find "$AMQ_PLUGIN_SRC" -name '*.java' | sort; }
amq_build_plugin() {
  local jar=$AMQ_DIR/lib/paygate-activemq.jar stamp=$AMQ_DIR/lib/paygate-activemq.sha256 sum build
  # shellcheck disable=SC2046
  sum=$(checksum $(amq_sources))
  if [ -f "$jar" ] && stamp_matches "$stamp" "$sum"; then return 0; fi
  mkdir -p "$AMQ_DIR/lib"
  build=$(mktemp -d)
  local lib=$AMQ_HOME/lib
  # shellcheck disable=SC2046
  if ! javac -nowarn -d "$build" -cp "$lib/activemq-broker.jar:$lib/activemq-client.jar:$lib/geronimo-jms_1.1_spec.jar" \
    $(amq_sources) >"$AMQ_DIR/build.log" 2>&1 || ! jar cf "$jar.tmp" -C "$build" . >>"$AMQ_DIR/build.log" 2>&1; then
    rm -rf "$build"
    say "activemq: the broker plugin does not build:"
    tail -n 20 "$AMQ_DIR/build.log" >&2
    return 1
  fi
  rm -rf "$build"
  mv "$jar.tmp" "$jar"
  echo "$sum" >"$stamp"
}

# Copies the configuration next to the data and builds the plugin; prints the checksum of
# everything a started broker uses.
amq_stage() {
  mkdir -p "$AMQ_DIR/data" "$AMQ_DIR/tmp"
  cp "$ROOT/scripts/activemq/activemq.xml" "$ROOT/scripts/activemq/log4j.properties" "$AMQ_DIR/"
  amq_build_plugin || return 1
  # shellcheck disable=SC2046
  checksum "$AMQ_DIR/activemq.xml" "$AMQ_DIR/log4j.properties" $(amq_sources)
}

amq_launch() {
  amq_stop
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
  # javac builds ActiveMQ's broker plugin (scripts/activemq/src).
  command -v javac >/dev/null || missing+=(default-jdk-headless)
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

# wait_ready NAME PORT T0 PROBE ALIVE LOGS [quiet]: one line on success (none when quiet); on
# failure the broker is named, with the tail of its logs, on stderr.
wait_ready() {
  local name=$1 port=$2 t0=$3 probe=$4 alive=$5 logs=$6 quiet=${7:-}
  local deadline
  deadline=$(awk -v a="$t0" -v t="$TIMEOUT" 'BEGIN { printf "%d", a + t }')
  while :; do
    if "$probe"; then
      [ -n "$quiet" ] || echo "$name: ready on 127.0.0.1:$port after $(since "$t0")"
      return 0
    fi
    local why=""
    "$alive" || why="its process exited"
    [ "$(date +%s)" -lt "$deadline" ] || why="not ready within ${TIMEOUT}s"
    if [ -n "$why" ]; then
      say "$name FAILED on 127.0.0.1:$port after $(since "$t0"): $why; last log lines:"
      "$logs" >&2
      return 1
    fi
    sleep 0.5
  done
}

# RabbitMQ's logins live in its database: they are applied once the node runs (fresh or not),
# and only then can the STOMP probe log in.
rabbit_ready() {
  local t0=$1
  wait_ready "rabbitmq node" - "$t0" rabbit_node_up rabbit_alive rabbit_logs quiet || return 1
  if ! rabbit_users; then
    say "rabbitmq FAILED: could not apply the logins (log: $RABBIT_LOG)"
    rabbit_logs >&2
    return 1
  fi
  wait_ready rabbitmq "$RABBIT_PORT" "$t0" rabbit_probe rabbit_alive rabbit_logs
}

cmd_start() {
  install_missing
  local ready=embedded failed=() rabbit_t0 amq_t0 rabbit_sum amq_sum=""
  # Launch both, then wait: they boot in parallel. A broker is kept when it runs with the
  # current configuration; RabbitMQ's logins are re-applied below either way.
  rabbit_t0=$(now)
  rabbit_config
  rabbit_sum=$(checksum "${RABBIT_FILES[@]}")
  if stamp_matches "$RABBIT_STAMP" "$rabbit_sum" && rabbit_node_up; then
    echo "rabbitmq: already running on 127.0.0.1:$RABBIT_PORT"
  else
    rm -f "$RABBIT_STAMP"
    # A launch that fails shows up below as a dead process, with its log.
    rabbit_launch || true
  fi
  amq_t0=$(now)
  if amq_sum=$(amq_stage); then
    if stamp_matches "$AMQ_STAMP" "$amq_sum" && amq_probe; then
      echo "activemq: already running on 127.0.0.1:$AMQ_PORT"
    else
      rm -f "$AMQ_STAMP"
      amq_launch || true
    fi
  fi

  if rabbit_ready "$rabbit_t0"; then
    echo "$rabbit_sum" >"$RABBIT_STAMP"
    ready+=,rabbitmq
  else failed+=(rabbitmq); fi
  if [ -n "$amq_sum" ] && wait_ready activemq "$AMQ_PORT" "$amq_t0" amq_probe amq_alive amq_logs; then
    echo "$amq_sum" >"$AMQ_STAMP"
    ready+=,activemq
  else failed+=(activemq); fi

  [ ${#failed[@]} -eq 0 ] || say "failed to start: ${failed[*]}"
  echo "PAYGATE_TEST_BROKERS=$ready"
  [ ${#failed[@]} -eq 0 ]
}

cmd_stop() {
  if installed rabbitmq-server; then rabbit_stop; fi
  amq_stop
  rm -f "$RABBIT_STAMP" "$AMQ_STAMP"
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
