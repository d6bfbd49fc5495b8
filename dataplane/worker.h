#pragma once
// A worker lcore: polls every port, runs each received burst through the pipeline on the
// current snapshot, transmits, and reports a quiescent state to RCU once per loop.
// It owns its Counters; the control thread only reads them.

#include <atomic>
#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/pipeline.h"
#include "dataplane/ports.h"
#include "dataplane/snapshot_store.h"

namespace svpc::dataplane {

class Worker {
 public:
  Worker(uint32_t id, SnapshotStore& store, const PortSet& ports)
      : id_(id), store_(store), ports_(ports) {}

  // Loops until `stop` is set. Returns 0.
  int Run(const std::atomic<bool>& stop) noexcept;
  const Counters& counters() const { return counters_; }

 private:
  // Processes one received burst from port `in` and transmits what it produced.
  void HandleBurst(const Snapshot& snap, uint16_t in, rte_mbuf** pkts, uint16_t count,
                   uint64_t now_ns) noexcept;

  uint32_t id_;
  SnapshotStore& store_;
  const PortSet& ports_;
  Pipeline pipeline_;
  Counters counters_;
};

}  // namespace svpc::dataplane
