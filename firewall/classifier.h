#pragma once
// The fast classifier for new connections: one network's enabled VPC firewall rules compiled
// into bit-vector tables that answer exactly what the reference RuleSet::Evaluate answers (the
// action AND the deciding rule index) for every target NIC, packet and remote sender.
//
// How (details and measurements in firewall/README.md, "Classifier"):
// - Per direction, bit i of every row stands for the i-th rule in evaluation order (priority,
//   deny first, configuration order). Each packet field selects one row of the rules it lets
//   match: protocol and destination port (one sorted-interval lookup per protocol), source
//   address, destination address (sorted elementary intervals of the rules' prefixes), target
//   class, source class. The decision is the first set bit of
//       port_row & dst_row & target_row & (src_row | source_class_row)
//   (ingress sources are ranges OR tags OR service accounts), or the implied rule.
// - Tags and service accounts are compiled away: NICs whose tags and service accounts satisfy
//   the same rules' targets form a target class; senders satisfying the same ingress rules'
//   source tags / service accounts form a source class, class 0 (kNoSourceClass) being "none",
//   which is also every non-instance sender. The data plane passes two small integers.
// - Build is a sort and a sweep per field, O(rules log rules + intervals x rules / 64): a full
//   rebuild of 10,000 rules takes milliseconds, so a rule change is a new Build, published as
//   usual (no partial rebuilds needed; see the README for why rte_acl was not used).
//
// Build runs on the control thread (no DPDK needed). Classify/ClassifyBurst are noexcept,
// allocation-free and safe from any number of threads at once.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "firewall/vpc_firewall.h"

namespace svpc::firewall {

// The source class of a sender that is not an instance NIC of this network sending from its own
// address (then source tags and service accounts never match), and of an instance NIC whose tags
// and service accounts satisfy no rule's source condition.
inline constexpr uint32_t kNoSourceClass = 0;

struct ClassifierOptions {
  // Build fails (nullptr, error set) rather than allocate more than this for its tables. Rows
  // grow as rules x intervals: 17 MiB at 10,000 rules (classifier_bench).
  size_t max_bytes = size_t{1} << 30;
};

struct ClassifierStats {
  uint32_t rules[2] = {0, 0};              // by Direction
  uint32_t row_words[2] = {0, 0};          // 64-bit words per row, by Direction
  uint32_t rows[2] = {0, 0};               // distinct rows, by Direction
  uint32_t address_intervals[2] = {0, 0};  // source + destination, by Direction
  uint32_t target_classes = 0;
  uint32_t source_classes = 0;  // including kNoSourceClass
  size_t bytes = 0;             // everything the classifier allocated
};

class Classifier {
 public:
  struct Query {
    FlowKey key;
    uint32_t target_class = 0;
    uint32_t source_class = kNoSourceClass;
  };

  // Compiles `rules` for a network whose instance NICs have `nics` identities (nic index = index
  // in `nics`; every NIC that can be a target or a remote sender must be listed; tags and
  // service accounts sorted, as RuleSet wants). Returns nullptr with `error` set when the
  // tables would exceed options.max_bytes.
  static std::unique_ptr<Classifier> Build(const RuleSet& rules, std::span<const Identity> nics,
                                           std::string* error,
                                           const ClassifierOptions& options = {});

  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Compile-time lookups for the snapshot: the class ids a NIC is classified with.
  uint32_t TargetClass(uint32_t nic_index) const { return nic_target_class_[nic_index]; }
  // Pass it as the source class only when the reference would pass the sender's identity as
  // `remote` (an instance NIC of this network sending from its own address); else kNoSourceClass.
  uint32_t SourceClass(uint32_t nic_index) const { return nic_source_class_[nic_index]; }
  uint32_t target_classes() const { return stats_.target_classes; }
  uint32_t source_classes() const { return stats_.source_classes; }

  // The decision of the rules of `direction` for a NIC of `target_class` and a packet from a
  // sender of `source_class` (ignored for egress). Class ids must come from this classifier.
  // Cost: three binary searches and a scan of five rows up to the first match; measured by
  // classifier_bench (README).
  Decision Classify(Direction direction, uint32_t target_class, uint32_t source_class,
                    const FlowKey& key) const noexcept;

  // Same as Classify for each query (`decisions` has room for queries.size()); looks up every
  // packet's rows first and prefetches them, then scans, so cache misses overlap.
  void ClassifyBurst(Direction direction, std::span<const Query> queries,
                     Decision* decisions) const noexcept;

  const ClassifierStats& stats() const { return stats_; }

 private:
  // Sorted interval starts (the first is 0) and the row of each interval.
  struct IntervalIndex {
    std::vector<uint32_t> starts;
    std::vector<uint32_t> rows;
    uint32_t Find(uint32_t value) const noexcept;
  };
  struct ProtocolPorts {
    IntervalIndex ports;  // packets with ports
    uint32_t no_ports_row = 0;
  };
  struct Tables {
    uint32_t words = 0;                // per row
    std::vector<uint64_t> rows;        // row r at [r * words]; row 0 is all zeros
    std::vector<Decision> decisions;   // by bit
    uint16_t protocol_slot[256] = {};  // protocol -> index into `protocols`
    std::vector<ProtocolPorts> protocols;
    IntervalIndex src;
    IntervalIndex dst;
    std::vector<uint32_t> target_row;  // by target class
    std::vector<uint32_t> source_row;  // by source class; all 0 (the zero row) for egress
  };
  struct RowSet;  // the five rows of one packet
  class Builder;

  Classifier() = default;
  RowSet RowsOf(const Tables& t, uint32_t target_class, uint32_t source_class,
                const FlowKey& key) const noexcept;
  static Decision Scan(const Tables& t, const RowSet& rows, Decision implied) noexcept;

  Tables tables_[2];  // by Direction
  std::vector<uint32_t> nic_target_class_;
  std::vector<uint32_t> nic_source_class_;
  ClassifierStats stats_;
};

}  // namespace svpc::firewall
