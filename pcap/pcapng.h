#pragma once
// A pcapng file in memory (Wireshark, tcpdump and dpdk-dumpcap's format): one interface per
// testbed port, nanosecond timestamps, and a comment on each packet (`svpc capture --drops`
// puts the drop cause there; Wireshark shows it as pkt_comment / frame.comment).

#include <cstdint>
#include <string>
#include <vector>

namespace svpc::pcap {

struct PcapngPacket {
  uint32_t interface = 0;  // index in `interfaces`
  uint64_t time_ns = 0;    // since the Unix epoch
  uint32_t original_length = 0;
  std::string data;  // what was captured (up to the snap length)
  std::string comment;
};

// `interfaces` names the interfaces (if_name); every one is Ethernet with `snap_length`.
std::string PcapngFile(const std::vector<std::string>& interfaces, uint32_t snap_length,
                       const std::vector<PcapngPacket>& packets);

}  // namespace svpc::pcap
