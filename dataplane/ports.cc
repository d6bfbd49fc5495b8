#include "dataplane/ports.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <regex>

namespace svpc::dataplane {
namespace {
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;
}  // namespace

std::string DeviceName(const std::string& device_string) {
  return device_string.substr(0, device_string.find(','));
}

bool IsPciAddress(const std::string& device_string) {
  static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7](,.*)?$)");
  return std::regex_match(device_string, pci);
}

std::vector<std::string> EalDeviceArgs(const std::vector<std::string>& device_strings) {
  std::vector<std::string> args;
  bool any_pci = false;
  for (const std::string& dev : device_strings) {
    if (IsPciAddress(dev)) {
      any_pci = true;
      args.push_back("-a");
    } else {
      args.push_back("--vdev");
    }
    args.push_back(dev);
  }
  if (!any_pci) args.push_back("--no-pci");
  return args;
}

bool PortSet::Open(const std::vector<std::string>& device_strings, rte_mempool* pool,
                   std::string* error) {
  for (const std::string& dev : device_strings) {
    uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(DeviceName(dev).c_str(), &port) != 0) {
      *error = "no DPDK port for device '" + dev + "' (is it bound to a DPDK driver?)";
      return false;
    }
    rte_eth_conf conf{};
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port, &info) != 0) {
      *error = "cannot query device '" + dev + "'";
      return false;
    }
    int rc = rte_eth_dev_configure(port, 1, 1, &conf);
    uint16_t rx_desc = kRxDescriptors;
    uint16_t tx_desc = kTxDescriptors;
    if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
    if (rc == 0) {
      rc = rte_eth_rx_queue_setup(port, 0, rx_desc, rte_eth_dev_socket_id(port), nullptr, pool);
    }
    if (rc == 0) {
      rc = rte_eth_tx_queue_setup(port, 0, tx_desc, rte_eth_dev_socket_id(port), nullptr);
    }
    if (rc == 0) rc = rte_eth_dev_start(port);
    if (rc != 0) {
      *error = "cannot start device '" + dev + "': " + rte_strerror(-rc);
      return false;
    }
    // Frames for instance MACs must reach us; some virtual devices do not support it.
    rte_eth_promiscuous_enable(port);
    ports_.push_back(port);
  }
  open_ = true;
  return true;
}

void PortSet::Close() {
  for (uint16_t port : ports_) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  }
  ports_.clear();
  open_ = false;
}

}  // namespace svpc::dataplane
