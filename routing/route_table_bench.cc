// svpc-route-bench: the route table's costs on this machine. (1) Adding 100,000 /24s learned
// from one BGP peer to a table in one batch and one call per prefix, with RCU attached and a
// reader thread looking up meanwhile (as svpcd's workers would), then without RCU; the session
// going down. (2) How long one route change takes to be visible: from the call to the moment a
// concurrent reader thread sees the new answer. (3) Lookup cycles at 10,000 routes for an
// untagged sender, tagged routes absent and present. `--quick`: small counts (CTest smoke run;
// it asserts nothing about timings). See routing/README.md.
#include <pthread.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "routing/route_table.h"

namespace svpc::routing {
namespace {

constexpr uint32_t kEast = 1;
constexpr uint32_t kWest = 2;
constexpr uint32_t kEurope = 3;

struct Options {
  bool quick = false;
  uint32_t prefixes = 100'000;
  uint32_t lookup_routes = 10'000;
  int reps = 3;
  uint32_t changes = 1000;
  uint64_t lookups = 20'000'000;
  int figure = 0;  // 0: all
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

Route Static(std::string name, const char* dest, uint32_t priority, NextHopType hop) {
  Route r{std::move(name), *ParsePrefix(dest), priority, {}, hop, 0, true};
  return r;
}

// The network around the learned routes: subnets in three regions, a default route, statics.
std::vector<Route> BaseRoutes() {
  return {Static("subnet-east", "10.0.0.0/20", 0, NextHopType::kSubnet),
          Static("subnet-west", "10.0.16.0/20", 0, NextHopType::kSubnet),
          Static("subnet-europe", "10.0.32.0/20", 0, NextHopType::kSubnet),
          Static("default-internet", "0.0.0.0/0", 1000, NextHopType::kInternetGateway),
          Static("to-lab", "172.16.0.0/12", 1000, NextHopType::kVpnTunnel)};
}

std::vector<Sender> Senders() {
  return {Sender{{}, kEast}, Sender{{}, kWest}, Sender{{}, kEurope}, Sender{{1}, kEast}};
}

Prefix LearnedPrefix(uint32_t i) { return Prefix{(20u << 24) + (i << 8), 24}; }

// /24s learned by Cloud Router cr-east (us-east1) from one peer, MED 100.
std::vector<Route> Learned(uint32_t n, const std::string& peer, uint32_t med, uint32_t target) {
  std::vector<Route> routes;
  routes.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Route r{DynamicRouteName("cr-east", peer), LearnedPrefix(i), med, {},
            NextHopType::kVpnTunnel,           target,           true};
    r.kind = RouteKind::kDynamic;
    r.hop_kind = NextHopKind::kIp;
    r.next_hop_name = "169.254.0.2";
    r.router = "cr-east";
    r.peer = peer;
    r.region = kEast;
    routes.push_back(std::move(r));
  }
  return routes;
}

std::unique_ptr<RouteTable> MustBuild(std::vector<Route> routes,
                                      const std::vector<Sender>& senders) {
  std::string error;
  auto t = RouteTable::Build(std::move(routes), {}, senders, RouteTableOptions{}, &error);
  if (!t) {
    std::fprintf(stderr, "svpc-route-bench: %s\n", error.c_str());
    std::exit(1);
  }
  return t;
}

void Check(bool ok, const std::string& error) {
  if (!ok) {
    std::fprintf(stderr, "svpc-route-bench: %s\n", error.c_str());
    std::exit(1);
  }
}

class Qsbr {
 public:
  Qsbr() {
    qsbr_ = static_cast<rte_rcu_qsbr*>(
        rte_zmalloc("bench_qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
    rte_rcu_qsbr_init(qsbr_, 1);
  }
  ~Qsbr() { rte_free(qsbr_); }
  rte_rcu_qsbr* get() const { return qsbr_; }

 private:
  rte_rcu_qsbr* qsbr_;
};

// A worker-like reader: lookups in bursts of 32, a quiescent state after each burst. `probe`
// (when set) records when the answer for `probe_addr` first has target `want`.
class Reader {
 public:
  Reader(const RouteTable& table, rte_rcu_qsbr* qsbr, uint32_t view, uint32_t spread)
      : table_(table), qsbr_(qsbr), view_(view), spread_(spread) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Reader() {
    stop_ = true;
    thread_.join();
  }
  void Expect(Ipv4 addr, uint32_t target) {
    seen_tsc_.store(0, std::memory_order_relaxed);
    probe_addr_.store(addr, std::memory_order_relaxed);
    want_.store(target, std::memory_order_release);
  }
  uint64_t seen_tsc() const { return seen_tsc_.load(std::memory_order_acquire); }

 private:
  void Run() {
    // EAL pinned the main thread (the writer) to lcore 0 and this thread inherited it: run on
    // another CPU, as a worker lcore would.
    if (std::thread::hardware_concurrency() > 1) {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(1, &cpus);
      pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
    }
    rte_rcu_qsbr_thread_register(qsbr_, 0);
    rte_rcu_qsbr_thread_online(qsbr_, 0);
    uint32_t i = 0;
    uint64_t sink = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      const uint32_t want = want_.load(std::memory_order_acquire);
      if (want != UINT32_MAX) {
        RouteTable::Result r = table_.Lookup(view_, probe_addr_.load(), 0);
        if (r.route >= 0 && table_.route(r.route).target == want &&
            seen_tsc_.load(std::memory_order_relaxed) == 0) {
          seen_tsc_.store(rte_rdtsc(), std::memory_order_release);
        }
      }
      for (int k = 0; k < 32; ++k, ++i) {
        sink += table_.Lookup(view_, LearnedPrefix(i % spread_).addr + 9, i).route;
      }
      rte_rcu_qsbr_quiescent(qsbr_, 0);
    }
    sink_ = sink;
    rte_rcu_qsbr_thread_offline(qsbr_, 0);
    rte_rcu_qsbr_thread_unregister(qsbr_, 0);
  }

  const RouteTable& table_;
  rte_rcu_qsbr* qsbr_;
  uint32_t view_;
  uint32_t spread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> want_{UINT32_MAX};
  std::atomic<Ipv4> probe_addr_{0};
  std::atomic<uint64_t> seen_tsc_{0};
  uint64_t sink_ = 0;
  std::thread thread_;
};

// (1) Loading one BGP peer's prefixes.
void Loading(const Options& o) {
  std::printf("\n(1) %u /24s from one BGP peer (REGIONAL routing, 3 regions, 5 other routes)\n",
              o.prefixes);
  const std::vector<Route> learned = Learned(o.prefixes, "onprem", 100, 0);
  std::vector<double> batch_rcu, single_rcu, down_rcu, batch_plain, single_plain, build_all;
  std::string error;
  for (int rep = 0; rep < o.reps; ++rep) {
    {
      Qsbr qsbr;
      auto t = MustBuild(BaseRoutes(), Senders());
      t->AttachRcu(qsbr.get());
      Reader reader(*t, qsbr.get(), t->ViewFor({}, kEast), o.prefixes);
      auto start = std::chrono::steady_clock::now();
      Check(t->AddRoutes(learned, nullptr, &error), error);
      batch_rcu.push_back(Seconds(start));
      start = std::chrono::steady_clock::now();
      Check(t->RemovePeerRoutes("cr-east", "onprem", &error), error);
      down_rcu.push_back(Seconds(start));
      start = std::chrono::steady_clock::now();
      for (const Route& r : learned) Check(t->AddRoutes({&r, 1}, nullptr, &error), error);
      single_rcu.push_back(Seconds(start));
    }
    {
      auto t = MustBuild(BaseRoutes(), Senders());
      auto start = std::chrono::steady_clock::now();
      Check(t->AddRoutes(learned, nullptr, &error), error);
      batch_plain.push_back(Seconds(start));
      Check(t->RemovePeerRoutes("cr-east", "onprem", &error), error);
      start = std::chrono::steady_clock::now();
      for (const Route& r : learned) Check(t->AddRoutes({&r, 1}, nullptr, &error), error);
      single_plain.push_back(Seconds(start));
    }
    {
      std::vector<Route> all = BaseRoutes();
      all.insert(all.end(), learned.begin(), learned.end());
      auto start = std::chrono::steady_clock::now();
      auto t = MustBuild(std::move(all), Senders());
      build_all.push_back(Seconds(start));
    }
  }
  std::printf("  %-58s %8.3f s\n", "one batch, RCU + concurrent reader", Median(batch_rcu));
  std::printf("  %-58s %8.3f s\n", "one call per prefix, RCU + concurrent reader",
              Median(single_rcu));
  std::printf("  %-58s %8.3f s\n", "session down (all removed in one call), RCU", Median(down_rcu));
  std::printf("  %-58s %8.3f s\n", "one batch, no RCU (single FIB)", Median(batch_plain));
  std::printf("  %-58s %8.3f s\n", "one call per prefix, no RCU", Median(single_plain));
  std::printf("  %-58s %8.3f s\n", "Build with them (a reload: new table, 64 MiB FIB)",
              Median(build_all));
}

// (2) One change until a concurrent reader sees it.
void Visibility(const Options& o) {
  std::printf("\n(2) one change visible to a concurrent reader, table of %u learned routes\n",
              o.prefixes);
  Qsbr qsbr;
  auto t = MustBuild(BaseRoutes(), Senders());
  t->AttachRcu(qsbr.get());
  std::string error;
  Check(t->AddRoutes(Learned(o.prefixes, "onprem", 100, 0), nullptr, &error), error);
  const uint32_t east = t->ViewFor({}, kEast);
  Reader reader(*t, qsbr.get(), east, o.prefixes);
  std::mt19937 rng(1);
  const double tsc_us = rte_get_tsc_hz() / 1e6;
  std::vector<double> visible_us, call_us;
  for (uint32_t c = 0; c < o.changes; ++c) {
    // A better path for one prefix from a second peer, then its withdrawal.
    const Prefix p = LearnedPrefix(rng() % o.prefixes);
    const bool announce = c % 2 == 0;
    static Prefix announced;
    if (announce) announced = p;
    reader.Expect(announced.addr + 1, announce ? 1 : 0);
    const uint64_t start = rte_rdtsc();
    if (announce) {
      std::vector<Route> better = Learned(1, "onprem-2", 50, 1);
      better[0].dest = announced;
      Check(t->AddRoutes(better, nullptr, &error), error);
    } else {
      Check(t->WithdrawDynamicRoutes("cr-east", "onprem-2", {&announced, 1}, &error), error);
    }
    const uint64_t returned = rte_rdtsc();
    uint64_t seen = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while ((seen = reader.seen_tsc()) == 0 && std::chrono::steady_clock::now() < deadline) {
    }
    if (seen == 0) {
      std::fprintf(stderr, "svpc-route-bench: change %u never seen\n", c);
      std::exit(1);
    }
    visible_us.push_back((seen > start ? seen - start : 0) / tsc_us);
    call_us.push_back((returned - start) / tsc_us);
  }
  std::printf("  %-58s %8.1f us (p99 %.1f, max %.1f)\n", "call to first lookup seeing it, median",
              Median(visible_us), Percentile(visible_us, 0.99), Percentile(visible_us, 1.0));
  std::printf("  %-58s %8.1f us (p99 %.1f)\n", "the call itself, median", Median(call_us),
              Percentile(call_us, 0.99));
}

// (3) Lookup cycles.
double CyclesPerLookup(const RouteTable& t, uint32_t view, const std::vector<Ipv4>& dsts,
                       uint64_t lookups) {
  uint64_t sink = 0;
  const size_t mask = dsts.size() - 1;
  for (size_t i = 0; i < dsts.size(); ++i) sink += t.Lookup(view, dsts[i], i).route;  // warm
  const uint64_t start = rte_rdtsc_precise();
  for (uint64_t i = 0; i < lookups; ++i) {
    sink += t.Lookup(view, dsts[i & mask], static_cast<uint32_t>(i)).route;
  }
  const uint64_t cycles = rte_rdtsc_precise() - start;
  if (sink == 42) std::printf(" ");
  return static_cast<double>(cycles) / lookups;
}

void Lookups(const Options& o) {
  std::printf(
      "\n(3) lookup cycles per packet, %u static /24 routes, random destinations among "
      "them (TSC %.2f GHz)\n",
      o.lookup_routes, rte_get_tsc_hz() / 1e9);
  std::vector<Route> routes = BaseRoutes();
  for (uint32_t i = 0; i < o.lookup_routes; ++i) {
    Route r = Static("s" + std::to_string(i), "0.0.0.0/0", 1000, NextHopType::kVpnTunnel);
    r.dest = LearnedPrefix(i);
    routes.push_back(r);
  }
  std::vector<Route> tagged = routes;
  // Tagged routes: a tagged default (a proxy for tag 2) and 1% of the /24s overridden for tag 1.
  Route proxy = Static("via-proxy", "0.0.0.0/0", 900, NextHopType::kInstance);
  proxy.tags = {2};
  tagged.push_back(proxy);
  for (uint32_t i = 0; i < o.lookup_routes; i += 100) {
    Route r = Static("t" + std::to_string(i), "0.0.0.0/0", 500, NextHopType::kInstance);
    r.dest = LearnedPrefix(i);
    r.tags = {1};
    tagged.push_back(r);
  }
  std::vector<Sender> senders = {Sender{{}, kEast}, Sender{{1}, kEast}, Sender{{2}, kWest}};
  auto plain = MustBuild(routes, senders);
  auto with_tags = MustBuild(tagged, senders);
  std::mt19937 rng(3);
  std::vector<Ipv4> dsts(1 << 20);
  for (Ipv4& d : dsts) d = LearnedPrefix(rng() % o.lookup_routes).addr + (rng() & 0xff);
  const uint64_t n = o.lookups;
  if (!plain->fib_direct()) std::printf("  (FIB read through rte_fib_lookup_bulk)\n");
  std::printf("  %-58s %8.1f cycles\n", "untagged sender, no tagged routes",
              CyclesPerLookup(*plain, plain->ViewFor({}, kEast), dsts, n));
  std::printf("  %-58s %8.1f cycles\n", "untagged sender, tagged routes present",
              CyclesPerLookup(*with_tags, with_tags->ViewFor({}, kEast), dsts, n));
  std::printf(
      "  %-58s %8.1f cycles\n", "sender with tag 1, tagged routes present",
      CyclesPerLookup(*with_tags, with_tags->ViewFor(std::vector<uint32_t>{1}, kEast), dsts, n));
  // The same prefixes learned by a Cloud Router in us-east1 (REGIONAL): per-region records.
  std::vector<Route> dynamic = BaseRoutes();
  for (Route& r : Learned(o.lookup_routes, "onprem", 100, 0)) dynamic.push_back(std::move(r));
  auto learned = MustBuild(dynamic, senders);
  std::printf("  %-58s %8.1f cycles\n", "dynamic routes (REGIONAL), sender in the router's region",
              CyclesPerLookup(*learned, learned->ViewFor({}, kEast), dsts, n));
  std::printf("  %-58s %8.1f cycles\n", "dynamic routes (REGIONAL), sender in another region",
              CyclesPerLookup(*learned, learned->ViewFor({}, kWest), dsts, n));
  std::vector<Ipv4> one(1 << 10, LearnedPrefix(7).addr + 1);
  std::printf("  %-58s %8.1f cycles\n", "untagged sender, one destination (all cached)",
              CyclesPerLookup(*plain, plain->ViewFor({}, kEast), one, n));
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
      o.prefixes = 5000;
      o.lookup_routes = 2000;
      o.reps = 1;
      o.changes = 50;
      o.lookups = 1'000'000;
    } else if (a == "--figure" && i + 1 < argc) {
      o.figure = std::atoi(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      o.reps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: svpc-route-bench [--quick] [--reps N] [--figure 1|2|3]\n"
                   "  --quick   small counts, a smoke run (figures are not the targets' sizes)\n"
                   "  --reps N  repetitions of the loading figures (default 3); medians\n"
                   "  --figure N  only figure N\n");
      return a == "--help" ? 0 : 2;
    }
  }
  std::vector<std::string> args = {"svpc-route-bench",
                                   "--no-huge",
                                   "-m",
                                   "1024",
                                   "--no-pci",
                                   "--log-level=error",
                                   "--no-telemetry",
                                   "-l",
                                   "0",
                                   "--file-prefix=svpc-route-bench-" + std::to_string(getpid())};
  std::vector<char*> eal;
  for (std::string& s : args) eal.push_back(s.data());
  if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
    std::fprintf(stderr, "svpc-route-bench: rte_eal_init failed\n");
    return 1;
  }
  std::printf("svpc-route-bench%s: medians of %d\n", o.quick ? " --quick" : "", o.reps);
  if (o.figure == 0 || o.figure == 1) Loading(o);
  if (o.figure == 0 || o.figure == 2) Visibility(o);
  if (o.figure == 0 || o.figure == 3) Lookups(o);
  rte_eal_cleanup();
  return 0;
}

}  // namespace
}  // namespace svpc::routing

int main(int argc, char** argv) { return svpc::routing::Main(argc, argv); }
