// classifier_bench: what the fast classifier costs, next to the reference evaluator.
// Prints cycles per packet (single and burst Classify, reference Evaluate) at 1,000 and 10,000
// random realistic rules, the single-core classification rate, full build times, the time for a
// one-rule change at 10,000 rules to be usable (incremental Build from the previous classifier),
// and memory. Usage: classifier_bench [EAL options]; SVPC_SEED picks the random configuration.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "firewall/classifier.h"

namespace svpc::firewall {
namespace {

constexpr uint32_t kTags = 40;
constexpr uint32_t kServiceAccounts = 20;
constexpr uint32_t kNics = 500;
constexpr uint32_t kQueries = 4096;
constexpr uint32_t kBurst = 32;

struct Nic {
  std::vector<uint32_t> tags;
  std::vector<uint32_t> service_accounts;
  Identity identity() const { return Identity{tags, service_accounts}; }
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t percent) { return Below(100) < percent; }
  // Skewed towards small ids: a few tags (web, db, ssh) are on most instances.
  uint32_t Skewed(uint32_t n) { return std::min(Below(n), Below(n)); }

  Nic RandomNic() {
    Nic n;
    uint32_t tags = 1 + Below(3);
    for (uint32_t i = 0; i < tags; ++i) n.tags.push_back(Skewed(kTags));
    std::sort(n.tags.begin(), n.tags.end());
    n.tags.erase(std::unique(n.tags.begin(), n.tags.end()), n.tags.end());
    n.service_accounts.push_back(Skewed(kServiceAccounts));
    return n;
  }

  // Internal subnets 10.<0-15>.<0-63>.0/24, on-prem 192.168/16, a few public blocks.
  Prefix RandomPrefix() {
    uint32_t kind = Below(10);
    uint8_t len;
    Ipv4 addr;
    if (kind < 6) {
      static const uint8_t kLens[] = {8, 16, 20, 24, 24, 24, 26, 28, 32, 32};
      len = kLens[Below(std::size(kLens))];
      addr = (10u << 24) | (Below(16) << 16) | (Below(64) << 8) | Below(256);
    } else if (kind < 8) {
      static const uint8_t kLens[] = {16, 24, 24, 32};
      len = kLens[Below(std::size(kLens))];
      addr = (192u << 24) | (168u << 16) | (Below(256) << 8) | Below(256);
    } else {
      len = static_cast<uint8_t>(20 + Below(13));
      addr = static_cast<uint32_t>(rng_());
    }
    return Prefix{addr & Prefix::MaskOf(len), len};
  }

  std::vector<PortRange> RandomPorts() {
    static const uint16_t kWellKnown[] = {22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9090, 3389};
    std::vector<PortRange> out;
    uint32_t count = 1 + Below(3);
    for (uint32_t i = 0; i < count; ++i) {
      if (Chance(70)) {
        uint16_t p = kWellKnown[Below(std::size(kWellKnown))];
        out.push_back(PortRange{p, p});
      } else {
        uint16_t first = static_cast<uint16_t>(1024 + Below(60000));
        out.push_back(PortRange{
            first, static_cast<uint16_t>(std::min<uint32_t>(65535, first + Below(1000)))});
      }
    }
    return out;
  }

  Rule RandomRule(uint32_t serial) {
    Rule r;
    r.name = "fw-" + std::to_string(serial);
    static const uint32_t kPriorities[] = {100,  500,  900,  1000, 1000,
                                           1000, 1000, 1100, 2000, 65534};
    r.priority = Chance(80) ? kPriorities[Below(std::size(kPriorities))] : Below(65535);
    uint32_t kind = Below(100);
    if (kind < 20) {
      r.protocols = {ProtocolMatch{Chance(70) ? int16_t{-1} : int16_t{1}, {}}};
    } else {
      r.protocols = {ProtocolMatch{int16_t{6}, RandomPorts()}};
      if (Chance(25)) r.protocols.push_back(ProtocolMatch{int16_t{17}, RandomPorts()});
    }
    if (kind < 70 || Chance(30)) {
      r.direction = Direction::kIngress;
      r.action = Chance(80) ? Action::kAllow : Action::kDeny;
      uint32_t source = Below(100);
      if (source < 70) {
        uint32_t count = 1 + Below(3);
        for (uint32_t i = 0; i < count; ++i) r.source_ranges.push_back(RandomPrefix());
      } else if (source < 85) {
        r.source_tags = {Skewed(kTags)};
      } else if (source < 95) {
        r.source_service_accounts = {Skewed(kServiceAccounts)};
      }  // else: no source, 0.0.0.0/0
      if (Chance(10)) r.destination_ranges = {RandomPrefix()};
    } else {
      r.direction = Direction::kEgress;
      r.action = Chance(60) ? Action::kDeny : Action::kAllow;
      uint32_t count = 1 + Below(4);
      for (uint32_t i = 0; i < count; ++i) r.destination_ranges.push_back(RandomPrefix());
    }
    uint32_t target = Below(100);
    if (target < 60) {
      r.target_tags = {Skewed(kTags)};
      if (Chance(20)) r.target_tags.push_back(Skewed(kTags));
    } else if (target < 70) {
      r.target_service_accounts = {Skewed(kServiceAccounts)};
    }
    return r;
  }

  Ipv4 AddressIn(const Prefix& p) { return p.First() + static_cast<uint32_t>(rng_() % p.Size()); }

  // 60% of packets are shaped after a random rule (so rules of every priority match), the rest
  // internal traffic between random addresses.
  FlowKey Packet(const std::vector<Rule>& rules) {
    FlowKey key{(10u << 24) | static_cast<uint32_t>(rng_() & 0xfffff),
                (10u << 24) | static_cast<uint32_t>(rng_() & 0xfffff),
                6,
                true,
                static_cast<uint16_t>(32768 + Below(28000)),
                443};
    if (!Chance(60)) {
      static const uint16_t kPorts[] = {22, 80, 443, 5432, 8080, 53};
      key.dst_port = kPorts[Below(std::size(kPorts))];
      if (Chance(10)) key.protocol = 17;
      return key;
    }
    const Rule& r = rules[Below(static_cast<uint32_t>(rules.size()))];
    if (!r.source_ranges.empty())
      key.src = AddressIn(r.source_ranges[Below(r.source_ranges.size())]);
    if (!r.destination_ranges.empty()) {
      key.dst = AddressIn(r.destination_ranges[Below(r.destination_ranges.size())]);
    }
    const ProtocolMatch& m = r.protocols[Below(r.protocols.size())];
    key.protocol = m.protocol < 0 ? 6 : static_cast<uint8_t>(m.protocol);
    key.has_ports = key.protocol != 1;
    if (!m.ports.empty()) {
      const PortRange& pr = m.ports[Below(m.ports.size())];
      key.dst_port = static_cast<uint16_t>(pr.first + Below(pr.last - pr.first + 1u));
    }
    return key;
  }

  uint64_t Raw() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

uint32_t Below(Generator& g, size_t n) { return g.Below(static_cast<uint32_t>(n)); }

size_t DpdkHeapBytes() {
  size_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats stats;
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &stats) == 0) {
      total += stats.heap_allocsz_bytes;
    }
  }
  return total;
}

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Workload {
  std::vector<Rule> rules;
  std::vector<Nic> nics;
  std::vector<Identity> identities;
};

Workload MakeWorkload(uint64_t seed, uint32_t rule_count) {
  Generator g(seed);
  Workload w;
  for (uint32_t i = 0; i < kNics; ++i) w.nics.push_back(g.RandomNic());
  for (const Nic& n : w.nics) w.identities.push_back(n.identity());
  for (uint32_t i = 0; i < rule_count; ++i) w.rules.push_back(g.RandomRule(i));
  // The compiler orders rules by name; keep that shape.
  std::sort(w.rules.begin(), w.rules.end(),
            [](const Rule& a, const Rule& b) { return a.name < b.name; });
  return w;
}

std::unique_ptr<Classifier> BuildOrDie(const RuleSet& set, const Workload& w,
                                       const Classifier* previous,
                                       const ClassifierOptions& options) {
  std::string error;
  auto clf = Classifier::Build(set, w.identities, &error, previous, options);
  if (clf == nullptr) {
    std::fprintf(stderr, "Build failed: %s\n", error.c_str());
    std::exit(1);
  }
  return clf;
}

struct Costs {
  double reference = 0;
  double single = 0;
  double burst = 0;
  double implied_share = 0;
};

// Cycles per packet, ingress and egress queries alternating in halves; the best of 5 passes
// (the machine is shared and noisy; the minimum is the least disturbed).
Costs MeasureClassify(const RuleSet& set, const Classifier& clf, const Workload& w, uint64_t seed) {
  Generator g(seed ^ 0x5eed);
  std::vector<std::vector<uint32_t>> applicable[2];
  for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
    for (const Nic& n : w.nics)
      applicable[static_cast<int>(dir)].push_back(set.RulesFor(dir, n.identity()));
  }
  struct Item {
    Direction dir;
    uint32_t target;
    int remote;
  };
  std::vector<Item> items;
  std::vector<Classifier::Query> queries;
  for (uint32_t i = 0; i < kQueries; ++i) {
    Direction dir = i < kQueries / 2 ? Direction::kIngress : Direction::kEgress;
    uint32_t target = g.Below(kNics);
    int remote = g.Chance(50) ? static_cast<int>(g.Below(kNics)) : -1;
    items.push_back(Item{dir, target, remote});
    queries.push_back(Classifier::Query{g.Packet(w.rules), clf.TargetClass(target),
                                        remote >= 0 ? clf.SourceClass(remote) : kNoSourceClass});
  }
  Costs costs{1e300, 1e300, 1e300, 0};
  std::vector<Decision> decisions(kQueries);
  uint64_t sink = 0;
  for (int pass = 0; pass < 5; ++pass) {
    uint64_t t0 = rte_rdtsc_precise();
    for (uint32_t i = 0; i < kQueries; ++i) {
      const Item& it = items[i];
      Identity remote;
      if (it.remote >= 0) remote = w.identities[it.remote];
      Decision d = set.Evaluate(it.dir, applicable[static_cast<int>(it.dir)][it.target],
                                queries[i].key, it.remote >= 0 ? &remote : nullptr);
      sink += static_cast<uint32_t>(d.rule);
    }
    uint64_t t1 = rte_rdtsc_precise();
    for (uint32_t i = 0; i < kQueries; ++i) {
      const Classifier::Query& q = queries[i];
      decisions[i] = clf.Classify(items[i].dir, q.target_class, q.source_class, q.key);
    }
    uint64_t t2 = rte_rdtsc_precise();
    for (uint32_t i = 0; i < kQueries; i += kBurst) {
      clf.ClassifyBurst(items[i].dir, std::span(queries).subspan(i, kBurst), &decisions[i]);
    }
    uint64_t t3 = rte_rdtsc_precise();
    costs.reference = std::min(costs.reference, double(t1 - t0) / kQueries);
    costs.single = std::min(costs.single, double(t2 - t1) / kQueries);
    costs.burst = std::min(costs.burst, double(t3 - t2) / kQueries);
  }
  uint32_t implied = 0;
  for (uint32_t i = 0; i < kQueries; ++i) {
    Identity remote;
    if (items[i].remote >= 0) remote = w.identities[items[i].remote];
    Decision ref =
        set.Evaluate(items[i].dir, applicable[static_cast<int>(items[i].dir)][items[i].target],
                     queries[i].key, items[i].remote >= 0 ? &remote : nullptr);
    if (ref.rule != decisions[i].rule || ref.action != decisions[i].action) {
      std::fprintf(stderr, "MISMATCH at query %u: classifier rule %d, reference rule %d\n", i,
                   decisions[i].rule, ref.rule);
      std::exit(1);
    }
    implied += ref.rule == kImpliedRule;
  }
  costs.implied_share = double(implied) / kQueries;
  if (sink == 42) std::printf(" ");
  return costs;
}

// A random one-rule change: edit ports, move to another priority, add a rule, remove one.
std::vector<Rule> OneRuleChange(const std::vector<Rule>& rules, Generator& g, uint32_t serial,
                                const char** what) {
  std::vector<Rule> out = rules;
  switch (g.Below(4)) {
    case 0: {
      Rule& r = out[Below(g, out.size())];
      r.protocols = {ProtocolMatch{
          6, {PortRange{static_cast<uint16_t>(1 + g.Below(65535)), static_cast<uint16_t>(65535)}}}};
      *what = "edit ports";
      break;
    }
    case 1:
      out[Below(g, out.size())].priority = g.Below(65535);
      *what = "new priority";
      break;
    case 2: {
      Rule r = g.RandomRule(serial);
      auto at = std::lower_bound(out.begin(), out.end(), r,
                                 [](const Rule& a, const Rule& b) { return a.name < b.name; });
      out.insert(at, r);
      *what = "add";
      break;
    }
    default:
      out.erase(out.begin() + Below(g, out.size()));
      *what = "remove";
      break;
  }
  return out;
}

void Report(uint32_t rule_count, uint64_t seed, const ClassifierOptions& options, const char* label,
            bool changes) {
  Workload w = MakeWorkload(seed, rule_count);
  RuleSet set(w.rules);
  double best_build = 1e300;
  size_t heap = 0;
  std::unique_ptr<Classifier> clf;
  for (int i = 0; i < 3; ++i) {
    clf.reset();
    size_t heap_before = DpdkHeapBytes();
    auto t0 = std::chrono::steady_clock::now();
    clf = BuildOrDie(set, w, nullptr, options);
    best_build = std::min(best_build, Ms(std::chrono::steady_clock::now() - t0));
    heap = DpdkHeapBytes() - heap_before;
  }
  const ClassifierStats& s = clf->stats();
  Costs costs = MeasureClassify(set, *clf, w, seed);
  double hz = static_cast<double>(rte_get_tsc_hz());
  std::printf("\n== %u rules, %s (band_rules %u, max_band_entries %u) ==\n", rule_count, label,
              options.band_rules, options.max_band_entries);
  std::printf("  bands %u, rte_acl entries %u, target classes %u, source classes %u (%u NICs)\n",
              s.bands, s.acl_entries, s.target_classes, s.source_classes, kNics);
  std::printf("  full build: %.1f ms (best of 3)\n", best_build);
  std::printf("  memory: %.2f MiB rte_acl (DPDK heap) + %.2f MiB host tables\n", heap / 1048576.0,
              s.host_bytes / 1048576.0);
  std::printf(
      "  cycles/packet: reference %.0f | Classify %.0f (x%.1f) | ClassifyBurst(%u) %.0f "
      "(x%.1f)   [%.0f%% of packets fall to the implied rule]\n",
      costs.reference, costs.single, costs.reference / costs.single, kBurst, costs.burst,
      costs.reference / costs.burst, costs.implied_share * 100);
  std::printf("  new connections/s, one core: %.2f M burst, %.2f M single, reference %.2f M\n",
              hz / costs.burst / 1e6, hz / costs.single / 1e6, hz / costs.reference / 1e6);
  if (!changes) return;
  Generator g(seed ^ 0xc4a9);
  std::vector<double> times;
  double worst = 0;
  uint32_t max_built = 0;
  const char* worst_what = "";
  constexpr int kChanges = 20;
  for (int i = 0; i < kChanges; ++i) {
    const char* what = "";
    std::vector<Rule> changed = OneRuleChange(w.rules, g, 1000000 + i, &what);
    RuleSet changed_set(std::move(changed));
    auto t0 = std::chrono::steady_clock::now();
    auto next = BuildOrDie(changed_set, w, clf.get(), options);
    double ms = Ms(std::chrono::steady_clock::now() - t0);
    times.push_back(ms);
    max_built = std::max(max_built, next->stats().bands_built);
    if (ms > worst) {
      worst = ms;
      worst_what = what;
    }
  }
  std::sort(times.begin(), times.end());
  std::printf(
      "  one-rule change, usable after (incremental Build from the previous, %d random "
      "changes): median %.1f ms, max %.1f ms (%s); at most %u bands rebuilt\n",
      kChanges, times[times.size() / 2], worst, worst_what, max_built);
}

}  // namespace
}  // namespace svpc::firewall

int main(int argc, char** argv) {
  std::vector<std::string> args = {argv[0],
                                   "--no-huge",
                                   "-m",
                                   "1024",
                                   "--no-pci",
                                   "--log-level=error",
                                   "--no-telemetry",
                                   "-l",
                                   "0",
                                   "--file-prefix=svpc-clfbench-" + std::to_string(getpid())};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  std::vector<char*> eal;
  for (auto& a : args) eal.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  const char* seed_text = std::getenv("SVPC_SEED");
  uint64_t seed = seed_text != nullptr ? std::strtoull(seed_text, nullptr, 0) : 1;
  std::printf(
      "classifier_bench: SVPC_SEED=%llu, TSC %.2f GHz, %u NICs, %u tags, %u service "
      "accounts\n",
      static_cast<unsigned long long>(seed), rte_get_tsc_hz() / 1e9, svpc::firewall::kNics,
      svpc::firewall::kTags, svpc::firewall::kServiceAccounts);
  using svpc::firewall::ClassifierOptions;
  using svpc::firewall::Report;
  ClassifierOptions defaults;
  ClassifierOptions one_band{~0u, ~0u};
  Report(1000, seed, defaults, "default bands", false);
  Report(1000, seed, one_band, "one band per direction", false);
  Report(10000, seed, defaults, "default bands", true);
  Report(10000, seed, one_band, "one band per direction", false);
  rte_eal_cleanup();
  return 0;
}
