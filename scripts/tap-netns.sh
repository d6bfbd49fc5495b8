#!/usr/bin/env bash
# Puts each instance of a configuration into its own Linux network namespace, wired to the
# engine's TAP port for it, configured as GCP configures a VM: its internal IP as a /32, a
# link route to the subnet gateway, the default route through it, MTU 1460 (the network's),
# and GCP's NIC MAC (42:01:<ip>) unless the testbed names another.
#   scripts/tap-netns.sh up CONFIG_DIR     (svpcd must be running: it creates the TAP devices)
#   scripts/tap-netns.sh down CONFIG_DIR   removes the namespaces; safe to run repeatedly
# Namespace names are printed by `svpc netns-plan CONFIG_DIR` (column 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SVPC_BUILD_DIR:-$root/build}
action=${1:?usage: tap-netns.sh up|down CONFIG_DIR}
config=${2:?usage: tap-netns.sh up|down CONFIG_DIR}
plan=$("$build/cli/svpc" netns-plan "$config")

down() {
  while read -r iface ns ip gateway mac mtu vlan; do
    [ -n "${ns:-}" ] || continue
    # Processes left in the namespace (listeners of a failed test) would keep it alive.
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done <<<"$plan"
}

up() {
  while read -r iface ns ip gateway mac mtu vlan; do
    [ -n "${ns:-}" ] || continue
    for _ in $(seq 1 100); do
      ip link show "$iface" >/dev/null 2>&1 && break
      sleep 0.1
    done
    ip link show "$iface" >/dev/null 2>&1 || { echo "tap-netns: no interface $iface (is svpcd running?)" >&2; return 1; }
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip link set "$iface" netns "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip link set "$iface" address "$mac" mtu "$mtu" up
    dev=$iface
    if [ "$vlan" != "-" ]; then
      dev=$iface.$vlan
      ip netns exec "$ns" ip link add link "$iface" name "$dev" type vlan id "$vlan"
      ip netns exec "$ns" ip link set "$dev" mtu "$mtu" up
    fi
    ip netns exec "$ns" ip addr add "$ip/32" dev "$dev"
    ip netns exec "$ns" ip route add "$gateway" dev "$dev" scope link
    ip netns exec "$ns" ip route add default via "$gateway" dev "$dev"
    echo "tap-netns: $ns: $ip on $dev (mac $mac, mtu $mtu), gateway $gateway"
  done <<<"$plan"
}

case $action in
  up) up ;;
  down) down ;;
  *) echo "usage: tap-netns.sh up|down CONFIG_DIR" >&2; exit 2 ;;
esac
