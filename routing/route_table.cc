#include "routing/route_table.h"

#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_memory.h>

#include <algorithm>
#include <atomic>
#include <map>

namespace svpc::routing {
namespace {

bool Intersects(std::span<const uint32_t> a, std::span<const uint32_t> b) {
  for (uint32_t x : a) {
    if (std::binary_search(b.begin(), b.end(), x)) return true;
  }
  return false;
}

std::vector<uint32_t> ApplyingTaggedRoutes(const std::vector<Route>& routes,
                                           std::span<const uint32_t> tags) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < routes.size(); ++i) {
    if (!routes[i].tags.empty() && Intersects(routes[i].tags, tags)) out.push_back(i);
  }
  return out;
}

std::atomic<uint32_t> table_serial{0};

}  // namespace

std::unique_ptr<RouteTable> RouteTable::Build(
    std::vector<Route> routes, std::vector<OwnedRange> owned,
    const std::vector<std::vector<uint32_t>>& sender_tag_sets, std::string* error) {
  std::unique_ptr<RouteTable> table(new RouteTable());
  for (Route& r : routes) std::sort(r.tags.begin(), r.tags.end());
  table->routes_ = std::move(routes);
  const auto& rts = table->routes_;

  // Views: view 0 has no tagged routes; each distinct applying set gets one more.
  table->view_keys_.push_back({});
  for (const auto& tags : sender_tag_sets) {
    std::vector<uint32_t> sorted = tags;
    std::sort(sorted.begin(), sorted.end());
    auto key = ApplyingTaggedRoutes(rts, sorted);
    if (std::find(table->view_keys_.begin(), table->view_keys_.end(), key) ==
        table->view_keys_.end()) {
      table->view_keys_.push_back(std::move(key));
    }
  }
  const uint32_t views = table->view_keys_.size();

  // Distinct prefixes, shortest first so containing prefixes are known before contained ones.
  auto less = [](const Prefix& a, const Prefix& b) {
    return a.len != b.len ? a.len < b.len : a.addr < b.addr;
  };
  std::map<Prefix, uint32_t, decltype(less)> entry_of(less);
  for (const Route& r : rts) entry_of.emplace(r.dest, 0);
  for (const OwnedRange& o : owned) entry_of.emplace(o.range, 0);
  std::vector<Prefix> entries;
  for (auto& [prefix, index] : entry_of) {
    index = entries.size();
    entries.push_back(prefix);
  }
  table->entry_owner_.assign(entries.size(), -1);
  for (const OwnedRange& o : owned) table->entry_owner_[entry_of.at(o.range)] = o.owner;

  std::vector<std::vector<uint32_t>> routes_at(entries.size());
  for (uint32_t i = 0; i < rts.size(); ++i) routes_at[entry_of.at(rts[i].dest)].push_back(i);

  // For each entry and view: the routes of the longest containing prefix that has at least one
  // applying, usable route; among them the lowest priority number, all equal ones for ECMP.
  table->groups_.assign(entries.size() * views, Group{});
  for (uint32_t e = 0; e < entries.size(); ++e) {
    for (uint32_t v = 0; v < views; ++v) {
      const auto& tagged = table->view_keys_[v];
      int best_len = -1;
      std::vector<uint32_t> chosen;
      for (uint32_t q = 0; q < entries.size(); ++q) {
        if (!entries[q].Contains(entries[e]) || int{entries[q].len} <= best_len) continue;
        std::vector<uint32_t> applying;
        for (uint32_t r : routes_at[q]) {
          bool applies = rts[r].tags.empty() || std::binary_search(tagged.begin(), tagged.end(), r);
          if (applies && rts[r].usable) applying.push_back(r);
        }
        if (applying.empty()) continue;
        best_len = entries[q].len;
        uint32_t best_priority = UINT32_MAX;
        for (uint32_t r : applying) best_priority = std::min(best_priority, rts[r].priority);
        chosen.clear();
        for (uint32_t r : applying) {
          if (rts[r].priority == best_priority) chosen.push_back(r);
        }
      }
      Group& g = table->groups_[e * views + v];
      g.first = table->group_routes_.size();
      g.count = chosen.size();
      table->group_routes_.insert(table->group_routes_.end(), chosen.begin(), chosen.end());
    }
  }

  uint32_t tbl8_needed = 1;
  for (const Prefix& p : entries) tbl8_needed += p.len > 24 ? 1 : 0;
  rte_lpm_config config{};
  config.max_rules = std::max<uint32_t>(entries.size(), 1);
  config.number_tbl8s = std::max<uint32_t>(tbl8_needed, 16);
  std::string name = "svpc_rt_" + std::to_string(table_serial.fetch_add(1));
  table->lpm_ = rte_lpm_create(name.c_str(), SOCKET_ID_ANY, &config);
  if (table->lpm_ == nullptr) {
    *error = "rte_lpm_create failed: " + std::string(rte_strerror(rte_errno)) +
             " (each route table needs 64 MiB of DPDK memory)";
    return nullptr;
  }
  for (uint32_t e = 0; e < entries.size(); ++e) {
    // rte_lpm has no depth 0: a /0 entry answers lookups that miss everything else.
    if (entries[e].len == 0) {
      table->default_entry_ = static_cast<int32_t>(e);
      continue;
    }
    if (rte_lpm_add(table->lpm_, entries[e].addr, entries[e].len, e) != 0) {
      *error = "rte_lpm_add failed for " + FormatPrefix(entries[e]);
      return nullptr;
    }
  }
  return table;
}

RouteTable::~RouteTable() {
  if (lpm_ != nullptr) rte_lpm_free(lpm_);
}

uint32_t RouteTable::ViewFor(std::span<const uint32_t> tags) const {
  std::vector<uint32_t> sorted(tags.begin(), tags.end());
  std::sort(sorted.begin(), sorted.end());
  auto key = ApplyingTaggedRoutes(routes_, sorted);
  for (uint32_t v = 0; v < view_keys_.size(); ++v) {
    if (view_keys_[v] == key) return v;
  }
  return kUntaggedView;
}

RouteTable::Result RouteTable::Lookup(uint32_t view, Ipv4 dst, uint32_t flow_hash) const noexcept {
  uint32_t entry = 0;
  if (rte_lpm_lookup(lpm_, dst, &entry) != 0) {
    if (default_entry_ < 0) return Result{};
    entry = static_cast<uint32_t>(default_entry_);
  }
  const Group& g = groups_[entry * view_keys_.size() + view];
  Result result;
  result.owner = entry_owner_[entry];
  if (g.count == 1) {
    result.route = group_routes_[g.first];
  } else if (g.count > 1) {
    result.route = group_routes_[g.first + flow_hash % g.count];
  }
  return result;
}

}  // namespace svpc::routing
