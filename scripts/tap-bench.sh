#!/usr/bin/env bash
# The TAP environment side by side: TCP throughput (iperf3) and ping latency between two instance
# namespaces (instance-a 10.0.1.3 in svc-a, instance-b 10.15.2.4 in svc-b) through svpcd on
# DPDK net_tap ports, then between the same two namespaces joined by a Linux namespace router
# (veth pairs, ip_forward) enforcing the equivalent rules with nftables and conntrack, which is
# what CI setups commonly use today. Prints both and the ratio svpcd / Linux.
#   scripts/tap-bench.sh [--seconds N] [--pings N] [--json]
# Needs root, svpcd built (scripts/build.sh), iperf3 and nftables (scripts/install-deps.sh).
set -euo pipefail
seconds=10
pings=200
json=0
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --pings) pings=$2; shift 2 ;;
    --json) json=1; shift ;;
    *) echo "usage: tap-bench.sh [--seconds N] [--pings N] [--json]" >&2; exit 2 ;;
  esac
done
. "$(dirname "$0")/../tests/tap/lib.sh"
tap_setup tap-bench
add_iperf_rule
# The Linux router's namespaces: their own names, so they never meet the instances'.
lx_a=svpcbench-a
lx_b=svpcbench-b
lx_r=svpcbench-router
on_cleanup "for ns in $lx_a $lx_b $lx_r; do ip netns pids \$ns | xargs -r kill -KILL; ip netns del \$ns; done"

measure() {  # $1: client namespace, $2: server namespace; sets tput_mbps, rtt_ms, rtt_min_ms
  in_ns "$2" iperf3 -s -1 -D -p 5201 --logfile "$work/iperf-server-$2.log"
  sleep 0.3
  in_ns "$1" iperf3 -c $ip_b -p 5201 -t "$seconds" -J >"$work/iperf-$1.json" \
    || fail "iperf3 $1 -> $ip_b: $(tail -5 "$work/iperf-$1.json")"
  tput_mbps=$(python3 -c "import json,sys; print('%.0f' % (json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second'] / 1e6))" "$work/iperf-$1.json")
  in_ns "$1" ping -c "$pings" -i 0.01 -W 1 $ip_b >"$work/ping-$1.out" || fail "ping $1 -> $ip_b: $(cat "$work/ping-$1.out")"
  # The median of the replies' times (robust to a busy shared machine), and the minimum.
  read -r rtt_ms rtt_min_ms < <(python3 -c "
import re, statistics, sys
times = [float(t) for t in re.findall(r'time=([0-9.]+) ms', open(sys.argv[1]).read())]
print(statistics.median(times), min(times))" "$work/ping-$1.out") || fail "no ping times: $(cat "$work/ping-$1.out")"
}

echo "== svpcd: instance-a -> instance-b through the engine on net_tap ports ($seconds s iperf3, $pings pings)" >&2
svpcd_start
netns_up
wait_for 5 in_ns $ns_a ping -c 1 -W 1 $ip_b || fail "instance-a cannot ping instance-b through svpcd"
measure $ns_a $ns_b
svpcd_tput=$tput_mbps
svpcd_rtt=$rtt_ms
svpcd_rtt_min=$rtt_min_ms
svpcd_stop
for ns in $tap_namespaces; do ip netns del "$ns" 2>/dev/null || true; done

echo "== Linux: the same two namespaces joined by a namespace router (veth, ip_forward, nftables)" >&2
for ns in $lx_a $lx_b $lx_r; do
  ip netns del $ns 2>/dev/null || true
  ip netns add $ns
  in_ns $ns ip link set lo up
  in_ns $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
in_ns $lx_r sysctl -qw net.ipv4.ip_forward=1
# Each instance as GCP configures it (and as tap-netns.sh does): a /32, a link route to the
# subnet gateway, the default route through it, MTU 1460.
wire() {  # $1: instance ns, $2: ip, $3: gateway, $4: router-side veth
  ip link add "$4" netns $lx_r type veth peer name eth0 netns "$1"
  in_ns "$1" ip link set eth0 mtu 1460 up
  in_ns "$1" ip addr add "$2/32" dev eth0
  in_ns "$1" ip route add "$3" dev eth0 scope link
  in_ns "$1" ip route add default via "$3" dev eth0
  in_ns $lx_r ip link set "$4" mtu 1460 up
  in_ns $lx_r ip addr add "$3/32" dev "$4"
  in_ns $lx_r ip route add "$2/32" dev "$4"
}
wire $lx_a $ip_a 10.0.1.1 to-a
wire $lx_b $ip_b 10.15.2.1 to-b
# The example's rules for this pair, as nftables with conntrack: allow-internal-icmp (sources in
# 10.0.0.0/8, 192.168.0.0/16), allow-web-to-app (tcp:8080) and the lab's iperf3 rule
# (tcp/udp:5201) from instance-a (web) to instance-b (app), replies by connection tracking,
# everything else denied (implied-deny-ingress).
in_ns $lx_r nft -f - <<NFT
table inet svpc {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    ip saddr { 10.0.0.0/8, 192.168.0.0/16 } ip protocol icmp accept
    ip saddr $ip_a ip daddr $ip_b tcp dport { 8080, 5201 } accept
    ip saddr $ip_a ip daddr $ip_b udp dport 5201 accept
  }
}
NFT
wait_for 5 in_ns $lx_a ping -c 1 -W 1 $ip_b || fail "no ping through the Linux router"
if in_ns $lx_b nc -z -w 1 $ip_a 8080 2>/dev/null; then fail "the Linux router let b -> a:8080 through"; fi
measure $lx_a $lx_b
linux_tput=$tput_mbps
linux_rtt=$rtt_ms
linux_rtt_min=$rtt_min_ms
# veth hands the kernel 64 KB TCP segments (TSO/GSO/GRO); DPDK's net_tap carries one MTU-sized
# frame per read/write. The same router with those offloads off shows the per-packet cost.
echo "== Linux again, segmentation offloads off on every veth (one packet per MTU, as on a TAP)" >&2
for pair in "$lx_a eth0" "$lx_b eth0" "$lx_r to-a" "$lx_r to-b"; do
  set -- $pair
  in_ns "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
done
measure $lx_a $lx_b
linux_pp_tput=$tput_mbps
linux_pp_rtt=$rtt_ms

python3 - "$svpcd_tput" "$linux_tput" "$linux_pp_tput" "$svpcd_rtt" "$linux_rtt" "$linux_pp_rtt" \
  "$svpcd_rtt_min" "$linux_rtt_min" "$seconds" "$pings" "$json" <<'PY'
import json, sys
st, lt, lpt, sr, lr, lpr, smin, lmin = (float(x) for x in sys.argv[1:9])
seconds, pings, as_json = int(sys.argv[9]), int(sys.argv[10]), sys.argv[11] == "1"
result = {"svpcd_tcp_mbps": st, "linux_tcp_mbps": lt, "linux_no_offload_tcp_mbps": lpt,
          "tcp_ratio": round(st / lt, 3), "tcp_ratio_no_offload": round(st / lpt, 3),
          "svpcd_rtt_ms": sr, "linux_rtt_ms": lr, "linux_no_offload_rtt_ms": lpr,
          "rtt_ratio": round(sr / lr, 2), "svpcd_rtt_min_ms": smin, "linux_rtt_min_ms": lmin,
          "seconds": seconds, "pings": pings}
if as_json:
    print(json.dumps(result))
else:
    print(f"instance-a -> instance-b, iperf3 TCP {seconds} s, {pings} pings every 10 ms")
    print(f"{'':24}{'svpcd':>10}{'Linux+nft':>12}{'ratio':>8}{'Linux+nft, no offloads':>24}{'ratio':>8}")
    print(f"{'TCP throughput (Mbit/s)':24}{st:>10.0f}{lt:>12.0f}{st / lt:>8.3f}{lpt:>24.0f}{st / lpt:>8.3f}")
    print(f"{'ping RTT median (ms)':24}{sr:>10.3f}{lr:>12.3f}{sr / lr:>8.2f}{lpr:>24.3f}{sr / lpr:>8.2f}")
    print(f"{'ping RTT min (ms)':24}{smin:>10.3f}{lmin:>12.3f}{smin / lmin:>8.2f}")
PY
