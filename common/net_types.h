#pragma once
// Value types shared by every folder: IPv4 addresses and prefixes, MAC addresses, and the
// header layouts the data plane parses. Addresses are kept in host byte order; conversion to
// wire order happens only where headers are read or written.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace svpc {

// An IPv4 address in host byte order.
using Ipv4 = uint32_t;

std::optional<Ipv4> ParseIpv4(std::string_view text);
std::string FormatIpv4(Ipv4 addr);

// An IPv4 prefix; `addr` always has the host bits cleared.
struct Prefix {
  Ipv4 addr = 0;
  uint8_t len = 0;

  static constexpr uint32_t MaskOf(uint8_t len) {
    return len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  }
  uint32_t Mask() const { return MaskOf(len); }
  bool Contains(Ipv4 ip) const { return (ip & Mask()) == addr; }
  bool Contains(const Prefix& other) const { return other.len >= len && Contains(other.addr); }
  bool Overlaps(const Prefix& other) const { return Contains(other) || other.Contains(*this); }
  Ipv4 First() const { return addr; }
  Ipv4 Last() const { return addr | ~Mask(); }
  uint64_t Size() const { return uint64_t{1} << (32 - len); }
  bool operator==(const Prefix&) const = default;
};

// Parses "a.b.c.d/len" or a bare address (as /32). Rejects set host bits unless `allow_host_bits`,
// in which case they are cleared.
std::optional<Prefix> ParsePrefix(std::string_view text, bool allow_host_bits = false);
std::string FormatPrefix(const Prefix& p);

struct MacAddr {
  std::array<uint8_t, 6> bytes{};
  bool operator==(const MacAddr&) const = default;
  bool IsBroadcast() const;
  bool IsMulticast() const { return bytes[0] & 1; }
  uint64_t AsU64() const;
};

std::optional<MacAddr> ParseMac(std::string_view text);
std::string FormatMac(const MacAddr& mac);

// GCP gives every VM NIC and every subnet gateway a MAC of the form 42:01:<IPv4 address>.
// (Observed on GCP VMs; not in the API reference, so kept in this one place.)
MacAddr GcpMacForIp(Ipv4 ip);

}  // namespace svpc
