#include "firewall/classifier.h"

#include "firewall/match.h"

#include <rte_prefetch.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <map>
#include <unordered_map>

namespace svpc::firewall {
namespace {

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

// Distinct rows of one direction's tables, `words` 64-bit words each; row 0 is all zeros.
class RowPool {
 public:
  // `expected_rows`: an upper bound of the rows to come, reserved up front.
  RowPool(uint32_t words, size_t max_bytes, size_t expected_rows)
      : words_(words), max_words_(max_bytes / 8) {
    data_.reserve(std::min(expected_rows * words, max_words_));
    index_.reserve(expected_rows);
    std::vector<uint64_t> zero(words, 0);
    Intern(zero.data());
  }

  // The id of `row` (added if new); kNone once the pool would exceed its byte budget.
  uint32_t Intern(const uint64_t* row) {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (uint32_t w = 0; w < words_; ++w) h = (h ^ row[w]) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    auto [first, last] = index_.equal_range(h);
    for (auto it = first; it != last; ++it) {
      if (std::equal(row, row + words_, data_.begin() + size_t{it->second} * words_)) {
        return it->second;
      }
    }
    if (data_.size() + words_ > max_words_) return kNone;
    uint32_t id = count_++;
    data_.insert(data_.end(), row, row + words_);
    index_.emplace(h, id);
    return id;
  }

  uint32_t count() const { return count_; }
  std::vector<uint64_t> Release() { return std::move(data_); }

 private:
  uint32_t words_;
  size_t max_words_;
  uint32_t count_ = 0;
  std::vector<uint64_t> data_;
  std::unordered_multimap<uint64_t, uint32_t> index_;
};

// An inclusive range of a field's values where rule bit `bit` matches.
struct Span {
  uint64_t first;
  uint64_t last;
  uint32_t bit;
};

void SetBit(std::vector<uint64_t>& bits, uint32_t bit) {
  bits[bit / 64] |= uint64_t{1} << (bit % 64);
}

}  // namespace

struct Classifier::RowSet {
  const uint64_t* port;
  const uint64_t* src;
  const uint64_t* source;
  const uint64_t* dst;
  const uint64_t* target;
};

// Compiles one network; every step is a sort and a sweep.
class Classifier::Builder {
 public:
  Builder(const RuleSet& rules, std::span<const Identity> nics, const ClassifierOptions& options,
          Classifier* out)
      : rules_(rules), nics_(nics), options_(options), c_(out) {}

  bool Run(std::string* error) {
    ComputeClasses();
    for (Direction direction : {Direction::kIngress, Direction::kEgress}) {
      if (!BuildDirection(direction)) {
        if (error != nullptr) {
          *error = "firewall classifier: tables would exceed " +
                   std::to_string(options_.max_bytes) + " bytes (" + std::to_string(rules_.size()) +
                   " rules)";
        }
        return false;
      }
    }
    size_t bytes =
        sizeof(Classifier) +
        (c_->nic_target_class_.capacity() + c_->nic_source_class_.capacity()) * sizeof(uint32_t);
    for (const Tables& t : c_->tables_) {
      bytes += t.rows.capacity() * sizeof(uint64_t) + t.decisions.capacity() * sizeof(Decision) +
               (t.target_row.capacity() + t.source_row.capacity()) * sizeof(uint32_t);
      for (const IntervalIndex* index : {&t.src, &t.dst}) {
        bytes += (index->starts.capacity() + index->rows.capacity()) * sizeof(uint32_t);
      }
      for (const ProtocolPorts& p : t.protocols) {
        bytes += sizeof(ProtocolPorts) +
                 (p.ports.starts.capacity() + p.ports.rows.capacity()) * sizeof(uint32_t);
      }
    }
    c_->stats_.bytes = bytes;
    return true;
  }

 private:
  // Target conditions (what a rule's targets ask: any of these tags, or any of these service
  // accounts) and source conditions (an ingress rule's source tags and service accounts),
  // deduplicated; classes are the distinct sets of conditions identities satisfy.
  void ComputeClasses() {
    const uint32_t n = static_cast<uint32_t>(rules_.size());
    rule_target_condition_.assign(n, kNone);
    rule_source_condition_.assign(n, kNone);
    for (uint32_t i = 0; i < n; ++i) {
      const Rule& r = rules_.rule(i);
      if (!r.target_tags.empty()) {
        std::vector<uint32_t> key{0};
        key.insert(key.end(), r.target_tags.begin(), r.target_tags.end());
        rule_target_condition_[i] = target_conditions_.Intern(std::move(key));
      } else if (!r.target_service_accounts.empty()) {
        std::vector<uint32_t> key{1};
        key.insert(key.end(), r.target_service_accounts.begin(), r.target_service_accounts.end());
        rule_target_condition_[i] = target_conditions_.Intern(std::move(key));
      }
      if (r.direction == Direction::kIngress &&
          (!r.source_tags.empty() || !r.source_service_accounts.empty())) {
        std::vector<uint32_t> key{static_cast<uint32_t>(r.source_tags.size())};
        key.insert(key.end(), r.source_tags.begin(), r.source_tags.end());
        key.insert(key.end(), r.source_service_accounts.begin(), r.source_service_accounts.end());
        rule_source_condition_[i] = source_conditions_.Intern(std::move(key));
      }
    }

    // Source class 0 satisfies nothing and exists even when no NIC is in it.
    std::map<std::vector<bool>, uint32_t> target_rows;
    std::map<std::vector<bool>, uint32_t> source_rows;
    source_rows.emplace(std::vector<bool>(source_conditions_.size(), false), 0);
    source_satisfied_.push_back(std::vector<bool>(source_conditions_.size(), false));
    c_->nic_target_class_.resize(nics_.size());
    c_->nic_source_class_.resize(nics_.size());
    for (size_t i = 0; i < nics_.size(); ++i) {
      const Identity& who = nics_[i];
      std::vector<bool> row(target_conditions_.size());
      for (uint32_t k = 0; k < target_conditions_.size(); ++k) {
        const std::vector<uint32_t>& key = target_conditions_.key(k);
        std::span<const uint32_t> ids(key.begin() + 1, key.end());
        row[k] = Intersects(ids, key[0] == 0 ? who.tags : who.service_accounts);
      }
      auto t = target_rows.try_emplace(row, static_cast<uint32_t>(target_rows.size()));
      if (t.second) target_satisfied_.push_back(row);
      c_->nic_target_class_[i] = t.first->second;

      row.assign(source_conditions_.size(), false);
      for (uint32_t k = 0; k < source_conditions_.size(); ++k) {
        const std::vector<uint32_t>& key = source_conditions_.key(k);
        std::span<const uint32_t> tags(key.begin() + 1, key.begin() + 1 + key[0]);
        std::span<const uint32_t> accounts(key.begin() + 1 + key[0], key.end());
        row[k] = Intersects(tags, who.tags) || Intersects(accounts, who.service_accounts);
      }
      auto s = source_rows.try_emplace(row, static_cast<uint32_t>(source_rows.size()));
      if (s.second) source_satisfied_.push_back(row);
      c_->nic_source_class_[i] = s.first->second;
    }
    if (target_satisfied_.empty()) {  // no NICs: one class satisfying nothing keeps tables valid
      target_satisfied_.push_back(std::vector<bool>(target_conditions_.size(), false));
    }
    c_->stats_.target_classes = static_cast<uint32_t>(target_satisfied_.size());
    c_->stats_.source_classes = static_cast<uint32_t>(source_satisfied_.size());
  }

  // Sweeps `spans` over a field's values 0..last: one row per elementary interval (adjacent
  // intervals with the same row merged), every row also holding `wildcard`.
  bool Sweep(const std::vector<Span>& spans, const std::vector<uint64_t>& wildcard, uint64_t last,
             RowPool& pool, IntervalIndex* out) {
    struct Event {
      uint64_t at;
      uint32_t bit;
      int32_t delta;
    };
    std::vector<Event> events;
    events.reserve(spans.size() * 2);
    for (const Span& s : spans) {
      events.push_back({s.first, s.bit, +1});
      if (s.last < last) events.push_back({s.last + 1, s.bit, -1});
    }
    std::sort(events.begin(), events.end(),
              [](const Event& a, const Event& b) { return a.at < b.at; });
    std::vector<uint64_t> current = wildcard;
    std::vector<uint32_t> count(current.size() * 64, 0);  // spans of each bit covering `at`
    out->starts.clear();
    out->rows.clear();
    size_t e = 0;
    uint64_t at = 0;
    while (true) {
      for (; e < events.size() && events[e].at == at; ++e) {
        const Event& ev = events[e];
        if (ev.delta > 0) {
          if (count[ev.bit]++ == 0) current[ev.bit / 64] |= uint64_t{1} << (ev.bit % 64);
        } else if (--count[ev.bit] == 0) {
          current[ev.bit / 64] &= ~(uint64_t{1} << (ev.bit % 64));
          current[ev.bit / 64] |= wildcard[ev.bit / 64] & (uint64_t{1} << (ev.bit % 64));
        }
      }
      uint32_t row = pool.Intern(current.data());
      if (row == kNone) return false;
      if (out->rows.empty() || out->rows.back() != row) {
        out->starts.push_back(static_cast<uint32_t>(at));
        out->rows.push_back(row);
      }
      if (e == events.size()) return true;
      at = events[e].at;
    }
  }

  bool BuildDirection(Direction direction) {
    const int d = static_cast<int>(direction);
    Tables& t = c_->tables_[d];

    // Evaluation order, exactly as RuleSet::RulesFor sorts: bit i = order[i].
    std::vector<uint32_t> order;
    for (uint32_t i = 0; i < rules_.size(); ++i) {
      if (rules_.rule(i).direction == direction) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [this](uint32_t a, uint32_t b) {
      const Rule& ra = rules_.rule(a);
      const Rule& rb = rules_.rule(b);
      if (ra.priority != rb.priority) return ra.priority < rb.priority;
      return ra.action == Action::kDeny && rb.action == Action::kAllow;
    });
    const uint32_t n = static_cast<uint32_t>(order.size());
    const uint32_t words = (n + 63) / 64;
    t.words = words;
    for (uint32_t i = 0; i < n; ++i) {
      t.decisions.push_back(Decision{rules_.rule(order[i]).action, static_cast<int32_t>(order[i])});
    }
    const std::vector<uint64_t> none(words, 0);

    // Protocol and destination port: one slot per protocol a rule names, one for the others
    // (only protocol-"all" entries apply to them). Negative protocol = all, as in the reference;
    // above 255 = no packet.
    std::vector<int> named;
    for (uint32_t i = 0; i < n; ++i) {
      for (const ProtocolMatch& m : rules_.rule(order[i]).protocols) {
        if (m.protocol >= 0 && m.protocol <= 255) named.push_back(m.protocol);
      }
    }
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    std::vector<int> slots = named;
    if (slots.size() < 256) slots.push_back(-1);  // the others
    std::fill(std::begin(t.protocol_slot), std::end(t.protocol_slot),
              static_cast<uint16_t>(slots.size() - 1));
    for (size_t s = 0; s < named.size(); ++s) t.protocol_slot[named[s]] = static_cast<uint16_t>(s);
    std::vector<std::vector<uint64_t>> any_port(slots.size(), none);  // every port matches
    std::vector<std::vector<Span>> port_spans(slots.size());
    for (size_t s = 0; s < slots.size(); ++s) {
      const int protocol = slots[s];
      for (uint32_t i = 0; i < n; ++i) {
        for (const ProtocolMatch& m : rules_.rule(order[i]).protocols) {
          if (!(m.protocol < 0 || (protocol >= 0 && m.protocol == protocol))) continue;
          if (m.ports.empty()) {
            SetBit(any_port[s], i);
            continue;
          }
          for (const PortRange& r : m.ports) {
            if (r.first <= r.last) port_spans[s].push_back(Span{r.first, r.last, i});
          }
        }
      }
    }

    // Source and destination addresses. Ingress: no source at all = 0.0.0.0/0; sources given as
    // tags / service accounts only match through the source class row.
    std::vector<uint64_t> any_src = none;
    std::vector<uint64_t> any_dst = none;
    std::vector<Span> src_spans;
    std::vector<Span> dst_spans;
    for (uint32_t i = 0; i < n; ++i) {
      const Rule& r = rules_.rule(order[i]);
      bool labels = direction == Direction::kIngress &&
                    (!r.source_tags.empty() || !r.source_service_accounts.empty());
      if (r.source_ranges.empty() && !labels) SetBit(any_src, i);
      for (const Prefix& p : r.source_ranges) src_spans.push_back(Span{p.First(), p.Last(), i});
      if (r.destination_ranges.empty()) SetBit(any_dst, i);
      for (const Prefix& p : r.destination_ranges) {
        dst_spans.push_back(Span{p.First(), p.Last(), i});
      }
    }

    // At most one new row per interval and class: reserve it once (pages never written are
    // never touched) instead of growing and copying.
    size_t bound = 1 + 2 * (src_spans.size() + dst_spans.size()) + 2 + target_satisfied_.size() +
                   source_satisfied_.size();
    for (const std::vector<Span>& spans : port_spans) bound += 2 * spans.size() + 2;
    RowPool pool(words, remaining_bytes_, bound);
    t.protocols.resize(slots.size());
    for (size_t s = 0; s < slots.size(); ++s) {
      ProtocolPorts& pp = t.protocols[s];
      if (!Sweep(port_spans[s], any_port[s], 65535, pool, &pp.ports)) return false;
      // A packet without ports matches only entries without ports.
      pp.no_ports_row = pool.Intern(any_port[s].data());
      if (pp.no_ports_row == kNone) return false;
    }
    if (!Sweep(src_spans, any_src, 0xffffffffull, pool, &t.src)) return false;
    if (!Sweep(dst_spans, any_dst, 0xffffffffull, pool, &t.dst)) return false;

    // Target classes: the rules applying to every target, plus those of each satisfied
    // condition.
    std::vector<uint64_t> unconditional = none;
    std::vector<std::vector<uint64_t>> by_target(target_conditions_.size(), none);
    std::vector<std::vector<uint64_t>> by_source(source_conditions_.size(), none);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t k = rule_target_condition_[order[i]];
      SetBit(k == kNone ? unconditional : by_target[k], i);
      k = rule_source_condition_[order[i]];
      if (k != kNone) SetBit(by_source[k], i);
    }
    auto class_row = [&](const std::vector<bool>& satisfied,
                         const std::vector<std::vector<uint64_t>>& by_condition,
                         std::vector<uint64_t> row) {
      for (size_t k = 0; k < satisfied.size(); ++k) {
        if (!satisfied[k]) continue;
        for (uint32_t w = 0; w < words; ++w) row[w] |= by_condition[k][w];
      }
      return pool.Intern(row.data());
    };
    for (const std::vector<bool>& satisfied : target_satisfied_) {
      t.target_row.push_back(class_row(satisfied, by_target, unconditional));
      if (t.target_row.back() == kNone) return false;
    }
    for (const std::vector<bool>& satisfied : source_satisfied_) {
      t.source_row.push_back(
          direction == Direction::kIngress ? class_row(satisfied, by_source, none) : 0);
      if (t.source_row.back() == kNone) return false;
    }

    c_->stats_.rules[d] = n;
    c_->stats_.row_words[d] = words;
    c_->stats_.rows[d] = pool.count();
    c_->stats_.address_intervals[d] =
        static_cast<uint32_t>(t.src.starts.size() + t.dst.starts.size());
    t.rows = pool.Release();
    t.rows.shrink_to_fit();
    remaining_bytes_ -= std::min(remaining_bytes_, t.rows.size() * sizeof(uint64_t));
    return true;
  }

  const RuleSet& rules_;
  std::span<const Identity> nics_;
  const ClassifierOptions& options_;
  Classifier* c_;
  size_t remaining_bytes_ = options_.max_bytes;  // rows of both directions share the budget
  Interner target_conditions_;
  Interner source_conditions_;
  std::vector<uint32_t> rule_target_condition_;  // by rule index
  std::vector<uint32_t> rule_source_condition_;
  std::vector<std::vector<bool>> target_satisfied_;  // by class: conditions satisfied
  std::vector<std::vector<bool>> source_satisfied_;
};

Classifier::~Classifier() = default;

std::unique_ptr<Classifier> Classifier::Build(const RuleSet& rules, std::span<const Identity> nics,
                                              std::string* error,
                                              const ClassifierOptions& options) {
  std::unique_ptr<Classifier> c(new Classifier());
  Builder builder(rules, nics, options, c.get());
  if (!builder.Run(error)) return nullptr;
  return c;
}

uint32_t Classifier::IntervalIndex::Find(uint32_t value) const noexcept {
  // Last start <= value (starts[0] == 0), branch-free.
  const uint32_t* base = starts.data();
  size_t n = starts.size();
  while (n > 1) {
    size_t half = n / 2;
    base = base[half] <= value ? base + half : base;
    n -= half;
  }
  return rows[static_cast<size_t>(base - starts.data())];
}

Classifier::RowSet Classifier::RowsOf(const Tables& t, uint32_t target_class, uint32_t source_class,
                                      const FlowKey& key) const noexcept {
  assert(target_class < stats_.target_classes && source_class < stats_.source_classes);
  const ProtocolPorts& pp = t.protocols[t.protocol_slot[key.protocol]];
  const uint32_t port_row = key.has_ports ? pp.ports.Find(key.dst_port) : pp.no_ports_row;
  const uint64_t* rows = t.rows.data();
  const size_t words = t.words;
  return RowSet{rows + port_row * words, rows + t.src.Find(key.src) * words,
                rows + t.source_row[source_class] * words, rows + t.dst.Find(key.dst) * words,
                rows + t.target_row[target_class] * words};
}

Decision Classifier::Scan(const Tables& t, const RowSet& r, Decision implied) noexcept {
  // The hot loop: five loads and four operations per 64 rules, stopping at the first word with
  // a match. Measured with the lookups (classifier_bench, bursts): 93-112 cycles/packet at 1,000
  // rules, 149-166 at 10,000.
  for (uint32_t w = 0; w < t.words; ++w) {
    uint64_t hit = r.port[w] & r.dst[w] & r.target[w] & (r.src[w] | r.source[w]);
    if (hit != 0) return t.decisions[w * 64 + static_cast<uint32_t>(std::countr_zero(hit))];
  }
  return implied;
}

namespace {

Decision Implied(Direction direction) noexcept {
  return Decision{direction == Direction::kEgress ? Action::kAllow : Action::kDeny, kImpliedRule};
}

}  // namespace

Decision Classifier::Classify(Direction direction, uint32_t target_class, uint32_t source_class,
                              const FlowKey& key) const noexcept {
  const Tables& t = tables_[static_cast<int>(direction)];
  return Scan(t, RowsOf(t, target_class, source_class, key), Implied(direction));
}

void Classifier::ClassifyBurst(Direction direction, std::span<const Query> queries,
                               Decision* decisions) const noexcept {
  constexpr size_t kChunk = 32;
  const Tables& t = tables_[static_cast<int>(direction)];
  const Decision implied = Implied(direction);
  for (size_t base = 0; base < queries.size(); base += kChunk) {
    const size_t n = std::min(kChunk, queries.size() - base);
    RowSet rows[kChunk];
    for (size_t i = 0; i < n; ++i) {
      const Query& q = queries[base + i];
      rows[i] = RowsOf(t, q.target_class, q.source_class, q.key);
      rte_prefetch0(rows[i].port);
      rte_prefetch0(rows[i].src);
      rte_prefetch0(rows[i].source);
      rte_prefetch0(rows[i].dst);
      rte_prefetch0(rows[i].target);
    }
    for (size_t i = 0; i < n; ++i) decisions[base + i] = Scan(t, rows[i], implied);
  }
}

}  // namespace svpc::firewall
