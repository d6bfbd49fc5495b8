#pragma once
// A worker lcore: polls its queue (its id) of every port, runs each received burst through the
// pipeline on the current snapshot, transmits on its queue, and reports a quiescent state to RCU
// once per loop. It owns its Counters, its connection table (RSS pins each flow, both
// directions, to one worker), its firewall log ring and its slice of the rule hit counters; the
// control thread only reads them.

#include <atomic>
#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/pipeline.h"
#include "dataplane/ports.h"
#include "dataplane/snapshot_store.h"

namespace svpc::dataplane {

// Sends each processed packet out of its output port (one TX burst per port) and frees the
// dropped ones and what a full queue refused (TX_FAILED). Shared with bench/.
void TransmitBurst(const PortSet& ports, rte_mbuf** pkts, const PacketMeta* meta, uint16_t count,
                   Counters& counters, uint16_t queue = 0) noexcept;

class Worker {
 public:
  // `id` is the worker's index: its RCU thread id, its queue on every port and its slice of the
  // rule hit counters. `conntrack` is this worker's connection table (it outlives snapshots);
  // `log` (nullable) receives Firewall Rules Logging events for the control thread to write.
  Worker(uint32_t id, SnapshotStore& store, const PortSet& ports, firewall::ConnTrack* conntrack,
         OnRuleChange on_rule_change, FirewallLog* log)
      : id_(id),
        store_(store),
        ports_(ports),
        conntrack_(conntrack),
        pipeline_(conntrack, on_rule_change, log, id) {}

  // VPC Flow Logs: this worker's table (nullable); idle loops emit the intervals that ended.
  void set_flow_log(FlowLog* flow_log) {
    flow_log_ = flow_log;
    pipeline_.set_flow_log(flow_log);
  }

  // Loops until `stop` is set. Returns 0.
  int Run(const std::atomic<bool>& stop) noexcept;
  const Counters& counters() const { return counters_; }
  // Live connections; read by the control thread (a relaxed snapshot of a worker-owned value).
  uint32_t live_connections() const { return live_connections_.load(std::memory_order_relaxed); }

 private:
  // Processes one received burst from port `in` and transmits what it produced.
  void HandleBurst(const Snapshot& snap, uint16_t in, rte_mbuf** pkts, uint16_t count,
                   uint64_t now_ns) noexcept;

  uint32_t id_;
  SnapshotStore& store_;
  const PortSet& ports_;
  firewall::ConnTrack* conntrack_;
  FlowLog* flow_log_ = nullptr;
  Pipeline pipeline_;
  std::atomic<uint32_t> live_connections_{0};
  Counters counters_;
};

}  // namespace svpc::dataplane
