#pragma once
// Matching primitives shared by the VPC firewall rules and the firewall policy rules: the same
// GCP semantics for id sets, address ranges, protocols and ports in both.

#include <cstdint>
#include <span>
#include <vector>

#include "firewall/vpc_firewall.h"

namespace svpc::firewall {

// True if two sorted id lists share an element.
inline bool Intersects(std::span<const uint32_t> a, std::span<const uint32_t> b) noexcept {
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() && ib != b.end()) {
    if (*ia == *ib) return true;
    if (*ia < *ib) {
      ++ia;
    } else {
      ++ib;
    }
  }
  return false;
}

inline bool InAny(const std::vector<Prefix>& ranges, Ipv4 ip) noexcept {
  for (const Prefix& p : ranges) {
    if (p.Contains(ip)) return true;
  }
  return false;
}

// protocol -1 = all; a rule naming ports never matches a packet without ports.
inline bool ProtocolMatches(const std::vector<ProtocolMatch>& protocols,
                            const FlowKey& key) noexcept {
  for (const ProtocolMatch& m : protocols) {
    if (m.protocol >= 0 && m.protocol != key.protocol) continue;
    if (m.ports.empty()) return true;
    if (!key.has_ports) continue;
    for (const PortRange& r : m.ports) {
      if (key.dst_port >= r.first && key.dst_port <= r.last) return true;
    }
  }
  return false;
}

}  // namespace svpc::firewall
