#!/usr/bin/env bash
# Installs every Debian package svpc needs to build, test and run. Safe to run repeatedly:
# it only calls apt-get when something is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config clang-format
  libdpdk-dev dpdk-dev dpdk
  libboost1.81-dev libboost-json1.81-dev libspdlog-dev libpcap-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 iputils-ping netcat-openbsd iperf3 tcpdump procps python3 pciutils kmod nftables ethtool
  bird2
  clang-14 libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "svpc: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
