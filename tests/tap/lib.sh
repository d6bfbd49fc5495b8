# Shared pieces of the TAP tests (sourced, not run): the lock every namespace test takes, a
# work directory with a copy of the hybrid-cloud example, svpcd started and waited for, the
# instance namespaces, and a cleanup that undoes all of it even after a failure.
#
#   . "$(dirname "$0")/../tap/lib.sh"
#   tap_setup NAME          root check, lock, $work, $config (a copy), $log, $counters, trap
#   svpcd_start [ARGS...]   svpcd on $config (--log, --counters every second, ARGS); $daemon_pid
#                           (SVPC_WORKERS=N adds --workers N)
#   netns_up                one namespace per instance ($ns_a, $ns_b, $ns_c)
#   svpcd_stop              SIGTERM, wait, checks exit 0 and "stopped cleanly"
#   on_cleanup 'COMMAND'    run COMMAND at exit (before the namespaces go)
#   fail MESSAGE            prints the log tail and counters, exits 1
#   counter PY_EXPR         a value of the counters file, e.g. counter "c['drops']['TX_FAILED']"
#   wait_for SECONDS CMD..  polls CMD every 0.2 s
#   in_ns NS CMD..          ip netns exec
# Callers use `set -euo pipefail`.

tap_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
root=$tap_root
build=${SVPC_BUILD_DIR:-$root/build}
svpcd_bin=$build/cli/svpcd
svpc_bin=$build/cli/svpc
ns_a=svpc-svc-a-instance-a
ns_b=svpc-svc-b-instance-b
ns_c=svpc-svc-c-instance-c
ip_a=10.0.1.3
ip_b=10.15.2.4
ip_c=10.7.1.50
daemon_pid=
tap_cleanups=()
tap_namespaces=

tap_setup() {  # $1: a short name for the work directory
  if [ "$(id -u)" -ne 0 ]; then
    echo "this test needs root (network namespaces)"
    exit 1
  fi
  # Every namespace test of every engineer and CI job shares the instance namespace names.
  exec 9>/tmp/svpc-tap.lock
  flock 9
  work=$(mktemp -d "/tmp/svpc-$1.XXXXXX")
  config=$work/config
  cp -r "$root/examples/hybrid-cloud/config" "$config"
  log=$work/svpcd.log
  counters=$work/counters.json
  tap_namespaces=$("$svpc_bin" netns-plan "$config" | awk '{print $2}')
  trap tap_cleanup EXIT
}

on_cleanup() { tap_cleanups+=("$1"); }

tap_cleanup() {
  local status=$?
  set +e
  local c
  for c in "${tap_cleanups[@]}"; do eval "$c" 2>/dev/null; done
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
  fi
  # Background jobs (ping, iperf3, servers) and what they started: one left alive keeps the
  # test's output pipe open and CTest waiting.
  local job
  for job in $(jobs -p); do
    pkill -KILL -P "$job" 2>/dev/null
    kill -KILL "$job" 2>/dev/null
  done
  kill_namespace_processes
  # By name, not through tap-netns.sh: a test may leave a broken file in the configuration.
  local ns
  for ns in $tap_namespaces; do ip netns del "$ns" 2>/dev/null; done
  [ "${SVPC_KEEP_WORK:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"
  exit $status
}

fail() {
  echo "FAIL: $*"
  echo "--- svpcd log (last 40 lines)"
  tail -40 "$log" 2>/dev/null
  echo "--- counters"
  cat "$counters" 2>/dev/null
  exit 1
}

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

wait_for() {
  local limit=$1
  shift
  local _
  for _ in $(seq 1 $((limit * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

counter() {
  python3 -c "import json,sys; c=json.load(open(sys.argv[1])); print($1)" "$counters"
}

# Drops that mean lost traffic: all but UNSUPPORTED_PROTOCOL, which counts the IPv6 (router
# solicitations, MLD) the host's kernel sends on the TAP interfaces it keeps (onprem, internet,
# and each instance's before tap-netns.sh moves it): not traffic of the tests, and svpc drops
# IPv6 by design.
traffic_drops() {
  counter "sum(v for k, v in c['drops'].items() if k != 'UNSUPPORTED_PROTOCOL')"
}

# The counters file is rewritten every second: wait until it reflects packets sent until now.
counters_settle() { sleep 1.5; }

svpcd_start() {
  # SVPC_WORKERS=N runs any of these tests with N worker cores.
  local workers=()
  if [ -n "${SVPC_WORKERS:-}" ]; then workers=(--workers "$SVPC_WORKERS"); fi
  "$svpcd_bin" "$config" --log "$log" --counters "$counters" --counters-interval 1 \
    --state-dir "$work/svpcd-state" "${workers[@]}" "$@" >"$work/svpcd.stdout" 2>&1 &
  daemon_pid=$!
  local _
  for _ in $(seq 1 100); do
    grep -q "serving" "$log" 2>/dev/null && return 0
    kill -0 "$daemon_pid" 2>/dev/null || fail "svpcd exited early: $(cat "$work/svpcd.stdout")"
    sleep 0.2
  done
  fail "svpcd did not start"
}

kill_namespace_processes() {
  local ns pids
  for ns in $tap_namespaces; do
    pids=$(ip netns pids "$ns" 2>/dev/null) || true
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  done
}

# tap-netns.sh re-creates namespaces that exist (after a restart): what still runs in the old
# ones would outlive them unseen.
netns_up() {
  kill_namespace_processes
  SVPC_BUILD_DIR=$build "$root/scripts/tap-netns.sh" up "$config" >/dev/null
}

svpcd_stop() {
  kill -TERM "$daemon_pid"
  local status=0
  wait "$daemon_pid" || status=$?
  daemon_pid=
  [ "$status" -eq 0 ] || fail "svpcd exited with status $status"
  grep -q "stopped cleanly" "$log" || fail "no clean stop in the log"
}

# Lab-only firewall rule for the load tests: iperf3 (TCP and UDP 5201) from web to app, the
# way allow-web-to-app lets tcp:8080 through.
add_iperf_rule() {
  cat >"$config/allow-iperf.json" <<'JSON'
{"kind": "compute#firewall", "name": "allow-iperf-web-to-app",
 "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/global/firewalls/allow-iperf-web-to-app",
 "network": "projects/host-prj/global/networks/shared-net", "direction": "INGRESS", "priority": 1000,
 "sourceTags": ["web"], "targetTags": ["app"],
 "allowed": [{"IPProtocol": "tcp", "ports": ["5201"]}, {"IPProtocol": "udp", "ports": ["5201"]}]}
JSON
}

# Fast ping in the background: `ping_start NS DST COUNT INTERVAL`; `ping_stop` ends it early
# (SIGINT: iputils prints its summary); `ping_check` asserts that every echo was answered.
# Stopped early, the last echo may still be on its way back when ping exits and counts it
# lost: that one, and only that one, is excused, by its icmp_seq (hence no -q: a line per reply).
ping_start() {
  ip netns exec "$1" ping -c "$3" -i "$4" -W 2 "$2" >"$work/ping.out" 2>&1 &
  ping_pid=$!
  ping_stopped=
}
ping_stop() {
  kill -INT "$ping_pid" 2>/dev/null || true
  ping_stopped=1
}
ping_check() {
  wait "$ping_pid" || true
  local line
  line=$(grep "packets transmitted" "$work/ping.out") || fail "ping printed no summary: $(tail -5 "$work/ping.out")"
  echo "ping: $line"
  local sent received
  sent=$(echo "$line" | awk '{print $1}')
  received=$(echo "$line" | awk '{print $4}')
  [ "$sent" -gt 0 ] || fail "ping sent nothing: $line"
  [ "$sent" -eq "$received" ] && return 0
  if [ -n "$ping_stopped" ] && [ "$received" -eq $((sent - 1)) ] \
    && ! grep -q "icmp_seq=$sent " "$work/ping.out"; then
    echo "ping: every echo answered but the last (icmp_seq=$sent), in flight when ping was stopped"
    return 0
  fi
  fail "ping lost packets: $line; unanswered: $(ping_unanswered "$sent" | head -20 | tr '\n' ' ')"
}
ping_unanswered() {  # icmp_seq values 1..$1 with no reply line (16-bit, as ping prints them)
  awk -v sent="$1" '/ bytes from .*icmp_seq=/ { sub(/.*icmp_seq=/, ""); sub(/ .*/, ""); seen[$0] = 1 }
    END { for (i = 1; i <= sent; i++) if (!((i % 65536) in seen)) print i % 65536 }' "$work/ping.out"
}
