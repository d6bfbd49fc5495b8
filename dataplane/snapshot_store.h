#pragma once
// Publishes snapshots to workers with RCU (DPDK rte_rcu_qsbr): the control thread swaps in a
// complete new snapshot with one atomic store, then waits until every registered worker has
// reported a quiescent state (once per burst loop) before freeing the old one. Each burst sees
// one consistent configuration; workers never block. Install and Settled let the control thread
// wait for the workers without blocking (a worker descheduled or stopped must not stall the
// control thread's io_context, which serves the API).

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>

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
  // Control thread, never blocks: installs `next` and retires the previous snapshot. Returns the
  // grace period's token for Settled.
  uint64_t Install(std::unique_ptr<Snapshot> next);
  // Control thread, never blocks: true once every worker has reported a quiescent state since
  // the Install that returned `token` (no burst reads what it replaced any more). Frees the
  // retired snapshots no worker can read.
  bool Settled(uint64_t token);
  // Control thread, never blocks: frees the retired snapshots no worker can read any more.
  void Reclaim();
  // Retired snapshots not freed yet (a worker may still read them).
  size_t retired() const noexcept { return retired_.size(); }

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
  // Replaced snapshots, oldest first, with the token of the Install that replaced them.
  std::deque<std::pair<uint64_t, std::unique_ptr<Snapshot>>> retired_;
};

}  // namespace svpc::dataplane
