#include "routing/fib.h"

#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_memory.h>
#include <rte_rcu_qsbr.h>
#include <sched.h>

#include <algorithm>
#include <cstddef>

namespace svpc::routing {
namespace {

std::atomic<uint32_t> fib_serial{0};

constexpr uint32_t kMinRoutes = 1024;
constexpr uint32_t kMinTbl8s = 128;

// The head of DPDK's private struct dir24_8_tbl (lib/fib/dir24_8.h, the same from DPDK 19.11
// to 24.11); tbl24 follows, cache-line aligned. Fib::Lookup reads the tables through it only
// when CheckLayout agrees with rte_fib_lookup_bulk.
struct Dir24_8Head {
  uint32_t number_tbl8s;
  uint32_t rsvd_tbl8s;
  uint32_t cur_tbl8s;
  enum rte_fib_dir24_8_nh_sz nh_sz;
  uint64_t def_nh;
  uint64_t* tbl8;
  uint64_t* tbl8_idxes;
};
constexpr size_t kTbl24Offset =
    (sizeof(Dir24_8Head) + RTE_CACHE_LINE_SIZE - 1) / RTE_CACHE_LINE_SIZE * RTE_CACHE_LINE_SIZE;

// Probes an empty table through the direct read and through the API, on a /24 (tbl24) and a
// /32 (tbl8), then removes the probes. False when they disagree or the head looks wrong.
bool CheckLayout(rte_fib* fib, uint32_t default_id, const uint32_t* tbl24, const uint32_t* tbl8) {
  const auto* head = static_cast<const Dir24_8Head*>(rte_fib_get_dp(fib));
  if (head == nullptr || head->nh_sz != RTE_FIB_DIR24_8_4B || head->def_nh != default_id) {
    return false;
  }
  const uint32_t net = (198u << 24) | (51u << 16) | (100u << 8);  // 198.51.100.0/24
  const uint32_t host = (203u << 24) | (113u << 8) | 7;           // 203.0.113.7/32
  if (rte_fib_add(fib, net, 24, 12345) != 0 || rte_fib_add(fib, host, 32, 54321) != 0) {
    rte_fib_delete(fib, net, 24);
    rte_fib_delete(fib, host, 32);
    return false;
  }
  bool same = true;
  for (uint32_t ip : {net + 9, host, host + 1, host - 1, net + 256, 0u, ~0u}) {
    uint32_t probe = ip;
    uint64_t want = default_id;
    rte_fib_lookup_bulk(fib, &probe, &want, 1);
    uint32_t e = tbl24[ip >> 8];
    if (e & 1) e = tbl8[(ip & 0xff) + (e >> 1) * 256];
    same = same && (e >> 1) == want;
  }
  rte_fib_delete(fib, net, 24);
  rte_fib_delete(fib, host, 32);
  return same;
}

}  // namespace

bool Fib::Init(uint32_t prefixes, uint32_t long_prefixes, uint32_t default_id, ForEach for_each,
               std::string* error) {
  default_id_ = default_id;
  for_each_ = std::move(for_each);
  max_routes_ = std::max(kMinRoutes, prefixes + prefixes / 2);
  tbl8s_ = std::max(kMinTbl8s, long_prefixes + long_prefixes / 2);
  Table* table = NewTable(error);
  if (table == nullptr) return false;
  live_.store(table, std::memory_order_release);
  return true;
}

Fib::~Fib() {
  // The owner guarantees no reader remains (the snapshot holding this table is freed after a
  // grace period), so everything goes now.
  for (auto& [token, table] : retired_) FreeTable(table);
  FreeTable(back_);
  FreeTable(const_cast<Table*>(live_.load(std::memory_order_relaxed)));  // nullptr before Init
}

void Fib::AttachRcu(rte_rcu_qsbr* qsbr) { qsbr_ = qsbr; }

Fib::Table* Fib::NewTable(std::string* error) {
  rte_fib_conf conf{};
  conf.type = RTE_FIB_DIR24_8;
  conf.default_nh = default_id_;
  conf.max_routes = static_cast<int>(max_routes_);
  conf.rib_ext_sz = 0;
  conf.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
  conf.dir24_8.num_tbl8 = tbl8s_;
  std::string name = "svpc_fib_" + std::to_string(fib_serial.fetch_add(1));
  rte_fib* fib = rte_fib_create(name.c_str(), SOCKET_ID_ANY, &conf);
  if (fib == nullptr) {
    *error = "rte_fib_create failed: " + std::string(rte_strerror(rte_errno)) +
             " (a route table needs 64 MiB of DPDK memory, twice with RCU)";
    return nullptr;
  }
  auto* table = new Table();
  table->fib = fib;
  const auto* head = static_cast<const Dir24_8Head*>(rte_fib_get_dp(fib));
  const auto* tbl24 =
      reinterpret_cast<const uint32_t*>(reinterpret_cast<const char*>(head) + kTbl24Offset);
  const auto* tbl8 = reinterpret_cast<const uint32_t*>(head->tbl8);
  if (CheckLayout(fib, default_id_, tbl24, tbl8)) {
    table->tbl24 = tbl24;
    table->tbl8 = tbl8;
  }
  return table;
}

void Fib::FreeTable(Table* table) {
  if (table == nullptr) return;
  rte_fib_free(table->fib);
  delete table;
}

bool Fib::Fill(Table* table, std::string* error) {
  bool ok = true;
  for_each_([&](const Prefix& prefix, uint32_t id) {
    if (ok && prefix.len > 0 && rte_fib_add(table->fib, prefix.addr, prefix.len, id) != 0) {
      ok = false;
    }
  });
  if (!ok) *error = "rte_fib_add failed while rebuilding the FIB";
  return ok;
}

bool Fib::ApplyTo(Table* table, std::span<const Op> ops, bool* full) {
  for (const Op& op : ops) {
    int rc = op.add ? rte_fib_add(table->fib, op.prefix.addr, op.prefix.len, op.id)
                    : rte_fib_delete(table->fib, op.prefix.addr, op.prefix.len);
    if (rc == -ENOSPC || rc == -ENOMEM) {
      *full = true;
      return false;
    }
    if (rc != 0) return false;
  }
  return true;
}

void Fib::Grow() {
  max_routes_ = std::max<uint32_t>(max_routes_ * 2, static_cast<uint32_t>(count_ * 2));
  tbl8s_ *= 2;
}

void Fib::Retire(Table* table) {
  if (table == nullptr) return;
  if (qsbr_ == nullptr) {
    FreeTable(table);
    return;
  }
  retired_.emplace_back(rte_rcu_qsbr_start(qsbr_), table);
}

void Fib::Reclaim() {
  size_t done = 0;
  while (done < retired_.size() && rte_rcu_qsbr_check(qsbr_, retired_[done].first, false) == 1) {
    FreeTable(retired_[done].second);
    ++done;
  }
  retired_.erase(retired_.begin(), retired_.begin() + done);
}

bool Fib::Apply(std::span<const Op> ops, std::string* error) {
  size_t count = count_;
  for (const Op& op : ops) count = op.add ? count + 1 : count - 1;
  const bool too_small = count > max_routes_;
  count_ = count;

  if (qsbr_ == nullptr) {
    // One table, changed in place.
    Table* live = const_cast<Table*>(live_.load(std::memory_order_relaxed));
    bool full = false;
    if (!too_small && ApplyTo(live, ops, &full)) return true;
    if (!too_small && !full) {
      *error = "rte_fib rejected a change";
      return false;
    }
    while (true) {
      Grow();
      ++rebuilds_;
      Table* bigger = NewTable(error);
      if (bigger == nullptr) return false;
      if (Fill(bigger, error)) {
        live_.store(bigger, std::memory_order_release);
        FreeTable(live);
        return true;
      }
      FreeTable(bigger);
      if (max_routes_ > (1u << 26)) return false;
    }
  }

  Reclaim();
  Table* live = const_cast<Table*>(live_.load(std::memory_order_relaxed));
  bool rebuilt = false;
  if (back_ != nullptr) {
    // Readers may have loaded back_ before the last publish: wait for them (usually long done).
    // Yield rather than spin: on a shared core the readers need it to get there.
    while (rte_rcu_qsbr_check(qsbr_, back_token_, false) != 1) sched_yield();
    bool full = false;
    if (too_small || !ApplyTo(back_, pending_, &full) || !ApplyTo(back_, ops, &full)) {
      if (!too_small && !full) {
        *error = "rte_fib rejected a change";
        return false;
      }
      FreeTable(back_);  // nobody reads it
      back_ = nullptr;
      Grow();
      rebuilt = true;
      ++rebuilds_;
    }
  } else if (too_small) {
    Grow();
    rebuilt = true;
    ++rebuilds_;
  }
  if (back_ == nullptr) {
    // Build the other table from the current state (first batch after AttachRcu, or growth).
    while (true) {
      back_ = NewTable(error);
      if (back_ == nullptr) return false;
      if (Fill(back_, error)) break;
      FreeTable(back_);
      back_ = nullptr;
      if (max_routes_ > (1u << 26)) return false;
      Grow();
      rebuilt = true;
      ++rebuilds_;
    }
  }
  live_.store(back_, std::memory_order_release);
  if (rebuilt) {
    // The old live table is too small: retire it; the next batch builds a new back table.
    Retire(live);
    back_ = nullptr;
    pending_.clear();
  } else {
    back_ = live;
    pending_.assign(ops.begin(), ops.end());
    back_token_ = rte_rcu_qsbr_start(qsbr_);
  }
  return true;
}

}  // namespace svpc::routing
