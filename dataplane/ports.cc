#include "dataplane/ports.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <rte_thash.h>

#include <cstring>
#include <regex>

namespace svpc::dataplane {
namespace {
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;
// What the symmetric key hashes: addresses and TCP/UDP ports, plus plain IPv4 for the rest.
// Fragments hash by their addresses alone (NICs cannot see the ports of later fragments), so a
// fragmented datagram may reach another worker than its flow's unfragmented packets.
constexpr uint64_t kRssTypes = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 |
                               RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
                               RTE_ETH_RSS_NONFRAG_IPV4_OTHER;
}  // namespace

const uint8_t kSymmetricRssKey[kRssKeyLength] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

uint16_t RssQueue(uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port,
                  uint16_t queues) noexcept {
  if (queues <= 1) return 0;
  // rte_softrss takes the tuple as host-order 32-bit words: addresses, then the ports word.
  uint32_t tuple[3] = {src, dst, uint32_t{src_port} << 16 | dst_port};
  const uint32_t words = (src_port | dst_port) != 0 ? 3 : 2;
  const uint32_t hash = rte_softrss(tuple, words, kSymmetricRssKey);
  return static_cast<uint16_t>(hash % queues);
}

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
                   uint16_t queues, std::string* error) {
  queues_ = queues == 0 ? 1 : queues;
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
    if (info.max_rx_queues < queues_ || info.max_tx_queues < queues_) {
      *error = "device '" + dev + "' (" + info.driver_name + ") has " +
               std::to_string(info.max_rx_queues) + " RX / " + std::to_string(info.max_tx_queues) +
               " TX queues; " + std::to_string(queues_) + " workers need one each";
      return false;
    }
    // The symmetric hash where the device can hash, with every packet type it knows of ours.
    const uint64_t rss_types = info.flow_type_rss_offloads & kRssTypes;
    const bool hashes = queues_ > 1 && rss_types != 0;
    uint8_t key[kRssKeyLength];
    std::memcpy(key, kSymmetricRssKey, sizeof(key));
    if (hashes) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = rss_types;
      if (info.hash_key_size == kRssKeyLength) {
        conf.rx_adv_conf.rss_conf.rss_key = key;
        conf.rx_adv_conf.rss_conf.rss_key_len = kRssKeyLength;
      }
    }
    int rc = rte_eth_dev_configure(port, queues_, queues_, &conf);
    uint16_t rx_desc = kRxDescriptors;
    uint16_t tx_desc = kTxDescriptors;
    if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
    for (uint16_t q = 0; rc == 0 && q < queues_; ++q) {
      rc = rte_eth_rx_queue_setup(port, q, rx_desc, rte_eth_dev_socket_id(port), nullptr, pool);
      if (rc == 0) {
        rc = rte_eth_tx_queue_setup(port, q, tx_desc, rte_eth_dev_socket_id(port), nullptr);
      }
    }
    if (rc == 0) rc = rte_eth_dev_start(port);
    if (rc != 0) {
      *error = "cannot start device '" + dev + "': " + rte_strerror(-rc);
      return false;
    }
    // Frames for instance MACs must reach us; some virtual devices do not support it.
    rte_eth_promiscuous_enable(port);
    ports_.push_back(port);
    hashes_.push_back(hashes);
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
  hashes_.clear();
  open_ = false;
}

}  // namespace svpc::dataplane
