#include "bench/figures.h"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <thread>
#include <unordered_set>

#include "config/config_validator.h"
#include "control/compiler.h"
#include "dataplane/snapshot_store.h"
#include "dataplane/worker.h"

namespace svpc::bench {
namespace {

using dataplane::Burst;
using dataplane::Counters;
using dataplane::kBurstSize;
using dataplane::OnRuleChange;
using dataplane::PacketMeta;
using dataplane::Snapshot;
using dataplane::Verdict;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "svpc-bench: %s\n", message.c_str());
  std::exit(1);
}

uint64_t NowNs() { return static_cast<uint64_t>(rte_get_tsc_cycles() * (1e9 / rte_get_tsc_hz())); }

double Ms(uint64_t cycles) { return cycles * 1e3 / rte_get_tsc_hz(); }

// CPU time of the calling thread (wall-clock figures include time the scheduler gave others).
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Figure 1's NIC-like variant: mbufs in flight over the three ports.
constexpr uint32_t kNicLikeInFlight = 4096;

bool Leaves(const PacketMeta& meta) {
  return meta.verdict == Verdict::kDeliver || meta.verdict == Verdict::kForward;
}

uint64_t Drops(const Counters& c) {
  uint64_t total = 0;
  for (uint64_t d : c.drops) total += d;
  return total;
}

// Runs `count` mbufs through `process(burst)` in bursts of 32, as HandleBurst would (without
// rx/tx), then calls check(mbuf, meta) for each packet.
template <typename ProcessFn, typename Check>
void ProcessArray(rte_mbuf** mbufs, size_t count, ProcessFn&& process, Check&& check) {
  PacketMeta meta[kBurstSize];
  const uint64_t now = NowNs();
  for (size_t start = 0; start < count; start += kBurstSize) {
    const uint16_t n = static_cast<uint16_t>(std::min<size_t>(kBurstSize, count - start));
    for (uint16_t i = 0; i < n; ++i) {
      meta[i].in_port = Tag(mbufs[start + i]).in_port;
      meta[i].time_ns = now;
    }
    Burst burst{mbufs + start, meta, n};
    process(burst);
    for (uint16_t i = 0; i < n; ++i) check(mbufs[start + i], meta[i]);
  }
}
constexpr auto kNoCheck = [](rte_mbuf*, const PacketMeta&) {};

void RestoreAll(const std::vector<rte_mbuf*>& mbufs) {
  for (rte_mbuf* m : mbufs) RestoreMacs(m);
}

// Puts mbufs on the rx ring of the port each arrives on.
void Preload(RingPorts& ports, const std::vector<rte_mbuf*>& mbufs) {
  for (rte_mbuf* m : mbufs) {
    if (rte_ring_enqueue(ports.rx(Tag(m).in_port), m) != 0) Die("rx ring full while preloading");
  }
}

// The worker loop with the TSC read around each iteration; the cable runs in between, untimed.
template <typename Cable>
Meter RunLoop(EngineLoop& loop, uint64_t packets, Cable&& cable) {
  Meter meter;
  uint64_t idle = 0;
  while (meter.raw_packets < packets) {
    const uint64_t t0 = rte_rdtsc();
    const uint32_t n = loop.PollOnce();
    meter.Add(rte_rdtsc() - t0, n);
    cable();
    if (n == 0 && ++idle > 10'000'000) Die("the engine stopped receiving packets");
  }
  return meter;
}

// The same with rx / Process / tx timed apart (undisturbed iterations only).
template <typename Cable>
EngineLoop::Split RunLoopSplit(EngineLoop& loop, uint64_t packets, Cable&& cable) {
  EngineLoop::Split total;
  uint64_t received = 0;
  while (received < packets) {
    EngineLoop::Split one;
    const uint64_t t0 = rte_rdtsc();
    received += loop.PollOnceSplit(one);
    if (rte_rdtsc() - t0 <= Meter::Threshold()) {
      total.rx += one.rx;
      total.process += one.process;
      total.tx += one.tx;
      total.packets += one.packets;
    }
    cable();
  }
  return total;
}

// Per-stage cycles of bursts run through a StagedPipeline, undisturbed bursts only.
struct StageMeter {
  std::array<uint64_t, kStageCount> cycles{};
  Meter total;
  void Run(const StagedPipeline& staged, const Snapshot& snap, Burst& burst, Counters& counters) {
    std::array<uint64_t, kStageCount> burst_cycles{};
    staged.Process(snap, burst, counters, burst_cycles);
    uint64_t sum = 0;
    for (uint64_t c : burst_cycles) sum += c;
    if (!total.Add(sum, burst.count)) return;
    for (int s = 0; s < kStageCount; ++s) cycles[s] += burst_cycles[s];
  }
  StageCycles PerPacket() const {
    StageCycles out{};
    for (int s = 0; s < kStageCount; ++s) {
      out[s] = total.packets == 0 ? 0 : static_cast<double>(cycles[s]) / total.packets;
    }
    return out;
  }
};

// Sends the opening packet of random flows until `wanted` were allowed and are tracked.
struct Opened {
  std::vector<FlowSpec> flows;
  uint64_t candidates = 0;
  std::map<std::string, uint64_t> rejected;
};

Opened OpenFlows(const Workload& w, const Snapshot& snap, firewall::ConnTrack* conntrack,
                 rte_mempool* pool, uint32_t wanted, uint64_t seed) {
  Opened out;
  dataplane::Pipeline pipeline(conntrack, OnRuleChange::kContinue);
  Counters counters;
  FlowGenerator gen(w, seed);
  std::unordered_set<ConnKey, ConnKeyHash> seen;
  rte_mbuf* pkts[kBurstSize];
  PacketMeta meta[kBurstSize];
  FlowSpec spec[kBurstSize];
  const uint64_t max_candidates = uint64_t{wanted} * 50 + 10'000;
  while (out.flows.size() < wanted) {
    if (out.candidates > max_candidates) {
      Die("the rules allow too few flows: " + std::to_string(out.flows.size()) + " of " +
          std::to_string(out.candidates) + " candidates");
    }
    // Never more than still needed, so exactly `wanted` connections end up in the table.
    const uint16_t n =
        static_cast<uint16_t>(std::min<size_t>(kBurstSize, wanted - out.flows.size()));
    if (rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0) Die("mbuf pool exhausted");
    const uint64_t now = NowNs();
    for (uint16_t i = 0; i < n; ++i) {
      FlowSpec f = gen.Next();
      while (!seen.insert(Canonical(f)).second) f = gen.Next();
      spec[i] = f;
      WriteFrame(pkts[i], f, f.protocol == 6 ? firewall::kTcpSyn : 0,
                 static_cast<uint32_t>(out.candidates + i));
      meta[i].in_port = f.in_port;
      meta[i].time_ns = now;
    }
    out.candidates += n;
    Burst burst{pkts, meta, n};
    pipeline.Process(snap, burst, counters);
    for (uint16_t i = 0; i < n; ++i) {
      if (Leaves(meta[i]) && meta[i].conn >= 0) {
        out.flows.push_back(spec[i]);
      } else {
        std::string why = dataplane::DropCauseName(meta[i].cause);
        if (meta[i].cause == dataplane::DropCause::kFirewallRule) {
          why += meta[i].ingress_rule == dataplane::kNotEvaluated ? " (egress)" : " (ingress)";
        }
        out.rejected[why]++;
      }
    }
    rte_pktmbuf_free_bulk(pkts, n);
  }
  return out;
}

}  // namespace

uint64_t Meter::Threshold() {
  static const uint64_t threshold = rte_get_tsc_hz() / 5000;  // 200 us
  return threshold;
}

size_t HeapBytes() {
  size_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats stats{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &stats) == 0) {
      total += stats.heap_allocsz_bytes;
    }
  }
  return total;
}

std::unique_ptr<Snapshot> CompileOrDie(const config::Config& config, uint64_t generation) {
  std::string error;
  auto snap = control::CompileSnapshot(config, &error);
  if (!snap) Die("CompileSnapshot: " + error);
  snap->generation = generation;
  return snap;
}

void ValidateOrDie(const config::Config& config, const char* what) {
  config::IssueList issues;
  config::ValidateConfig(config, {}, issues);
  if (issues.errors.empty()) return;
  for (size_t i = 0; i < issues.errors.size() && i < 10; ++i) {
    std::fprintf(stderr, "  %s\n", config::FormatIssue(issues.errors[i]).c_str());
  }
  Die(std::string("the generated ") + what + " configuration does not validate (" +
      std::to_string(issues.errors.size()) + " errors)");
}

// ---- 1. Established flows -------------------------------------------------------------------

EstablishedResult MeasureEstablished(Bench& b) {
  EstablishedResult r;
  const Workload& w = b.workload;
  dataplane::SnapshotStore store(1);
  store.Publish(CompileOrDie(w.config, 1));
  const Snapshot& snap = *store.Acquire();
  for (const dataplane::NicInfo& nic : snap.nics) {
    const firewall::RuleSet& rules = snap.networks[nic.network].firewall;
    r.avg_ingress_rules += rules.RulesFor(firewall::Direction::kIngress, nic.Identity()).size();
    r.avg_egress_rules += rules.RulesFor(firewall::Direction::kEgress, nic.Identity()).size();
  }
  r.avg_ingress_rules /= snap.nics.size();
  r.avg_egress_rules /= snap.nics.size();

  // The table svpcd runs with (capacity 1,000,000 unless --capacity, GCP's 10-minute idle
  // timeout).
  std::string error;
  firewall::ConnTrack::Config table;
  table.capacity = b.sizes.capacity;
  r.conntrack = firewall::ConnTrack::Create(table, &error);
  if (!r.conntrack) Die(error);
  firewall::ConnTrack* ct = r.conntrack.get();

  Opened opened = OpenFlows(w, snap, ct, b.pool, b.sizes.flows, b.seed + 1);
  r.opened = std::move(opened.flows);
  r.candidates = opened.candidates;
  r.rejected = std::move(opened.rejected);
  r.flows = static_cast<uint32_t>(r.opened.size());
  if (ct->size() != r.flows) Die("conntrack does not hold one entry per opened flow");

  // One mbuf per flow; every other flow is seen in its reply direction.
  r.mbufs.resize(r.flows);
  if (rte_pktmbuf_alloc_bulk(b.pool, r.mbufs.data(), r.flows) != 0) Die("mbuf pool exhausted");
  for (uint32_t i = 0; i < r.flows; ++i) {
    const FlowSpec f = i % 2 == 0 ? r.opened[i] : Reverse(w, r.opened[i]);
    WriteFrame(r.mbufs[i], f, f.protocol == 6 ? kTcpAck : 0, i);
  }

  dataplane::Pipeline alone(ct, OnRuleChange::kContinue);
  Counters alone_counters;
  // Check pass: every packet belongs to a tracked connection and leaves the engine unchanged
  // in size (the cable restores MACs only).
  ProcessArray(
      r.mbufs.data(), r.mbufs.size(),
      [&](Burst& burst) { alone.Process(snap, burst, alone_counters); },
      [&](rte_mbuf* m, const PacketMeta& meta) {
        if (!meta.tracked || !Leaves(meta) || rte_pktmbuf_data_len(m) != kFrameBytes) {
          Die(std::string("an established packet was not forwarded as tracked: ") +
              dataplane::VerdictName(meta.verdict) + " " + dataplane::DropCauseName(meta.cause));
        }
      });
  RestoreAll(r.mbufs);

  store.RegisterWorker(0);
  EngineLoop loop(store, b.ports->ports(), ct, OnRuleChange::kContinue);
  RingPorts& ports = *b.ports;
  auto cable = [&ports] { ports.Recycle(512); };
  Preload(ports, r.mbufs);
  RunLoop(loop, r.flows, cable);  // warm-up: every flow once round

  // The NIC-like variant: a few thousand mbufs in flight (NIC rx rings hold 1,024-4,096), the
  // cable writing the next flow's frame into each one it recycles, as a NIC's DMA would; flows
  // still come round one after the other over all the live connections.
  std::vector<FlowSpec> packets(r.flows);
  for (uint32_t i = 0; i < r.flows; ++i) {
    packets[i] = i % 2 == 0 ? r.opened[i] : Reverse(w, r.opened[i]);
  }
  const uint32_t in_flight = std::min<uint32_t>(kNicLikeInFlight, r.flows);
  r.nic_like_in_flight = in_flight;
  std::vector<rte_mbuf*> nic_like(in_flight);
  if (rte_pktmbuf_alloc_bulk(b.pool, nic_like.data(), in_flight) != 0) {
    Die("mbuf pool exhausted");
  }
  uint32_t next_packet = 0;
  auto write_next = [&](rte_mbuf* m) {
    const uint32_t j = next_packet;
    next_packet = next_packet + 1 == r.flows ? 0 : next_packet + 1;
    WriteFrame(m, packets[j], packets[j].protocol == 6 ? kTcpAck : 0, j);
  };
  auto nic_cable = [&] {
    rte_mbuf* got[256];
    for (uint16_t p = 0; p < ports.size(); ++p) {
      const unsigned n =
          rte_ring_dequeue_burst(ports.tx(p), reinterpret_cast<void**>(got), 256, nullptr);
      for (unsigned i = 0; i < n; ++i) {
        write_next(got[i]);
        rte_ring_enqueue(ports.rx(Tag(got[i]).in_port), got[i]);
      }
    }
  };

  std::vector<rte_mbuf*> all;
  for (int rep = 0; rep < b.sizes.reps; ++rep) {
    const Meter io = RunLoop(loop, b.sizes.packets_per_rep, cable);
    r.io_cycles.push_back(io.PerPacket());
    r.io_total.Merge(io);

    all = ports.DrainAll();
    for (rte_mbuf* m : nic_like) write_next(m);
    Preload(ports, nic_like);
    const Meter nic = RunLoop(loop, b.sizes.packets_per_rep, nic_cable);
    r.nic_like_cycles.push_back(nic.PerPacket());
    r.nic_like_total.Merge(nic);
    nic_like = ports.DrainAll();
    if (nic_like.size() != in_flight) Die("mbufs were lost in the NIC-like loop");

    // The same packets through Pipeline::Process alone: off the wire, MACs restored between
    // passes (untimed), no rx/tx; the TSC read around each burst.
    Meter meter;
    if (all.size() != r.flows) Die("mbufs were lost in the I/O loop");
    while (meter.raw_packets < b.sizes.packets_per_rep) {
      RestoreAll(all);
      ProcessArray(
          all.data(), all.size(),
          [&](Burst& burst) {
            const uint64_t t0 = rte_rdtsc();
            alone.Process(snap, burst, alone_counters);
            meter.Add(rte_rdtsc() - t0, burst.count);
          },
          kNoCheck);
    }
    r.pipeline_cycles.push_back(meter.PerPacket());
    r.pipeline_total.Merge(meter);
    RestoreAll(all);
    Preload(ports, all);
  }
  // Where the cycles go in the NIC-like variant: Process stage by stage on frames just written.
  {
    StagedPipeline staged(ct, OnRuleChange::kContinue);
    StageMeter stages;
    while (stages.total.raw_packets < std::min<uint64_t>(b.sizes.packets_per_rep, 2'000'000)) {
      for (rte_mbuf* m : nic_like) write_next(m);
      ProcessArray(
          nic_like.data(), nic_like.size(),
          [&](Burst& burst) { stages.Run(staged, snap, burst, alone_counters); }, kNoCheck);
    }
    r.nic_like_stages = stages.PerPacket();
  }
  rte_pktmbuf_free_bulk(nic_like.data(), static_cast<unsigned>(nic_like.size()));

  // Where the cycles go: rx, Process, tx; then Process stage by stage.
  const EngineLoop::Split split =
      RunLoopSplit(loop, std::min<uint64_t>(b.sizes.packets_per_rep, 2'000'000), cable);
  r.split_rx = static_cast<double>(split.rx) / std::max<uint64_t>(split.packets, 1);
  r.split_process = static_cast<double>(split.process) / std::max<uint64_t>(split.packets, 1);
  r.split_tx = static_cast<double>(split.tx) / std::max<uint64_t>(split.packets, 1);
  all = ports.DrainAll();
  StagedPipeline staged(ct, OnRuleChange::kContinue);
  StageMeter stages;
  while (stages.total.raw_packets < std::min<uint64_t>(b.sizes.packets_per_rep, 2'000'000)) {
    RestoreAll(all);
    ProcessArray(
        all.data(), all.size(),
        [&](Burst& burst) { stages.Run(staged, snap, burst, alone_counters); }, kNoCheck);
  }
  r.stages = stages.PerPacket();
  RestoreAll(all);
  r.mbufs = std::move(all);

  r.drops = Drops(loop.counters()) + Drops(alone_counters);
  r.live_after = ct->size();
  r.packets_per_rep = b.sizes.packets_per_rep;
  store.Offline(0);
  return r;
}

// ---- 2. New connections ---------------------------------------------------------------------

NewConnResult MeasureNewConnections(Bench& b, const std::vector<FlowSpec>& opened) {
  NewConnResult r;
  const uint32_t total = b.sizes.new_connections;
  r.per_rep = total;
  // Flows the rules allow, told apart by everything but the source port: a new connection
  // j is template j % K with source port 1024 + j / K, so each is new and each is allowed.
  std::vector<FlowSpec> templates;
  {
    std::unordered_set<ConnKey, ConnKeyHash> seen;
    for (FlowSpec f : opened) {
      f.src_port = 0;
      if (seen.insert(ConnKey{Canonical(f).addresses, uint64_t{f.dst_port} << 8 | f.protocol})
              .second) {
        templates.push_back(f);
      }
    }
  }
  const uint32_t k = static_cast<uint32_t>(templates.size());
  r.templates = k;
  if (k == 0 || total / k >= 64'000) Die("too few allowed flow templates for new connections");
  auto flow = [&](uint32_t j) {
    FlowSpec f = templates[j % k];
    f.src_port = static_cast<uint16_t>(1024 + j / k);
    return f;
  };
  auto write = [&](rte_mbuf* m, uint32_t j) {
    const FlowSpec f = flow(j);
    WriteFrame(m, f, f.protocol == 6 ? firewall::kTcpSyn : 0, j);
  };

  dataplane::SnapshotStore store(1);
  store.Publish(CompileOrDie(b.workload.config, 1));
  const Snapshot& snap = *store.Acquire();
  store.RegisterWorker(0);
  firewall::ConnTrack::Config config;
  config.capacity = total + total / 8 + 1024;
  auto fresh_table = [&] {
    std::string error;
    auto ct = firewall::ConnTrack::Create(config, &error);
    if (!ct) Die(error);
    return ct;
  };

  const uint32_t in_flight = std::min<uint32_t>(8192, total);
  std::vector<rte_mbuf*> mbufs(in_flight);
  if (rte_pktmbuf_alloc_bulk(b.pool, mbufs.data(), in_flight) != 0) Die("mbuf pool exhausted");
  RingPorts& ports = *b.ports;
  r.inserted_min = ~0u;

  for (int rep = 0; rep < b.sizes.reps; ++rep) {
    {
      auto ct = fresh_table();
      EngineLoop loop(store, ports.ports(), ct.get(), OnRuleChange::kContinue);
      uint32_t next = 0;
      for (rte_mbuf* m : mbufs) write(m, next++);
      Preload(ports, mbufs);
      std::vector<rte_mbuf*> spare;
      // The cable: what left the engine comes back as the next never-seen flow.
      auto cable = [&] {
        rte_mbuf* got[256];
        for (uint16_t p = 0; p < ports.size(); ++p) {
          const unsigned n =
              rte_ring_dequeue_burst(ports.tx(p), reinterpret_cast<void**>(got), 256, nullptr);
          for (unsigned i = 0; i < n; ++i) {
            if (next >= total) {
              spare.push_back(got[i]);
              continue;
            }
            write(got[i], next++);
            rte_ring_enqueue(ports.rx(Tag(got[i]).in_port), got[i]);
          }
        }
      };
      const Meter io = RunLoop(loop, total, cable);
      r.io_cycles.push_back(io.PerPacket());
      r.io_total.Merge(io);
      r.drops += Drops(loop.counters());
      r.inserted_min = std::min(r.inserted_min, ct->size());
      cable();
      for (rte_mbuf* m : ports.DrainAll()) spare.push_back(m);
      // Dropped packets were freed by the engine: top the set up again.
      while (spare.size() < in_flight) {
        rte_mbuf* m = rte_pktmbuf_alloc(b.pool);
        if (m == nullptr) Die("mbuf pool exhausted");
        spare.push_back(m);
      }
      mbufs = std::move(spare);
    }
    {
      auto ct = fresh_table();
      dataplane::Pipeline alone(ct.get(), OnRuleChange::kContinue);
      Counters counters;
      Meter meter;
      for (uint32_t next = 0; next < total;) {
        const uint32_t chunk = std::min<uint32_t>(in_flight, total - next);
        for (uint32_t i = 0; i < chunk; ++i) write(mbufs[i], next + i);
        ProcessArray(
            mbufs.data(), chunk,
            [&](Burst& burst) {
              const uint64_t t0 = rte_rdtsc();
              alone.Process(snap, burst, counters);
              meter.Add(rte_rdtsc() - t0, burst.count);
            },
            kNoCheck);
        next += chunk;
      }
      r.pipeline_cycles.push_back(meter.PerPacket());
      r.pipeline_total.Merge(meter);
      r.drops += Drops(counters);
    }
  }
  {
    auto ct = fresh_table();
    StagedPipeline staged(ct.get(), OnRuleChange::kContinue);
    Counters counters;
    StageMeter stages;
    for (uint32_t next = 0; next < total;) {
      const uint32_t chunk = std::min<uint32_t>(in_flight, total - next);
      for (uint32_t i = 0; i < chunk; ++i) write(mbufs[i], next + i);
      ProcessArray(
          mbufs.data(), chunk, [&](Burst& burst) { stages.Run(staged, snap, burst, counters); },
          kNoCheck);
      next += chunk;
    }
    r.stages = stages.PerPacket();
  }
  rte_pktmbuf_free_bulk(mbufs.data(), static_cast<unsigned>(mbufs.size()));
  store.Offline(0);
  return r;
}

// ---- 3. Conntrack memory --------------------------------------------------------------------

MemoryResult MeasureMemory(Bench& b) {
  MemoryResult r;
  const uint32_t n = b.sizes.memory_connections;
  r.capacity = n;
  const size_t heap0 = HeapBytes();
  firewall::ConnTrack::Config config;
  config.capacity = n;
  std::string error;
  auto ct = firewall::ConnTrack::Create(config, &error);
  if (!ct) Die(error);
  const size_t heap1 = HeapBytes();
  r.bytes_per_entry = ct->BytesPerEntry();
  const uint64_t now = NowNs();
  Meter meter;
  for (uint32_t start = 0; start < n; start += 64) {
    const uint32_t end = std::min(n, start + 64);
    const uint64_t t0 = rte_rdtsc();
    for (uint32_t i = start; i < end; ++i) {
      // Distinct clients (10.64.0.0 upwards) to 400 servers on 443.
      const firewall::FlowTuple t{0,
                                  (10u << 24 | 64u << 16) + i,
                                  (10u << 24 | 20u << 16) + 2 + i % 400,
                                  static_cast<uint16_t>(32768 + i % 28232),
                                  443,
                                  6};
      ct->Insert(t, firewall::kTcpSyn, now, 1);
    }
    meter.Add(rte_rdtsc() - t0, end - start);
  }
  r.inserted = ct->size();
  r.insert_cycles = meter.PerPacket();
  const size_t heap2 = HeapBytes();
  r.heap_at_create = static_cast<double>(heap1 - heap0) / n;
  r.heap_per_connection = static_cast<double>(heap2 - heap0) / n;
  return r;
}

// ---- 4. Rule change at 10,000 rules ---------------------------------------------------------

namespace {

constexpr uint32_t kMaxReps = 64;  // rule-change repetitions
constexpr uint32_t kNotArmed = ~0u;

// Runs beside the worker on the main lcore's core, mostly asleep: every ~20 us it moves what
// the worker transmitted back to the rx rings (background flows), notes the first probe of
// each repetition that came out (= allowed), frees probes, and injects one probe SYN of the
// armed repetition on the on-prem port.
class ProbeInjector {
 public:
  ProbeInjector(RingPorts& ports, rte_mempool* pool) : ports_(ports), pool_(pool) {
    for (auto& s : seen_) s.store(0);
  }
  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    stop_.store(true);
    thread_.join();
  }
  void Arm(uint32_t rep, const FlowSpec& probe) {
    probes_[rep] = probe;
    armed_.store(rep, std::memory_order_release);
  }
  uint64_t seen(uint32_t rep) const { return seen_[rep].load(std::memory_order_acquire); }
  uint64_t seen_stamp(uint32_t rep) const { return seen_stamp_[rep]; }
  uint64_t injected() const { return injected_.load(); }
  uint64_t recycled() const { return recycled_.load(); }
  double interval_cycles() const { return interval_cycles_; }

 private:
  void Run() {
    const uint64_t start = rte_rdtsc();
    uint64_t iterations = 0;
    uint16_t source_port = 1024;
    while (!stop_.load(std::memory_order_relaxed)) {
      const uint32_t moved = ports_.Recycle(1024, [this](rte_mbuf* m) {
        const uint32_t rep = Tag(m).serial;
        if (rep < kMaxReps && seen_[rep].load(std::memory_order_relaxed) == 0) {
          seen_stamp_[rep] = Tag(m).stamp;
          seen_[rep].store(rte_rdtsc(), std::memory_order_release);
        }
        rte_pktmbuf_free(m);
        return true;
      });
      recycled_.fetch_add(moved, std::memory_order_relaxed);
      const uint32_t rep = armed_.load(std::memory_order_acquire);
      if (rep != kNotArmed) {
        if (rte_mbuf* m = rte_pktmbuf_alloc(pool_)) {
          FlowSpec f = probes_[rep];
          f.src_port = source_port;
          source_port = source_port == 65535 ? 1024 : source_port + 1;
          WriteFrame(m, f, firewall::kTcpSyn, rep);
          Tag(m).kind = kKindProbe;
          Tag(m).stamp = rte_rdtsc();
          if (rte_ring_enqueue(ports_.rx(f.in_port), m) != 0) {
            rte_pktmbuf_free(m);
          } else {
            injected_.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
      ++iterations;
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    interval_cycles_ = static_cast<double>(rte_rdtsc() - start) / std::max<uint64_t>(iterations, 1);
  }

  RingPorts& ports_;
  rte_mempool* pool_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> armed_{kNotArmed};
  std::array<FlowSpec, kMaxReps> probes_{};
  std::array<std::atomic<uint64_t>, kMaxReps> seen_;
  std::array<uint64_t, kMaxReps> seen_stamp_{};
  std::atomic<uint64_t> injected_{0};
  std::atomic<uint64_t> recycled_{0};
  double interval_cycles_ = 0;
};

struct WorkerLaunch {
  dataplane::Worker* worker;
  std::atomic<bool>* stop;
};

int WorkerMain(void* arg) {
  auto* launch = static_cast<WorkerLaunch*>(arg);
  return launch->worker->Run(*launch->stop);
}

// What the reference evaluator says about a probe from outside the network (no source
// identity, no egress rules) to an instance.
firewall::Decision ProbeDecision(const Snapshot& snap, const FlowSpec& probe) {
  for (const dataplane::NicInfo& nic : snap.nics) {
    if (nic.ip != probe.dst) continue;
    const firewall::RuleSet& rules = snap.networks[nic.network].firewall;
    firewall::FlowKey key{probe.src, probe.dst,      probe.protocol,
                          true,      probe.src_port, probe.dst_port};
    return rules.Evaluate(firewall::Direction::kIngress,
                          rules.RulesFor(firewall::Direction::kIngress, nic.Identity()), key,
                          nullptr);
  }
  Die("probe target is not an instance");
}
bool ProbeAllowed(const Snapshot& snap, const FlowSpec& probe) {
  return ProbeDecision(snap, probe).action == firewall::Action::kAllow;
}

double MedianOf3(const std::function<void()>& work) {
  std::array<double, 3> ms{};
  for (double& m : ms) {
    const double t0 = ThreadCpuMs();
    work();
    m = ThreadCpuMs() - t0;
  }
  std::sort(ms.begin(), ms.end());
  return ms[1];
}

void BreakDownCompile(const config::Config& config, RuleChangeResult& r) {
  r.cpu_total_ms = MedianOf3([&] { CompileOrDie(config, 0); });
  config::Config bare = config;
  bare.firewalls.resize(3);
  r.cpu_without_rules_ms = MedianOf3([&] { CompileOrDie(bare, 0); });
  auto snap = CompileOrDie(config, 0);
  const firewall::RuleSet& rules = snap->networks[0].firewall;
  std::vector<firewall::Identity> identities;
  for (const dataplane::NicInfo& nic : snap->nics) identities.push_back(nic.Identity());
  r.cpu_classifier_ms = MedianOf3([&] {
    std::string error;
    if (!firewall::Classifier::Build(rules, identities, &error)) Die("Classifier::Build: " + error);
  });
}

}  // namespace

RuleChangeResult MeasureRuleChange(Bench& b, EstablishedResult& established) {
  RuleChangeResult r;
  const Workload& base = b.workload;
  // The same topology (same seed: same instances, tags, addresses), 10,000 rules.
  config::Config config = base.config;
  config.firewalls.resize(3);  // the baseline rules
  for (config::Firewall& fw : RandomFirewalls(base, b.sizes.change_rules - 3, b.seed)) {
    config.firewalls.push_back(std::move(fw));
  }
  ValidateOrDie(config, "rule-change");
  r.rules = static_cast<uint32_t>(config.firewalls.size());
  r.nics = static_cast<uint32_t>(base.hosts.size());

  uint64_t generation = 1;
  dataplane::SnapshotStore store(1);
  store.Publish(CompileOrDie(config, generation));
  dataplane::Worker worker(0, store, b.ports->ports(), established.conntrack.get(),
                           OnRuleChange::kContinue, nullptr);

  // Background: established flows keep the worker busy while the rules change.
  std::vector<rte_mbuf*> background(
      established.mbufs.begin(),
      established.mbufs.begin() + std::min<size_t>(4096, established.mbufs.size()));
  Preload(*b.ports, background);
  ProbeInjector injector(*b.ports, b.pool);
  std::atomic<bool> stop{false};
  WorkerLaunch launch{&worker, &stop};
  if (rte_eal_remote_launch(WorkerMain, &launch, b.worker_lcore) != 0) {
    Die("cannot launch the worker on lcore " + std::to_string(b.worker_lcore));
  }
  injector.Start();
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  while (worker.counters().port_rx[kPortWest] == 0 && rte_rdtsc() - start < hz) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  // A new on-prem office (172.16.77.0/24) gets access to one service: one existing rule is
  // rewritten to allow it. Before the change its SYNs meet the implied deny (or a deny rule).
  const Ipv4 office = (172u << 24) | (16u << 16) | (77u << 8) | 10u;
  const int reps = std::min<int>(b.sizes.reps, static_cast<int>(kMaxReps));
  for (int rep = 0; rep < reps; ++rep) {
    const Snapshot& current = *store.Acquire();  // only this thread publishes
    FlowSpec probe;
    bool found = false;
    for (uint32_t attempt = 0; attempt < 1000 && !found; ++attempt) {
      const Host& target = base.hosts[(rep * 131 + attempt * 17) % base.hosts.size()];
      probe.in_port = kPortOnprem;
      probe.src_mac = kOnpremRouterMac;
      probe.dst_mac = dataplane::kExternalFabricMac;
      probe.src = office;
      probe.dst = target.ip;
      probe.src_port = 40000;
      probe.dst_port = static_cast<uint16_t>(7000 + rep * 50 + attempt * 7919 % 50000);
      probe.protocol = 6;
      found = !ProbeAllowed(current, probe);
    }
    if (!found) {
      const int32_t rule = ProbeDecision(current, probe).rule;
      Die("no probe the current rules deny (the last one is allowed by " +
          (rule >= 0 ? current.networks[0].firewall.rule(rule).name : std::string("?")) + ")");
    }
    const Host* target = nullptr;
    for (const Host& h : base.hosts) {
      if (h.ip == probe.dst) target = &h;
    }
    config::Config changed = config;
    const size_t index = 3 + (rep * 7919u) % (changed.firewalls.size() - 3);
    config::Firewall& fw = changed.firewalls[index];
    const std::string name = fw.name;
    config::Firewall edited;  // the same resource (name, project, network), new content
    edited.origin = fw.origin;
    edited.project = fw.project;
    edited.name = fw.name;
    edited.self_ref = fw.self_ref;
    edited.network_ref = fw.network_ref;
    fw = std::move(edited);
    fw.direction = config::Direction::kIngress;
    fw.action = config::Action::kAllow;
    fw.priority = 900;
    fw.rules = {config::ProtocolPorts{6, {{probe.dst_port, probe.dst_port}}}};
    fw.source_ranges = {Prefix{office & Prefix::MaskOf(24), 24}};
    fw.target_tags = {target->tags.front()};
    // The change must be what lets the probe in (checked with the reference evaluator).
    if (!ProbeAllowed(*CompileOrDie(changed, 0), probe)) {
      fw.priority = 0;
      if (!ProbeAllowed(*CompileOrDie(changed, 0), probe)) Die("the edited rule does not apply");
    }
    char what[160];
    std::snprintf(what, sizeof(what), "%s -> allow tcp:%u from 172.16.77.0/24 to tag %s (prio %u)",
                  name.c_str(), probe.dst_port, fw.target_tags.front().c_str(), fw.priority);
    r.changes.push_back(what);

    injector.Arm(static_cast<uint32_t>(rep), probe);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // probes meet the old rules
    if (injector.seen(rep) != 0) Die("a probe passed before the change");

    const double cpu0 = ThreadCpuMs();
    const uint64_t t0 = rte_rdtsc();
    auto snap = CompileOrDie(changed, ++generation);
    const uint64_t t1 = rte_rdtsc();
    r.compile_cpu_ms.push_back(ThreadCpuMs() - cpu0);
    store.Publish(std::move(snap));
    const uint64_t t2 = rte_rdtsc();
    while (injector.seen(rep) == 0 && rte_rdtsc() - t2 < 2 * hz) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    const uint64_t seen = injector.seen(rep);
    if (seen == 0) Die("no probe passed within 2 s of the change");
    r.compile_ms.push_back(Ms(t1 - t0));
    r.publish_ms.push_back(Ms(t2 - t1));
    r.published_ms.push_back(Ms(t2 - t0));
    r.first_packet_ms.push_back(Ms(seen - t0));
    r.probe_latency_us.push_back(Ms(seen - injector.seen_stamp(rep)) * 1e3);
    config = std::move(changed);
  }

  stop.store(true);
  rte_eal_wait_lcore(b.worker_lcore);
  injector.Stop();
  BreakDownCompile(config, r);
  r.probe_interval_us = Ms(static_cast<uint64_t>(injector.interval_cycles())) * 1e3;
  r.background_packets = injector.recycled();
  // Back to one mbuf per established flow, MACs restored.
  std::vector<rte_mbuf*> kept;
  for (rte_mbuf* m : b.ports->DrainAll()) {
    if (Tag(m).kind == kKindProbe) {
      rte_pktmbuf_free(m);
    } else {
      RestoreMacs(m);
      kept.push_back(m);
    }
  }
  established.mbufs.erase(established.mbufs.begin(),
                          established.mbufs.begin() + static_cast<long>(background.size()));
  established.mbufs.insert(established.mbufs.end(), kept.begin(), kept.end());
  return r;
}

}  // namespace svpc::bench
