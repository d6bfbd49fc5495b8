#!/usr/bin/env bash
# Live capture and telemetry from a running engine, as an operator uses them: svpcd serves the
# hybrid-cloud example on TAP ports (on hugepages: DPDK's secondary processes need shared
# memory), `dpdk-dumpcap` captures instance-b's port while instance-a pings it through the
# engine, and the capture must hold the requests and the replies; `dpdk-telemetry.py` must show
# svpc's tables with the packets counted. Needs root. Cleans up after itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SVPC_BUILD_DIR:-$root/build}
exec 9>/tmp/svpc-tap.lock
flock 9
work=$(mktemp -d /tmp/svpc-capture.XXXXXX)
config=$work/config
cp -r "$root/examples/hybrid-cloud/config" "$config"
log=$work/svpcd.log
daemon_pid=
restore_hugepages=
namespaces=$("$build/control/svpc" netns-plan "$config" | awk '{print $2}')

cleanup() {
  set +e
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  for ns in $namespaces; do ip netns del "$ns" 2>/dev/null; done
  # Give back what this test reserved, so the other tests run as they would without it.
  [ -n "$restore_hugepages" ] && echo "$restore_hugepages" >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- svpcd log"; tail -30 "$log" 2>/dev/null
  exit 1
}
[ "$(id -u)" -eq 0 ] || { echo "the capture test needs root"; exit 1; }

# svpcd takes hugepages when 800 MiB are free (control/eal_setup.cc); reserve 1 GiB more.
free_mib=$(awk '/HugePages_Free/ {f=$2} /Hugepagesize/ {s=$2} END {print f*s/1024}' /proc/meminfo)
total_mib=$(awk '/HugePages_Total/ {t=$2} /Hugepagesize/ {s=$2} END {print t*s/1024}' /proc/meminfo)
if [ "${free_mib%.*}" -lt 1024 ]; then
  restore_hugepages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
  "$root/scripts/nic-setup.sh" hugepages $(( ${total_mib%.*} + 1024 )) >/dev/null
fi

"$build/control/svpcd" "$config" --log "$log" >"$work/stdout" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
  grep -q "serving" "$log" 2>/dev/null && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "svpcd exited early: $(cat "$work/stdout")"
  sleep 0.2
done
grep -q "serving" "$log" || fail "svpcd did not start"
grep -q "no hugepages" "$log" && fail "svpcd runs without hugepages: capture cannot attach"
SVPC_BUILD_DIR=$build "$root/scripts/tap-netns.sh" up "$config" >/dev/null
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

kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "svpcd exited with $?"
daemon_pid=
echo "PASS: capture and telemetry test"
