#pragma once
// Publishes snapshots to workers with RCU (DPDK rte_rcu_qsbr): the control thread swaps in a
// complete new snapshot with one atomic store, then waits until every registered worker has
// reported a quiescent state (once per burst loop) before freeing the old one. Each burst sees
// one consistent configuration; workers never block.

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/snapshot.h"

struct rte_rcu_qsbr;

namespace svpc::dataplane {

class SnapshotStore {
 public:
  explicit SnapshotStore(uint32_t max_workers);
  ~SnapshotStore();
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Control thread: installs `next`, waits for the workers, frees the previous snapshot.
  void Publish(std::unique_ptr<Snapshot> next);

  // Workers: register once (worker ids 0..max_workers-1), then per loop iteration Acquire()
  // before the burst and Quiescent() after it. Offline() before exiting.
  void RegisterWorker(uint32_t worker_id);
  const Snapshot* Acquire() const noexcept { return current_.load(std::memory_order_acquire); }
  void Quiescent(uint32_t worker_id) noexcept;
  void Offline(uint32_t worker_id) noexcept;

  bool ok() const { return qsbr_ != nullptr; }

  // Control thread only. The published snapshot, for the parts that change in place under RCU
  // (route tables: routing::RouteTable::AttachRcu with qsbr()).
  Snapshot* MutableCurrent() const noexcept { return current_.load(std::memory_order_acquire); }
  rte_rcu_qsbr* qsbr() const noexcept { return qsbr_; }

 private:
  std::atomic<Snapshot*> current_{nullptr};
  rte_rcu_qsbr* qsbr_ = nullptr;
};

}  // namespace svpc::dataplane
