#include "dataplane/pipeline.h"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <cstring>

#include "common/ip_protocol.h"

namespace svpc::dataplane {
namespace {

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
// The metadata server: always reachable from instances, whatever the firewall says. It is not
// emulated: its packets are consumed by the fabric (LOCAL).
constexpr Ipv4 kMetadataServer = 0xa9fea9fe;  // 169.254.169.254
// GCP blocks egress to TCP destination port 25 towards the internet. Whether it also blocks it
// towards on-prem (VPN / Interconnect) is unconfirmed; we block only the internet.
constexpr uint16_t kBlockedSmtpPort = 25;
// Source tags / service accounts identify a sender by its NIC's primary IP. Whether alias IP
// ranges count too is unconfirmed; we say no.
constexpr bool kSourceIdentityCoversAliasRanges = false;

inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void Store16(uint8_t* p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}
inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

// The IPv4 header checksum verifies when the one's-complement sum of the header is 0xffff.
// Word-wise sums rather than rte_raw_cksum's 16-bit loop: every packet pays for this.
// The 20-byte header without options is summed unrolled (the usual case; a loop over `ihl` cost
// ~9 instructions more per packet), options after it.
bool Ipv4HeaderChecksumOk(const uint8_t* l3, uint32_t ihl) noexcept {
  uint32_t words[5];
  std::memcpy(words, l3, sizeof(words));
  uint64_t sum = uint64_t{words[0]} + words[1] + words[2] + words[3] + words[4];
  for (uint32_t off = 20; off < ihl; off += 4) {
    uint32_t word;
    std::memcpy(&word, l3 + off, 4);
    sum += word;
  }
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

bool IsIcmpEcho(uint8_t type) { return type == kIcmpEchoRequest || type == kIcmpEchoReply; }

// ICMP echo identifier, or for errors the header (and ports) of the packet they are about.
void ParseIcmp(const uint8_t* icmp, uint32_t len, PacketMeta& meta) noexcept {
  meta.icmp_type = icmp[0];
  if (IsIcmpEcho(meta.icmp_type)) {
    meta.icmp_id = Load16(icmp + 4);
    return;
  }
  const bool error = meta.icmp_type == 3 || meta.icmp_type == 4 || meta.icmp_type == 5 ||
                     meta.icmp_type == 11 || meta.icmp_type == 12;
  if (!error || len < 8 + 20) return;
  const uint8_t* inner = icmp + 8;
  const uint32_t inner_ihl = (inner[0] & 0x0f) * 4u;
  if ((inner[0] >> 4) != 4 || inner_ihl < 20 || len < 8 + inner_ihl) return;
  meta.icmp_error = true;
  meta.inner_protocol = inner[9];
  meta.inner_src = Load32(inner + 12);
  meta.inner_dst = Load32(inner + 16);
  const uint8_t* inner_l4 = inner + inner_ihl;
  const uint32_t inner_l4_len = len - 8 - inner_ihl;
  if ((meta.inner_protocol == kIpProtoTcp || meta.inner_protocol == kIpProtoUdp ||
       meta.inner_protocol == kIpProtoSctp) &&
      inner_l4_len >= 4) {
    meta.inner_src_port = Load16(inner_l4);
    meta.inner_dst_port = Load16(inner_l4 + 2);
  } else if (meta.inner_protocol == kIpProtoIcmp && inner_l4_len >= 8 && IsIcmpEcho(inner_l4[0])) {
    meta.inner_src_port = meta.inner_dst_port = Load16(inner_l4 + 4);
  }
}

// ECMP's hash of the L3/L4 headers. Symmetric (the lower address and its port first), so both
// directions of a flow hash alike and stay on one path; CRC32-C in hardware, a few cycles.
uint32_t SymmetricFlowHash(const PacketMeta& meta) noexcept {
  const bool src_low =
      meta.src < meta.dst || (meta.src == meta.dst && meta.src_port <= meta.dst_port);
  const uint64_t ips =
      src_low ? (uint64_t{meta.src} << 32 | meta.dst) : (uint64_t{meta.dst} << 32 | meta.src);
  const uint32_t ports = src_low ? (uint32_t{meta.src_port} << 16 | meta.dst_port)
                                 : (uint32_t{meta.dst_port} << 16 | meta.src_port);
  return rte_hash_crc_8byte(ips, rte_hash_crc_4byte(ports ^ meta.protocol, 0x5f3759df));
}

void ParseOne(rte_mbuf* m, PacketMeta& meta) noexcept {
  const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < RTE_ETHER_HDR_LEN) return meta.Drop(DropCause::kMalformedPacket);
  std::memcpy(meta.src_mac.bytes.data(), data + 6, 6);
  uint16_t ethertype = Load16(data + 12);
  uint32_t offset = RTE_ETHER_HDR_LEN;
  if (ethertype == RTE_ETHER_TYPE_VLAN) {
    if (len < offset + 4) return meta.Drop(DropCause::kMalformedPacket);
    meta.tagged = true;
    meta.vlan = Load16(data + offset) & 0x0fff;
    ethertype = Load16(data + offset + 2);
    offset += 4;
  }
  meta.l3_offset = offset;
  const uint8_t* l3 = data + offset;
  const uint32_t avail = len - offset;
  if (ethertype == RTE_ETHER_TYPE_ARP) {
    // htype Ethernet, ptype IPv4, hlen 6, plen 4: anything else is not an ARP we can answer.
    if (avail < 28 || Load16(l3) != 1 || Load16(l3 + 2) != RTE_ETHER_TYPE_IPV4 || l3[4] != 6 ||
        l3[5] != 4) {
      return meta.Drop(DropCause::kMalformedPacket);
    }
    meta.l3 = L3Kind::kArp;
    meta.arp_op = Load16(l3 + 6);
    meta.src = Load32(l3 + 14);
    meta.dst = Load32(l3 + 24);
    return;
  }
  if (ethertype != RTE_ETHER_TYPE_IPV4) return meta.Drop(DropCause::kUnsupportedProtocol);
  if (avail < 20) return meta.Drop(DropCause::kMalformedPacket);
  const uint32_t ihl = (l3[0] & 0x0f) * 4u;
  const uint16_t total = Load16(l3 + 2);
  if ((l3[0] >> 4) != 4 || ihl < 20 || ihl > avail || total < ihl || total > avail) {
    return meta.Drop(DropCause::kMalformedPacket);
  }
  if (!Ipv4HeaderChecksumOk(l3, ihl)) return meta.Drop(DropCause::kMalformedPacket);
  meta.l3 = L3Kind::kIpv4;
  meta.ip_total_length = total;
  meta.protocol = l3[9];
  meta.src = Load32(l3 + 12);
  meta.dst = Load32(l3 + 16);
  meta.ip_id = Load16(l3 + 4);
  const uint16_t frag = Load16(l3 + 6);
  const uint16_t frag_offset = frag & 0x1fff;
  meta.fragment = (frag & 0x2000) != 0 || frag_offset != 0;
  meta.later_fragment = frag_offset != 0;
  if (frag_offset == 0) {
    const uint8_t* l4 = l3 + ihl;
    const uint32_t l4_len = total - ihl;
    // Only the first fragment carries the L4 header; require enough of it to be the real thing.
    uint32_t needed = 0;
    if (meta.protocol == kIpProtoTcp) {
      needed = meta.fragment ? 4 : 20;
    } else if (meta.protocol == kIpProtoUdp) {
      needed = meta.fragment ? 4 : 8;
    } else if (meta.protocol == kIpProtoSctp) {
      needed = meta.fragment ? 4 : 12;
    } else if (meta.protocol == kIpProtoIcmp) {
      needed = meta.fragment ? 0 : 8;
    }
    if (l4_len < needed) return meta.Drop(DropCause::kMalformedPacket);
    if (meta.protocol == kIpProtoTcp || meta.protocol == kIpProtoUdp ||
        meta.protocol == kIpProtoSctp) {
      meta.has_ports = true;
      meta.src_port = Load16(l4);
      meta.dst_port = Load16(l4 + 2);
    }
    if (meta.protocol == kIpProtoTcp && l4_len >= 14) meta.tcp_flags = l4[13];
    if (meta.protocol == kIpProtoIcmp && l4_len >= 8) ParseIcmp(l4, l4_len, meta);
  }
}

// Turns an ARP request into the fabric's reply, in place: "target_ip is at fabric_mac".
void AnswerArp(rte_mbuf* m, const PacketMeta& meta, const MacAddr& fabric_mac) noexcept {
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* arp = data + meta.l3_offset;
  uint8_t requester_mac[6];
  std::memcpy(requester_mac, arp + 8, 6);
  std::memcpy(data, requester_mac, 6);
  std::memcpy(data + 6, fabric_mac.bytes.data(), 6);
  Store16(arp + 6, RTE_ARP_OP_REPLY);
  std::memcpy(arp + 8, fabric_mac.bytes.data(), 6);
  Store32(arp + 14, meta.dst);
  std::memcpy(arp + 18, requester_mac, 6);
  Store32(arp + 24, meta.src);
}

// Makes the frame carry `vlan` (0 = untagged). False if there is no room to add a tag.
bool SetVlan(rte_mbuf* m, PacketMeta& meta, uint16_t vlan) noexcept {
  if (meta.tagged && vlan != kNoVlan) {
    uint8_t* tci = rte_pktmbuf_mtod(m, uint8_t*) + 14;
    Store16(tci, static_cast<uint16_t>((Load16(tci) & 0xf000) | vlan));
    return true;
  }
  if (meta.tagged) {
    uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
    std::memmove(data + 4, data, 12);
    rte_pktmbuf_adj(m, 4);
    meta.tagged = false;
    return true;
  }
  if (vlan == kNoVlan) return true;
  uint8_t* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, 4));
  if (data == nullptr) return false;
  std::memmove(data, data + 4, 12);
  Store16(data + 12, RTE_ETHER_TYPE_VLAN);
  Store16(data + 14, vlan);
  meta.tagged = true;
  return true;
}

firewall::FlowKey KeyOf(const PacketMeta& meta) {
  return firewall::FlowKey{meta.src,       meta.dst,      meta.protocol,
                           meta.has_ports, meta.src_port, meta.dst_port};
}

// The connection a packet belongs to, as conntrack keys it.
[[gnu::always_inline]] inline firewall::FlowTuple TupleOf(const Snapshot& snap,
                                                          const PacketMeta& m) {
  uint16_t sport = m.has_ports ? m.src_port : 0;
  uint16_t dport = m.has_ports ? m.dst_port : 0;
  if (m.protocol == kIpProtoIcmp && IsIcmpEcho(m.icmp_type)) sport = dport = m.icmp_id;
  return firewall::FlowTuple{
      snap.networks[m.network].conntrack_id, m.src, m.dst, sport, dport, m.protocol};
}

// The connection an ICMP error is about.
firewall::FlowTuple InnerTupleOf(const Snapshot& snap, const PacketMeta& m) {
  return firewall::FlowTuple{snap.networks[m.network].conntrack_id,
                             m.inner_src,
                             m.inner_dst,
                             m.inner_src_port,
                             m.inner_dst_port,
                             m.inner_protocol};
}

// One direction's firewall decision for a NIC: the deciding rule, and its firewall policy when a
// policy rule decided (kNoPolicy: a VPC firewall rule, or kImplied).
struct FirewallDecision {
  firewall::Action action = firewall::Action::kDeny;
  int32_t rule = kImplied;
  uint32_t policy = firewall::kNoPolicy;
};

FirewallDecision FromClassifier(const firewall::Decision& d) {
  return FirewallDecision{d.action, d.rule, firewall::kNoPolicy};
}

// The VPC stage reports its RuleSet index with kNoPolicy, the implied rules kImpliedRule (==
// kImplied) with kNoPolicy, policy stages their policy and rule: exactly PacketMeta's encoding.
FirewallDecision FromPolicies(const firewall::PolicyDecision& d) {
  return FirewallDecision{d.action, d.rule, d.policy};
}

// Counts the deciding rule's hit (implied rules are not counted).
void NoteDecision(const Snapshot& snap, uint32_t network, const FirewallDecision& d,
                  uint32_t worker) noexcept {
  if (d.rule < 0) return;
  const uint32_t base = d.policy == firewall::kNoPolicy ? snap.networks[network].rule_hit_base
                                                        : snap.policy_rule_hit_base[d.policy];
  snap.RuleHitSlice(worker)[base + d.rule]++;
}

LogEvent EventOf(const Snapshot& snap, const PacketMeta& m, firewall::Direction direction,
                 int32_t rule, uint32_t policy, bool allowed) {
  LogEvent e;
  e.time_ns = m.time_ns;
  e.generation = snap.generation;
  e.network = static_cast<uint32_t>(m.network);
  const bool egress = direction == firewall::Direction::kEgress;
  e.nic = egress ? m.src_nic : m.dst_nic;
  e.remote_nic = egress ? m.dst_nic : m.src_nic;
  e.rule = rule;
  e.policy = policy;
  e.src = m.src;
  e.dst = m.dst;
  e.src_port = m.has_ports ? m.src_port : 0;
  e.dst_port = m.has_ports ? m.dst_port : 0;
  e.protocol = m.protocol;
  e.direction = direction;
  e.allowed = allowed;
  return e;
}

bool RuleLogs(const Snapshot& snap, const PacketMeta& m, int32_t rule, uint32_t policy) {
  if (rule < 0) return false;
  if (policy != firewall::kNoPolicy) return snap.policies.policy(policy).rules[rule].log;
  return snap.networks[m.network].firewall.rule(rule).log;
}

bool IsBroadcastOrMulticast(Ipv4 dst) { return dst == 0xffffffffu || (dst >> 28) == 0xe; }

// True when the receiver's ingress rules know who the sender is (source tags, service accounts,
// secure tags): an instance NIC of the same network sending from its own address.
bool SenderIdentified(const NicInfo* sender, const NicInfo& receiver, Ipv4 src) {
  if (sender == nullptr || sender->network != receiver.network) return false;
  return src == sender->ip || (kSourceIdentityCoversAliasRanges && sender->Owns(src));
}

// The data path's decision for `nic`: its network's classifier, inside the NIC's policy chain
// when that direction is on the policy path (policy stages by the reference walk, the VPC stage
// by the classifier: the same answers as EvaluatePolicies). `sender` is the other end when
// SenderIdentified (ingress only; egress rules never look at it).
FirewallDecision Decide(const Snapshot& snap, const NicInfo& nic, firewall::Direction direction,
                        const firewall::FlowKey& key, const NicInfo* sender) noexcept {
  const NetworkInfo& net = snap.networks[nic.network];
  const bool egress = direction == firewall::Direction::kEgress;
  const uint32_t source_class = sender != nullptr ? sender->source_class : firewall::kNoSourceClass;
  auto classify = [&] {
    return net.classifier->Classify(direction, nic.target_class, source_class, key);
  };
  if (!(egress ? nic.egress_policy_path : nic.ingress_policy_path)) {
    return FromClassifier(classify());
  }
  firewall::NicIdentity remote;
  if (sender != nullptr) remote = sender->PolicyIdentity();
  return FromPolicies(firewall::EvaluatePoliciesWith(
      snap.policies, net.firewall, egress ? nic.egress_chain : nic.ingress_chain, key,
      sender != nullptr ? &remote : nullptr,
      [&](const firewall::Stage&) noexcept { return classify(); }));
}

}  // namespace

void ResetStage::Run(Burst& burst, Counters& counters) const noexcept {
  // One copy of a constant instead of member-wise construction: the reset was ~40 cycles/packet.
  static constexpr PacketMeta kFresh{};
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    const uint64_t time_ns = meta.time_ns;
    const uint16_t in_port = meta.in_port;
    std::memcpy(static_cast<void*>(&meta), &kFresh, sizeof(PacketMeta));
    meta.time_ns = time_ns;
    meta.in_port = in_port;
    counters.port_rx[in_port]++;
  }
}

void ParseStage::Run(Burst& burst) const noexcept {
  for (uint16_t i = 0; i < burst.count; ++i) rte_prefetch0(burst.pkts[i]);
  for (uint16_t i = 0; i < burst.count; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(burst.pkts[i], const uint8_t*));
  }
  for (uint16_t i = 0; i < burst.count; ++i) ParseOne(burst.pkts[i], burst.meta[i]);
}

void ClassifyStage::Run(const Snapshot& snap, Burst& burst) const noexcept {
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    if (meta.done) continue;
    int32_t ep = snap.ClassifySource(meta.in_port, meta.vlan, meta.src_mac);
    if (ep < 0) {
      meta.Drop(DropCause::kUnknownSource);
      continue;
    }
    const EndpointInfo& endpoint = snap.endpoints[ep];
    meta.src_endpoint = ep;
    meta.network = static_cast<int32_t>(endpoint.network);
    meta.src_nic = endpoint.nic;
    const NicInfo* nic = endpoint.nic >= 0 ? &snap.nics[endpoint.nic] : nullptr;

    if (meta.l3 == L3Kind::kArp) {
      // GCP answers every ARP request with the gateway's MAC, whatever address is asked for;
      // requests for the sender's own address (duplicate address probes) get no answer.
      if (meta.arp_op == RTE_ARP_OP_REQUEST && meta.dst != meta.src) {
        AnswerArp(burst.pkts[i], meta, nic != nullptr ? nic->gateway_mac : kExternalFabricMac);
        meta.Finish(Verdict::kLocal, meta.in_port);
      } else {
        meta.Finish(Verdict::kLocal, kNoPort);
      }
      continue;
    }
    if (endpoint.router_endpoint >= 0 && meta.dst == endpoint.router_ip) {
      meta.control_plane = true;  // BGP (or anything else) for the Cloud Router's address
      meta.dst_endpoint = endpoint.router_endpoint;
      continue;
    }
    if (endpoint.kind == EndpointKind::kCloudRouter) {
      meta.control_plane = true;
      for (const RouterLink& link : endpoint.router_links) {
        if (link.range.Contains(meta.dst)) meta.dst_endpoint = link.endpoint;
      }
      if (meta.dst_endpoint < 0) meta.Drop(DropCause::kNoRoute);
      continue;
    }
    if (nic != nullptr && !nic->can_ip_forward && !nic->Owns(meta.src)) {
      meta.Drop(DropCause::kForeignIpDisallowed);
      continue;
    }
    if (nic != nullptr && meta.dst == kMetadataServer) {
      meta.Finish(Verdict::kLocal, kNoPort);
      continue;
    }
    if (IsBroadcastOrMulticast(meta.dst)) {
      meta.Drop(DropCause::kTrafficTypeBlocked);
      continue;
    }
    if (meta.ip_total_length > snap.networks[endpoint.network].mtu) {
      meta.Drop(DropCause::kMtuExceeded);
      continue;
    }
  }
}

void ConntrackStage::Run(const Snapshot& snap, firewall::ConnTrack* conntrack,
                         Burst& burst) const noexcept {
  if (conntrack == nullptr) return;
  firewall::FlowTuple tuples[kBurstSize];
  // Zeroed although only the first `pending` are read: GCC cannot see that and warns, and a
  // 288-byte clear per burst is under one instruction a packet.
  uint8_t flags[kBurstSize]{};
  uint64_t times[kBurstSize]{};
  uint16_t which[kBurstSize];
  uint16_t pending = 0;
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    if (meta.done || meta.l3 != L3Kind::kIpv4 || meta.control_plane) continue;
    if (meta.later_fragment) {
      auto verdict = conntrack->LaterFragment(TupleOf(snap, meta), meta.ip_id, meta.time_ns);
      if (verdict == firewall::ConnTrack::FragmentVerdict::kAllowed) {
        meta.tracked = true;
      } else if (verdict == firewall::ConnTrack::FragmentVerdict::kDenied) {
        meta.Drop(DropCause::kFirewallRule);
      }
      continue;  // unknown datagram: evaluated on its own, without ports
    }
    if (meta.icmp_error) {
      // Errors about a tracked connection pass; they do not keep it alive.
      if (conntrack->Peek(InnerTupleOf(snap, meta), meta.time_ns) >= 0) meta.tracked = true;
      continue;
    }
    tuples[pending] = TupleOf(snap, meta);
    flags[pending] = meta.tcp_flags;
    times[pending] = meta.time_ns;
    which[pending++] = i;
  }
  // Every ordinary packet in one bulk lookup: the hash overlaps their cache misses.
  int32_t conns[kBurstSize];
  conntrack->LookupBurst(tuples, flags, times, pending, conns);
  for (uint16_t k = 0; k < pending; ++k) {
    if (conns[k] < 0) continue;
    PacketMeta& meta = burst.meta[which[k]];
    meta.tracked = true;
    meta.conn = conns[k];
  }
}

void EgressFirewallStage::Run(const Snapshot& snap, FirewallLog* log, Burst& burst,
                              uint32_t worker) const noexcept {
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    if (meta.done || meta.src_nic < 0) continue;
    if (meta.tracked) {
      meta.egress_rule = kTrackingState;
      continue;
    }
    // Egress rules never look at who the other end is: no remote identity.
    const FirewallDecision d =
        Decide(snap, snap.nics[meta.src_nic], firewall::Direction::kEgress, KeyOf(meta), nullptr);
    meta.egress_rule = d.rule;
    meta.egress_policy = d.policy;
    NoteDecision(snap, meta.network, d, worker);
    if (d.action == firewall::Action::kDeny) {
      meta.Drop(DropCause::kFirewallRule);
      if (log != nullptr && RuleLogs(snap, meta, d.rule, d.policy)) {
        log->Denied(EventOf(snap, meta, firewall::Direction::kEgress, d.rule, d.policy, false));
      }
    }
  }
}

void RouteStage::Run(const Snapshot& snap, Burst& burst,
                     std::optional<uint32_t> forced_flow_hash) const noexcept {
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    if (meta.done || meta.control_plane) continue;
    const NetworkInfo& net = snap.networks[meta.network];
    const NicInfo* src_nic = meta.src_nic >= 0 ? &snap.nics[meta.src_nic] : nullptr;
    uint32_t view = src_nic != nullptr ? src_nic->route_view : routing::RouteTable::kUntaggedView;
    routing::RouteTable::Result hit =
        net.routes->LookupWith(view, meta.dst, [&meta, forced_flow_hash]() noexcept {
          return forced_flow_hash ? *forced_flow_hash : SymmetricFlowHash(meta);
        });
    if (hit.route < 0) {
      meta.Drop(DropCause::kNoRoute);
      continue;
    }
    meta.route = hit.route;
    const routing::Route& route = net.routes->route(hit.route);
    meta.route_kind = route.kind;
    meta.subnet_route = route.next_hop == routing::NextHopType::kSubnet;
    switch (route.next_hop) {
      case routing::NextHopType::kSubnet:
        if (hit.owner < 0) {
          meta.Drop(DropCause::kUnknownInternalAddress);
          continue;
        }
        meta.dst_nic = hit.owner;
        break;
      case routing::NextHopType::kInstance: {
        meta.dst_nic = static_cast<int32_t>(route.target);
        const NicInfo& hop = snap.nics[meta.dst_nic];
        if (!hop.can_ip_forward && !hop.Owns(meta.dst)) {
          meta.Drop(DropCause::kForeignIpDisallowed);
          continue;
        }
        break;
      }
      case routing::NextHopType::kInternetGateway:
        if (src_nic != nullptr && !src_nic->has_external_ip) {
          meta.Drop(DropCause::kNoExternalAddress);
          continue;
        }
        if (src_nic != nullptr && meta.protocol == kIpProtoTcp && meta.has_ports &&
            meta.dst_port == kBlockedSmtpPort) {
          meta.Drop(DropCause::kTrafficTypeBlocked);
          continue;
        }
        if (net.internet_endpoint < 0) {
          meta.Drop(DropCause::kNextHopNotInTestbed);
          continue;
        }
        meta.dst_endpoint = net.internet_endpoint;
        break;
      case routing::NextHopType::kVpnTunnel:
      case routing::NextHopType::kInterconnectAttachment:
        meta.dst_endpoint = static_cast<int32_t>(route.target);
        break;
    }
    if (meta.dst_nic >= 0) {
      meta.dst_endpoint = snap.nics[meta.dst_nic].endpoint;
      if (meta.dst_endpoint < 0) meta.Drop(DropCause::kNextHopNotInTestbed);
    }
  }
}

// The decision for `nic` used by re-checks: its policy chain (reference evaluator) when that
// direction is on the policy path, else its VPC rules (classifier). `sender` is the other end when
// SenderIdentified.
FirewallDecision ReferenceDecision(const Snapshot& snap, const NicInfo& nic,
                                   firewall::Direction direction, const firewall::FlowKey& key,
                                   const NicInfo* sender) noexcept {
  const firewall::RuleSet& rules = snap.networks[nic.network].firewall;
  const bool egress = direction == firewall::Direction::kEgress;
  if (egress ? nic.egress_policy_path : nic.ingress_policy_path) {
    firewall::NicIdentity remote;
    if (sender != nullptr) remote = sender->PolicyIdentity();
    return FromPolicies(firewall::EvaluatePolicies(snap.policies, rules,
                                                   egress ? nic.egress_chain : nic.ingress_chain,
                                                   key, sender != nullptr ? &remote : nullptr));
  }
  // The VPC rules alone: the classifier, which answers exactly as RuleSet::Evaluate does
  // (classifier_tests' differential test).
  return FromClassifier(snap.networks[nic.network].classifier->Classify(
      direction, nic.target_class,
      sender != nullptr ? sender->source_class : firewall::kNoSourceClass, key));
}

// OnRuleChange::kRecheck: evaluates the connection's opening direction (initiator -> responder)
// against the current rules at both ends. Returns false, with the denying rule placed in
// `meta`'s field for the side that denied, when the connection is no longer allowed.
bool RecheckConnection(const Snapshot& snap, const firewall::ConnEntry& entry, bool from_initiator,
                       PacketMeta& meta) noexcept {
  const int32_t opener = from_initiator ? meta.src_nic : meta.dst_nic;
  const int32_t responder = from_initiator ? meta.dst_nic : meta.src_nic;
  const firewall::FlowTuple t = entry.initiator();
  firewall::FlowKey key{t.src,      t.dst,
                        t.protocol, t.protocol != kIpProtoIcmp && (t.src_port | t.dst_port) != 0,
                        t.src_port, t.dst_port};
  if (opener >= 0) {
    FirewallDecision d =
        ReferenceDecision(snap, snap.nics[opener], firewall::Direction::kEgress, key, nullptr);
    if (d.action == firewall::Action::kDeny) {
      (from_initiator ? meta.egress_rule : meta.ingress_rule) = d.rule;
      (from_initiator ? meta.egress_policy : meta.ingress_policy) = d.policy;
      return false;
    }
  }
  if (responder >= 0) {
    const NicInfo& receiver = snap.nics[responder];
    const NicInfo* sender = opener >= 0 ? &snap.nics[opener] : nullptr;
    FirewallDecision d =
        ReferenceDecision(snap, receiver, firewall::Direction::kIngress, key,
                          SenderIdentified(sender, receiver, t.src) ? sender : nullptr);
    if (d.action == firewall::Action::kDeny) {
      (from_initiator ? meta.ingress_rule : meta.egress_rule) = d.rule;
      (from_initiator ? meta.ingress_policy : meta.egress_policy) = d.policy;
      return false;
    }
  }
  return true;
}

void IngressFirewallStage::Run(const Snapshot& snap, firewall::ConnTrack* conntrack,
                               OnRuleChange on_rule_change, FirewallLog* log, Burst& burst,
                               uint32_t worker) const noexcept {
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    if (meta.done) continue;
    if (meta.tracked) {
      if (meta.dst_nic >= 0) meta.ingress_rule = kTrackingState;
      if (meta.conn < 0) continue;
      firewall::ConnEntry& entry = conntrack->entry(meta.conn);
      if (entry.generation == snap.generation) continue;
      if (on_rule_change == OnRuleChange::kRecheck &&
          !RecheckConnection(snap, entry, conntrack->IsInitiator(meta.conn, TupleOf(snap, meta)),
                             meta)) {
        conntrack->Remove(meta.conn);
        meta.conn = -1;
        meta.Drop(DropCause::kFirewallRule);
        continue;
      }
      entry.generation = static_cast<uint32_t>(snap.generation);
      continue;
    }
    if (meta.dst_nic < 0) continue;
    const NicInfo& nic = snap.nics[meta.dst_nic];
    const NicInfo* sender = meta.src_nic >= 0 ? &snap.nics[meta.src_nic] : nullptr;
    // The classifier gives the same decision as the reference RuleSet::Evaluate
    // (classifier_tests checks it on a million random packets per run), at a fraction of the
    // cost; NICs reached by firewall policies run it inside their policy chain.
    const FirewallDecision d = Decide(snap, nic, firewall::Direction::kIngress, KeyOf(meta),
                                      SenderIdentified(sender, nic, meta.src) ? sender : nullptr);
    meta.ingress_rule = d.rule;
    meta.ingress_policy = d.policy;
    NoteDecision(snap, nic.network, d, worker);
    if (d.action == firewall::Action::kDeny) {
      meta.Drop(DropCause::kFirewallRule);
      if (log != nullptr && RuleLogs(snap, meta, d.rule, d.policy)) {
        log->Denied(EventOf(snap, meta, firewall::Direction::kIngress, d.rule, d.policy, false));
      }
    }
  }
}

void ConntrackCommitStage::Run(const Snapshot& snap, firewall::ConnTrack* conntrack,
                               FirewallLog* log, Burst& burst) const noexcept {
  if (conntrack == nullptr) return;
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    if (meta.done || meta.tracked || meta.l3 != L3Kind::kIpv4) continue;
    // Only traffic a firewall judged opens connections; errors and later fragments never do.
    if ((meta.src_nic < 0 && meta.dst_nic < 0) || meta.icmp_error || meta.later_fragment) continue;
    int32_t conn = conntrack->Insert(TupleOf(snap, meta), meta.tcp_flags, meta.time_ns,
                                     static_cast<uint32_t>(snap.generation));
    if (conn == firewall::ConnTrack::kFull) {
      meta.Drop(DropCause::kConntrackTableFull);
      continue;
    }
    meta.conn = conn;
    if (log != nullptr) {
      if (meta.src_nic >= 0 && RuleLogs(snap, meta, meta.egress_rule, meta.egress_policy)) {
        log->Allowed(EventOf(snap, meta, firewall::Direction::kEgress, meta.egress_rule,
                             meta.egress_policy, true));
      }
      if (meta.dst_nic >= 0 && RuleLogs(snap, meta, meta.ingress_rule, meta.ingress_policy)) {
        log->Allowed(EventOf(snap, meta, firewall::Direction::kIngress, meta.ingress_rule,
                             meta.ingress_policy, true));
      }
    }
  }
}

void RewriteStage::Run(const Snapshot& snap, Burst& burst) const noexcept {
  for (uint16_t i = 0; i < burst.count; ++i) {
    PacketMeta& meta = burst.meta[i];
    if (meta.done) continue;
    const EndpointInfo& out = snap.endpoints[meta.dst_endpoint];
    rte_mbuf* m = burst.pkts[i];
    if (!SetVlan(m, meta, out.vlan)) {
      meta.Drop(DropCause::kTxFailed);
      continue;
    }
    uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
    const MacAddr& src_mac = out.nic >= 0 ? snap.nics[out.nic].gateway_mac : kExternalFabricMac;
    std::memcpy(eth, out.mac.bytes.data(), 6);
    std::memcpy(eth + 6, src_mac.bytes.data(), 6);
    meta.Finish(meta.control_plane  ? Verdict::kLocal
                : meta.subnet_route ? Verdict::kDeliver
                                    : Verdict::kForward,
                out.port);
  }
}

// A later fragment whose first fragment sits earlier in the same part must see that first
// fragment's verdict: the part is cut just before it. Returns the end of the part starting at
// `start`. Only bursts carrying later fragments pay for the scan.
uint16_t Pipeline::PartEnd(const Burst& burst, uint16_t start) noexcept {
  for (uint16_t i = start + 1; i < burst.count; ++i) {
    const PacketMeta& later = burst.meta[i];
    if (!later.later_fragment) continue;
    for (uint16_t j = start; j < i; ++j) {
      const PacketMeta& first = burst.meta[j];
      if (first.fragment && !first.later_fragment && first.ip_id == later.ip_id &&
          first.src == later.src && first.dst == later.dst && first.protocol == later.protocol) {
        return i;
      }
    }
  }
  return burst.count;
}

void Pipeline::RunStages(const Snapshot& snap, Burst& part,
                         std::optional<uint32_t> forced_flow_hash) const noexcept {
  classify_.Run(snap, part);
  conntrack_lookup_.Run(snap, conntrack_, part);
  egress_firewall_.Run(snap, log_, part, worker_);
  route_.Run(snap, part, forced_flow_hash);
  ingress_firewall_.Run(snap, conntrack_, on_rule_change_, log_, part, worker_);
  conntrack_commit_.Run(snap, conntrack_, log_, part);
  rewrite_.Run(snap, part);
  if (conntrack_ == nullptr) return;
  for (uint16_t i = 0; i < part.count; ++i) {
    const PacketMeta& meta = part.meta[i];
    // First fragments decide for the rest of their datagram, allowed or denied by a rule.
    if (meta.fragment && !meta.later_fragment && meta.network >= 0 && meta.l3 == L3Kind::kIpv4 &&
        (meta.src_nic >= 0 || meta.dst_nic >= 0)) {
      bool denied = meta.verdict == Verdict::kDrop && meta.cause == DropCause::kFirewallRule;
      if (denied || meta.verdict != Verdict::kDrop) {
        conntrack_->RecordFirstFragment(TupleOf(snap, meta), meta.ip_id, !denied, meta.time_ns);
      }
    }
  }
}

// VPC Flow Logs: the sender's record (SRC) when its subnet logs, the receiver's (DEST) when its
// subnet does, for sampled connections.
void Pipeline::NoteFlow(const Snapshot& snap, const PacketMeta& meta) const noexcept {
  const NicInfo* src = meta.src_nic >= 0 ? &snap.nics[meta.src_nic] : nullptr;
  const NicInfo* dst =
      meta.dst_nic >= 0 && meta.verdict == Verdict::kDeliver ? &snap.nics[meta.dst_nic] : nullptr;
  const bool src_logs = src != nullptr && src->flow_log_interval_ns != 0;
  const bool dst_logs = dst != nullptr && dst->flow_log_interval_ns != 0;
  if (!src_logs && !dst_logs) return;
  FlowRecord key;
  key.generation = snap.generation;
  key.network = static_cast<uint32_t>(meta.network);
  key.src = meta.src;
  key.dst = meta.dst;
  key.src_port = meta.has_ports ? meta.src_port : 0;
  key.dst_port = meta.has_ports ? meta.dst_port : 0;
  key.protocol = meta.protocol;
  if (src_logs && FlowSampled(meta.src, meta.dst, key.src_port, key.dst_port, meta.protocol,
                              src->flow_log_threshold)) {
    key.reporter = FlowReporter::kSrc;
    key.nic = meta.src_nic;
    key.remote_nic = dst != nullptr ? meta.dst_nic : -1;
    flow_log_->Note(key, meta.ip_total_length, meta.time_ns, src->flow_log_interval_ns);
  }
  if (dst_logs && FlowSampled(meta.src, meta.dst, key.src_port, key.dst_port, meta.protocol,
                              dst->flow_log_threshold)) {
    key.reporter = FlowReporter::kDest;
    key.nic = meta.dst_nic;
    key.remote_nic = meta.src_nic;
    flow_log_->Note(key, meta.ip_total_length, meta.time_ns, dst->flow_log_interval_ns);
  }
}

void Pipeline::Process(const Snapshot& snap, Burst& burst, Counters& counters) const noexcept {
  reset_.Run(burst, counters);
  parse_.Run(burst);
  ProcessParsed(snap, burst, counters, std::nullopt);
}

void Pipeline::ProcessOnPath(const Snapshot& snap, Burst& burst, Counters& counters,
                             uint32_t flow_hash) const noexcept {
  reset_.Run(burst, counters);
  parse_.Run(burst);
  ProcessParsed(snap, burst, counters, flow_hash);
}

void Pipeline::ProcessParsed(const Snapshot& snap, Burst& burst, Counters& counters,
                             std::optional<uint32_t> forced_flow_hash) const noexcept {
  for (uint16_t start = 0; start < burst.count;) {
    const uint16_t end = PartEnd(burst, start);
    Burst part{burst.pkts + start, burst.meta + start, static_cast<uint16_t>(end - start)};
    RunStages(snap, part, forced_flow_hash);
    start = end;
  }
  BillingCell* billing = snap.BillingSlice(worker_);
  for (uint16_t i = 0; i < burst.count; ++i) {
    const PacketMeta& meta = burst.meta[i];
    counters.verdicts[static_cast<int>(meta.verdict)]++;
    if (meta.verdict == Verdict::kDrop) {
      counters.drops[static_cast<int>(meta.cause)]++;
      continue;
    }
    if (meta.route >= 0) counters.routed[static_cast<int>(meta.route_kind)]++;
    if (flow_log_ != nullptr && !meta.control_plane) NoteFlow(snap, meta);
    // Egress billing: what an instance sent that left it (delivered or forwarded), to its
    // project; through a VPN gateway, to the gateway's project.
    if (meta.src_nic < 0 || meta.control_plane || meta.dst_endpoint < 0) continue;
    const EndpointInfo& out = snap.endpoints[meta.dst_endpoint];
    const uint32_t project = out.egress_kind == EgressKind::kViaVpnGateway
                                 ? out.billing_project
                                 : snap.nics[meta.src_nic].billing_project;
    BillingCell& cell =
        billing[project * kEgressKindCount + static_cast<uint32_t>(out.egress_kind)];
    cell.packets++;
    cell.bytes += meta.ip_total_length;
  }
}

}  // namespace svpc::dataplane
