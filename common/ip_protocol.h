#pragma once
// IP protocol numbers (IANA) and the names GCP's firewall rules spell them with, in one place:
// the data plane's parser, the packet crafter, the resource readers and writers use these.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace svpc {

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoIpip = 4;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoEsp = 50;
inline constexpr uint8_t kIpProtoAh = 51;
inline constexpr uint8_t kIpProtoSctp = 132;
// A firewall entry's "all" (every protocol); not an IP protocol number.
inline constexpr int kIpProtoAll = -1;

// GCP's names for `IPProtocol` / `ipProtocol` (lowercase), with their numbers.
inline constexpr std::array<std::pair<std::string_view, int>, 8> kIpProtocolNames = {{
    {"all", kIpProtoAll},
    {"icmp", kIpProtoIcmp},
    {"ipip", kIpProtoIpip},
    {"tcp", kIpProtoTcp},
    {"udp", kIpProtoUdp},
    {"esp", kIpProtoEsp},
    {"ah", kIpProtoAh},
    {"sctp", kIpProtoSctp},
}};

// The name of `protocol` in kIpProtocolNames, or nullopt (the caller prints the number).
constexpr std::optional<std::string_view> IpProtocolName(int protocol) {
  for (const auto& [name, number] : kIpProtocolNames) {
    if (number == protocol) return name;
  }
  return std::nullopt;
}

// Whether a firewall entry of `protocol` may list ports (GCP: tcp, udp, sctp).
constexpr bool IpProtocolHasPorts(int protocol) {
  return protocol == kIpProtoTcp || protocol == kIpProtoUdp || protocol == kIpProtoSctp;
}

}  // namespace svpc
