#pragma once
// The four measurements of svpc-bench, each against one target of the stateful firewall issue.
// Every function runs its repetitions and returns the raw per-repetition values; the caller
// prints medians next to the targets.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/engine_loop.h"
#include "bench/traffic.h"
#include "bench/workload.h"
#include "dataplane/snapshot.h"
#include "firewall/conntrack.h"

struct rte_mempool;

namespace svpc::bench {

struct Sizes {
  uint32_t rules = 1000;                    // figures 1 and 2
  uint32_t flows = 100'000;                 // figure 1: live connections
  uint64_t packets_per_rep = 5'000'000;     // figure 1
  uint32_t new_connections = 1'000'000;     // figure 2, per repetition
  uint32_t memory_connections = 1'000'000;  // figure 3
  uint32_t change_rules = 10'000;           // figure 4
  uint32_t capacity = 1'000'000;            // figure 1's conntrack capacity (svpcd's default)
  int reps = 5;
};

// Everything the figures share: the EAL-side objects and the 1,000-rule workload.
struct Bench {
  Sizes sizes;
  uint64_t seed = 1;
  Workload workload;  // `sizes.rules` rules
  rte_mempool* pool = nullptr;
  std::unique_ptr<RingPorts> ports;
  unsigned worker_lcore = 0;
};

using StageCycles = std::array<double, kStageCount>;

// Cycles per packet over timed units (one loop iteration, one burst), leaving out units that
// took longer than 200 us: on a shared machine the scheduler ran something else meanwhile
// (no legitimate unit of at most 96 packets comes close). What was left out is counted.
struct Meter {
  uint64_t cycles = 0;
  uint64_t packets = 0;
  uint64_t units = 0;
  uint64_t disturbed = 0;
  uint64_t raw_cycles = 0;  // everything, disturbed units included
  uint64_t raw_packets = 0;
  static uint64_t Threshold();
  // Returns false when the unit was disturbed (and left out).
  bool Add(uint64_t unit_cycles, uint64_t unit_packets) {
    ++units;
    raw_cycles += unit_cycles;
    raw_packets += unit_packets;
    if (unit_cycles > Threshold()) {
      ++disturbed;
      return false;
    }
    cycles += unit_cycles;
    packets += unit_packets;
    return true;
  }
  void Merge(const Meter& m) {
    cycles += m.cycles;
    packets += m.packets;
    units += m.units;
    disturbed += m.disturbed;
    raw_cycles += m.raw_cycles;
    raw_packets += m.raw_packets;
  }
  double PerPacket() const { return packets == 0 ? 0 : static_cast<double>(cycles) / packets; }
  double RawPerPacket() const {
    return raw_packets == 0 ? 0 : static_cast<double>(raw_cycles) / raw_packets;
  }
};

struct EstablishedResult {
  uint32_t flows = 0;
  uint64_t candidates = 0;                   // flows offered to open that many
  std::map<std::string, uint64_t> rejected;  // why the others were not opened
  uint64_t packets_per_rep = 0;
  std::vector<double> io_cycles;        // per repetition, cycles/packet incl. I/O
  std::vector<double> pipeline_cycles;  // Pipeline::Process alone
  Meter io_total;                       // every repetition together
  Meter pipeline_total;
  // NIC-like: 4,096 mbufs in flight, each recycled one carrying the next flow's frame.
  uint32_t nic_like_in_flight = 0;
  std::vector<double> nic_like_cycles;
  Meter nic_like_total;
  StageCycles stages{};  // cycles/packet per stage (one extra pass)
  StageCycles nic_like_stages{};
  double split_rx = 0;       // one extra I/O pass, cycles/packet in
  double split_process = 0;  // rx_burst, Process, gather + tx_burst
  double split_tx = 0;
  double avg_ingress_rules = 0;  // applicable rules per NIC
  double avg_egress_rules = 0;
  uint64_t drops = 0;
  uint32_t live_after = 0;
  // Kept for figure 4: the table with the live connections and one mbuf per flow.
  std::unique_ptr<firewall::ConnTrack> conntrack;
  std::vector<rte_mbuf*> mbufs;
  std::vector<FlowSpec> opened;  // the flows as opened (initiator direction)
};
EstablishedResult MeasureEstablished(Bench& b);

struct NewConnResult {
  uint32_t per_rep = 0;
  uint32_t templates = 0;
  std::vector<double> io_cycles;        // cycles per connection incl. I/O
  std::vector<double> pipeline_cycles;  // Process alone
  Meter io_total;
  Meter pipeline_total;
  StageCycles stages{};
  uint64_t drops = 0;
  uint32_t inserted_min = 0;  // conntrack size after a repetition (the smallest)
};
NewConnResult MeasureNewConnections(Bench& b, const std::vector<FlowSpec>& opened);

struct MemoryResult {
  uint32_t capacity = 0;
  double bytes_per_entry = 0;      // ConnTrack::BytesPerEntry()
  double heap_per_connection = 0;  // DPDK heap in use after the inserts / connections
  double heap_at_create = 0;       // ... right after Create, per connection
  double insert_cycles = 0;        // ConnTrack::Insert, cycles each
  uint32_t inserted = 0;
};
MemoryResult MeasureMemory(Bench& b);

struct RuleChangeResult {
  uint32_t rules = 0;
  uint32_t nics = 0;
  std::vector<double> compile_ms;        // CompileSnapshot of the changed configuration
  std::vector<double> compile_cpu_ms;    // ... CPU time of the compiling thread
  std::vector<double> publish_ms;        // SnapshotStore::Publish (swap, grace period, free old)
  std::vector<double> published_ms;      // configuration -> Publish returned
  std::vector<double> first_packet_ms;   // configuration -> first packet under the new rule
                                         // seen leaving the worker
  std::vector<double> probe_latency_us;  // that probe: injected -> seen
  std::vector<std::string> changes;      // what was changed, per repetition
  // Where a compile's CPU time goes (medians of 3, the final configuration): all of it; the
  // same topology with the 3 baseline rules only; RuleSet::RulesFor for every NIC and both
  // directions; firewall::Classifier::Build.
  double cpu_total_ms = 0;
  double cpu_without_rules_ms = 0;
  double cpu_classifier_ms = 0;
  double probe_interval_us = 0;
  uint64_t background_packets = 0;
};
RuleChangeResult MeasureRuleChange(Bench& b, EstablishedResult& established);

// DPDK heap bytes allocated, over every socket.
size_t HeapBytes();
// Compiles or exits with the compiler's error.
std::unique_ptr<dataplane::Snapshot> CompileOrDie(const config::Config& config,
                                                  uint64_t generation);
// Validates or exits with the validator's errors: the generated configurations must be ones
// `svpc validate` accepts.
void ValidateOrDie(const config::Config& config, const char* what);

}  // namespace svpc::bench
