#include "dataplane/snapshot_store.h"

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace svpc::dataplane {

SnapshotStore::SnapshotStore(uint32_t max_workers) {
  size_t size = rte_rcu_qsbr_get_memsize(max_workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("svpc_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (qsbr_ != nullptr && rte_rcu_qsbr_init(qsbr_, max_workers) != 0) {
    rte_free(qsbr_);
    qsbr_ = nullptr;
  }
}

SnapshotStore::~SnapshotStore() {
  retired_.clear();  // the workers have stopped
  delete current_.exchange(nullptr);
  if (qsbr_ != nullptr) rte_free(qsbr_);
}

void SnapshotStore::Publish(std::unique_ptr<Snapshot> next) {
  const uint64_t token = Install(std::move(next));
  // Blocks until every online worker has passed a quiescent state after the store.
  rte_rcu_qsbr_check(qsbr_, token, true);
  Reclaim();
}

uint64_t SnapshotStore::Install(std::unique_ptr<Snapshot> next) {
  std::unique_ptr<Snapshot> old(current_.exchange(next.release(), std::memory_order_acq_rel));
  // After the store: a worker quiescent since then no longer reads `old`.
  const uint64_t token = rte_rcu_qsbr_start(qsbr_);
  if (old != nullptr) retired_.emplace_back(token, std::move(old));
  return token;
}

bool SnapshotStore::Settled(uint64_t token) {
  Reclaim();
  return rte_rcu_qsbr_check(qsbr_, token, false) == 1;
}

void SnapshotStore::Reclaim() {
  while (!retired_.empty() && rte_rcu_qsbr_check(qsbr_, retired_.front().first, false) == 1) {
    retired_.pop_front();
  }
}

void SnapshotStore::RegisterWorker(uint32_t worker_id) {
  rte_rcu_qsbr_thread_register(qsbr_, worker_id);
  rte_rcu_qsbr_thread_online(qsbr_, worker_id);
}

void SnapshotStore::Quiescent(uint32_t worker_id) noexcept {
  rte_rcu_qsbr_quiescent(qsbr_, worker_id);
}

void SnapshotStore::Offline(uint32_t worker_id) noexcept {
  rte_rcu_qsbr_thread_offline(qsbr_, worker_id);
  rte_rcu_qsbr_thread_unregister(qsbr_, worker_id);
}

}  // namespace svpc::dataplane
