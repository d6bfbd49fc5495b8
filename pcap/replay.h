#pragma once
// `svpc replay`: runs recorded traffic through the same Pipeline the daemon's workers run.
// Packets from all inputs are processed in timestamp order (ties: input argument order, then
// file order); the engine's clock is the packet timestamps. Bursts are formed as a worker would
// receive them: consecutive packets of one input port, at most kBurstSize. Output:
//   OUT_DIR/verdicts.jsonl   one object per input packet, in processing order
//   OUT_DIR/PORT.pcap        for every testbed port: exactly the frames that left it
//   OUT_DIR/counters.json    per port rx/tx, per verdict, per drop cause, per firewall rule
//   OUT_DIR/firewall.jsonl   Firewall Rules Logging records (rules with logConfig.enable)
// Cost: inputs are read whole into memory before sorting (fine for test captures; a streaming
// merge is the upgrade path for multi-GB files).

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/counters.h"
#include "dataplane/firewall_log.h"
#include "dataplane/pipeline.h"
#include "dataplane/snapshot.h"
#include "firewall/conntrack.h"

namespace svpc::pcap {

struct ReplayInput {
  std::string port;  // a testbed port name
  std::string path;  // capture file
};

// One line of the flow table `svpc replay` prints: packets that shared a flow and a fate.
struct FlowRow {
  std::string flow;  // "10.0.1.3:40000 > 10.15.2.4:80 tcp" or "arp who-has ..."
  std::string in_port;
  std::string verdict;
  std::string cause;
  std::string egress_rule;
  std::string ingress_rule;
  std::string route;
  std::string out_port;
  uint64_t packets = 0;
};

struct ReplaySummary {
  uint64_t packets = 0;
  dataplane::Counters counters;
  std::vector<FlowRow> flows;  // first-seen order
  std::vector<std::string> output_files;
};

struct ReplayOptions {
  firewall::ConnTrack::Config conntrack;
  dataplane::OnRuleChange on_rule_change = dataplane::OnRuleChange::kContinue;
};

// Needs the DPDK EAL (mbufs). Returns false with `error` on unreadable inputs, unknown port
// names or unwritable outputs; bad packets are verdicts, not errors.
bool RunReplay(const dataplane::Snapshot& snap, const std::vector<ReplayInput>& inputs,
               const std::string& out_dir, const ReplayOptions& options, ReplaySummary* summary,
               std::string* error);

// The readable table of `summary.flows`.
std::string FormatFlowTable(const ReplaySummary& summary);

}  // namespace svpc::pcap
