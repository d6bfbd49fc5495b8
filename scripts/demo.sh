#!/usr/bin/env bash
# The two-minute tour: installs what is missing, builds, and replays the seed's hybrid-cloud
# Shared VPC (host project host-prj; service projects svc-a, svc-b, svc-c; instances 10.0.1.3,
# 10.15.2.4, 10.7.1.50; a VPN tunnel to on-prem; the internet) through the engine, then prints
# what happened to each flow and where the output captures are.
#   scripts/demo.sh [OUT_DIR]     (default: out/demo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/demo}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
example=$root/examples/hybrid-cloud/config
traffic=$root/examples/hybrid-cloud/traffic.json
build=${SVPC_BUILD_DIR:-$root/build}

echo "== configuration"
"$build/cli/svpc" validate "$example"
echo
echo "== traffic: $traffic (crafted into pcaps under $out/in)"
rm -rf "$out"
"$build/pcap/svpc-craft" "$traffic" "$out/in"
args=()
for port in vm-a vm-b vm-c onprem internet; do
  [ -f "$out/in/$port.pcap" ] && args+=(--pcap "$port=$out/in/$port.pcap")
done
echo
echo "== replay"
"$build/cli/svpc" replay "$example" "${args[@]}" --out "$out"
