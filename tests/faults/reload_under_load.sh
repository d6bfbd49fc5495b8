#!/usr/bin/env bash
# Fault: valid reloads under load. While an iperf3 TCP transfer runs instance-a -> instance-b,
# a long-lived TCP connection exchanges a line every 100 ms (a -> b:8080, replies by connection
# tracking) and a 5 ms ping runs, svpcd gets a SIGHUP every 0.5 s, each publishing a new
# generation (a rule that affects none of this traffic, added and removed in turn). Checks: every
# reload published, iperf3 completes, the long-lived connection never breaks, no ping lost, and
# the engine counted no drop of any cause during the reloads.
set -euo pipefail
. "$(dirname "$0")/../tap/lib.sh"
tap_setup fault-reload-load
add_iperf_rule
svpcd_start
netns_up
in_ns $ns_b iperf3 -s -1 -D -p 5201 --logfile "$work/iperf-server.log"
in_ns $ns_b python3 "$root/tests/tap/tcp_session.py" server 8080 &
wait_for 5 in_ns $ns_a ping -c 1 -W 1 $ip_b || fail "instance-a cannot ping instance-b"
counters_settle
drops_before=$(traffic_drops)

deny_rule='{"kind": "compute#firewall", "name": "deny-9999-to-db",
 "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/global/firewalls/deny-9999-to-db",
 "network": "projects/host-prj/global/networks/shared-net", "direction": "INGRESS", "priority": 500,
 "targetTags": ["db"], "denied": [{"IPProtocol": "tcp", "ports": ["9999"]}]}'

echo "== 6 s of iperf3 TCP at 200 Mbit/s, a long-lived connection and a 5 ms ping; a valid SIGHUP every 0.5 s"
in_ns $ns_a python3 "$root/tests/tap/tcp_session.py" client $ip_b 8080 6.5 0.1 2 >"$work/session.out" 2>&1 &
session_pid=$!
ping_start $ns_a $ip_b 1200 0.005
# Paced below what the TAPs carry on this machine (~600 Mbit/s): an unpaced stream fills the
# kernel side queues of the TAPs, where the 5 ms ping then loses an echo now and then whether or
# not a reload happens (the kernel counts those on the TAP, not the engine).
in_ns $ns_a iperf3 -c $ip_b -p 5201 -t 6 -b 200M -J >"$work/iperf.json" &
iperf_pid=$!
reloads=10
for i in $(seq 1 $reloads); do
  sleep 0.5
  if [ $((i % 2)) -eq 1 ]; then echo "$deny_rule" >"$config/deny-9999.json"; else rm -f "$config/deny-9999.json"; fi
  kill -HUP "$daemon_pid"
done
wait "$iperf_pid" || fail "iperf3 failed: $(tail -5 "$work/iperf.json")"
wait "$session_pid" || fail "the long-lived connection broke: $(cat "$work/session.out")"
cat "$work/session.out"
ping_check
python3 - "$work/iperf.json" <<'PY' || fail "iperf3 TCP"
import json, sys
end = json.load(open(sys.argv[1]))["end"]
sent, received = end["sum_sent"], end["sum_received"]
print(f"iperf3 TCP: {received['bytes'] / 1e6:.0f} MB received, {received['bits_per_second'] / 1e6:.0f} Mbit/s, "
      f"{sent.get('retransmits', 0)} retransmits")
assert received["bytes"] > 1_000_000, end
PY
last=$((reloads + 1))
wait_for 5 grep -q "configuration generation $last published" "$log" \
  || fail "not every reload was published (want generation $last)"
grep -q "reload rejected" "$log" && fail "a valid reload was rejected"
echo "generations 2..$last published"
counters_settle
python3 - "$counters" "$drops_before" <<'PY' || fail "the engine dropped packets during the reloads"
import json, sys
c = json.load(open(sys.argv[1]))
dropped = sum(v for k, v in c["drops"].items() if k != "UNSUPPORTED_PROTOCOL") - int(sys.argv[2])
print(f"engine drops during the reloads: {dropped} (UNSUPPORTED_PROTOCOL, the host kernel's IPv6, aside)",
      {k: v for k, v in c["drops"].items() if v})
assert dropped == 0
PY
kill -0 "$daemon_pid" || fail "svpcd died"
svpcd_stop
echo "PASS: fault.reload_under_load"
