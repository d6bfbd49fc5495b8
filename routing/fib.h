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

  Fib() = default;
  // Makes an empty table sized for about `prefixes` prefixes, `long_prefixes` of them longer
  // than /24. Call once, before anything else.
  bool Init(uint32_t prefixes, uint32_t long_prefixes, uint32_t default_id, ForEach for_each,
            std::string* error);
  ~Fib();
  Fib(const Fib&) = delete;
  Fib& operator=(const Fib&) = delete;

  // From now on Apply never writes a table readers may see. Readers must be registered with
  // `qsbr` and report quiescent states; call before lookups run concurrently with Apply.
  void AttachRcu(rte_rcu_qsbr* qsbr);

  // As rte_lpm_lookup: the tbl24 entry, and a tbl8 entry when it is extended. Reads DIR-24-8's
  // tables directly (rte_fib has only a bulk lookup behind two calls, ~10 cycles each time);
  // the layout is checked against rte_fib_lookup_bulk when a table is made, and a table that
  // fails the check is looked up through the API.
  uint32_t Lookup(Ipv4 addr) const noexcept {
    const Table* t = live_.load(std::memory_order_acquire);
    if (t->tbl24 != nullptr) [[likely]] {
      uint32_t e = t->tbl24[addr >> 8];
      if (e & 1) e = t->tbl8[(addr & 0xff) + (e >> 1) * 256];
      return e >> 1;
    }
    uint32_t ip = addr;
    uint64_t id = default_id_;
    rte_fib_lookup_bulk(t->fib, &ip, &id, 1);
    return static_cast<uint32_t>(id);
  }

  // One batch (adds of absent prefixes, deletes of present ones, in order), visible to lookups
  // when it returns. `for_each` must already describe the state after the batch. False (with
  // `error`) when DPDK memory runs out: the previously published table keeps answering.
  bool Apply(std::span<const Op> ops, std::string* error);

  uint32_t rebuilds() const { return rebuilds_; }
  // Whether lookups read the tables directly (the layout check passed) or call rte_fib.
  bool direct() const { return live_.load(std::memory_order_relaxed)->tbl24 != nullptr; }
  size_t prefix_count() const { return count_; }

 private:
  struct Table {
    rte_fib* fib = nullptr;
    const uint32_t* tbl24 = nullptr;  // nullptr: look up through rte_fib_lookup_bulk
    const uint32_t* tbl8 = nullptr;
  };

  Table* NewTable(std::string* error);
  static void FreeTable(Table* table);
  bool Fill(Table* table, std::string* error);
  bool ApplyTo(Table* table, std::span<const Op> ops, bool* full);
  void Grow();
  void Retire(Table* table);
  void Reclaim();

  uint32_t default_id_ = 0;
  ForEach for_each_;
  uint32_t max_routes_ = 0;
  uint32_t tbl8s_ = 0;
  size_t count_ = 0;  // prefixes after the last Apply
  rte_rcu_qsbr* qsbr_ = nullptr;
  // Readers load live_. With RCU, back_ is the other table: out of date by pending_, and read
  // by readers until back_token_ has passed. nullptr until first needed.
  std::atomic<const Table*> live_{nullptr};
  Table* back_ = nullptr;
  std::vector<Op> pending_;
  uint64_t back_token_ = 0;
  std::vector<std::pair<uint64_t, Table*>> retired_;  // freed once their token has passed
  uint32_t rebuilds_ = 0;
};

}  // namespace svpc::routing
