#pragma once
// The fast classifier for new connections: one network's enabled VPC firewall rules compiled into
// DPDK rte_acl tries, answering exactly what the reference RuleSet::Evaluate answers (the action
// AND the deciding rule index) for every target NIC, packet and remote sender.
//
// How (details in firewall/README.md, "Classifier"):
// - Tags and service accounts are compiled away. NICs whose tags and service accounts satisfy
//   the same rules' targets form a target class; senders satisfying the same ingress rules'
//   source tags / service accounts form a source class, class 0 (kNoSourceClass) being "none",
//   which is also every non-instance sender. The data plane passes two small integers.
// - Per direction, the rules in evaluation order (priority, deny first, index) are cut into
//   bands at content-defined points (a rule whose name hashes to 0 ends a band), so a one-rule
//   change alters one or two bands. Each band is one rte_acl context over (protocol, source,
//   destination, destination port, target labels, source labels), where a label is one tag or
//   service account the band's rules name, one bit each (up to 64 per band). The first band
//   with a match decides: every rule of band i precedes every rule of band i + 1.
// - Build(..., previous) reuses every band whose compiled content is word-identical to one of
//   `previous` (shared, reference counted), so a change rebuilds only the bands it touches.
//
// Requires an initialised EAL (rte_acl allocates from the DPDK heap). Build runs on the control
// thread; Classify/ClassifyBurst are noexcept, allocation-free and safe from any number of
// threads at once.

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
  // Mean rules per band: a band ends after a rule whose name hashes to 0 modulo this. Smaller
  // bands rebuild faster after a change; fewer bands classify faster (each band a trie walk).
  uint32_t band_rules = 1024;
  // A band also ends before its rte_acl entries (rules expanded over protocols, port ranges and
  // address ranges) would exceed this, keeping one band's build time bounded.
  uint32_t max_band_entries = 4096;
};

struct ClassifierStats {
  uint32_t bands = 0;         // both directions
  uint32_t bands_built = 0;   // compiled by this Build
  uint32_t bands_reused = 0;  // shared with `previous` (or an identical band of this Build)
  uint32_t acl_entries = 0;   // rte_acl rules over all bands
  uint32_t target_classes = 0;
  uint32_t source_classes = 0;  // including kNoSourceClass
  size_t host_bytes = 0;        // the classifier's own tables (rte_acl memory not included)
};

class Classifier {
 public:
  // Bands never name more distinct target (or source) tags and service accounts than this: one
  // bit each in two 32-bit rte_acl fields.
  static constexpr uint32_t kMaxLabelsPerBand = 64;

  struct Query {
    FlowKey key;
    uint32_t target_class = 0;
    uint32_t source_class = kNoSourceClass;
  };

  // Compiles `rules` for a network whose instance NICs have `nics` identities (nic index = index
  // in `nics`; every NIC that can be a target or a remote sender must be listed). With
  // `previous` (an earlier Build of the same network), bands whose compiled content is unchanged
  // are shared with it instead of rebuilt; `previous` may be destroyed at any time afterwards.
  // Returns nullptr with `error` set if rte_acl fails (no memory, EAL not initialised).
  static std::unique_ptr<Classifier> Build(const RuleSet& rules, std::span<const Identity> nics,
                                           std::string* error, const Classifier* previous = nullptr,
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
  // Cost: one rte_acl walk per band until one matches (measured: classifier_bench).
  Decision Classify(Direction direction, uint32_t target_class, uint32_t source_class,
                    const FlowKey& key) const noexcept;

  // Same as Classify for each query; rte_acl then walks up to 8 flows at once, much cheaper per
  // packet than single calls. `decisions` has room for queries.size().
  void ClassifyBurst(Direction direction, std::span<const Query> queries,
                     Decision* decisions) const noexcept;

  const ClassifierStats& stats() const { return stats_; }

 private:
  struct AclBand;  // one compiled rte_acl context, shared between Builds
  struct Band {
    std::shared_ptr<const AclBand> acl;
    std::vector<Decision> decisions;  // by rte_acl userdata - 1
    bool unconditional = false;       // some rule applies to every target
  };
  struct Tables {
    std::vector<Band> bands;
    // [class * bands.size() + band]: the class's labels as bits in that band's numbering.
    std::vector<uint64_t> target_bits;
    std::vector<uint64_t> source_bits;  // ingress only
  };

  Classifier() = default;
  // One band's rte_acl context from its content (header and entry words, see the .cc).
  static std::shared_ptr<AclBand> CompileBand(std::vector<uint32_t> spec, uint64_t hash,
                                              std::string* error);

  Tables tables_[2];  // by Direction
  std::vector<uint32_t> nic_target_class_;
  std::vector<uint32_t> nic_source_class_;
  ClassifierStats stats_;
};

}  // namespace svpc::firewall
