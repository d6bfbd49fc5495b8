#pragma once
// The packet pipeline: a fixed chain of stages, each taking the whole burst. Every stage either
// leaves a packet for the next one or gives it a final verdict (deliver, forward, local, or a
// drop with its cause); stages never call each other and only Pipeline::Process wires them.
// The daemon's workers and `svpc replay` run this same code; only where mbufs come from and
// go to differs.
//
// Contract: after Process, every meta[i] has done == true, a verdict, and for DELIVER/FORWARD/
// LOCAL-with-reply an out_port; the mbuf has been rewritten for that port (MACs, VLAN). The
// caller transmits or frees the mbufs. Nothing here allocates, throws or logs.

#include <cstdint>
#include <optional>

#include "dataplane/counters.h"
#include "dataplane/firewall_log.h"
#include "dataplane/flow_log.h"
#include "dataplane/packet_meta.h"
#include "dataplane/snapshot.h"
#include "firewall/conntrack.h"

struct rte_mbuf;

namespace svpc::dataplane {

inline constexpr uint16_t kBurstSize = 32;

// One burst moving through the stages. `meta[i]` describes `pkts[i]`.
struct Burst {
  rte_mbuf** pkts = nullptr;
  PacketMeta* meta = nullptr;
  uint16_t count = 0;
};

// Before the stages: a fresh PacketMeta per packet (keeping the caller's in_port and time_ns),
// rx counters.
class ResetStage {
 public:
  void Run(Burst& burst, Counters& counters) const noexcept;
};

// Ethernet/802.1Q/ARP/IPv4/L4 parsing and header validation. It first prefetches every mbuf's
// header and then every frame's first cache line, so the burst's cache misses overlap instead of
// being taken one packet after the other.
class ParseStage {
 public:
  void Run(Burst& burst) const noexcept;
};

// Who sent it (testbed endpoint -> NIC, network), anti-spoofing, ARP answers, traffic types
// the VPC does not carry, MTU.
class ClassifyStage {
 public:
  void Run(const Snapshot& snap, Burst& burst) const noexcept;
};

// What happens to tracked connections when the rules change (a new snapshot generation).
enum class OnRuleChange : uint8_t {
  kContinue,  // GCP: tracked connections continue until idle
  kRecheck,   // re-evaluate an established connection's opening direction against the new rules
};

// Connection tracking lookup: packets of a live connection (either direction), ICMP errors
// about one, and later fragments of an allowed datagram skip rule evaluation.
class ConntrackStage {
 public:
  void Run(const Snapshot& snap, firewall::ConnTrack* conntrack, Burst& burst) const noexcept;
};

// Egress rules of the sending instance.
class EgressFirewallStage {
 public:
  // `worker`: whose slice of the rule hit counters the decisions count in.
  void Run(const Snapshot& snap, FirewallLog* log, Burst& burst,
           uint32_t worker = 0) const noexcept;
};

// Route selection in the network and next-hop resolution to a NIC or an external endpoint.
class RouteStage {
 public:
  // ECMP groups pick a member by the packets' symmetric flow hash, computed only for destinations
  // with a group; `forced_flow_hash` replaces it for every packet (Pipeline::ProcessOnPath).
  void Run(const Snapshot& snap, Burst& burst,
           std::optional<uint32_t> forced_flow_hash = std::nullopt) const noexcept;
};

// Ingress rules of the receiving instance; for tracked packets under OnRuleChange::kRecheck,
// the re-check of a connection allowed by an older generation.
class IngressFirewallStage {
 public:
  void Run(const Snapshot& snap, firewall::ConnTrack* conntrack, OnRuleChange on_rule_change,
           FirewallLog* log, Burst& burst, uint32_t worker = 0) const noexcept;
};

// Starts tracking connections that rules just allowed (and logs them when their rules say
// so). Table full: CONNTRACK_TABLE_FULL.
class ConntrackCommitStage {
 public:
  void Run(const Snapshot& snap, firewall::ConnTrack* conntrack, FirewallLog* log,
           Burst& burst) const noexcept;
};

// L2 rewrite for the output endpoint (fabric source MAC, endpoint MAC, VLAN tag), final verdict.
class RewriteStage {
 public:
  void Run(const Snapshot& snap, Burst& burst) const noexcept;
};

class Pipeline {
 public:
  // `conntrack` is the worker's table (outlives snapshots); nullptr = stateless evaluation.
  // `log` receives Firewall Rules Logging events; nullptr = logging off. `worker`: the worker's
  // index, whose slice of the snapshot's rule hit counters this pipeline writes.
  explicit Pipeline(firewall::ConnTrack* conntrack = nullptr,
                    OnRuleChange on_rule_change = OnRuleChange::kContinue,
                    FirewallLog* log = nullptr, uint32_t worker = 0)
      : conntrack_(conntrack), on_rule_change_(on_rule_change), log_(log), worker_(worker) {}

  // VPC Flow Logs (dataplane/flow_log.h): packets of instances whose subnet logs flows are
  // counted in `flow_log`; nullptr = off.
  void set_flow_log(FlowLog* flow_log) { flow_log_ = flow_log; }

  // meta[i].in_port and meta[i].time_ns must be set by the caller; the rest is reset here.
  void Process(const Snapshot& snap, Burst& burst, Counters& counters) const noexcept;
  // Process with every packet's ECMP hash set to `flow_hash` instead of the headers' hash: ECMP
  // groups pick member flow_hash % size, so `svpc trace` walks each path with 0, 1, 2, ...
  void ProcessOnPath(const Snapshot& snap, Burst& burst, Counters& counters,
                     uint32_t flow_hash) const noexcept;

 private:
  static uint16_t PartEnd(const Burst& burst, uint16_t start) noexcept;
  void NoteFlow(const Snapshot& snap, const PacketMeta& meta) const noexcept;
  // Everything after parsing: the stages in parts (PartEnd), then the verdict counters.
  void ProcessParsed(const Snapshot& snap, Burst& burst, Counters& counters,
                     std::optional<uint32_t> forced_flow_hash) const noexcept;
  void RunStages(const Snapshot& snap, Burst& part,
                 std::optional<uint32_t> forced_flow_hash) const noexcept;

  firewall::ConnTrack* conntrack_;
  OnRuleChange on_rule_change_;
  FirewallLog* log_;
  FlowLog* flow_log_ = nullptr;
  uint32_t worker_;
  ResetStage reset_;
  ParseStage parse_;
  ClassifyStage classify_;
  ConntrackStage conntrack_lookup_;
  EgressFirewallStage egress_firewall_;
  RouteStage route_;
  IngressFirewallStage ingress_firewall_;
  ConntrackCommitStage conntrack_commit_;
  RewriteStage rewrite_;
};

}  // namespace svpc::dataplane
