#include "routing/fib.h"

#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_memory.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>

namespace svpc::routing {
namespace {

std::atomic<uint32_t> fib_serial{0};

constexpr uint32_t kMinRoutes = 1024;
constexpr uint32_t kMinTbl8s = 128;

}  // namespace

std::unique_ptr<Fib> Fib::Create(uint32_t prefixes, uint32_t long_prefixes, uint32_t default_id,
                                 ForEach for_each, std::string* error) {
  std::unique_ptr<Fib> fib(new Fib());
  fib->default_id_ = default_id;
  fib->for_each_ = std::move(for_each);
  fib->max_routes_ = std::max(kMinRoutes, prefixes + prefixes / 2);
  fib->tbl8s_ = std::max(kMinTbl8s, long_prefixes + long_prefixes / 2);
  rte_fib* table = fib->NewTable(error);
  if (table == nullptr) return nullptr;
  fib->live_.store(table, std::memory_order_release);
  return fib;
}

Fib::~Fib() {
  // The owner guarantees no reader remains (the snapshot holding this table is freed after a
  // grace period), so everything goes now.
  for (auto& [token, table] : retired_) rte_fib_free(table);
  rte_fib_free(back_);
  rte_fib_free(live_.load(std::memory_order_relaxed));
}

void Fib::AttachRcu(rte_rcu_qsbr* qsbr) { qsbr_ = qsbr; }

rte_fib* Fib::NewTable(std::string* error) {
  rte_fib_conf conf{};
  conf.type = RTE_FIB_DIR24_8;
  conf.default_nh = default_id_;
  conf.max_routes = static_cast<int>(max_routes_);
  conf.rib_ext_sz = 0;
  conf.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
  conf.dir24_8.num_tbl8 = tbl8s_;
  std::string name = "svpc_fib_" + std::to_string(fib_serial.fetch_add(1));
  rte_fib* table = rte_fib_create(name.c_str(), SOCKET_ID_ANY, &conf);
  if (table == nullptr) {
    *error = "rte_fib_create failed: " + std::string(rte_strerror(rte_errno)) +
             " (a route table needs 64 MiB of DPDK memory, twice with RCU)";
  }
  return table;
}

bool Fib::Fill(rte_fib* table, std::string* error) {
  bool ok = true;
  for_each_([&](const Prefix& prefix, uint32_t id) {
    if (ok && prefix.len > 0 && rte_fib_add(table, prefix.addr, prefix.len, id) != 0) ok = false;
  });
  if (!ok) *error = "rte_fib_add failed while rebuilding the FIB";
  return ok;
}

bool Fib::ApplyTo(rte_fib* table, std::span<const Op> ops, bool* full) {
  for (const Op& op : ops) {
    int rc = op.add ? rte_fib_add(table, op.prefix.addr, op.prefix.len, op.id)
                    : rte_fib_delete(table, op.prefix.addr, op.prefix.len);
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

void Fib::Retire(rte_fib* table) {
  if (table == nullptr) return;
  if (qsbr_ == nullptr) {
    rte_fib_free(table);
    return;
  }
  retired_.emplace_back(rte_rcu_qsbr_start(qsbr_), table);
}

void Fib::Reclaim(bool wait) {
  size_t done = 0;
  while (done < retired_.size() && rte_rcu_qsbr_check(qsbr_, retired_[done].first, wait) == 1) {
    rte_fib_free(retired_[done].second);
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
    rte_fib* live = live_.load(std::memory_order_relaxed);
    bool full = false;
    if (!too_small && ApplyTo(live, ops, &full)) return true;
    if (!too_small && !full) {
      *error = "rte_fib rejected a change";
      return false;
    }
    while (true) {
      Grow();
      ++rebuilds_;
      rte_fib* bigger = NewTable(error);
      if (bigger == nullptr) return false;
      if (Fill(bigger, error)) {
        live_.store(bigger, std::memory_order_release);
        rte_fib_free(live);
        return true;
      }
      rte_fib_free(bigger);
      if (max_routes_ > (1u << 26)) return false;
    }
  }

  Reclaim(false);
  rte_fib* live = live_.load(std::memory_order_relaxed);
  bool rebuilt = false;
  if (back_ != nullptr) {
    // Readers may have loaded back_ before the last publish: wait for them (usually long done).
    rte_rcu_qsbr_check(qsbr_, back_token_, true);
    bool full = false;
    if (too_small || !ApplyTo(back_, pending_, &full) || !ApplyTo(back_, ops, &full)) {
      if (!too_small && !full) {
        *error = "rte_fib rejected a change";
        return false;
      }
      rte_fib_free(back_);  // nobody reads it
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
      rte_fib_free(back_);
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
