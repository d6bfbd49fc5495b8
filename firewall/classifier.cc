#include "firewall/classifier.h"

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_memory.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

namespace svpc::firewall {
namespace {

// What rte_acl reads for one packet in one band, in network byte order. rte_acl wants the first
// field one byte long and every other input in its own 4-byte group.
struct AclInput {
  uint8_t protocol;
  uint8_t pad[3];
  uint32_t src;
  uint32_t dst;
  uint32_t port;         // destination port, or kNoPorts
  uint32_t target_bits;  // the target NIC's conditions, in the band's numbering
  uint32_t source_bits;  // the sender's source conditions, in the band's numbering
};

enum AclField : uint8_t {
  kFieldProtocol,
  kFieldSrc,
  kFieldDst,
  kFieldPort,
  kFieldTarget,
  kFieldSource,
  kFieldCount
};

RTE_ACL_RULE_DEF(AclEntry, kFieldCount);

// A packet without ports (non-first fragment, ICMP, ...) reads this port: outside every rule's
// port range (at most 65535), inside the "every port" range of rules without ports.
constexpr uint32_t kNoPorts = 0x10000;

// One rte_acl entry as plain words: the band's compiled content, compared to reuse bands.
enum SpecWord : uint32_t {
  kSpecPriority,
  kSpecUserdata,
  kSpecProtocol,
  kSpecProtocolMask,
  kSpecSrc,
  kSpecSrcLen,
  kSpecDst,
  kSpecDstLen,
  kSpecPortFirst,
  kSpecPortLast,
  kSpecTargetBits,
  kSpecTargetMask,
  kSpecSourceBits,
  kSpecSourceMask,
  kSpecWords
};

rte_acl_config AclConfig() {
  rte_acl_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.num_categories = 1;
  cfg.num_fields = kFieldCount;
  cfg.defs[0] = {RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint8_t), kFieldProtocol, 0,
                 offsetof(AclInput, protocol)};
  cfg.defs[1] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kFieldSrc, 1, offsetof(AclInput, src)};
  cfg.defs[2] = {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kFieldDst, 2, offsetof(AclInput, dst)};
  cfg.defs[3] = {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint32_t), kFieldPort, 3,
                 offsetof(AclInput, port)};
  cfg.defs[4] = {RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint32_t), kFieldTarget, 4,
                 offsetof(AclInput, target_bits)};
  cfg.defs[5] = {RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint32_t), kFieldSource, 5,
                 offsetof(AclInput, source_bits)};
  return cfg;
}

uint64_t Fnv1a(const void* data, size_t size, uint64_t h = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser: FNV's low bits alone are poorly spread
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool Intersects(std::span<const uint32_t> a, std::span<const uint32_t> b) {
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

// Interns id lists: key -> dense id in order of first appearance.
class Interner {
 public:
  uint32_t Intern(std::vector<uint32_t> key) {
    auto [it, inserted] = ids_.try_emplace(std::move(key), static_cast<uint32_t>(keys_.size()));
    if (inserted) keys_.push_back(&it->first);
    return it->second;
  }
  const std::vector<uint32_t>& key(uint32_t id) const { return *keys_[id]; }
  uint32_t size() const { return static_cast<uint32_t>(keys_.size()); }

 private:
  std::map<std::vector<uint32_t>, uint32_t> ids_;
  std::vector<const std::vector<uint32_t>*> keys_;
};

constexpr uint32_t kNone = ~uint32_t{0};

// The per-rule facts the bands are compiled from.
struct RuleFacts {
  uint32_t target_condition = kNone;  // kNone: applies to every target
  uint32_t source_condition = kNone;  // ingress source tags / service accounts, kNone: none
  bool target_satisfiable = true;     // some NIC satisfies the target condition
  bool source_satisfiable = false;    // some sender satisfies the source condition
  uint32_t entries = 0;               // rte_acl entries it expands to (0: can never match)
};

// Which conditions each class satisfies: one bitset per class.
class ClassBits {
 public:
  ClassBits(uint32_t classes, uint32_t conditions)
      : words_((conditions + 63) / 64), bits_(size_t{classes} * words_) {}
  bool Get(uint32_t cls, uint32_t cond) const {
    return (bits_[size_t{cls} * words_ + cond / 64] >> (cond % 64)) & 1;
  }
  void Set(uint32_t cls, uint32_t cond) {
    bits_[size_t{cls} * words_ + cond / 64] |= uint64_t{1} << (cond % 64);
  }
  std::vector<uint64_t> Row(uint32_t cls) const {
    auto first = bits_.begin() + static_cast<ptrdiff_t>(size_t{cls} * words_);
    return std::vector<uint64_t>(first, first + static_cast<ptrdiff_t>(words_));
  }
  void AppendRow(const std::vector<uint64_t>& row) {
    bits_.insert(bits_.end(), row.begin(), row.end());
  }
  uint32_t words() const { return static_cast<uint32_t>(words_); }

 private:
  size_t words_;
  std::vector<uint64_t> bits_;
};

struct ProtoAlt {
  uint32_t protocol, protocol_mask, port_first, port_last;
};
struct SourceAlt {
  uint32_t src, src_len, source_bits, source_mask;
};

void ProtocolAlternatives(const Rule& rule, std::vector<ProtoAlt>* out) {
  out->clear();
  for (const ProtocolMatch& m : rule.protocols) {
    if (m.protocol > 255) continue;  // no packet carries it
    uint32_t value = m.protocol < 0 ? 0 : static_cast<uint32_t>(m.protocol);
    uint32_t mask = m.protocol < 0 ? 0 : 0xff;
    if (m.ports.empty()) {
      out->push_back({value, mask, 0, ~uint32_t{0}});
      continue;
    }
    for (const PortRange& r : m.ports) {
      if (r.first <= r.last) out->push_back({value, mask, r.first, r.last});
    }
  }
}

// `source_bit`: the band's bit for the rule's source condition, or kNone when it has none or no
// sender satisfies it.
void SourceAlternatives(const Rule& rule, uint32_t source_bit, std::vector<SourceAlt>* out) {
  out->clear();
  if (rule.direction == Direction::kEgress) {
    if (rule.source_ranges.empty()) out->push_back({0, 0, 0, 0});
    for (const Prefix& p : rule.source_ranges) out->push_back({p.addr, p.len, 0, 0});
    return;
  }
  bool has_source = !rule.source_ranges.empty() || !rule.source_tags.empty() ||
                    !rule.source_service_accounts.empty();
  if (!has_source) {
    out->push_back({0, 0, 0, 0});  // no source: 0.0.0.0/0
    return;
  }
  // Ranges OR tags OR service accounts: one entry per alternative.
  for (const Prefix& p : rule.source_ranges) out->push_back({p.addr, p.len, 0, 0});
  if (source_bit != kNone) out->push_back({0, 0, 1u << source_bit, 1u << source_bit});
}

size_t DestinationCount(const Rule& rule) {
  return rule.destination_ranges.empty() ? 1 : rule.destination_ranges.size();
}

std::atomic<uint64_t> acl_sequence{0};

}  // namespace

// One compiled band. Immutable once built; shared by every Classifier whose band compiles to
// the same content.
struct Classifier::AclBand {
  rte_acl_ctx* ctx = nullptr;
  std::vector<uint32_t> spec;  // kSpecWords per entry
  uint64_t hash = 0;

  AclBand() = default;
  AclBand(const AclBand&) = delete;
  AclBand& operator=(const AclBand&) = delete;
  ~AclBand() {
    if (ctx != nullptr) rte_acl_free(ctx);
  }
};

Classifier::~Classifier() = default;

std::unique_ptr<Classifier> Classifier::Build(const RuleSet& rules, std::span<const Identity> nics,
                                              std::string* error, const Classifier* previous,
                                              const ClassifierOptions& options) {
  std::unique_ptr<Classifier> c(new Classifier());
  const uint32_t rule_count = static_cast<uint32_t>(rules.size());

  // Distinct identities: NICs with the same tags and service accounts behave the same.
  Interner identities;
  std::vector<uint32_t> nic_identity(nics.size());
  std::vector<Identity> identity_of;
  for (size_t i = 0; i < nics.size(); ++i) {
    std::vector<uint32_t> key;
    key.push_back(static_cast<uint32_t>(nics[i].tags.size()));
    key.insert(key.end(), nics[i].tags.begin(), nics[i].tags.end());
    key.insert(key.end(), nics[i].service_accounts.begin(), nics[i].service_accounts.end());
    nic_identity[i] = identities.Intern(std::move(key));
    if (nic_identity[i] == identity_of.size()) identity_of.push_back(nics[i]);
  }
  const uint32_t identity_count = identities.size();

  // Conditions, deduplicated across rules. Target key: {kind, ids...}; source key: {number of
  // tags, tags..., service accounts...}.
  Interner target_conditions;
  Interner source_conditions;
  std::vector<RuleFacts> facts(rule_count);
  for (uint32_t i = 0; i < rule_count; ++i) {
    const Rule& r = rules.rule(i);
    if (!r.target_tags.empty()) {
      std::vector<uint32_t> key{0};
      key.insert(key.end(), r.target_tags.begin(), r.target_tags.end());
      facts[i].target_condition = target_conditions.Intern(std::move(key));
    } else if (!r.target_service_accounts.empty()) {
      std::vector<uint32_t> key{1};
      key.insert(key.end(), r.target_service_accounts.begin(), r.target_service_accounts.end());
      facts[i].target_condition = target_conditions.Intern(std::move(key));
    }
    if (r.direction == Direction::kIngress &&
        (!r.source_tags.empty() || !r.source_service_accounts.empty())) {
      std::vector<uint32_t> key{static_cast<uint32_t>(r.source_tags.size())};
      key.insert(key.end(), r.source_tags.begin(), r.source_tags.end());
      key.insert(key.end(), r.source_service_accounts.begin(), r.source_service_accounts.end());
      facts[i].source_condition = source_conditions.Intern(std::move(key));
    }
  }

  // Which conditions each distinct identity satisfies.
  ClassBits identity_targets(identity_count, target_conditions.size());
  ClassBits identity_sources(identity_count, source_conditions.size());
  for (uint32_t id = 0; id < identity_count; ++id) {
    const Identity& who = identity_of[id];
    for (uint32_t k = 0; k < target_conditions.size(); ++k) {
      const std::vector<uint32_t>& key = target_conditions.key(k);
      std::span<const uint32_t> ids(key.begin() + 1, key.end());
      if (Intersects(ids, key[0] == 0 ? who.tags : who.service_accounts)) {
        identity_targets.Set(id, k);
      }
    }
    for (uint32_t k = 0; k < source_conditions.size(); ++k) {
      const std::vector<uint32_t>& key = source_conditions.key(k);
      std::span<const uint32_t> tags(key.begin() + 1, key.begin() + 1 + key[0]);
      std::span<const uint32_t> sas(key.begin() + 1 + key[0], key.end());
      if (Intersects(tags, who.tags) || Intersects(sas, who.service_accounts)) {
        identity_sources.Set(id, k);
      }
    }
  }

  // Classes: distinct rows. Source class 0 is "satisfies nothing", present even if no NIC is.
  std::map<std::vector<uint64_t>, uint32_t> target_rows;
  std::map<std::vector<uint64_t>, uint32_t> source_rows;
  ClassBits target_class_bits(0, target_conditions.size());
  ClassBits source_class_bits(0, source_conditions.size());
  source_rows.emplace(std::vector<uint64_t>(source_class_bits.words(), 0), 0);
  source_class_bits.AppendRow(std::vector<uint64_t>(source_class_bits.words(), 0));
  std::vector<uint32_t> identity_target_class(identity_count);
  std::vector<uint32_t> identity_source_class(identity_count);
  for (uint32_t id = 0; id < identity_count; ++id) {
    std::vector<uint64_t> row = identity_targets.Row(id);
    auto t = target_rows.try_emplace(row, static_cast<uint32_t>(target_rows.size()));
    if (t.second) target_class_bits.AppendRow(row);
    identity_target_class[id] = t.first->second;
    row = identity_sources.Row(id);
    auto s = source_rows.try_emplace(row, static_cast<uint32_t>(source_rows.size()));
    if (s.second) source_class_bits.AppendRow(row);
    identity_source_class[id] = s.first->second;
  }
  if (target_rows.empty()) {  // no NICs: class 0, satisfying nothing, keeps the tables valid
    target_class_bits.AppendRow(std::vector<uint64_t>(target_class_bits.words(), 0));
  }
  const uint32_t target_class_count =
      static_cast<uint32_t>(std::max<size_t>(target_rows.size(), 1));
  const uint32_t source_class_count = static_cast<uint32_t>(source_rows.size());
  c->nic_target_class_.resize(nics.size());
  c->nic_source_class_.resize(nics.size());
  for (size_t i = 0; i < nics.size(); ++i) {
    c->nic_target_class_[i] = identity_target_class[nic_identity[i]];
    c->nic_source_class_[i] = identity_source_class[nic_identity[i]];
  }

  // Satisfiable conditions and entry counts.
  std::vector<bool> target_satisfiable(target_conditions.size(), false);
  std::vector<bool> source_satisfiable(source_conditions.size(), false);
  for (uint32_t cls = 0; cls < target_rows.size(); ++cls) {
    for (uint32_t k = 0; k < target_conditions.size(); ++k) {
      if (target_class_bits.Get(cls, k)) target_satisfiable[k] = true;
    }
  }
  for (uint32_t cls = 0; cls < source_class_count; ++cls) {
    for (uint32_t k = 0; k < source_conditions.size(); ++k) {
      if (source_class_bits.Get(cls, k)) source_satisfiable[k] = true;
    }
  }
  std::vector<ProtoAlt> protos;
  std::vector<SourceAlt> sources;
  for (uint32_t i = 0; i < rule_count; ++i) {
    RuleFacts& f = facts[i];
    const Rule& r = rules.rule(i);
    f.target_satisfiable = f.target_condition == kNone || target_satisfiable[f.target_condition];
    f.source_satisfiable = f.source_condition != kNone && source_satisfiable[f.source_condition];
    if (!f.target_satisfiable) continue;
    ProtocolAlternatives(r, &protos);
    SourceAlternatives(r, f.source_satisfiable ? 0 : kNone, &sources);
    f.entries = static_cast<uint32_t>(protos.size() * sources.size() * DestinationCount(r));
  }

  // Bands from `previous` (and from this build) by content hash, for reuse.
  std::unordered_multimap<uint64_t, std::shared_ptr<const AclBand>> pool;
  if (previous != nullptr) {
    for (const Tables& t : previous->tables_) {
      for (const Band& b : t.bands) pool.emplace(b.acl->hash, b.acl);
    }
  }

  const uint32_t band_rules = std::max<uint32_t>(options.band_rules, 1);
  for (Direction direction : {Direction::kIngress, Direction::kEgress}) {
    Tables& tables = c->tables_[static_cast<int>(direction)];

    // Evaluation order, exactly as RuleSet::RulesFor sorts.
    std::vector<uint32_t> order;
    for (uint32_t i = 0; i < rule_count; ++i) {
      if (rules.rule(i).direction == direction) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&rules](uint32_t a, uint32_t b) {
      const Rule& ra = rules.rule(a);
      const Rule& rb = rules.rule(b);
      if (ra.priority != rb.priority) return ra.priority < rb.priority;
      return ra.action == Action::kDeny && rb.action == Action::kAllow;
    });

    // Cut into bands: after a rule whose name hashes to 0 (content-defined, so a change moves
    // no other cut), or before exceeding the entry or condition budget.
    std::vector<std::vector<uint32_t>> band_members;
    {
      std::vector<uint32_t> current;
      std::vector<uint32_t> current_targets;
      std::vector<uint32_t> current_sources;
      uint32_t current_entries = 0;
      auto flush = [&] {
        if (!current.empty()) band_members.push_back(std::move(current));
        current.clear();
        current_targets.clear();
        current_sources.clear();
        current_entries = 0;
      };
      for (uint32_t index : order) {
        const RuleFacts& f = facts[index];
        if (f.entries == 0) continue;  // never matches anything: not compiled
        bool new_target =
            f.target_condition != kNone && std::find(current_targets.begin(), current_targets.end(),
                                                     f.target_condition) == current_targets.end();
        bool new_source =
            f.source_satisfiable && std::find(current_sources.begin(), current_sources.end(),
                                              f.source_condition) == current_sources.end();
        if (!current.empty() && (current_entries + f.entries > options.max_band_entries ||
                                 current_targets.size() + new_target > kMaxConditionsPerBand ||
                                 current_sources.size() + new_source > kMaxConditionsPerBand)) {
          flush();
          new_target = f.target_condition != kNone;
          new_source = f.source_satisfiable;
        }
        current.push_back(index);
        current_entries += f.entries;
        if (new_target) current_targets.push_back(f.target_condition);
        if (new_source) current_sources.push_back(f.source_condition);
        const std::string& name = rules.rule(index).name;
        if (Mix(Fnv1a(name.data(), name.size())) % band_rules == band_rules - 1) flush();
      }
      flush();
    }

    const uint32_t band_count = static_cast<uint32_t>(band_members.size());
    tables.bands.resize(band_count);
    tables.target_bits.assign(size_t{target_class_count} * band_count, 0);
    if (direction == Direction::kIngress) {
      tables.source_bits.assign(size_t{source_class_count} * band_count, 0);
    }
    for (uint32_t b = 0; b < band_count; ++b) {
      const std::vector<uint32_t>& members = band_members[b];
      Band& band = tables.bands[b];
      // The band's condition numbering: order of first use in the band.
      std::vector<uint32_t> targets;
      std::vector<uint32_t> sources_used;
      for (uint32_t index : members) {
        const RuleFacts& f = facts[index];
        if (f.target_condition == kNone) {
          band.unconditional = true;
        } else if (std::find(targets.begin(), targets.end(), f.target_condition) == targets.end()) {
          targets.push_back(f.target_condition);
        }
        if (f.source_satisfiable && std::find(sources_used.begin(), sources_used.end(),
                                              f.source_condition) == sources_used.end()) {
          sources_used.push_back(f.source_condition);
        }
      }
      for (uint32_t cls = 0; cls < target_class_count; ++cls) {
        uint32_t bits = 0;
        for (uint32_t j = 0; j < targets.size(); ++j) {
          if (target_class_bits.Get(cls, targets[j])) bits |= 1u << j;
        }
        tables.target_bits[size_t{cls} * band_count + b] = bits;
      }
      if (direction == Direction::kIngress) {
        for (uint32_t cls = 0; cls < source_class_count; ++cls) {
          uint32_t bits = 0;
          for (uint32_t j = 0; j < sources_used.size(); ++j) {
            if (source_class_bits.Get(cls, sources_used[j])) bits |= 1u << j;
          }
          tables.source_bits[size_t{cls} * band_count + b] = bits;
        }
      }

      // The band's entries. Slot k (evaluation order within the band) gets the k-th highest
      // rte_acl priority and userdata k + 1 (0 is rte_acl's "no match").
      const uint32_t slots = static_cast<uint32_t>(members.size());
      std::vector<uint32_t> spec;
      band.decisions.resize(slots);
      for (uint32_t k = 0; k < slots; ++k) {
        const uint32_t index = members[k];
        const Rule& r = rules.rule(index);
        const RuleFacts& f = facts[index];
        band.decisions[k] = Decision{r.action, static_cast<int32_t>(index)};
        uint32_t target_bit = 0;
        uint32_t target_mask = 0;
        if (f.target_condition != kNone) {
          uint32_t j = static_cast<uint32_t>(
              std::find(targets.begin(), targets.end(), f.target_condition) - targets.begin());
          target_bit = target_mask = 1u << j;
        }
        uint32_t source_bit = kNone;
        if (f.source_satisfiable) {
          source_bit = static_cast<uint32_t>(
              std::find(sources_used.begin(), sources_used.end(), f.source_condition) -
              sources_used.begin());
        }
        ProtocolAlternatives(r, &protos);
        SourceAlternatives(r, source_bit, &sources);
        std::vector<Prefix> destinations = r.destination_ranges;
        if (destinations.empty()) destinations.push_back(Prefix{0, 0});
        for (const ProtoAlt& p : protos) {
          for (const SourceAlt& s : sources) {
            for (const Prefix& d : destinations) {
              spec.insert(spec.end(), {slots - k, k + 1, p.protocol, p.protocol_mask, s.src,
                                       s.src_len, d.addr, d.len, p.port_first, p.port_last,
                                       target_bit, target_mask, s.source_bits, s.source_mask});
            }
          }
        }
      }

      uint64_t hash = Fnv1a(spec.data(), spec.size() * sizeof(uint32_t));
      auto [first, last] = pool.equal_range(hash);
      for (auto it = first; it != last; ++it) {
        if (it->second->spec == spec) {
          band.acl = it->second;
          break;
        }
      }
      if (band.acl != nullptr) {
        ++c->stats_.bands_reused;
      } else {
        std::shared_ptr<AclBand> built = CompileBand(std::move(spec), hash, error);
        if (built == nullptr) return nullptr;
        band.acl = built;
        pool.emplace(hash, band.acl);
        ++c->stats_.bands_built;
      }
      c->stats_.acl_entries += static_cast<uint32_t>(band.acl->spec.size() / kSpecWords);
    }
    c->stats_.bands += band_count;
  }

  c->stats_.target_classes = target_class_count;
  c->stats_.source_classes = source_class_count;
  size_t bytes =
      sizeof(Classifier) +
      (c->nic_target_class_.capacity() + c->nic_source_class_.capacity()) * sizeof(uint32_t);
  for (const Tables& t : c->tables_) {
    bytes += (t.target_bits.capacity() + t.source_bits.capacity()) * sizeof(uint32_t);
    for (const Band& b : t.bands) {
      bytes += sizeof(Band) + b.decisions.capacity() * sizeof(Decision) + sizeof(AclBand) +
               b.acl->spec.capacity() * sizeof(uint32_t);
    }
  }
  c->stats_.host_bytes = bytes;
  return c;
}

std::shared_ptr<Classifier::AclBand> Classifier::CompileBand(std::vector<uint32_t> spec,
                                                             uint64_t hash, std::string* error) {
  const uint32_t count = static_cast<uint32_t>(spec.size() / kSpecWords);
  char name[RTE_ACL_NAMESIZE];
  std::snprintf(name, sizeof(name), "svpcfw-%d-%llu", static_cast<int>(getpid()),
                static_cast<unsigned long long>(acl_sequence.fetch_add(1)));
  rte_acl_param param;
  std::memset(&param, 0, sizeof(param));
  param.name = name;
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(kFieldCount);
  param.max_rule_num = count;
  auto band = std::make_shared<Classifier::AclBand>();
  band->ctx = rte_acl_create(&param);
  if (band->ctx == nullptr) {
    if (error != nullptr) *error = std::string("rte_acl_create: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  std::vector<AclEntry> entries(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t* w = &spec[size_t{i} * kSpecWords];
    AclEntry& e = entries[i];
    std::memset(&e, 0, sizeof(e));
    e.data.category_mask = 1;
    e.data.priority = static_cast<int32_t>(w[kSpecPriority]);
    e.data.userdata = w[kSpecUserdata];
    e.field[kFieldProtocol].value.u8 = static_cast<uint8_t>(w[kSpecProtocol]);
    e.field[kFieldProtocol].mask_range.u8 = static_cast<uint8_t>(w[kSpecProtocolMask]);
    e.field[kFieldSrc].value.u32 = w[kSpecSrc];
    e.field[kFieldSrc].mask_range.u32 = w[kSpecSrcLen];
    e.field[kFieldDst].value.u32 = w[kSpecDst];
    e.field[kFieldDst].mask_range.u32 = w[kSpecDstLen];
    e.field[kFieldPort].value.u32 = w[kSpecPortFirst];
    e.field[kFieldPort].mask_range.u32 = w[kSpecPortLast];
    e.field[kFieldTarget].value.u32 = w[kSpecTargetBits];
    e.field[kFieldTarget].mask_range.u32 = w[kSpecTargetMask];
    e.field[kFieldSource].value.u32 = w[kSpecSourceBits];
    e.field[kFieldSource].mask_range.u32 = w[kSpecSourceMask];
  }
  int rc =
      rte_acl_add_rules(band->ctx, reinterpret_cast<const rte_acl_rule*>(entries.data()), count);
  if (rc == 0) {
    rte_acl_config cfg = AclConfig();
    rc = rte_acl_build(band->ctx, &cfg);
  }
  if (rc != 0) {
    if (error != nullptr) *error = std::string("rte_acl_build: ") + rte_strerror(-rc);
    return nullptr;
  }
  band->spec = std::move(spec);
  band->hash = hash;
  return band;
}

namespace {

AclInput InputOf(const FlowKey& key) noexcept {
  AclInput in;
  in.protocol = key.protocol;
  in.pad[0] = in.pad[1] = in.pad[2] = 0;
  in.src = rte_cpu_to_be_32(key.src);
  in.dst = rte_cpu_to_be_32(key.dst);
  in.port = rte_cpu_to_be_32(key.has_ports ? uint32_t{key.dst_port} : kNoPorts);
  in.target_bits = 0;
  in.source_bits = 0;
  return in;
}

Decision Implied(Direction direction) noexcept {
  return Decision{direction == Direction::kEgress ? Action::kAllow : Action::kDeny, kImpliedRule};
}

}  // namespace

Decision Classifier::Classify(Direction direction, uint32_t target_class, uint32_t source_class,
                              const FlowKey& key) const noexcept {
  const Tables& t = tables_[static_cast<int>(direction)];
  const size_t band_count = t.bands.size();
  assert(target_class < stats_.target_classes && source_class < stats_.source_classes);
  AclInput in = InputOf(key);
  const uint8_t* data = reinterpret_cast<const uint8_t*>(&in);
  const uint32_t* target_bits = t.target_bits.data() + target_class * band_count;
  const uint32_t* source_bits =
      t.source_bits.empty() ? nullptr : t.source_bits.data() + source_class * band_count;
  for (size_t b = 0; b < band_count; ++b) {
    const Band& band = t.bands[b];
    if (target_bits[b] == 0 && !band.unconditional) continue;  // no rule of it applies
    in.target_bits = rte_cpu_to_be_32(target_bits[b]);
    in.source_bits = source_bits != nullptr ? rte_cpu_to_be_32(source_bits[b]) : 0;
    uint32_t result = 0;
    rte_acl_classify(band.acl->ctx, &data, &result, 1, 1);
    if (result != 0) return band.decisions[result - 1];
  }
  return Implied(direction);
}

void Classifier::ClassifyBurst(Direction direction, std::span<const Query> queries,
                               Decision* decisions) const noexcept {
  constexpr uint32_t kChunk = 64;
  const Tables& t = tables_[static_cast<int>(direction)];
  const size_t band_count = t.bands.size();
  const Decision implied = Implied(direction);
  for (size_t base = 0; base < queries.size(); base += kChunk) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(kChunk, queries.size() - base));
    const Query* q = queries.data() + base;
    Decision* out = decisions + base;
    AclInput in[kChunk];
    uint8_t pending[kChunk];
    uint32_t pending_count = n;
    for (uint32_t i = 0; i < n; ++i) {
      in[i] = InputOf(q[i].key);
      out[i] = implied;
      pending[i] = static_cast<uint8_t>(i);
    }
    for (size_t b = 0; b < band_count && pending_count != 0; ++b) {
      const Band& band = t.bands[b];
      const uint8_t* data[kChunk];
      uint8_t which[kChunk];
      uint32_t results[kChunk];
      uint32_t count = 0;
      for (uint32_t j = 0; j < pending_count; ++j) {
        const uint32_t i = pending[j];
        assert(q[i].target_class < stats_.target_classes);
        const uint32_t target_bits = t.target_bits[q[i].target_class * band_count + b];
        if (target_bits == 0 && !band.unconditional) continue;
        in[i].target_bits = rte_cpu_to_be_32(target_bits);
        in[i].source_bits =
            t.source_bits.empty()
                ? 0
                : rte_cpu_to_be_32(t.source_bits[q[i].source_class * band_count + b]);
        data[count] = reinterpret_cast<const uint8_t*>(&in[i]);
        which[count++] = static_cast<uint8_t>(i);
      }
      if (count == 0) continue;
      rte_acl_classify(band.acl->ctx, data, results, count, 1);
      bool decided[kChunk] = {};
      for (uint32_t j = 0; j < count; ++j) {
        if (results[j] != 0) {
          out[which[j]] = band.decisions[results[j] - 1];
          decided[which[j]] = true;
        }
      }
      uint32_t kept = 0;
      for (uint32_t j = 0; j < pending_count; ++j) {
        if (!decided[pending[j]]) pending[kept++] = pending[j];
      }
      pending_count = kept;
    }
  }
}

}  // namespace svpc::firewall
