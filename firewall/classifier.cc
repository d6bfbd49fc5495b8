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
#include <set>
#include <unordered_map>

namespace svpc::firewall {
namespace {

// What rte_acl reads for one packet in one band, in network byte order. rte_acl wants the first
// field one byte long and every other input in its own 4-byte group. A band defines only the
// fields it needs (no tag words when no rule of it names tags): fewer bytes to walk.
struct AclInput {
  uint8_t protocol;
  uint8_t pad[3];
  uint32_t src;
  uint32_t dst;
  uint32_t port;       // destination port, or kNoPorts
  uint32_t target[2];  // the target NIC's tags / service accounts, as the band numbers them
  uint32_t source[2];  // the sender's, likewise
};

// A packet without ports (non-first fragment, ICMP, ...) reads this port: outside every rule's
// port range (at most 65535), inside the "every port" range of rules without ports.
constexpr uint32_t kNoPorts = 0x10000;

constexpr uint32_t kMaxFields = 8;
RTE_ACL_RULE_DEF(AclEntry, kMaxFields);

// A band's compiled content as plain words, compared to reuse bands: two header words (target
// words, source words: how many 32-bit tag words the band's layout has, 0..2), then per entry:
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
  kSpecTarget,  // 2 words of bits, then 2 words of mask
  kSpecSource = kSpecTarget + 4,
  kSpecWords = kSpecSource + 4
};
constexpr uint32_t kSpecHeader = 2;

// Field layout: protocol, source, destination, port, then `target_words` and `source_words`
// 32-bit bitmask fields.
rte_acl_config AclConfig(uint32_t target_words, uint32_t source_words) {
  rte_acl_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.num_categories = 1;
  uint8_t n = 0;
  auto add = [&](uint8_t type, uint8_t size, uint32_t offset) {
    cfg.defs[n] = rte_acl_field_def{type, size, n, n, offset};
    ++n;
  };
  add(RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint8_t), offsetof(AclInput, protocol));
  add(RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), offsetof(AclInput, src));
  add(RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), offsetof(AclInput, dst));
  add(RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint32_t), offsetof(AclInput, port));
  for (uint32_t w = 0; w < target_words; ++w) {
    add(RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint32_t), offsetof(AclInput, target) + 4 * w);
  }
  for (uint32_t w = 0; w < source_words; ++w) {
    add(RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint32_t), offsetof(AclInput, source) + 4 * w);
  }
  cfg.num_fields = n;
  return cfg;
}

uint64_t Fnv1a(const void* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
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

// A tag or a service account: (kind << 32) | interned id. Kind 0 = tag, 1 = service account.
using Label = uint64_t;
constexpr Label TagLabel(uint32_t id) { return id; }
constexpr Label AccountLabel(uint32_t id) { return (uint64_t{1} << 32) | id; }

bool HasLabel(const Identity& who, Label label) {
  std::span<const uint32_t> ids = (label >> 32) == 0 ? who.tags : who.service_accounts;
  return std::binary_search(ids.begin(), ids.end(), static_cast<uint32_t>(label));
}

// The per-rule facts the bands are compiled from.
struct RuleFacts {
  bool unconditional = true;   // applies to every target
  std::vector<Label> targets;  // else: any of these (only labels some NIC has)
  std::vector<Label> sources;  // ingress source tags / service accounts some NIC has
  uint32_t entries = 0;        // rte_acl entries it expands to (0: can never match)
};

struct ProtoAlt {
  uint32_t protocol, protocol_mask, port_first, port_last;
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

// Source alternatives: address ranges (kNone: the label alternatives follow).
struct SourceAlt {
  Prefix range;
  uint32_t label_bit;  // band bit of a source label, or kNoBit for a range alternative
};
constexpr uint32_t kNoBit = ~uint32_t{0};

// `label_bits`: the band's bit for each of facts.sources (same order).
void SourceAlternatives(const Rule& rule, const std::vector<uint32_t>& label_bits,
                        std::vector<SourceAlt>* out) {
  out->clear();
  if (rule.direction == Direction::kEgress) {
    if (rule.source_ranges.empty()) out->push_back({Prefix{0, 0}, kNoBit});
    for (const Prefix& p : rule.source_ranges) out->push_back({p, kNoBit});
    return;
  }
  bool has_source = !rule.source_ranges.empty() || !rule.source_tags.empty() ||
                    !rule.source_service_accounts.empty();
  if (!has_source) {
    out->push_back({Prefix{0, 0}, kNoBit});  // no source: 0.0.0.0/0
    return;
  }
  // Ranges OR tags OR service accounts: one entry per alternative. Labels no NIC has are left
  // out: the sender of a packet with a remote identity is always one of the NICs.
  for (const Prefix& p : rule.source_ranges) out->push_back({p, kNoBit});
  for (uint32_t bit : label_bits) out->push_back({Prefix{0, 0}, bit});
}

uint32_t Words(size_t labels) { return static_cast<uint32_t>((labels + 31) / 32); }

// A label set's bits in a band's numbering.
uint64_t Project(const Identity& who, const std::vector<Label>& band_labels) {
  uint64_t bits = 0;
  for (size_t j = 0; j < band_labels.size(); ++j) {
    if (HasLabel(who, band_labels[j])) bits |= uint64_t{1} << j;
  }
  return bits;
}

uint32_t IndexOf(const std::vector<Label>& labels, Label label) {
  return static_cast<uint32_t>(std::find(labels.begin(), labels.end(), label) - labels.begin());
}

std::atomic<uint64_t> acl_sequence{0};

}  // namespace

// One compiled band. Immutable once built; shared by every Classifier whose band compiles to
// the same content.
struct Classifier::AclBand {
  rte_acl_ctx* ctx = nullptr;
  std::vector<uint32_t> spec;
  uint64_t hash = 0;

  AclBand() = default;
  AclBand(const AclBand&) = delete;
  AclBand& operator=(const AclBand&) = delete;
  ~AclBand() {
    if (ctx != nullptr) rte_acl_free(ctx);
  }
  uint32_t entries() const {
    return static_cast<uint32_t>((spec.size() - kSpecHeader) / kSpecWords);
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
  std::set<Label> present;  // labels some NIC has
  for (size_t i = 0; i < nics.size(); ++i) {
    std::vector<uint32_t> key;
    key.push_back(static_cast<uint32_t>(nics[i].tags.size()));
    key.insert(key.end(), nics[i].tags.begin(), nics[i].tags.end());
    key.insert(key.end(), nics[i].service_accounts.begin(), nics[i].service_accounts.end());
    nic_identity[i] = identities.Intern(std::move(key));
    if (nic_identity[i] == identity_of.size()) identity_of.push_back(nics[i]);
    for (uint32_t t : nics[i].tags) present.insert(TagLabel(t));
    for (uint32_t a : nics[i].service_accounts) present.insert(AccountLabel(a));
  }
  const uint32_t identity_count = identities.size();

  // Conditions, deduplicated across rules. A target condition is what a rule's targets ask (any
  // of these tags, or any of these service accounts); a source condition is an ingress rule's
  // source tags and service accounts. Key: {kind or tag count, ids...}.
  Interner target_conditions;
  Interner source_conditions;
  std::vector<RuleFacts> facts(rule_count);
  for (uint32_t i = 0; i < rule_count; ++i) {
    const Rule& r = rules.rule(i);
    RuleFacts& f = facts[i];
    if (!r.target_tags.empty()) {
      std::vector<uint32_t> key{0};
      key.insert(key.end(), r.target_tags.begin(), r.target_tags.end());
      target_conditions.Intern(std::move(key));
      f.unconditional = false;
      for (uint32_t t : r.target_tags) {
        if (present.count(TagLabel(t))) f.targets.push_back(TagLabel(t));
      }
    } else if (!r.target_service_accounts.empty()) {
      std::vector<uint32_t> key{1};
      key.insert(key.end(), r.target_service_accounts.begin(), r.target_service_accounts.end());
      target_conditions.Intern(std::move(key));
      f.unconditional = false;
      for (uint32_t a : r.target_service_accounts) {
        if (present.count(AccountLabel(a))) f.targets.push_back(AccountLabel(a));
      }
    }
    if (r.direction == Direction::kIngress &&
        (!r.source_tags.empty() || !r.source_service_accounts.empty())) {
      std::vector<uint32_t> key{static_cast<uint32_t>(r.source_tags.size())};
      key.insert(key.end(), r.source_tags.begin(), r.source_tags.end());
      key.insert(key.end(), r.source_service_accounts.begin(), r.source_service_accounts.end());
      source_conditions.Intern(std::move(key));
      for (uint32_t t : r.source_tags) {
        if (present.count(TagLabel(t))) f.sources.push_back(TagLabel(t));
      }
      for (uint32_t a : r.source_service_accounts) {
        if (present.count(AccountLabel(a))) f.sources.push_back(AccountLabel(a));
      }
    }
  }

  // Classes: identities satisfying the same conditions. Each class keeps a representative
  // identity (any member gives the same rule behaviour). Source class 0 satisfies nothing; it
  // exists even when no NIC is in it (non-instance senders).
  std::map<std::vector<bool>, uint32_t> target_rows;
  std::map<std::vector<bool>, uint32_t> source_rows;
  std::vector<uint32_t> target_representative;
  std::vector<uint32_t> source_representative{~uint32_t{0}};
  source_rows.emplace(std::vector<bool>(source_conditions.size(), false), 0);
  std::vector<uint32_t> identity_target_class(identity_count);
  std::vector<uint32_t> identity_source_class(identity_count);
  for (uint32_t id = 0; id < identity_count; ++id) {
    const Identity& who = identity_of[id];
    std::vector<bool> row(target_conditions.size());
    for (uint32_t k = 0; k < target_conditions.size(); ++k) {
      const std::vector<uint32_t>& key = target_conditions.key(k);
      std::span<const uint32_t> ids(key.begin() + 1, key.end());
      row[k] = Intersects(ids, key[0] == 0 ? who.tags : who.service_accounts);
    }
    auto t = target_rows.try_emplace(row, static_cast<uint32_t>(target_rows.size()));
    if (t.second) target_representative.push_back(id);
    identity_target_class[id] = t.first->second;

    row.assign(source_conditions.size(), false);
    for (uint32_t k = 0; k < source_conditions.size(); ++k) {
      const std::vector<uint32_t>& key = source_conditions.key(k);
      std::span<const uint32_t> tags(key.begin() + 1, key.begin() + 1 + key[0]);
      std::span<const uint32_t> accounts(key.begin() + 1 + key[0], key.end());
      row[k] = Intersects(tags, who.tags) || Intersects(accounts, who.service_accounts);
    }
    auto s = source_rows.try_emplace(row, static_cast<uint32_t>(source_rows.size()));
    if (s.second) source_representative.push_back(id);
    identity_source_class[id] = s.first->second;
  }
  const Identity no_identity{};
  if (target_representative.empty()) {  // no NICs: class 0 has nothing, keeps tables valid
    target_representative.push_back(identity_count);
    identity_of.push_back(no_identity);
  }
  const uint32_t target_class_count = static_cast<uint32_t>(target_representative.size());
  const uint32_t source_class_count = static_cast<uint32_t>(source_representative.size());
  c->nic_target_class_.resize(nics.size());
  c->nic_source_class_.resize(nics.size());
  for (size_t i = 0; i < nics.size(); ++i) {
    c->nic_target_class_[i] = identity_target_class[nic_identity[i]];
    c->nic_source_class_[i] = identity_source_class[nic_identity[i]];
  }
  auto target_identity = [&](uint32_t cls) -> const Identity& {
    return identity_of[target_representative[cls]];
  };
  auto source_identity = [&](uint32_t cls) -> const Identity& {
    return cls == kNoSourceClass ? no_identity : identity_of[source_representative[cls]];
  };

  // Entry counts: protocols/ports x source alternatives x destinations x target alternatives.
  std::vector<ProtoAlt> protos;
  std::vector<SourceAlt> sources;
  for (uint32_t i = 0; i < rule_count; ++i) {
    RuleFacts& f = facts[i];
    const Rule& r = rules.rule(i);
    if (!f.unconditional && f.targets.empty()) continue;  // no NIC is a target
    ProtocolAlternatives(r, &protos);
    SourceAlternatives(r, std::vector<uint32_t>(f.sources.size(), 0), &sources);
    size_t destinations = r.destination_ranges.empty() ? 1 : r.destination_ranges.size();
    size_t targets = f.unconditional ? 1 : f.targets.size();
    f.entries = static_cast<uint32_t>(protos.size() * sources.size() * destinations * targets);
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
    // no other cut), or before exceeding the entry or label budget.
    std::vector<std::vector<uint32_t>> band_members;
    {
      std::vector<uint32_t> current;
      std::set<Label> current_targets;
      std::set<Label> current_sources;
      uint32_t current_entries = 0;
      auto flush = [&] {
        if (!current.empty()) band_members.push_back(std::move(current));
        current.clear();
        current_targets.clear();
        current_sources.clear();
        current_entries = 0;
      };
      auto count_new = [](const std::set<Label>& have, const std::vector<Label>& add) {
        size_t n = 0;
        for (Label l : add) n += have.count(l) == 0;
        return n;
      };
      for (uint32_t index : order) {
        const RuleFacts& f = facts[index];
        if (f.entries == 0) continue;  // never matches anything: not compiled
        if (!current.empty() &&
            (current_entries + f.entries > options.max_band_entries ||
             current_targets.size() + count_new(current_targets, f.targets) > kMaxLabelsPerBand ||
             current_sources.size() + count_new(current_sources, f.sources) > kMaxLabelsPerBand)) {
          flush();
        }
        current.push_back(index);
        current_entries += f.entries;
        current_targets.insert(f.targets.begin(), f.targets.end());
        current_sources.insert(f.sources.begin(), f.sources.end());
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
      // The band's label numbering: order of first use in the band.
      std::vector<Label> target_labels;
      std::vector<Label> source_labels;
      for (uint32_t index : members) {
        const RuleFacts& f = facts[index];
        band.unconditional |= f.unconditional;
        for (Label l : f.targets) {
          if (IndexOf(target_labels, l) == target_labels.size()) target_labels.push_back(l);
        }
        for (Label l : f.sources) {
          if (IndexOf(source_labels, l) == source_labels.size()) source_labels.push_back(l);
        }
      }
      for (uint32_t cls = 0; cls < target_class_count; ++cls) {
        tables.target_bits[size_t{cls} * band_count + b] =
            Project(target_identity(cls), target_labels);
      }
      if (direction == Direction::kIngress) {
        for (uint32_t cls = 0; cls < source_class_count; ++cls) {
          tables.source_bits[size_t{cls} * band_count + b] =
              Project(source_identity(cls), source_labels);
        }
      }

      // The band's entries. Slot k (evaluation order within the band) gets the k-th highest
      // rte_acl priority and userdata k + 1 (0 is rte_acl's "no match").
      const uint32_t slots = static_cast<uint32_t>(members.size());
      std::vector<uint32_t> spec{Words(target_labels.size()), Words(source_labels.size())};
      band.decisions.resize(slots);
      std::vector<uint32_t> label_bits;
      std::vector<uint32_t> target_alternatives;
      for (uint32_t k = 0; k < slots; ++k) {
        const uint32_t index = members[k];
        const Rule& r = rules.rule(index);
        const RuleFacts& f = facts[index];
        band.decisions[k] = Decision{r.action, static_cast<int32_t>(index)};
        label_bits.clear();
        for (Label l : f.sources) label_bits.push_back(IndexOf(source_labels, l));
        target_alternatives.clear();
        if (f.unconditional) target_alternatives.push_back(kNoBit);
        for (Label l : f.targets) target_alternatives.push_back(IndexOf(target_labels, l));
        ProtocolAlternatives(r, &protos);
        SourceAlternatives(r, label_bits, &sources);
        std::vector<Prefix> destinations = r.destination_ranges;
        if (destinations.empty()) destinations.push_back(Prefix{0, 0});
        for (uint32_t target_bit : target_alternatives) {
          uint64_t target = target_bit == kNoBit ? 0 : uint64_t{1} << target_bit;
          for (const ProtoAlt& p : protos) {
            for (const SourceAlt& s : sources) {
              uint64_t source = s.label_bit == kNoBit ? 0 : uint64_t{1} << s.label_bit;
              for (const Prefix& d : destinations) {
                spec.insert(spec.end(),
                            {slots - k, k + 1, p.protocol, p.protocol_mask, s.range.addr,
                             s.range.len, d.addr, d.len, p.port_first, p.port_last,
                             static_cast<uint32_t>(target), static_cast<uint32_t>(target >> 32),
                             static_cast<uint32_t>(target), static_cast<uint32_t>(target >> 32),
                             static_cast<uint32_t>(source), static_cast<uint32_t>(source >> 32),
                             static_cast<uint32_t>(source), static_cast<uint32_t>(source >> 32)});
              }
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
      c->stats_.acl_entries += band.acl->entries();
    }
    c->stats_.bands += band_count;
  }

  c->stats_.target_classes = target_class_count;
  c->stats_.source_classes = source_class_count;
  size_t bytes =
      sizeof(Classifier) +
      (c->nic_target_class_.capacity() + c->nic_source_class_.capacity()) * sizeof(uint32_t);
  for (const Tables& t : c->tables_) {
    bytes += (t.target_bits.capacity() + t.source_bits.capacity()) * sizeof(uint64_t);
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
  const uint32_t target_words = spec[0];
  const uint32_t source_words = spec[1];
  const uint32_t fields = 4 + target_words + source_words;
  const uint32_t count = static_cast<uint32_t>((spec.size() - kSpecHeader) / kSpecWords);
  const size_t rule_size = RTE_ACL_RULE_SZ(fields);
  char name[RTE_ACL_NAMESIZE];
  std::snprintf(name, sizeof(name), "svpcfw-%d-%llu", static_cast<int>(getpid()),
                static_cast<unsigned long long>(acl_sequence.fetch_add(1)));
  rte_acl_param param;
  std::memset(&param, 0, sizeof(param));
  param.name = name;
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = static_cast<uint32_t>(rule_size);
  param.max_rule_num = count;
  auto band = std::make_shared<AclBand>();
  band->ctx = rte_acl_create(&param);
  if (band->ctx == nullptr) {
    if (error != nullptr) *error = std::string("rte_acl_create: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  // Entries packed at the context's rule size (only the band's fields).
  std::vector<uint8_t> packed(rule_size * count, 0);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t* w = &spec[kSpecHeader + size_t{i} * kSpecWords];
    AclEntry e;
    std::memset(&e, 0, sizeof(e));
    e.data.category_mask = 1;
    e.data.priority = static_cast<int32_t>(w[kSpecPriority]);
    e.data.userdata = w[kSpecUserdata];
    e.field[0].value.u8 = static_cast<uint8_t>(w[kSpecProtocol]);
    e.field[0].mask_range.u8 = static_cast<uint8_t>(w[kSpecProtocolMask]);
    e.field[1].value.u32 = w[kSpecSrc];
    e.field[1].mask_range.u32 = w[kSpecSrcLen];
    e.field[2].value.u32 = w[kSpecDst];
    e.field[2].mask_range.u32 = w[kSpecDstLen];
    e.field[3].value.u32 = w[kSpecPortFirst];
    e.field[3].mask_range.u32 = w[kSpecPortLast];
    uint32_t f = 4;
    for (uint32_t t = 0; t < target_words; ++t, ++f) {
      e.field[f].value.u32 = w[kSpecTarget + t];
      e.field[f].mask_range.u32 = w[kSpecTarget + 2 + t];
    }
    for (uint32_t s = 0; s < source_words; ++s, ++f) {
      e.field[f].value.u32 = w[kSpecSource + s];
      e.field[f].mask_range.u32 = w[kSpecSource + 2 + s];
    }
    std::memcpy(&packed[i * rule_size], &e, rule_size);
  }
  int rc =
      rte_acl_add_rules(band->ctx, reinterpret_cast<const rte_acl_rule*>(packed.data()), count);
  if (rc == 0) {
    rte_acl_config cfg = AclConfig(target_words, source_words);
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
  in.target[0] = in.target[1] = in.source[0] = in.source[1] = 0;
  return in;
}

void SetBits(uint32_t* words, uint64_t bits) noexcept {
  words[0] = rte_cpu_to_be_32(static_cast<uint32_t>(bits));
  words[1] = rte_cpu_to_be_32(static_cast<uint32_t>(bits >> 32));
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
  const uint64_t* target_bits = t.target_bits.data() + target_class * band_count;
  const uint64_t* source_bits =
      t.source_bits.empty() ? nullptr : t.source_bits.data() + source_class * band_count;
  for (size_t b = 0; b < band_count; ++b) {
    const Band& band = t.bands[b];
    if (target_bits[b] == 0 && !band.unconditional) continue;  // no rule of it applies
    SetBits(in.target, target_bits[b]);
    if (source_bits != nullptr) SetBits(in.source, source_bits[b]);
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
      assert(q[i].target_class < stats_.target_classes);
      assert(q[i].source_class < stats_.source_classes);
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
        const uint64_t target_bits = t.target_bits[q[i].target_class * band_count + b];
        if (target_bits == 0 && !band.unconditional) continue;
        SetBits(in[i].target, target_bits);
        if (!t.source_bits.empty()) {
          SetBits(in[i].source, t.source_bits[q[i].source_class * band_count + b]);
        }
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
