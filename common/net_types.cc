#include "common/net_types.h"

#include <charconv>
#include <cstdio>

namespace svpc {
namespace {

bool ParseUint(std::string_view text, uint32_t max, uint32_t& out) {
  if (text.empty() || text.size() > 10) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > max) return false;
  out = static_cast<uint32_t>(value);
  return true;
}

}  // namespace

std::optional<Ipv4> ParseIpv4(std::string_view text) {
  Ipv4 addr = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = text.find('.');
    std::string_view part = i < 3 ? text.substr(0, dot) : text;
    if (i < 3 && dot == std::string_view::npos) return std::nullopt;
    // Leading zeros are rejected: "010" is octal to some tools and decimal to others.
    if (part.size() > 1 && part[0] == '0') return std::nullopt;
    uint32_t octet = 0;
    if (part.size() > 3 || !ParseUint(part, 255, octet)) return std::nullopt;
    addr = (addr << 8) | octet;
    if (i < 3) text.remove_prefix(dot + 1);
  }
  return addr;
}

std::string FormatIpv4(Ipv4 addr) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
                (addr >> 8) & 0xff, addr & 0xff);
  return buf;
}

std::optional<Prefix> ParsePrefix(std::string_view text, bool allow_host_bits) {
  size_t slash = text.find('/');
  uint32_t len = 32;
  if (slash != std::string_view::npos) {
    if (!ParseUint(text.substr(slash + 1), 32, len)) return std::nullopt;
    text = text.substr(0, slash);
  }
  auto addr = ParseIpv4(text);
  if (!addr) return std::nullopt;
  Prefix p{*addr, static_cast<uint8_t>(len)};
  if ((p.addr & p.Mask()) != p.addr) {
    if (!allow_host_bits) return std::nullopt;
    p.addr &= p.Mask();
  }
  return p;
}

std::string FormatPrefix(const Prefix& p) {
  return FormatIpv4(p.addr) + "/" + std::to_string(p.len);
}

bool MacAddr::IsBroadcast() const {
  for (uint8_t b : bytes) {
    if (b != 0xff) return false;
  }
  return true;
}

uint64_t MacAddr::AsU64() const {
  uint64_t v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  return v;
}

std::optional<MacAddr> ParseMac(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddr mac;
  for (int i = 0; i < 6; ++i) {
    if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return std::nullopt;
    uint32_t byte = 0;
    auto part = text.substr(i * 3, 2);
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + 2, byte, 16);
    if (ec != std::errc() || ptr != part.data() + 2) return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(byte);
  }
  return mac;
}

std::string FormatMac(const MacAddr& mac) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac.bytes[0], mac.bytes[1],
                mac.bytes[2], mac.bytes[3], mac.bytes[4], mac.bytes[5]);
  return buf;
}

MacAddr GcpMacForIp(Ipv4 ip) {
  return MacAddr{{0x42, 0x01, static_cast<uint8_t>(ip >> 24), static_cast<uint8_t>(ip >> 16),
                  static_cast<uint8_t>(ip >> 8), static_cast<uint8_t>(ip)}};
}

}  // namespace svpc
