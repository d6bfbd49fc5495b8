// svpc-bench: the engine's performance next to the stateful firewall issue's targets, on this
// machine, one worker core, 64-byte frames: (1) cycles per packet of established flows with
// I/O, 1,000 rules and 100,000 live connections; (2) new connections per second; (3) conntrack
// bytes per connection at 1,000,000; (4) a one-rule change at 10,000 rules until it is
// published and until the first packet sees it. Prints a table of figure, measured value,
// target and whether it is met; it never fails on a figure (CI runs `--quick` to prove it
// still runs). See bench/README.md.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_version.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bgp_figure.h"
#include "bench/figures.h"
#include "bench/memory_probe.h"

namespace svpc::bench {
namespace {

#ifndef SVPC_SOURCE_DIR
#define SVPC_SOURCE_DIR "."
#endif
#ifndef SVPC_BINARY_DIR
#define SVPC_BINARY_DIR "build"
#endif

struct Options {
  bool quick = false;
  int reps = 0;  // 0: the mode's default
  uint64_t seed = 1;
  uint32_t capacity = 0;          // 0: svpcd's default
  bool huge = false;              // hugepages (reserved beforehand) instead of --no-huge
  bool established_only = false;  // figure 1 alone, for quick side-by-side comparisons
};

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: svpc-bench [--quick] [--reps N] [--seed N] [--capacity N] [--huge]\n"
               "  --quick   small counts, a smoke run for CI (figures are not the targets' sizes)\n"
               "  --reps N  repetitions per figure (default 5, --quick 2); medians are reported\n"
               "  --seed N  the random configuration and traffic (default 1)\n"
               "  --capacity N  figure 1's conntrack capacity (default 1,000,000 as svpcd;\n"
               "            at least the live connections)\n"
               "  --huge    run on hugepages as svpcd does on a lab server (reserve them first:\n"
               "            scripts/nic-setup.sh hugepages 2048); default --no-huge\n"
               "  --established-only  figure 1 alone (cycles/packet and stage breakdown)\n");
}

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--huge") {
      o.huge = true;
    } else if (a == "--established-only") {
      o.established_only = true;
    } else if ((a == "--reps" || a == "--seed" || a == "--capacity") && i + 1 < argc) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || v == 0) return false;
      if (a == "--reps") {
        o.reps = static_cast<int>(std::min<unsigned long long>(v, 50));
      } else if (a == "--capacity") {
        o.capacity = static_cast<uint32_t>(std::min<unsigned long long>(v, 16'000'000));
      } else {
        o.seed = v;
      }
    } else if (a == "--help" || a == "-h") {
      Usage(stdout);
      std::exit(0);
    } else {
      return false;
    }
  }
  return true;
}

Sizes QuickSizes() {
  Sizes s;
  s.rules = 1000;
  s.flows = 4000;
  s.packets_per_rep = 200'000;
  s.new_connections = 50'000;
  s.memory_connections = 100'000;
  s.change_rules = 1000;
  s.reps = 2;
  return s;
}

std::string CpuModel(int* cpus) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::string model = "unknown CPU";
  *cpus = 0;
  while (std::getline(in, line)) {
    if (line.rfind("processor", 0) == 0) ++*cpus;
    if (line.rfind("model name", 0) == 0 && model == "unknown CPU") {
      model = line.substr(line.find(':') + 2);
    }
  }
  return model;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string Today() {
  char text[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

// `-l 0-1` when CPUs 0 and 1 are ours; otherwise the first two CPUs we may run on (or the one
// CPU twice) as lcores 0 and 1.
std::string LcoreArg() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  if (cpus.size() >= 2 && cpus[0] == 0 && cpus[1] == 1) return "-l 0-1";
  const int a = cpus.empty() ? 0 : cpus[0];
  const int b = cpus.size() >= 2 ? cpus[1] : a;
  return "--lcores=0@" + std::to_string(a) + ",1@" + std::to_string(b);
}

bool InitEal(const Options& o, std::string* eal_line) {
  std::vector<std::string> args = {"svpc-bench"};
  const std::string lcores = LcoreArg();
  if (lcores == "-l 0-1") {
    args.push_back("-l");
    args.push_back("0-1");
  } else {
    args.push_back(lcores);
  }
  if (!o.huge) args.push_back("--no-huge");
  args.insert(args.end(),
              {"-m", o.quick ? "1024" : "3072", "--no-pci", "--no-telemetry", "--log-level=error",
               "--file-prefix=svpc-bench-" + std::to_string(getpid())});
  for (size_t i = 1; i < args.size(); ++i) *eal_line += (i > 1 ? " " : "") + args[i];
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return rte_eal_init(static_cast<int>(args.size()), argv.data()) >= 0;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Fmt(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

// "median [min-max]"
std::string Spread(const std::vector<double>& v, const char* format) {
  if (v.size() < 2) return Fmt(format, Median(v));
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return Fmt(format, Median(v)) + " [" + Fmt(format, *lo) + "-" + Fmt(format, *hi) + "]";
}

std::string Count(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

struct Row {
  std::string figure;
  std::string measured;
  std::string target;
  std::string met;
};

void PrintRows(const std::vector<Row>& rows) {
  size_t w[3] = {6, 8, 6};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.figure.size());
    w[1] = std::max(w[1], r.measured.size());
    w[2] = std::max(w[2], r.target.size());
  }
  std::printf("%-*s  %-*s  %-*s  %s\n", static_cast<int>(w[0]), "Figure", static_cast<int>(w[1]),
              "Measured", static_cast<int>(w[2]), "Target", "Met");
  std::printf("%s\n", std::string(w[0] + w[1] + w[2] + 12, '-').c_str());
  for (const Row& r : rows) {
    std::printf("%-*s  %-*s  %-*s  %s\n", static_cast<int>(w[0]), r.figure.c_str(),
                static_cast<int>(w[1]), r.measured.c_str(), static_cast<int>(w[2]),
                r.target.c_str(), r.met.c_str());
  }
}

std::string Met(bool quick, bool ok) {
  if (quick) return "n/a (--quick sizes)";
  return ok ? "yes" : "NOT MET";
}

void PrintStages(const StageCycles& stages, double measured) {
  double sum = 0;
  for (int s = 0; s < kStageCount; ++s) {
    std::printf("      %-34s %8.1f\n", StageName(s), stages[s]);
    sum += stages[s];
  }
  if (measured < 0) {
    std::printf("      %-34s %8.1f\n", "sum", sum);
  } else {
    std::printf("      %-34s %8.1f  (Pipeline::Process measured alone: %.1f)\n", "sum", sum,
                measured);
  }
}

void PrintDisturbed(const char* what, const Meter& m) {
  std::printf("    %-24s %s of %s (%.3f%%); with them: %.0f cycles/packet instead of %.0f\n", what,
              Count(m.disturbed).c_str(), Count(m.units).c_str(),
              m.units == 0 ? 0.0 : 100.0 * m.disturbed / m.units, m.RawPerPacket(), m.PerPacket());
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) {
    Usage(stderr);
    return 2;
  }
  Bench b;
  b.sizes = options.quick ? QuickSizes() : Sizes{};
  if (options.reps > 0) b.sizes.reps = options.reps;
  if (options.capacity > 0) b.sizes.capacity = std::max(options.capacity, b.sizes.flows);
  b.seed = options.seed;
  const std::string load_start = LoadAverage();
  std::string eal_line;
  if (!InitEal(options, &eal_line)) {
    std::fprintf(stderr, "svpc-bench: rte_eal_init failed with: %s\n", eal_line.c_str());
    return 2;
  }
  b.worker_lcore = rte_get_next_lcore(-1, 1, 0);
  if (b.worker_lcore >= RTE_MAX_LCORE) {
    std::fprintf(stderr, "svpc-bench: needs two lcores\n");
    return 2;
  }

  b.workload = MakeWorkload(WorkloadSpec{b.sizes.rules, 100, b.seed});
  ValidateOrDie(b.workload.config, "benchmark");
  std::string error;
  const uint32_t mbufs = b.sizes.flows + 40'000;
  b.pool = CreateMbufPool("svpcb_mbufs", mbufs, &error);
  b.ports = std::make_unique<RingPorts>();
  if (b.pool == nullptr ||
      !b.ports->Create(b.workload, rte_align32pow2(mbufs + 1), b.pool, &error)) {
    std::fprintf(stderr, "svpc-bench: %s\n", error.c_str());
    return 2;
  }

  // Before the figures, on an otherwise idle process: the memory they are read against.
  const MemoryProbe memory_probe = ProbeMemory(64u << 20, options.quick ? 200'000 : 2'000'000);
  const std::string memory_line = Describe(memory_probe, static_cast<double>(rte_get_tsc_hz()));
  std::fprintf(stderr, "[1/5] established flows: opening %s connections...\n",
               Count(b.sizes.flows).c_str());
  EstablishedResult established = MeasureEstablished(b);
  if (options.established_only) {
    std::printf("figure 1, load average %s at start, %s at end\n", load_start.c_str(),
                LoadAverage().c_str());
    std::printf("  memory: %s\n", memory_line.c_str());
    std::printf("  incl. I/O %s, NIC-like %s, Process alone %s cycles/packet\n",
                Spread(established.io_cycles, "%.0f").c_str(),
                Spread(established.nic_like_cycles, "%.0f").c_str(),
                Spread(established.pipeline_cycles, "%.0f").c_str());
    std::printf("  stages, every flow its own mbuf:\n");
    PrintStages(established.stages, Median(established.pipeline_cycles));
    std::printf("  stages, NIC-like:\n");
    PrintStages(established.nic_like_stages, -1);
    return 0;
  }
  std::fprintf(stderr, "[2/5] new connections...\n");
  NewConnResult fresh = MeasureNewConnections(b, established.opened);
  std::fprintf(stderr, "[3/5] conntrack memory...\n");
  MemoryResult memory = MeasureMemory(b);
  std::fprintf(stderr, "[4/5] rule change at %s rules...\n", Count(b.sizes.change_rules).c_str());
  RuleChangeResult change = MeasureRuleChange(b, established);
  const uint32_t bgp_prefixes = options.quick ? 10'000 : 100'000;
  std::fprintf(stderr, "[5/5] %s prefixes from a BGP peer...\n", Count(bgp_prefixes).c_str());
  BgpLoadResult bgp_load = MeasureBgpLoad(b, bgp_prefixes);
  const size_t heap_peak = HeapBytes();
  const std::string load_end = LoadAverage();

  const double hz = static_cast<double>(rte_get_tsc_hz());
  int cpus = 0;
  const std::string model = CpuModel(&cpus);
  const bool q = options.quick;
  const int reps = b.sizes.reps;

  std::printf("\nsvpc-bench: the engine against the stateful firewall issue's targets\n");
  std::printf("  date      %s\n", Today().c_str());
  std::printf(
      "  machine   %s, %d logical CPUs (/proc/cpuinfo), TSC %.0f MHz; load average %s "
      "at start, %s at end\n",
      model.c_str(), cpus, hz / 1e6, load_start.c_str(), load_end.c_str());
  std::printf(
      "  engine    %s, one worker core, bursts of %u, %u-byte frames, ports = net_ring "
      "ethdevs on rte_rings\n",
      rte_version(), dataplane::kBurstSize, kFrameBytes);
  std::printf("  EAL       %s\n", eal_line.c_str());
  std::printf("  memory    %s\n", memory_line.c_str());
  std::printf(
      "  workload  1 network, 4 subnets, %s instances (4 service projects, 40 tags, 20 "
      "service accounts), VPN to on-prem;\n"
      "            %s VPC firewall rules: on average %.0f ingress and %.0f egress rules "
      "apply to a NIC\n",
      Count(b.workload.hosts.size()).c_str(), Count(b.workload.config.firewalls.size()).c_str(),
      established.avg_ingress_rules, established.avg_egress_rules);
  std::printf("  mode      %s, %d repetitions per figure, seed %llu; medians, [min-max]\n\n",
              q ? "--quick (smoke run, small counts: NOT the targets' sizes)" : "full", reps,
              static_cast<unsigned long long>(b.seed));

  const double est_io = Median(established.io_cycles);
  const double new_io = Median(fresh.io_cycles);
  const double new_rate = hz / new_io;
  std::vector<Row> rows;
  rows.push_back({"1 Established flows, cycles/packet incl. I/O (" + Count(established.flows) +
                      " conns, " + Count(b.sizes.rules) + " rules)",
                  Spread(established.io_cycles, "%.0f"), "<= 250", Met(q, est_io <= 250)});
  rows.push_back({"  - NIC-like: " + Count(established.nic_like_in_flight) +
                      " mbufs in flight, next flow's frame written in each",
                  Spread(established.nic_like_cycles, "%.0f"), "<= 250",
                  Met(q, Median(established.nic_like_cycles) <= 250)});
  rows.push_back({"  - Pipeline::Process alone, cycles/packet",
                  Spread(established.pipeline_cycles, "%.0f"), "", ""});
  rows.push_back(
      {"2 New connections per second, one core, incl. I/O",
       Fmt("%.2f M/s", new_rate / 1e6) + " (" + Spread(fresh.io_cycles, "%.0f") + " cycles/conn)",
       ">= 1 M/s", Met(q, new_rate >= 1e6)});
  rows.push_back({"  - Pipeline::Process alone",
                  Fmt("%.2f M/s", hz / Median(fresh.pipeline_cycles) / 1e6) + " (" +
                      Spread(fresh.pipeline_cycles, "%.0f") + " cycles/conn)",
                  "", ""});
  rows.push_back({"3 Conntrack bytes/connection at " + Count(memory.capacity) + ": BytesPerEntry()",
                  Fmt("%.1f", memory.bytes_per_entry), "<= 128",
                  Met(q, memory.bytes_per_entry <= 128)});
  rows.push_back({"  - DPDK heap in use after " + Count(memory.inserted) + " inserts / " +
                      Count(memory.capacity),
                  Fmt("%.1f", memory.heap_per_connection), "<= 128",
                  Met(q, memory.heap_per_connection <= 128)});
  rows.push_back({"4 Rule change at " + Count(change.rules) + " rules: config -> published",
                  Spread(change.published_ms, "%.1f") + " ms", "<= 100 ms",
                  Met(q, Median(change.published_ms) <= 100)});
  rows.push_back({"  - config -> first packet under the new rule",
                  Spread(change.first_packet_ms, "%.1f") + " ms", "<= 100 ms",
                  Met(q, Median(change.first_packet_ms) <= 100)});
  rows.push_back(
      {"5 " + Count(bgp_load.prefixes) + " prefixes from a BGP peer: sent -> all in the FIB",
       Spread(bgp_load.seconds, "%.2f") + " s", "< 2 s", Met(q, Median(bgp_load.seconds) < 2)});
  rows.push_back({"  - the peer's session down -> all removed",
                  Spread(bgp_load.withdraw_seconds, "%.2f") + " s", "", ""});
  PrintRows(rows);

  std::printf("\nDetails\n");
  std::printf("  1. %s flows opened from %s candidates (the others: ",
              Count(established.flows).c_str(), Count(established.candidates).c_str());
  bool first = true;
  for (const auto& [why, n] : established.rejected) {
    std::printf("%s%s %s", first ? "" : ", ", Count(n).c_str(), why.c_str());
    first = false;
  }
  std::printf(
      "); each repetition %s packets, half in the reply direction; conntrack capacity "
      "%s%s, %s live after; %s drops.\n",
      Count(established.packets_per_rep).c_str(), Count(b.sizes.capacity).c_str(),
      b.sizes.capacity == 1'000'000 ? " (svpcd's default)" : "",
      Count(established.live_after).c_str(), Count(established.drops).c_str());
  std::printf(
      "     one more I/O pass timed in parts (cycles/packet): rx_burst %.1f, "
      "Pipeline::Process %.1f, gather + tx_burst %.1f\n",
      established.split_rx, established.split_process, established.split_tx);
  std::printf("     Process stage by stage (cycles/packet), every flow its own mbuf:\n");
  PrintStages(established.stages, Median(established.pipeline_cycles));
  std::printf("     Process stage by stage (cycles/packet), NIC-like (frames just written):\n");
  PrintStages(established.nic_like_stages, -1);
  std::printf(
      "  2. %s new connections per repetition (%s allowed flow templates x source ports), "
      "every one evaluated by the rules and inserted (smallest table after a repetition: "
      "%s); %s drops.\n",
      Count(fresh.per_rep).c_str(), Count(fresh.templates).c_str(),
      Count(fresh.inserted_min).c_str(), Count(fresh.drops).c_str());
  std::printf("     Process stage by stage (cycles/connection):\n");
  PrintStages(fresh.stages, Median(fresh.pipeline_cycles));
  std::printf(
      "  3. ConnTrack::Create(capacity %s): %.1f bytes/connection in the DPDK heap at "
      "creation, %.1f after %s inserts (fragment table included); Insert %.0f "
      "cycles each.\n",
      Count(memory.capacity).c_str(), memory.heap_at_create, memory.heap_per_connection,
      Count(memory.inserted).c_str(), memory.insert_cycles);
  std::printf(
      "  4. dataplane::Worker on lcore %u with %s established flows as background; "
      "probes (new TCP connections from on-prem) every %.0f us.\n",
      b.worker_lcore, Count(std::min<size_t>(4096, established.mbufs.size())).c_str(),
      change.probe_interval_us);
  std::printf(
      "     compile %s ms (CPU time of the compiling thread %s ms), Publish (swap, "
      "grace period, free the old snapshot) %s ms, probe injected -> seen %s us\n",
      Spread(change.compile_ms, "%.1f").c_str(), Spread(change.compile_cpu_ms, "%.1f").c_str(),
      Spread(change.publish_ms, "%.1f").c_str(), Spread(change.probe_latency_us, "%.0f").c_str());
  std::printf(
      "     a compile's CPU time (medians of 3): %.1f ms = topology, routes, endpoints "
      "(3 rules) %.1f + Classifier::Build %.1f + the rest (rules to RuleSet, interning, "
      "sorting, %s NICs' classes and policy chains) %.1f\n",
      change.cpu_total_ms, change.cpu_without_rules_ms, change.cpu_classifier_ms,
      Count(change.nics).c_str(),
      change.cpu_total_ms - change.cpu_without_rules_ms - change.cpu_classifier_ms);
  for (size_t i = 0; i < change.changes.size(); ++i) {
    std::printf("     rep %zu: %s: compile %.1f, published %.1f, first packet %.1f ms\n", i + 1,
                change.changes[i].c_str(), change.compile_ms[i], change.published_ms[i],
                change.first_packet_ms[i]);
  }
  std::printf(
      "  5. two bgp::Speakers over TCP on loopback: the on-prem peer announces %s /24s (MED 50) "
      "to control::CloudRouters, which installs them as dynamic routes into the compiled "
      "snapshot's route table (RCU attached, as svpcd), one batch per UPDATE; %u of them "
      "checked by lookup afterwards. The table already holds the workload's %s static "
      "routes.\n",
      Count(bgp_load.prefixes).c_str(), bgp_load.verified,
      Count(b.workload.config.routes.size()).c_str());
  std::printf("  Per repetition: 1 I/O");
  for (double v : established.io_cycles) std::printf(" %.0f", v);
  std::printf("; NIC-like");
  for (double v : established.nic_like_cycles) std::printf(" %.0f", v);
  std::printf("; alone");
  for (double v : established.pipeline_cycles) std::printf(" %.0f", v);
  std::printf(" | 2 I/O");
  for (double v : fresh.io_cycles) std::printf(" %.0f", v);
  std::printf("; alone");
  for (double v : fresh.pipeline_cycles) std::printf(" %.0f", v);
  std::printf(
      "\n  Left out as disturbed (timed units over 200 us: the scheduler ran another "
      "process; the machine is shared):\n");
  PrintDisturbed("1 I/O loop iterations", established.io_total);
  PrintDisturbed("1 NIC-like iterations", established.nic_like_total);
  PrintDisturbed("1 Process-alone bursts", established.pipeline_total);
  PrintDisturbed("2 I/O loop iterations", fresh.io_total);
  PrintDisturbed("2 Process-alone bursts", fresh.pipeline_total);
  std::printf("  DPDK heap in use at the end: %.0f MiB\n", heap_peak / 1048576.0);

  std::printf(
      "\nReproduce:\n  cmake -S %s -B %s -G Ninja && cmake --build %s -j2 --target "
      "svpc-bench && %s/bench/svpc-bench",
      SVPC_SOURCE_DIR, SVPC_BINARY_DIR, SVPC_BINARY_DIR, SVPC_BINARY_DIR);
  for (int i = 1; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("\n");
  std::fflush(stdout);

  for (rte_mbuf* m : established.mbufs) rte_pktmbuf_free(m);
  established.mbufs.clear();
  established.conntrack.reset();
  b.ports.reset();
  rte_mempool_free(b.pool);
  rte_eal_cleanup();
  return 0;
}

}  // namespace
}  // namespace svpc::bench

int main(int argc, char** argv) { return svpc::bench::Main(argc, argv); }
