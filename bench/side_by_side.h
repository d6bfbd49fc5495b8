#pragma once
// `svpc bench`: the engine next to dpdk-testpmd on the same traffic, in one run (see
// bench/README.md, "svpc bench"). Builds the synthetic Shared VPC at the chosen scale and a
// traffic mix, writes the traffic into one pcap per testbed port (and queue), runs the real
// dataplane::Worker on one lcore (or N, one queue each) reading those files in an in-memory loop
// (net_pcap, infinite_rx=1, transmitted packets dropped by net_pcap), then dpdk-testpmd in io
// forwarding on identical devices, and compares the two receive rates.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace svpc::bench {

struct SideBySideOptions {
  uint32_t rules = 1000;        // VPC firewall rules, the 3 baseline rules included
  uint32_t routes = 10'000;     // static routes, the internet and on-prem /16 included
  uint32_t dynamic_routes = 0;  // learned from the on-prem Cloud Router, on top of `routes`
  uint32_t flows = 100'000;     // distinct connections in the loop, one packet each
  double new_share = 0;         // share of flows not opened beforehand (0..1)
  double denied_share = 0;      // share of flows the rules deny (0..1)
  uint32_t packet_size = 64;    // bytes per frame, FCS excluded
  double seconds = 5;           // measured, per side
  double warmup_s = 1;          // per side, before the measured window
  uint32_t workers = 1;         // engine worker lcores
  uint64_t seed = 1;
  std::string testpmd = "dpdk-testpmd";
  std::string out_dir;    // where the pcaps go; empty: a temporary directory, removed
  bool progress = false;  // progress lines on stderr (a terminal)
};

struct SideBySideResult {
  // Scale actually run.
  uint32_t rules = 0, static_routes = 0, dynamic_routes = 0;
  uint32_t flows = 0, established_flows = 0, new_flows = 0, denied_flows = 0;
  uint32_t packet_size = 0, workers = 0, ports = 0;
  std::vector<uint32_t> packets_per_port;  // in each port's pcap
  uint64_t flow_candidates = 0;            // random flows generated to find this mix
  uint32_t conntrack_capacity = 0;
  uint32_t conntrack_live_start = 0, conntrack_live_end = 0;
  // Engine side, over the measured window.
  double seconds = 0;
  uint64_t packets = 0;     // received, all ports (ethdev ipackets)
  uint64_t tx_packets = 0;  // transmitted, all ports (ethdev opackets)
  double mpps = 0;
  double cycles_per_packet = 0;           // TSC cycles of the window / packets
  double cpu_cycles_per_packet = 0;       // the worker thread's CPU time (in TSC cycles) / packets
  double worker_cpu_share = 0;            // worker thread CPU time / wall time
  std::map<std::string, uint64_t> drops;  // by cause, non-zero ones
  std::map<std::string, uint64_t> verdicts;  // by verdict
  // testpmd side.
  double testpmd_mpps = 0;
  uint64_t testpmd_packets = 0;
  double testpmd_seconds = 0;
  double testpmd_cpu_cycles_per_packet = 0;
  double testpmd_worker_cpu_share = 0;
  std::string testpmd_command;
  double ratio = 0;      // mpps / testpmd_mpps
  double cpu_ratio = 0;  // testpmd_cpu_cycles_per_packet / cpu_cycles_per_packet
  double tsc_hz = 0;
  std::string load_average_start, load_average_end;
  std::string eal_args;
};

// Returns false with `error` (a sentence for the user) when the run cannot be done.
bool RunSideBySide(const SideBySideOptions& options, SideBySideResult& result, std::string* error);

}  // namespace svpc::bench
