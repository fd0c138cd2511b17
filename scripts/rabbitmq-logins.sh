#!/usr/bin/env bash
# The test logins of RabbitMQ, and the STOMP probe that logs in with one, sourced by
# scripts/brokers.sh (the single broker) and scripts/rabbitmq-cluster.sh (the three-node
# cluster), so both give the same logins the same rights. docs/broker-access.md has the table and the reasons; scripts/activemq/activemq.xml
# names the same logins for ActiveMQ.

# The five paygate roles, a second storefront for "another client" attacks, and stomp-test for
# the tests of the STOMP layer itself. Fixed test passwords on loopback-only brokers:
# "<login>-test-pass".
LOGINS=(storefront storefront-2 worker operator audit feed stomp-test)
passcode_of() { echo "$1-test-pass"; }
# The probes log in with the login that may do least.
PROBE_LOGIN=audit

# True when 127.0.0.1:$1 answers a STOMP 1.2 CONNECT as PROBE_LOGIN with CONNECTED (a TCP
# accept is not enough: the brokers open their port before they serve, and before the logins
# are loaded).
stomp_probe() {
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "CONNECT\naccept-version:1.2\nhost:/\nlogin:%s\npasscode:%s\nheart-beat:0,0\n\n\0" "$2" "$3" >&3
    IFS= read -r line <&3 || exit 1
    [ "${line%$'\''\r'\''}" = CONNECTED ] || exit 1
    printf "DISCONNECT\n\n\0" >&3 || true
  ' _ "$1" "$PROBE_LOGIN" "$(passcode_of "$PROBE_LOGIN")" 2>/dev/null
}

# The rights of each login as RabbitMQ permission regexes (configure, write, read), checked by
# experiment on RabbitMQ 3.10 (docs/broker-access.md has the table and the reasons):
# - a SEND to /queue/Q declares Q (configure on Q) and publishes to the default exchange
#   (write on amq.default); a SUBSCRIBE to /queue/Q declares Q and consumes (configure + read);
# - a reply-to /temp-queue/x declares and consumes an exclusive amq.gen-... queue (configure +
#   read on it); a SEND to /reply-queue/amq.gen-... only publishes (write on amq.default);
# - a /topic/T subscription declares, binds and consumes a stomp-subscription-... queue
#   (configure + write + read on it, read on amq.topic); topic permissions limit the routing
#   keys (T) a login may bind to (read) and publish to (write).
# Request queues are paygate.<provider> (provider names have no dot), dead letters
# paygate.<provider>.dlq. Events queues are paygate.feed.<name> (default paygate.feed.events):
# workers SEND to them (a SEND declares: configure), the feed login consumes them and
# dead-letters into paygate.feed.<name>.dlq.
REQUEST_QUEUE='paygate\.[a-z0-9_-]+'
EVENTS_QUEUE='paygate\.feed\.[a-z0-9_-]+'
rabbit_permissions() { # LOGIN -> "configure write read"
  case $1 in
    storefront | storefront-2) echo "^($REQUEST_QUEUE|amq\.gen-.*)\$ ^amq\.default\$ ^amq\.gen-.*\$" ;;
    worker) echo "^($REQUEST_QUEUE(\.dlq)?|$EVENTS_QUEUE)\$ ^amq\.default\$ ^$REQUEST_QUEUE\$" ;;
    feed) echo "^$EVENTS_QUEUE(\.dlq)?\$ ^amq\.default\$ ^$EVENTS_QUEUE\$" ;;
    operator) echo "^(paygate\..*|stomp-subscription-.*)\$ ^(amq\.default|amq\.topic|stomp-subscription-.*)\$ ^(paygate\..*|amq\.topic|stomp-subscription-.*)\$" ;;
    # audit: its /topic subscriptions, and the traffic capture's durable queue audit.capture.<name>
    # bound to the firehose (read on amq.rabbitmq.trace lets it bind there, nothing more).
    audit) echo "^(stomp-subscription-.*|audit\.capture\..*)\$ ^(stomp-subscription-.*|audit\.capture\..*)\$ ^(stomp-subscription-.*|audit\.capture\..*|amq\.topic|amq\.rabbitmq\.trace)\$" ;;
    stomp-test) echo "^(stomptest\..*|amq\.gen-.*|stomp-subscription-.*)\$ ^(amq\.default|amq\.topic|stomp-subscription-.*)\$ ^(stomptest\..*|amq\.gen-.*|amq\.topic|stomp-subscription-.*)\$" ;;
  esac
}
rabbit_topic_permissions() { # LOGIN -> "write read" on amq.topic, or nothing
  case $1 in
    operator) echo '^paygate\. ^paygate\.' ;;
    audit) echo '^$ ^paygate\.' ;;
    stomp-test) echo '^stomptest\. ^stomptest\.' ;;
  esac
}

json_string() { local v=${1//\\/\\\\}; printf '"%s"' "${v//\"/\\\"}"; }

# One definitions file for rabbitmqctl import_definitions: creating users one rabbitmqctl call
# at a time costs a second each. An import replaces the permissions of the logins it names.
rabbit_definitions() { # [VHOSTS_JSON_ARRAY]: the definitions file, with vhosts when given
  local vhosts=${1:-} users=() perms=() topics=() login c w r tw tr
  for login in "${LOGINS[@]}"; do
    users+=("{\"name\":$(json_string "$login"),\"password\":$(json_string "$(passcode_of "$login")"),\"tags\":\"\"}")
    read -r c w r <<<"$(rabbit_permissions "$login")"
    perms+=("{\"user\":$(json_string "$login"),\"vhost\":\"/\",\"configure\":$(json_string "$c"),\"write\":$(json_string "$w"),\"read\":$(json_string "$r")}")
    if [ -n "$(rabbit_topic_permissions "$login")" ]; then
      read -r tw tr <<<"$(rabbit_topic_permissions "$login")"
      topics+=("{\"user\":$(json_string "$login"),\"vhost\":\"/\",\"exchange\":\"amq.topic\",\"write\":$(json_string "$tw"),\"read\":$(json_string "$tr")}")
    fi
  done
  local IFS=,
  printf '{%s"users":[%s],"permissions":[%s],"topic_permissions":[%s]}\n' "${vhosts:+\"vhosts\":$vhosts,}" "${users[*]}" "${perms[*]}" "${topics[*]}"
}

