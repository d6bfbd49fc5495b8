#pragma once
// The engine's DPDK ports: one per testbed port, whatever the device (PCI NIC, net_tap,
// net_pcap, net_ring, net_null). The device string only decides how EAL probes it; from here on
// every port is the same: one RX and one TX queue per worker (worker w polls RX queue w and sends
// on TX queue w), promiscuous (instance MACs are not the port's MAC), started.
//
// Several workers: a flow's two directions must reach the same worker, whose connection table
// tracks it. Ports whose device hashes (RSS) get Toeplitz with a symmetric key over the IPv4
// addresses and TCP/UDP ports, so swapping source and destination gives the same queue. Devices
// without RSS (net_pcap, net_ring, net_null) deliver what their queues hold: whoever fills them
// (a test, the benchmark) chooses the queue, e.g. with RssQueue below, as a NIC would.

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

// The symmetric RSS key: 0x6d5a repeated. With it, Toeplitz hashes (a, b) and (b, a) alike for
// addresses and for ports (Woo and Park, "Scalable TCP Session Monitoring with Symmetric
// Receive-side Scaling", 2012).
inline constexpr uint8_t kRssKeyLength = 40;
extern const uint8_t kSymmetricRssKey[kRssKeyLength];

// The queue a NIC with the symmetric key and the default redirection table (hash modulo queues,
// as DPDK's default RETA spreads queues round robin) picks for an IPv4 packet; ports are 0 for
// protocols without them. Software, for devices without RSS: the benchmark fills their queues.
uint16_t RssQueue(uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port,
                  uint16_t queues) noexcept;

class PortSet {
 public:
  ~PortSet() { Close(); }
  // Finds, configures and starts the port for each device string, in order, with `queues` RX and
  // TX queues (one per worker). Fails, naming the device, when a device has fewer queues.
  bool Open(const std::vector<std::string>& device_strings, rte_mempool* pool, uint16_t queues,
            std::string* error);
  bool Open(const std::vector<std::string>& device_strings, rte_mempool* pool, std::string* error) {
    return Open(device_strings, pool, 1, error);
  }
  void Close();
  uint16_t dpdk_port(uint16_t index) const { return ports_[index]; }
  uint16_t size() const { return static_cast<uint16_t>(ports_.size()); }
  uint16_t queues() const { return queues_; }
  // Whether the device spreads received packets over the queues by the symmetric hash itself.
  bool hashes(uint16_t index) const { return hashes_[index]; }

 private:
  std::vector<uint16_t> ports_;
  std::vector<bool> hashes_;
  uint16_t queues_ = 1;
  bool open_ = false;
};

}  // namespace svpc::dataplane
