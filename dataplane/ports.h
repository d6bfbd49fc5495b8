#pragma once
// The engine's DPDK ports: one per testbed port, whatever the device (PCI NIC, net_tap,
// net_pcap, net_ring, net_null). The device string only decides how EAL probes it; from here on
// every port is the same: one RX and one TX queue, promiscuous (instance MACs are not the
// port's MAC), started.

#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;

namespace svpc::dataplane {

// "net_tap0,iface=svpc-a" -> "net_tap0"; a PCI address stays as it is.
std::string DeviceName(const std::string& device_string);
// 0000:01:00.0 or 01:00.0
bool IsPciAddress(const std::string& device_string);
// EAL arguments that make these devices exist: --vdev for virtual devices, -a for PCI ones,
// --no-pci when there is none.
std::vector<std::string> EalDeviceArgs(const std::vector<std::string>& device_strings);

class PortSet {
 public:
  ~PortSet() { Close(); }
  // Finds, configures and starts the port for each device string, in order.
  bool Open(const std::vector<std::string>& device_strings, rte_mempool* pool, std::string* error);
  void Close();
  uint16_t dpdk_port(uint16_t index) const { return ports_[index]; }
  uint16_t size() const { return static_cast<uint16_t>(ports_.size()); }

 private:
  std::vector<uint16_t> ports_;
  bool open_ = false;
};

}  // namespace svpc::dataplane
