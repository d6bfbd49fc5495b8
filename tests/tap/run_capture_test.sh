#!/usr/bin/env bash
# Live capture and telemetry from a running engine, as an operator uses them: svpcd serves the
# hybrid-cloud example on TAP ports (on hugepages: DPDK's secondary processes need shared
# memory), `dpdk-dumpcap` captures instance-b's port while instance-a pings it through the
# engine, and the capture must hold the requests and the replies; `dpdk-telemetry.py` must show
# svpc's tables with the packets counted, and the API's /metrics (Prometheus text) scraped over
# HTTP must parse and count them too. Needs root. Cleans up after itself.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tap_setup capture

# svpcd takes hugepages when 800 MiB are free (control/eal_setup.cc); reserve 1 GiB more, and
# give it back at the end so the other tests run as they would without this one.
free_mib=$(awk '/HugePages_Free/ {f=$2} /Hugepagesize/ {s=$2} END {print f*s/1024}' /proc/meminfo)
total_mib=$(awk '/HugePages_Total/ {t=$2} /Hugepagesize/ {s=$2} END {print t*s/1024}' /proc/meminfo)
if [ "${free_mib%.*}" -lt 1024 ]; then
  restore_hugepages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
  on_cleanup "echo $restore_hugepages >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
  "$root/scripts/nic-setup.sh" hugepages $(( ${total_mib%.*} + 1024 )) >/dev/null
fi

echo '{"tok-ops": "user:ops@example.com"}' >"$config/tokens.json"
# ops may read the whole fabric (compute.viewer on the organization): /metrics, drop captures.
python3 - "$config/shared-vpc.json" <<'PY'
import json, sys
shared = json.load(open(sys.argv[1]))
shared["iamPolicies"].append({"resource": "organizations/1", "bindings": [
    {"role": "roles/compute.viewer", "members": ["user:ops@example.com"]}]})
json.dump(shared, open(sys.argv[1], "w"))
PY
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
svpcd_start --api "127.0.0.1:$api_port"
grep -q "no hugepages" "$log" && fail "svpcd runs without hugepages: capture cannot attach"
netns_up
prefix=svpcd-$daemon_pid

echo "== dpdk-dumpcap on instance-b's port (net_tap1) while instance-a pings it"
dpdk-dumpcap --file-prefix="$prefix" -D >"$work/interfaces" 2>&1 || fail "dumpcap -D: $(cat "$work/interfaces")"
grep -q net_tap1 "$work/interfaces" || fail "dumpcap does not list net_tap1: $(cat "$work/interfaces")"
timeout 30 dpdk-dumpcap --file-prefix="$prefix" -i net_tap1 -w "$work/vm-b.pcapng" \
  -a duration:5 -q >"$work/dumpcap.out" 2>&1 &
dumpcap_pid=$!
sleep 2
ip netns exec svpc-svc-a-instance-a ping -c 5 -i 0.2 -W 1 10.15.2.4 >"$work/ping" ||
  fail "ping through the engine failed: $(cat "$work/ping")"
wait "$dumpcap_pid" || fail "dpdk-dumpcap failed: $(cat "$work/dumpcap.out")"
requests=$(tcpdump -nr "$work/vm-b.pcapng" 'icmp[icmptype] == icmp-echo and src 10.0.1.3' 2>/dev/null | wc -l)
replies=$(tcpdump -nr "$work/vm-b.pcapng" 'icmp[icmptype] == icmp-echoreply and src 10.15.2.4' 2>/dev/null | wc -l)
echo "captured $requests echo requests and $replies replies on net_tap1"
[ "$requests" -ge 5 ] && [ "$replies" -ge 5 ] || fail "expected 5 requests and 5 replies in the capture"

echo "== dpdk-telemetry.py shows svpc's tables"
sleep 0.5  # the control thread refreshes them every 200 ms
for cmd in /svpc/ports /svpc/verdicts /svpc/conntrack /svpc/firewall_rules /svpc/billing; do
  echo "$cmd" | timeout 10 dpdk-telemetry.py -f "$prefix" 2>/dev/null | tail -1 >"$work/tel"
  python3 - "$cmd" "$work/tel" <<'PY' || fail "telemetry $cmd: $(cat "$work/tel")"
import json, sys
cmd, path = sys.argv[1], sys.argv[2]
table = json.load(open(path))[cmd]
checks = {
    "/svpc/ports": lambda t: t["vm_a_rx"] >= 5 and t["vm_b_tx"] >= 5,
    "/svpc/verdicts": lambda t: t["DELIVER"] >= 10,
    "/svpc/conntrack": lambda t: t["live"] >= 1 and t["capacity"] == 1000000,
    "/svpc/firewall_rules": lambda t: t["network_shared_net/firewall_allow_internal_icmp"] >= 1,
    "/svpc/billing": lambda t: t["svc_a"] >= 5 * 84 and t["svc_b"] >= 5 * 84,
}
ok = checks[cmd](table)
print(cmd, table if len(json.dumps(table)) < 200 else "(%d entries)" % len(table), "ok" if ok else "WRONG")
sys.exit(0 if ok else 1)
PY
done

echo "== GET /metrics from the API: Prometheus text that parses, with the packets counted"
python3 - "$api_port" <<'PY' || fail "/metrics"
import http.client, re, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
conn.request("GET", "/metrics")
r = conn.getresponse(); r.read()
assert r.status == 401, f"/metrics without a token: {r.status}, expected 401"
conn.close()  # the server closes after refusing a request
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
conn.request("GET", "/metrics", headers={"Authorization": "Bearer tok-ops"})
r = conn.getresponse()
body = r.read().decode()
assert r.status == 200 and r.getheader("Content-Type").startswith("text/plain"), r.status
samples, types = {}, {}
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([0-9]+)$')
for line in body.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        types[name] = kind
        continue
    if line.startswith("#") or not line:
        continue
    m = line_re.match(line)
    assert m, f"not a sample line: {line!r}"
    labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
    samples[(m.group(1), tuple(sorted(labels.items())))] = int(m.group(4))
for name, kind in types.items():
    assert name.startswith("svpc_"), name
    assert (kind == "counter") == name.endswith("_total"), (name, kind)
def value(name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]
checks = [
    value("svpc_port_received_packets_total", port="vm-a") >= 5,
    value("svpc_port_transmitted_packets_total", port="vm-b") >= 5,
    value("svpc_packets_total", verdict="DELIVER") >= 10,
    value("svpc_routed_packets_total", kind="subnet") >= 10,
    value("svpc_firewall_rule_hits_total", network="shared-net", rule="allow-internal-icmp") >= 1,
    value("svpc_conntrack_entries") >= 1,
    value("svpc_billing_egress_bytes_total", project="svc-a", kind="to_instances") >= 5 * 84,
    value("svpc_dropped_packets_total", cause="FIREWALL_RULE") >= 0,
]
assert all(checks), checks
print(f"/metrics: {len(samples)} samples in {len(types)} families, the ping counted")
PY

echo "== svpc capture --drops while instance-a tries instance-c:5432 (denied by implied-deny-ingress)"
"$build/cli/svpc" capture --drops -w "$work/drops.pcapng" --seconds 3 \
  --api "http://127.0.0.1:$api_port" --token tok-ops >"$work/capture.out" 2>&1 &
capture_pid=$!
sleep 1
ip netns exec svpc-svc-a-instance-a nc -z -w 1 10.7.1.50 5432 2>/dev/null && fail "5432 reachable"
wait "$capture_pid" || fail "svpc capture: $(cat "$work/capture.out")"
cat "$work/capture.out"
tcpdump -nr "$work/drops.pcapng" 'dst host 10.7.1.50 and tcp dst port 5432' 2>/dev/null | grep -q . ||
  fail "tcpdump does not read the SYN to 10.7.1.50:5432 from the drop capture"
python3 - "$work/drops.pcapng" <<'PY' || fail "drop capture comments"
import struct, sys
data = open(sys.argv[1], "rb").read()
at, found, names = 0, 0, []
while at + 12 <= len(data):
    kind, length = struct.unpack_from("<II", data, at)
    if kind == 1:  # interface: its if_name option
        opt = at + 16
        while opt < at + length - 4:
            code, size = struct.unpack_from("<HH", data, opt)
            if code == 0: break
            if code == 2: names.append(data[opt + 4:opt + 4 + size].decode())
            opt += 4 + (size + 3) // 4 * 4
    if kind == 6:
        iface, _, _, captured, _ = struct.unpack_from("<IIIII", data, at + 8)
        frame = data[at + 28:at + 28 + captured]
        opt = at + 28 + (captured + 3) // 4 * 4
        code, size = struct.unpack_from("<HH", data, opt)
        comment = data[opt + 4:opt + 4 + size].decode() if code == 1 else ""
        dst = ".".join(str(b) for b in frame[30:34])
        dport = struct.unpack_from(">H", frame, 36)[0] if len(frame) >= 38 else 0
        if dst == "10.7.1.50" and dport == 5432:
            assert comment == "DROP FIREWALL_RULE", comment
            assert names[iface] == "vm-a", names[iface]
            found += 1
    at += length
assert found >= 1, "no dropped SYN to 10.7.1.50:5432"
print(f"drop capture: {found} SYN(s) to instance-c:5432 on vm-a, comment 'DROP FIREWALL_RULE'")
PY

echo "== svpc trace against the running engine: an open connection's live tracking state"
ip netns exec svpc-svc-b-instance-b timeout 20 nc -l 8080 >/dev/null 2>&1 &
sleep 0.5
ip netns exec svpc-svc-a-instance-a sh -c 'sleep 8 | timeout 20 nc -p 40123 10.15.2.4 8080' \
  >/dev/null 2>&1 &
sleep 1.5
"$build/cli/svpc" trace --api "http://127.0.0.1:$api_port" --token tok-ops \
  --source instance-a --destination 10.15.2.4 --port 8080 --source-port 40123 >"$work/trace.txt" ||
  fail "svpc trace --api: $(cat "$work/trace.txt")"
cat "$work/trace.txt"
grep -q "APPLY_INGRESS_FIREWALL_RULE *allow-web-to-app" "$work/trace.txt" || fail "trace steps"
grep -q "live connection tracking: ESTABLISHED on worker 0, opened by 10.0.1.3:40123" \
  "$work/trace.txt" || fail "the open connection's live state"
"$build/cli/svpc" trace --api "http://127.0.0.1:$api_port" --token tok-ops \
  --source instance-a --destination 10.15.2.4 --port 8080 --source-port 40999 >"$work/trace2.txt"
grep -q "live connection tracking: no entry" "$work/trace2.txt" || fail "an untracked flow's state"

svpcd_stop
echo "PASS: capture and telemetry test"
