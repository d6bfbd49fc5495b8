#pragma once
// Per-packet metadata: parsed once by the parse stage, then filled in by each stage. Also the
// trace record: replay turns it into one verdicts.jsonl line.

#include <cstdint>

#include "common/net_types.h"
#include "dataplane/verdict.h"
#include "firewall/policy_evaluator.h"
#include "routing/route_table.h"

struct rte_mbuf;

namespace svpc::dataplane {

inline constexpr int32_t kNotEvaluated = -2;   // firewall rule fields: no rule was consulted
inline constexpr int32_t kImplied = -1;        // the implied rule decided
inline constexpr int32_t kTrackingState = -3;  // connection tracking, not a rule, allowed it
inline constexpr uint16_t kNoPort = 0xffff;

enum class L3Kind : uint8_t { kNone, kIpv4, kArp };

struct PacketMeta {
  uint64_t time_ns = 0;
  uint16_t in_port = 0;
  uint16_t vlan = 0;  // 0 = untagged
  bool tagged = false;
  L3Kind l3 = L3Kind::kNone;
  uint16_t l3_offset = 0;
  MacAddr src_mac;

  // IPv4 (or ARP sender/target)
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint8_t protocol = 0;
  bool has_ports = false;
  bool fragment = false;        // any fragment (first or later)
  bool later_fragment = false;  // fragment offset > 0: no L4 header
  uint16_t ip_id = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0;
  uint16_t icmp_id = 0;  // echo request/reply identifier
  // ICMP errors (destination unreachable, time exceeded, ...): the packet they are about.
  bool icmp_error = false;
  Ipv4 inner_src = 0;
  Ipv4 inner_dst = 0;
  uint8_t inner_protocol = 0;
  uint16_t inner_src_port = 0;
  uint16_t inner_dst_port = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t ip_total_length = 0;
  uint16_t arp_op = 0;

  // Decisions
  int32_t src_endpoint = -1;
  int32_t dst_endpoint = -1;
  int32_t src_nic = -1;
  int32_t dst_nic = -1;
  int32_t network = -1;
  // The deciding rule per direction. With *_policy == firewall::kNoPolicy: an index in the
  // network's RuleSet (VPC firewall rule), or kImplied / kTrackingState / kNotEvaluated. Otherwise
  // a firewall policy rule decided: *_policy is its policy in Snapshot::policies and *_rule its
  // index in that Policy::rules.
  int32_t egress_rule = kNotEvaluated;
  int32_t ingress_rule = kNotEvaluated;
  uint32_t egress_policy = firewall::kNoPolicy;
  uint32_t ingress_policy = firewall::kNoPolicy;
  int32_t route = -1;
  routing::RouteKind route_kind = routing::RouteKind::kSubnet;  // of `route`, when >= 0
  bool subnet_route = false;  // the route is a subnet route: the packet is delivered, not forwarded
  // Between a Cloud Router and its BGP peer (link-local, control plane): no firewall, no route.
  bool control_plane = false;
  int32_t conn = -1;     // connection tracking entry, when tracked
  bool tracked = false;  // conntrack (or the first fragment's verdict) allowed it
  uint16_t out_port = kNoPort;
  Verdict verdict = Verdict::kDrop;
  DropCause cause = DropCause::kNone;
  bool done = false;  // a verdict is final; later stages skip the packet

  void Drop(DropCause c) {
    verdict = Verdict::kDrop;
    cause = c;
    done = true;
  }
  void Finish(Verdict v, uint16_t port) {
    verdict = v;
    out_port = port;
    done = true;
  }
};

}  // namespace svpc::dataplane
