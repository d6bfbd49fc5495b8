#pragma once
// The worker's poll loop as dataplane/worker.cc runs it (acquire the snapshot, rx burst per
// port, Pipeline::Process, gather per output port, tx burst, free what was dropped or not sent,
// sweep when idle, report a quiescent state), one iteration at a time so the benchmark can read
// the TSC around it and run the cable in between without timing it. Keep in step with
// Worker::HandleBurst / Worker::Run.
//
// Also the stage-by-stage replica of Pipeline::Process used to show where the cycles go.

#include <rte_cycles.h>

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/pipeline.h"
#include "dataplane/ports.h"
#include "dataplane/snapshot_store.h"
#include "dataplane/worker.h"
#include "firewall/conntrack.h"

namespace svpc::bench {

class EngineLoop {
 public:
  // `log` as for dataplane::Worker (nullptr: Firewall Rules Logging off, svpcd's default).
  EngineLoop(dataplane::SnapshotStore& store, const dataplane::PortSet& ports,
             firewall::ConnTrack* conntrack, dataplane::OnRuleChange on_rule_change,
             dataplane::FirewallLog* log = nullptr)
      : store_(store),
        ports_(ports),
        conntrack_(conntrack),
        pipeline_(conntrack, on_rule_change, log),
        hz_(static_cast<double>(rte_get_tsc_hz())) {}

  // One Worker::Run iteration. Returns the packets received.
  uint32_t PollOnce() noexcept { return Poll<false>(); }
  // The same with the TSC read around rx_burst, Pipeline::Process and gather + tx_burst
  // (a few reads per burst; for the breakdown only).
  struct Split {
    uint64_t rx = 0;
    uint64_t process = 0;
    uint64_t tx = 0;
    uint64_t packets = 0;
  };
  uint32_t PollOnceSplit(Split& split) noexcept {
    split_ = &split;
    return Poll<true>();
  }
  const dataplane::Counters& counters() const { return counters_; }
  uint32_t live_connections() const { return live_connections_.load(std::memory_order_relaxed); }

 private:
  template <bool kSplit>
  uint32_t Poll() noexcept;
  template <bool kSplit>
  void HandleBurst(const dataplane::Snapshot& snap, uint16_t in, rte_mbuf** pkts, uint16_t count,
                   uint64_t now_ns) noexcept;

  dataplane::SnapshotStore& store_;
  const dataplane::PortSet& ports_;
  firewall::ConnTrack* conntrack_;
  dataplane::Pipeline pipeline_;
  double hz_;
  std::atomic<uint32_t> live_connections_{0};
  dataplane::Counters counters_;
  Split* split_ = nullptr;
};

// Pipeline::Process split into its stages with the TSC read between them (for bursts without
// fragments, where Process runs the stages once over the whole burst). Sets each stage's
// cycles for this burst in `cycles`. The reads cost about 9 x 25 cycles per burst, some 7
// cycles per packet spread over the stages.
enum Stage : int {
  kStageReset,  // meta reset and rx counters
  kStageParse,
  kStageClassify,
  kStageConntrack,
  kStageEgress,
  kStageRoute,
  kStageIngress,
  kStageCommit,
  kStageRewrite,
  kStageCount,
};
const char* StageName(int stage);

class StagedPipeline {
 public:
  StagedPipeline(firewall::ConnTrack* conntrack, dataplane::OnRuleChange on_rule_change,
                 dataplane::FirewallLog* log = nullptr)
      : conntrack_(conntrack), on_rule_change_(on_rule_change), log_(log) {}
  void Process(const dataplane::Snapshot& snap, dataplane::Burst& burst,
               dataplane::Counters& counters,
               std::array<uint64_t, kStageCount>& cycles) const noexcept;

 private:
  firewall::ConnTrack* conntrack_;
  dataplane::OnRuleChange on_rule_change_;
  dataplane::FirewallLog* log_;
  dataplane::ResetStage reset_;
  dataplane::ParseStage parse_;
  dataplane::ClassifyStage classify_;
  dataplane::ConntrackStage conntrack_lookup_;
  dataplane::EgressFirewallStage egress_firewall_;
  dataplane::RouteStage route_;
  dataplane::IngressFirewallStage ingress_firewall_;
  dataplane::ConntrackCommitStage conntrack_commit_;
  dataplane::RewriteStage rewrite_;
};

}  // namespace svpc::bench
