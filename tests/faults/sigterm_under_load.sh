#!/usr/bin/env bash
# Fault: SIGTERM under load. The internet port of the example is a DPDK net_pcap device writing
# a capture (tx_pcap=FILE); instance-a sends UDP to the internet as fast as it can (frames into
# the capture), an iperf3 TCP transfer runs a -> b and new connections a -> b:8080 (each one a
# Firewall Rules Logging record) open in a loop. Then SIGTERM. Checks: svpcd exits 0 within
# 5 s, the counters file is valid JSON, every firewall log line is a whole JSON record, and the
# capture reads with `tcpdump -r` without a truncated record, holding every frame the counters
# say went out of the internet port.
set -euo pipefail
. "$(dirname "$0")/../tap/lib.sh"
tap_setup fault-sigterm
unset SVPC_WORKERS  # the capture port (net_pcap, one queue) takes one worker
add_iperf_rule
capture=$work/internet.pcap
python3 - "$config/testbed.json" "$capture" <<'PY'
import json, sys
path, capture = sys.argv[1], sys.argv[2]
testbed = json.load(open(path))
for port in testbed["ports"]:
    if port["name"] == "internet":
        port["device"] = f"net_pcap0,tx_pcap={capture}"
json.dump(testbed, open(path, "w"), indent=1)
PY
svpcd_start --firewall-log "$work/firewall.jsonl"
netns_up
in_ns $ns_b iperf3 -s -1 -D -p 5201 --logfile "$work/iperf-server.log"
in_ns $ns_b python3 "$root/tests/tap/tcp_session.py" server 8080 &
wait_for 5 in_ns $ns_a ping -c 1 -W 1 $ip_b || fail "instance-a cannot ping instance-b"

echo "== load: iperf3 TCP a -> b, UDP as fast as python sends a -> 8.8.8.8:53 (into the capture), new connections a -> b:8080"
in_ns $ns_a iperf3 -c $ip_b -p 5201 -t 30 >"$work/iperf.out" 2>&1 &
in_ns $ns_a python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    s.sendto(b'x' * 200, ('8.8.8.8', 53))" >/dev/null 2>&1 &
in_ns $ns_a sh -c "while :; do nc -z -w 1 $ip_b 8080; done" >/dev/null 2>&1 &
sleep 3
grep -q ALLOWED "$work/firewall.jsonl" || fail "no firewall log record under load"

echo "== SIGTERM"
start=$(date +%s%N)
kill -TERM "$daemon_pid"
status=0
for _ in $(seq 1 50); do
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$daemon_pid" 2>/dev/null && fail "svpcd still running 5 s after SIGTERM"
wait "$daemon_pid" || status=$?
daemon_pid=
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "svpcd exited with status $status after $elapsed_ms ms"
[ "$status" -eq 0 ] || fail "exit status $status"
grep -q "stopped cleanly" "$log" || fail "no clean stop in the log"

echo "== outputs"
python3 - "$counters" "$work/firewall.jsonl" <<'PY' || fail "counters or firewall log"
import json, sys
counters = json.load(open(sys.argv[1]))
print(f"counters: valid JSON, {counters['packets']} packets, internet port tx {counters['ports']['internet']['tx']}")
text = open(sys.argv[2]).read()
assert text.endswith("\n"), "the firewall log's last line is cut"
records = [json.loads(line) for line in text.splitlines()]
print(f"firewall log: {len(records)} records, every line a whole JSON record")
assert records
PY
tx=$(counter "c['ports']['internet']['tx']")
[ "$tx" -gt 100 ] || fail "only $tx frames went out of the internet port"
tcpdump -n -r "$capture" >"$work/capture.txt" 2>"$work/tcpdump.err" || fail "tcpdump -r failed: $(cat "$work/tcpdump.err")"
grep -qi "truncated" "$work/tcpdump.err" && fail "truncated capture: $(cat "$work/tcpdump.err")"
frames=$(wc -l <"$work/capture.txt")
echo "capture: $frames frames read by tcpdump -r, counters say $tx sent"
[ "$frames" -eq "$tx" ] || fail "the capture holds $frames frames, the internet port sent $tx"
echo "PASS: fault.sigterm_under_load"
