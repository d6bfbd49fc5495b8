#!/usr/bin/env bash
# Prepares a lab machine to run svpcd on real NICs: hugepages, and binding NICs to a DPDK
# driver (vfio-pci) and back to their kernel driver with DPDK's dpdk-devbind.py.
#   scripts/nic-setup.sh status                 NICs and the drivers they use; hugepages
#   scripts/nic-setup.sh hugepages [MiB]        reserve 2 MiB hugepages (default 2048 MiB) and mount them
#   scripts/nic-setup.sh bind PCI [PCI ...]     bind to vfio-pci (loads the module; needs an IOMMU,
#                                               or set SVPC_VFIO_NOIOMMU=1 for no-IOMMU mode)
#   scripts/nic-setup.sh unbind PCI DRIVER      give the NIC back to its kernel driver (e.g. ice, mlx5_core, e1000e)
# Then put the PCI addresses in testbed.json ("device": "0000:3b:00.0") and run svpcd.
# Mellanox (mlx5) NICs stay on their kernel driver: DPDK drives them through it; do not bind.
set -euo pipefail
"$(dirname "$0")/install-deps.sh" >/dev/null
[ "$(id -u)" -eq 0 ] || { echo "nic-setup: run as root" >&2; exit 1; }
cmd=${1:-status}
case $cmd in
  status)
    dpdk-devbind.py --status-dev net
    grep -E 'HugePages_(Total|Free)|Hugepagesize' /proc/meminfo
    ;;
  hugepages)
    mib=${2:-2048}
    echo $((mib / 2)) >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
    mkdir -p /dev/hugepages
    mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
    grep -E 'HugePages_(Total|Free)' /proc/meminfo
    ;;
  bind)
    shift
    [ $# -gt 0 ] || { echo "usage: nic-setup.sh bind PCI [PCI ...]" >&2; exit 2; }
    if [ "${SVPC_VFIO_NOIOMMU:-0}" = 1 ]; then
      modprobe vfio enable_unsafe_noiommu_mode=1
    fi
    modprobe vfio-pci
    for dev in "$@"; do
      ip_if=$(ls "/sys/bus/pci/devices/$dev/net" 2>/dev/null || true)
      [ -z "$ip_if" ] || ip link set "$ip_if" down
      dpdk-devbind.py --bind=vfio-pci "$dev"
    done
    dpdk-devbind.py --status-dev net
    ;;
  unbind)
    dev=${2:?usage: nic-setup.sh unbind PCI DRIVER}
    driver=${3:?usage: nic-setup.sh unbind PCI DRIVER}
    dpdk-devbind.py --bind="$driver" "$dev"
    dpdk-devbind.py --status-dev net
    ;;
  *)
    sed -n '2,12p' "$0"; exit 2 ;;
esac
