#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this one machine, for the scale-out tests: Debian's
# rabbitmq-server package, nodes paygate-c1@localhost … paygate-c3@localhost, STOMP on
# 127.0.0.1:61631-61633, no AMQP listener, the test logins of docs/broker-access.md, and the
# vhost / with quorum as its default queue type (docs/rabbitmq-cluster.md).
#
#   bash scripts/rabbitmq-cluster.sh start        install when absent, form the cluster, wait until
#                                                 every node answers STOMP and cluster_status shows
#                                                 3 running nodes; last line:
#                                                 PAYGATE_TEST_RABBITMQ_CLUSTER=127.0.0.1:P1,...
#   bash scripts/rabbitmq-cluster.sh stop         stop the three nodes and delete their data
#   bash scripts/rabbitmq-cluster.sh status       exit 0 only when all three answer and are clustered
#   bash scripts/rabbitmq-cluster.sh kill N       SIGKILL node N's Erlang VM (failover tests)
#   bash scripts/rabbitmq-cluster.sh restart N    start node N again, wait until it has rejoined
#   bash scripts/rabbitmq-cluster.sh ctl N ARG…   rabbitmqctl against node N (e.g. list_queues)
#
# Independent of scripts/brokers.sh's single broker (rabbit@localhost on 61613), which may run at
# the same time: other node names, ports, data folders (.brokers/cluster/, git-ignored), Erlang
# cookie and epmd. The nodes run as root, not as the rabbitmq user, because brokers.sh stops
# every beam.smp and epmd of that user before it starts its own broker. Every `start` after a
# `stop` makes a fresh cluster: no queue or message of an earlier run survives.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$ROOT/.brokers/cluster # git-ignored (.brokers/)
TIMEOUT=${CLUSTER_TIMEOUT:-120}
RABBIT_BIN=/usr/lib/rabbitmq/bin

NODES=(1 2 3)
stomp_port() { echo $((61630 + $1)); }
dist_port() { echo $((25690 + $1)); } # Erlang distribution (clustering and rabbitmqctl)
# An epmd of our own: brokers.sh kills the rabbitmq user's epmd on stop, and nodes registered
# there would become unreachable for rabbitmqctl and for each other.
EPMD_PORT=4371
node_name() { echo "paygate-c$1@localhost"; }
node_dir() { echo "$STATE/n$1"; }

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
say() { echo "rabbitmq-cluster: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# --- logins ----------------------------------------------------------------------

# The test logins and their rights, as the single broker's (docs/broker-access.md).
# shellcheck source=scripts/rabbitmq-logins.sh
source "$ROOT/scripts/rabbitmq-logins.sh"

# Loaded by every node at boot (load_definitions). A node with definitions to load seeds no
# default data: no guest administrator, and / is made here with quorum as its default queue
# type (RabbitMQ 3.10 sets a vhost's default queue type only when the vhost is created).
definitions() {
  rabbit_definitions '[{"name":"/","metadata":{"description":"paygate test cluster","tags":[],"default_queue_type":"quorum"}}]'
}

# --- configuration -------------------------------------------------------------

write_config() {
  mkdir -p "$STATE"
  definitions >"$STATE/definitions.json"
  echo '[rabbitmq_stomp].' >"$STATE/enabled_plugins"
  # No anonymous STOMP login (as brokers.sh's advanced.config).
  echo '[{rabbitmq_stomp, [{default_user, []}]}].' >"$STATE/advanced.config"
  # Read instead of /etc/rabbitmq/rabbitmq-env.conf, whose NODENAME is the single broker's.
  echo '# Written by paygate scripts/rabbitmq-cluster.sh: everything is set in the environment.' >"$STATE/rabbitmq-env.conf"
  local n
  for n in "${NODES[@]}"; do
    mkdir -p "$(node_dir "$n")"
    cat >"$(node_dir "$n")/rabbitmq.conf" <<EOF
# Written by paygate scripts/rabbitmq-cluster.sh: node $n of the loopback-only test cluster.
# No AMQP port (STOMP only, as brokers.sh); clustering and rabbitmqctl use Erlang distribution.
listeners.tcp = none
stomp.listeners.tcp.1 = 127.0.0.1:$(stomp_port "$n")
stomp.default_vhost = /
load_definitions = $STATE/definitions.json
# Three nodes: a node cut off from the other two pauses rather than diverging.
cluster_partition_handling = pause_minority
EOF
  done
}

# A stable checksum of what a running cluster was started with.
config_sum() {
  cat "$STATE/definitions.json" "$STATE/enabled_plugins" "$STATE/advanced.config" "$STATE"/n*/rabbitmq.conf | sha256sum | cut -d' ' -f1
}
STAMP=$STATE/config.sha256

# The cookie the three nodes and rabbitmqctl share; Erlang wants it readable by its owner only.
ensure_cookie() {
  local cookie=$STATE/.erlang.cookie
  [ -s "$cookie" ] || (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$cookie")
  chmod 400 "$cookie"
}

# The environment of rabbitmqctl (and of the nodes, with node_env): nothing inherited, so
# neither the caller's RABBITMQ_* nor /etc/rabbitmq/rabbitmq-env.conf changes which node we talk to.
base_env() {
  printf '%s\n' "PATH=/usr/sbin:/usr/bin:/sbin:/bin" "LANG=C.UTF-8" "LC_ALL=C.UTF-8" "HOME=$STATE" \
    "RABBITMQ_CONF_ENV_FILE=$STATE/rabbitmq-env.conf" "ERL_EPMD_PORT=$EPMD_PORT" "ERL_EPMD_ADDRESS=127.0.0.1"
}
node_env() {
  local n=$1 dir
  dir=$(node_dir "$1")
  base_env
  printf '%s\n' "RABBITMQ_NODENAME=$(node_name "$n")" "RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf" \
    "RABBITMQ_ADVANCED_CONFIG_FILE=$STATE/advanced.config" "RABBITMQ_ENABLED_PLUGINS_FILE=$STATE/enabled_plugins" \
    "RABBITMQ_MNESIA_BASE=$dir/mnesia" "RABBITMQ_LOG_BASE=$dir/log" "RABBITMQ_PID_FILE=$dir/beam.pid" \
    "RABBITMQ_DIST_PORT=$(dist_port "$n")" \
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
}

# rabbitmqctl N ARG…: the CLI against node N.
ctl() {
  local n=$1
  shift
  local vars=()
  mapfile -t vars < <(base_env)
  (cd "$STATE" && env -i "${vars[@]}" "$RABBIT_BIN/rabbitmqctl" -n "$(node_name "$n")" "$@")
}

# --- processes -----------------------------------------------------------------

# The processes of node N: the rabbitmq-server script and the Erlang VM it starts, whose
# environment names this node and this checkout's data folder (a pid file could be stale or
# reused). node_procs N beam.smp: the VM only.
node_procs() {
  local n=$1 pid env
  for pid in $(pgrep -x "${2:-rabbitmq-server|beam.smp}" 2>/dev/null || true); do
    env=$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null) || continue
    grep -qxF "RABBITMQ_NODENAME=$(node_name "$n")" <<<"$env" &&
      grep -qxF "RABBITMQ_MNESIA_BASE=$(node_dir "$n")/mnesia" <<<"$env" && echo "$pid"
  done
  return 0
}
node_pids() { node_procs "$1" beam.smp; }
# Alive from its launch (the rabbitmq-server script, before the VM runs) until the VM is gone.
node_alive() { [ -n "$(node_procs "$1")" ]; }

# The pids listening on our epmd port: this state's epmd, or another checkout's (the port is
# machine-wide), or one a node started on its own (ERL_EPMD_PORT).
epmd_pids() { { ss -Hltnp "sport = :$EPMD_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' || true; } | cut -d= -f2 | sort -u; }
EPMD_PID=$STATE/epmd.pid
# True when pid $1 is an epmd started for this state folder: ours starts with base_env, so its
# environment has HOME=$STATE (so has one a node of ours started on its own), which a reused pid
# or another checkout's epmd has not.
our_epmd() {
  [ "$({ cat "/proc/$1/comm"; } 2>/dev/null)" = epmd ] &&
    { tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | grep -qxF "HOME=$STATE"
}
ensure_epmd() {
  local pid
  pid=$(epmd_pids | head -n 1)
  if [ -n "$pid" ]; then
    # Another checkout's epmd (or one left by an older version of this script): used, never
    # recorded, so our stop leaves it to its owner.
    our_epmd "$pid" || say "using the epmd already on 127.0.0.1:$EPMD_PORT (pid $pid), not ours: stop leaves it running"
    return 0
  fi
  local vars=()
  mapfile -t vars < <(base_env)
  # setsid: it must outlive the shell (or tool job) that started it. -daemon forks: its pid is
  # read from the listening socket, and recorded so that stop ends this epmd and no other.
  setsid env -i "${vars[@]}" epmd -port "$EPMD_PORT" -address 127.0.0.1 -daemon </dev/null >/dev/null 2>&1 9>&- || die "cannot start epmd on 127.0.0.1:$EPMD_PORT"
  local i
  for i in $(seq 50); do
    pid=$(epmd_pids | head -n 1)
    [ -z "$pid" ] || break
    sleep 0.1
  done
  [ -n "$pid" ] || die "epmd started but does not listen on 127.0.0.1:$EPMD_PORT"
  our_epmd "$pid" || die "another epmd took 127.0.0.1:$EPMD_PORT (pid $pid) while ours started"
  echo "$pid" >"$EPMD_PID"
}
# Ends the epmd this state started (recorded at start; or one a node of ours started on its own
# if that one died), and only it: never another checkout's, which its own nodes depend on.
stop_epmd() {
  local pid ours=()
  for pid in $({ cat "$EPMD_PID"; } 2>/dev/null) $(epmd_pids); do
    if [[ $pid =~ ^[0-9]+$ ]] && our_epmd "$pid"; then ours+=("$pid"); fi
  done
  kill_pids TERM 5 "${ours[@]}"
  rm -f "$EPMD_PID"
}

node_launch() {
  local n=$1 dir vars=()
  dir=$(node_dir "$n")
  mkdir -p "$dir/log" "$dir/mnesia"
  mapfile -t vars < <(node_env "$n")
  # The rabbitmq-server script in the foreground (it waits for the VM and forwards TERM), in a
  # session of its own so that it outlives this script. The subshell execs it: no shell of ours
  # stays behind holding the caller's stdout (a test reading our output would wait for the node
  # to die) or fd 9, our lock.
  (cd "$dir" && exec setsid env -i "${vars[@]}" "$RABBIT_BIN/rabbitmq-server") >"$dir/console.log" 2>&1 </dev/null 9>&- &
}

kill_pids() { # SIGNAL TIMEOUT_S pid…: send, wait until gone; KILL after the timeout
  local signal=$1 timeout=$2
  shift 2
  [ $# -gt 0 ] || return 0
  kill "-$signal" "$@" 2>/dev/null || true
  local i
  for i in $(seq $((timeout * 10))); do
    kill -0 "$@" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
}

# --- probes --------------------------------------------------------------------

# The running members of the cluster as node N sees them, one per line.
running_nodes() {
  ctl "$1" -q cluster_status --formatter json 2>/dev/null |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { for (const n of JSON.parse(s).running_nodes ?? []) console.log(n); });' 2>/dev/null
}

port_busy() { [ "$(ss -Hltn "sport = :$1" 2>/dev/null | wc -l)" -gt 0 ]; }

node_logs() {
  local dir
  dir=$(node_dir "$1")
  tail -n 20 "$dir/console.log" "$dir/log/$(node_name "$1").log" 2>/dev/null || true
}

# wait_for WHAT T0 CHECK [NODE]: polls CHECK until it holds; on timeout (or when NODE's VM
# exited) names WHAT and shows the node's log tail.
wait_for() {
  local what=$1 t0=$2 check=$3 n=${4:-}
  local deadline
  deadline=$(awk -v a="$t0" -v t="$TIMEOUT" 'BEGIN { printf "%d", a + t }')
  until $check; do
    local why=""
    if [ -n "$n" ] && ! node_alive "$n"; then why="node $n's VM exited"; fi
    [ "$(date +%s)" -lt "$deadline" ] || why="not within ${TIMEOUT}s"
    if [ -n "$why" ]; then
      say "$what FAILED after $(since "$t0"): $why"
      if [ -n "$n" ]; then node_logs "$n" >&2; fi
      return 1
    fi
    sleep 0.2
  done
}

all_stomp_up() {
  local n
  for n in "${NODES[@]}"; do stomp_probe "$(stomp_port "$n")" || return 1; done
}
# Clustered: a node that answers sees all three running (asked of the first live one).
three_running() {
  local n
  for n in "${NODES[@]}"; do
    if node_alive "$n"; then
      [ "$(running_nodes "$n" | grep -c .)" -eq 3 ]
      return
    fi
  done
  return 1
}
healthy() { all_stomp_up && three_running; }

cluster_line() {
  local n list=()
  for n in "${NODES[@]}"; do list+=("127.0.0.1:$(stomp_port "$n")"); done
  local IFS=,
  echo "PAYGATE_TEST_RABBITMQ_CLUSTER=${list[*]}"
}

memory_line() {
  local n pids=() rss
  for n in "${NODES[@]}"; do mapfile -t -O "${#pids[@]}" pids < <(node_pids "$n"); done
  [ ${#pids[@]} -gt 0 ] || return 0
  rss=$(ps -o rss= -p "$(
    IFS=,
    echo "${pids[*]}"
  )" | awk '{ s += $1 } END { printf "%d", s / 1024 }')
  echo "rabbitmq-cluster: RSS of the three Erlang VMs: ${rss} MiB"
}

# --- commands ------------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
install_missing() {
  installed rabbitmq-server && return 0
  local t0
  t0=$(now)
  mkdir -p "$STATE"
  say "installing rabbitmq-server (log: $STATE/apt.log)"
  # The package's own service (rabbit@localhost, default configuration) is not started: that node
  # is scripts/brokers.sh's, which configures it loopback-only first. policy-rc.d says "no" (101).
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
  fi
  local ok=0
  { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold rabbitmq-server; } >"$STATE/apt.log" 2>&1 || ok=$?
  [ -z "$ours" ] || rm -f "$policy"
  if [ "$ok" -ne 0 ]; then
    tail -n 30 "$STATE/apt.log" >&2
    die "apt-get failed installing rabbitmq-server"
  fi
  say "installed rabbitmq-server in $(since "$t0")"
}

cmd_stop() {
  local n pids=()
  for n in "${NODES[@]}"; do mapfile -t -O "${#pids[@]}" pids < <(node_pids "$n"); done
  # TERM is a clean shutdown; the data is deleted next, so a node that takes long is killed.
  kill_pids TERM 15 "${pids[@]}"
  stop_epmd
  for n in "${NODES[@]}"; do rm -rf "$(node_dir "$n")"; done
  rm -f "$STAMP"
  echo "rabbitmq-cluster: stopped"
}

# join N: node N leaves its own fresh database for node 1's cluster.
join() {
  local n=$1
  ctl "$n" -q stop_app >/dev/null && ctl "$n" -q join_cluster "$(node_name 1)" >/dev/null && ctl "$n" -q start_app >/dev/null
}

cmd_start() {
  install_missing
  local t0 n sum port
  t0=$(now)
  mkdir -p "$STATE"
  write_config
  sum=$(config_sum)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$sum" ] && healthy; then
    echo "rabbitmq-cluster: already running (checked in $(since "$t0"))"
    cluster_line
    return 0
  fi
  # Anything left over (an older configuration, a half-formed cluster) goes: a fresh cluster.
  cmd_stop >/dev/null
  write_config
  for n in "${NODES[@]}"; do
    for port in "$(stomp_port "$n")" "$(dist_port "$n")"; do
      ! port_busy "$port" || die "port $port is taken by another process (ss -ltnp 'sport = :$port'); stop it, or the other checkout's cluster"
    done
  done
  ensure_cookie
  ensure_epmd
  # Three fresh nodes boot in parallel; then 2 and 3 join 1.
  for n in "${NODES[@]}"; do node_launch "$n"; done
  for n in "${NODES[@]}"; do
    # shellcheck disable=SC2317 # called through wait_for
    probe() { stomp_probe "$(stomp_port "$n")"; }
    wait_for "node $n ($(node_name "$n"))" "$t0" probe "$n" || return 1
  done
  echo "rabbitmq-cluster: three nodes up after $(since "$t0")"
  local joins=()
  : >"$STATE/join.log"
  for n in 2 3; do
    join "$n" >>"$STATE/join.log" 2>&1 &
    joins+=($!)
  done
  for n in "${joins[@]}"; do wait "$n" || {
    tail -n 20 "$STATE/join.log" >&2
    die "a node could not join the cluster (log: $STATE/join.log)"
  }; done
  wait_for "the cluster (3 running nodes, STOMP on each)" "$t0" healthy || return 1
  config_sum >"$STAMP"
  echo "rabbitmq-cluster: ready after $(since "$t0")"
  memory_line
  cluster_line
}

check_node_arg() {
  case ${1:-} in
    1 | 2 | 3) ;;
    *) die "name a node: 1, 2 or 3" ;;
  esac
}

cmd_kill() {
  local n=$1 pids=()
  mapfile -t pids < <(node_pids "$n")
  [ ${#pids[@]} -gt 0 ] || die "node $n is not running"
  kill -KILL "${pids[@]}"
  local i
  for i in $(seq 100); do
    node_alive "$n" || break
    sleep 0.1
  done
  ! node_alive "$n" || die "node $n survived SIGKILL"
  echo "rabbitmq-cluster: node $n ($(node_name "$n"), pid ${pids[*]}) killed"
}

cmd_restart() {
  local n=$1 t0
  t0=$(now)
  [ -f "$STAMP" ] || die "no cluster to rejoin: run start first"
  if node_alive "$n"; then
    echo "rabbitmq-cluster: node $n is running"
  else
    ensure_epmd
    node_launch "$n"
  fi
  # shellcheck disable=SC2317 # called through wait_for
  probe() { stomp_probe "$(stomp_port "$n")"; }
  wait_for "node $n ($(node_name "$n"))" "$t0" probe "$n" || return 1
  wait_for "node $n rejoining (3 running nodes)" "$t0" three_running "$n" || return 1
  echo "rabbitmq-cluster: node $n back in the cluster after $(since "$t0")"
}

cmd_status() {
  local n ok=0
  for n in "${NODES[@]}"; do
    if stomp_probe "$(stomp_port "$n")"; then echo "node $n ($(node_name "$n")): up (STOMP CONNECTED on 127.0.0.1:$(stomp_port "$n"))"
    elif node_alive "$n"; then echo "node $n ($(node_name "$n")): running but STOMP not answering on 127.0.0.1:$(stomp_port "$n")"; ok=1
    else echo "node $n ($(node_name "$n")): down"; ok=1; fi
  done
  if three_running; then echo "cluster: 3 running nodes"
  else echo "cluster: fewer than 3 running nodes"; ok=1; fi
  [ $ok -ne 0 ] || cluster_line
  return $ok
}

with_lock() {
  mkdir -p "$STATE"
  # Ports are machine-wide, so is the lock: two starts (two work trees) must not race.
  exec 9>/run/lock/paygate-rabbitmq-cluster.lock
  flock -w 600 9
  "$@"
}

case "${1:-}" in
  start | stop) with_lock "cmd_$1" ;;
  restart)
    check_node_arg "${2:-}"
    with_lock cmd_restart "$2"
    ;;
  kill)
    check_node_arg "${2:-}"
    cmd_kill "$2"
    ;;
  status) cmd_status ;;
  ctl)
    check_node_arg "${2:-}"
    n=$2
    shift 2
    ctl "$n" "$@"
    ;;
  *)
    echo "usage: $0 start|stop|status|kill N|restart N|ctl N ARG..." >&2
    exit 2
    ;;
esac
