#pragma once
// Prefix -> id on DPDK rte_fib (DIR-24-8, 4-byte next hops): the one longest-prefix lookup a
// packet pays. Addresses no prefix covers answer `default_id`.
//
// Why rte_fib and two tables: rte_lpm keeps its rules in per-depth arrays scanned linearly, so
// adding 100,000 /24s takes ~5 s on the reference machine (O(n^2)); rte_fib keeps them in an
// rte_rib trie (~36 ms). But DPDK 22.11's rte_fib has no RCU reclamation of tbl8 groups: a
// group freed by one change can be reused by the next while a reader still follows the old
// pointer. So with RCU attached, readers only ever see a table nobody writes: the writer applies
// a batch to the back table, publishes it with one atomic store, and brings the other one up to
// date after a grace period (at the next batch, when one has usually long passed).
// Without RCU there is one table, changed in place: no lookups may run during Apply.
// Capacity (rib nodes, tbl8 groups) grows by rebuilding from `for_each` (doubling).
// Memory: 64 MiB of tbl24 per table (two with RCU), plus 1 KiB per tbl8 group and ~64 B per
// rib node.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <rte_fib.h>

#include "common/net_types.h"

struct rte_rcu_qsbr;

namespace svpc::routing {

class Fib {
 public:
  struct Op {
    Prefix prefix;  // len >= 1 (the default answer is not a prefix)
    uint32_t id = 0;
    bool add = true;  // false: delete
  };
  // Calls its argument for every prefix the table must hold now (rebuilds).
  using ForEach = std::function<void(const std::function<void(const Prefix&, uint32_t)>&)>;

  // An empty table sized for about `prefixes` prefixes, `long_prefixes` of them longer than /24.
  static std::unique_ptr<Fib> Create(uint32_t prefixes, uint32_t long_prefixes, uint32_t default_id,
                                     ForEach for_each, std::string* error);
  ~Fib();
  Fib(const Fib&) = delete;
  Fib& operator=(const Fib&) = delete;

  // From now on Apply never writes a table readers may see. Readers must be registered with
  // `qsbr` and report quiescent states; call before lookups run concurrently with Apply.
  void AttachRcu(rte_rcu_qsbr* qsbr);

  uint32_t Lookup(Ipv4 addr) const noexcept {
    uint32_t ip = addr;
    uint64_t id = default_id_;
    rte_fib_lookup_bulk(live_.load(std::memory_order_acquire), &ip, &id, 1);
    return static_cast<uint32_t>(id);
  }

  // One batch (adds of absent prefixes, deletes of present ones, in order), visible to lookups
  // when it returns. `for_each` must already describe the state after the batch. False (with
  // `error`) when DPDK memory runs out: the previously published table keeps answering.
  bool Apply(std::span<const Op> ops, std::string* error);

  uint32_t rebuilds() const { return rebuilds_; }
  size_t prefix_count() const { return count_; }

 private:
  Fib() = default;
  rte_fib* NewTable(std::string* error);
  bool Fill(rte_fib* table, std::string* error);
  bool ApplyTo(rte_fib* table, std::span<const Op> ops, bool* full);
  void Grow();
  void Retire(rte_fib* table);
  void Reclaim(bool wait);

  uint32_t default_id_ = 0;
  ForEach for_each_;
  uint32_t max_routes_ = 0;
  uint32_t tbl8s_ = 0;
  size_t count_ = 0;  // prefixes after the last Apply
  rte_rcu_qsbr* qsbr_ = nullptr;
  // Readers load live_. With RCU, back_ is the other table: out of date by pending_, and read
  // by readers until back_token_ has passed. nullptr until first needed.
  std::atomic<rte_fib*> live_{nullptr};
  rte_fib* back_ = nullptr;
  std::vector<Op> pending_;
  uint64_t back_token_ = 0;
  std::vector<std::pair<uint64_t, rte_fib*>> retired_;  // freed once their token has passed
  uint32_t rebuilds_ = 0;
};

}  // namespace svpc::routing
