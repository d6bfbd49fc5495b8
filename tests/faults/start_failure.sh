#!/usr/bin/env bash
# Fault: svpcd cannot open a port after it has compiled and published its configuration (here:
# --workers 2 on net_pcap ports, which have one queue each). It must exit with status 2 and
# say why, not crash: its error path once freed the snapshot's FIBs after rte_eal_cleanup
# (a segmentation fault). No namespaces, no TAPs: runs without the lock.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SVPC_BUILD_DIR:-$root/build}
work=$(mktemp -d /tmp/svpc-fault-start.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/hybrid-cloud/config" "$work/config"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
path = f"{work}/config/testbed.json"
testbed = json.load(open(path))
for i, port in enumerate(testbed["ports"]):
    port["device"] = f"net_pcap{i},tx_pcap={work}/{port['name']}.pcap"
json.dump(testbed, open(path, "w"), indent=1)
PY
status=0
timeout 60 "$build/cli/svpcd" "$work/config" --workers 2 --log "$work/svpcd.log" \
  --state-dir "$work/svpcd-state" \
  >"$work/stdout" 2>&1 || status=$?
echo "svpcd exited with status $status"
grep "need one each" "$work/svpcd.log" || { echo "FAIL: no clear error"; tail "$work/stdout"; exit 1; }
[ "$status" -eq 2 ] || { echo "FAIL: exit status $status, want 2"; tail "$work/stdout"; exit 1; }
echo "PASS: fault.start_failure"
