#!/usr/bin/env bash
# Smoke run of scripts/tap-bench.sh: 1 s of iperf3 and 20 pings per side; both sides must have
# produced a throughput and a latency. No timing is asserted (a shared CI machine).
set -euo pipefail
out=$("$1" --seconds 1 --pings 20 --json | tail -1)
echo "$out"
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
for key in ("svpcd_tcp_mbps", "linux_tcp_mbps", "svpcd_rtt_ms", "linux_rtt_ms", "tcp_ratio"):
    assert r[key] > 0, (key, r)
print("PASS: both sides measured")
' "$out"
