#!/usr/bin/env bash
# Fault: a BGP peer sending garbage, flapping and vanishing, against svpcd's Cloud Router (the
# setup of tests/tap/run_bgp_test.sh: BIRD 2 in an on-prem namespace, BGP on a veth to the host).
# A 10 ms ping instance-a -> instance-b runs throughout: the engine must keep serving.
#   garbage:  BIRD's session disabled, tests/faults/bgp_garbage.py connects from the peer's
#             address and sends random bytes, an oversized header, an OPEN of version 9 and a
#             malformed UPDATE after a valid OPEN; each must get its NOTIFICATION and a clear
#             log line; a connection from an address that is not a peer is refused and logged;
#   flapping: `birdc disable/enable` 10 times in 5 s; afterwards the session and its routes
#             come back and instance-b reaches on-prem again;
#   vanishing: the peer's link goes down (routes gone after the 3 s hold time, back after the
#             link returns); BIRD is SIGKILLed (routes gone), restarted (back).
set -euo pipefail
. "$(dirname "$0")/../tap/lib.sh"
. "$(dirname "$0")/../tap/bgp_lib.sh"
command -v bird >/dev/null || { echo "bird (Debian's bird2) is not installed"; exit 1; }
tap_setup fault-bgp
bgp_setup host
svpcd_start --bgp-status "$status"
netns_up
bgp_wire_onprem
write_bird "route 192.168.0.0/16 unreachable;"
start_bird
wait_for 30 learned 192.168.0.0/16 || fail "192.168.0.0/16 not learned"
wait_for 5 in_ns $ns_b ping -c 1 -W 1 192.168.1.1 || fail "instance-b cannot reach on-prem"
echo "session up, 192.168.0.0/16 learned, instance-b reaches on-prem"
# About 40 s of faults below; the engine serves a -> b all along.
ping_start $ns_a $ip_b 100000 0.01

onprem_reachable() { in_ns $ns_b ping -c 1 -W 1 192.168.1.1; }

echo "== garbage from the peer's address (BIRD's session disabled)"
birdc disable cloud_router >/dev/null
wait_for 10 nothing_learned || fail "routes still learned after BIRD disabled the session"
in_ns $onprem python3 "$root/tests/faults/bgp_garbage.py" 169.254.0.1 169.254.0.2 65010 \
  || fail "the router did not answer the garbage as it should"
echo "the log says:"
grep -E "bad message header|malformed|NOTIFICATION sent" "$log" | tail -4
grep -q "bad message header received" "$log" || fail "no log line for the bad header"
grep -q "malformed UPDATE received" "$log" || fail "no log line for the malformed UPDATE"
echo "== a connection from a stranger (169.254.0.3) is refused"
in_ns $onprem ip addr add 169.254.0.3/29 dev bgp-peer
in_ns $onprem python3 -c "
import socket; s = socket.socket(); s.bind(('169.254.0.3', 0)); s.settimeout(3)
s.connect(('169.254.0.1', 179)); s.sendall(b'hello'); print('stranger: closed' if s.recv(100) == b'' else 'stranger: answered')" || true
wait_for 5 grep -q "connection from 169.254.0.3.* refused: not a configured peer" "$log" \
  || fail "no log line refusing the stranger"
kill -0 "$daemon_pid" || fail "svpcd died"

echo "== flapping: birdc disable/enable 10 times"
birdc enable cloud_router >/dev/null
wait_for 40 learned 192.168.0.0/16 || fail "the session did not come back after the garbage"
downs_before=$(grep -c "session down" "$log" || true)
for _ in $(seq 1 10); do
  birdc disable cloud_router >/dev/null
  sleep 0.25
  birdc enable cloud_router >/dev/null
  sleep 0.25
done
wait_for 60 learned 192.168.0.0/16 || fail "routes did not come back after the flapping"
wait_for 5 onprem_reachable || fail "instance-b cannot reach on-prem after the flapping"
downs=$(($(grep -c "session down" "$log") - downs_before))
echo "after the flapping: session Established, routes back; $downs session-down log lines"
[ "$downs" -ge 3 ] || fail "the flapping brought the session down only $downs time(s)"

echo "== vanishing: the peer's link goes down"
in_ns $onprem ip link set bgp-peer down
wait_for 10 nothing_learned || fail "routes still there after the hold time with the link down"
grep -q "hold timer expired" "$status" || fail "the status does not say the hold timer expired"
if onprem_reachable >/dev/null 2>&1; then fail "on-prem reachable without a learned route"; fi
in_ns $onprem ip link set bgp-peer up
wait_for 60 learned 192.168.0.0/16 || fail "routes did not come back with the link"
echo "link down: routes gone after the hold time; link up: back"
echo "== vanishing: BIRD SIGKILLed, then restarted"
kill -KILL "$bird_pid"
wait "$bird_pid" 2>/dev/null || true
bird_pid=
wait_for 10 nothing_learned || fail "routes still there after BIRD was killed"
start_bird
wait_for 60 learned 192.168.0.0/16 || fail "routes did not come back after BIRD restarted"
wait_for 5 onprem_reachable || fail "instance-b cannot reach on-prem after the restart"
echo "killed: routes gone; restarted: back"

ping_stop
ping_check
kill -0 "$daemon_pid" || fail "svpcd died"
svpcd_stop
echo "PASS: fault.bgp_peer_faults"
