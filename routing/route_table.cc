#include "routing/route_table.h"

#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <new>
#include <tuple>

namespace svpc::routing {

// The writer's form of a selection: per slot of `dim`, the selected route ids (ECMP order).
struct RouteTable::Selection {
  uint8_t dim = kUniform;
  std::vector<std::vector<int32_t>> groups = std::vector<std::vector<int32_t>>(1);
};

struct RouteTable::Batch {
  std::vector<uint32_t> dirty;     // entries whose own routes may have changed
  std::vector<uint32_t> narrowed;  // entries that stopped answering for some view
  std::vector<Retired> retire;     // unreachable once the batch is published
  std::vector<Fib::Op> fib_ops;
};

namespace {

constexpr uint64_t kNoRouteWord = (uint64_t{UINT32_MAX} << 1) | RouteTable::kUniformBit;

uint64_t UniformVia(uint32_t entry) { return (uint64_t{entry} << 1) | RouteTable::kUniformBit; }
uint64_t SingleRoute(int32_t id) {
  return (uint64_t{static_cast<uint32_t>(id)} << 1) | RouteTable::kUniformBit;
}

void Compress(std::vector<std::vector<int32_t>>& groups, uint8_t& dim) {
  if (groups.size() > 1 &&
      std::all_of(groups.begin(), groups.end(), [&](const auto& g) { return g == groups[0]; })) {
    groups.resize(1);
    dim = 0;
  }
}

bool Intersects(std::span<const uint32_t> a, std::span<const uint32_t> b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) return true;
    if (*i < *j) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

Prefix Masked(Ipv4 addr, uint8_t len) { return Prefix{addr & Prefix::MaskOf(len), len}; }

bool SameRoute(const Route& a, const Route& b) {
  return a.name == b.name && a.dest == b.dest && a.priority == b.priority && a.tags == b.tags &&
         a.next_hop == b.next_hop && a.target == b.target && a.usable == b.usable &&
         a.kind == b.kind && a.hop_kind == b.hop_kind && a.next_hop_name == b.next_hop_name &&
         a.inactive_reason == b.inactive_reason && a.router == b.router && a.peer == b.peer &&
         a.region == b.region;
}

void Normalize(Route& r) {
  r.dest.addr &= r.dest.Mask();
  std::sort(r.tags.begin(), r.tags.end());
  r.tags.erase(std::unique(r.tags.begin(), r.tags.end()), r.tags.end());
  if (r.next_hop == NextHopType::kSubnet) {
    r.kind = RouteKind::kSubnet;
    r.hop_kind = NextHopKind::kNetwork;
  }
}

}  // namespace

std::string DynamicRouteName(std::string_view router, std::string_view peer) {
  return std::string(router) + "/" + std::string(peer);
}

// ---- Building --------------------------------------------------------------------------------

std::unique_ptr<RouteTable> RouteTable::Build(std::vector<Route> routes,
                                              std::vector<OwnedRange> owned,
                                              const std::vector<Sender>& senders,
                                              const RouteTableOptions& options,
                                              std::string* error) {
  std::unique_ptr<RouteTable> table(new RouteTable());
  RouteTable& t = *table;
  t.options_ = options;

  // Views: 0 for senders that are not instances, then one per distinct (region, tags).
  t.views_.push_back(View{});
  t.view_index_[{kNoRegion, {}}] = 0;
  for (const Sender& s : senders) {
    View v{s.region, s.tags};
    std::sort(v.tags.begin(), v.tags.end());
    v.tags.erase(std::unique(v.tags.begin(), v.tags.end()), v.tags.end());
    auto [it, added] = t.view_index_.try_emplace({v.region, v.tags}, t.views_.size());
    if (added) t.views_.push_back(std::move(v));
  }
  const uint32_t views = t.views_.size();
  std::map<uint32_t, uint32_t> region_slot;
  for (uint32_t v = 0; v < views; ++v) {
    auto [it, added] = region_slot.try_emplace(t.views_[v].region, t.region_rep_.size());
    if (added) t.region_rep_.push_back(v);
    t.region_of_view_.push_back(it->second);
  }

  uint32_t long_prefixes = 0;
  for (const Route& r : routes) long_prefixes += r.dest.len > 24 ? 1 : 0;
  for (const OwnedRange& o : owned) long_prefixes += o.range.len > 24 ? 1 : 0;
  RouteTable* self = table.get();
  const bool fib_ok = t.fib_.Init(
      static_cast<uint32_t>(routes.size() + owned.size()), long_prefixes, 0,
      [self](const std::function<void(const Prefix&, uint32_t)>& fn) {
        for (const auto& [key, id] : self->ordered_) fn(self->meta_[id].prefix, id);
      },
      error);
  if (!fib_ok) return nullptr;

  // The root entry 0.0.0.0/0: what addresses no other entry covers resolve to (the FIB's
  // default). Its via is always itself; an empty selection there is "no route".
  t.entries_.Reserve(1);
  t.meta_.emplace_back();
  t.meta_[0].prefix = Prefix{0, 0};
  t.meta_[0].live = true;
  t.entry_by_key_[Key(t.meta_[0].prefix)] = 0;
  t.ordered_[Key(t.meta_[0].prefix)] = 0;
  t.len_count_[0] = 1;
  t.meta_[0].truth = kNoRouteWord;
  t.entries_[0].own.store(kNoRouteWord, std::memory_order_release);
  t.entries_[0].via.store(UniformVia(0), std::memory_order_release);

  Batch batch;
  t.BeginBatch(batch);
  for (const OwnedRange& o : owned) {
    Prefix p = Masked(o.range.addr, o.range.len);
    uint32_t e = t.FindEntry(p);
    if (e == UINT32_MAX && !t.CreateEntry(p, batch, &e, error)) return nullptr;
    t.entries_[e].owner = static_cast<int32_t>(o.owner);
    t.meta_[e].owned = true;
    t.MarkDirty(e, batch);
  }
  for (const Route& r : routes) {
    int32_t id;
    if (!t.AddRoute(r, batch, &id, error)) return nullptr;
  }
  if (!t.Commit(batch, error)) return nullptr;
  return table;
}

std::unique_ptr<RouteTable> RouteTable::Build(
    std::vector<Route> routes, std::vector<OwnedRange> owned,
    const std::vector<std::vector<uint32_t>>& sender_tag_sets, std::string* error) {
  std::vector<Sender> senders;
  for (const auto& tags : sender_tag_sets) senders.push_back(Sender{tags, kNoRegion});
  return Build(std::move(routes), std::move(owned), senders, RouteTableOptions{}, error);
}

RouteTable::~RouteTable() {
  // No reader remains (the owner frees the table after a grace period).
  for (auto& [token, list] : retired_) {
    for (const Retired& r : list) Free(r);
  }
  for (uint32_t e = 0; e < meta_.size(); ++e) {
    EntrySlot& slot = entries_[e];
    FreeOwn(slot.own.load(std::memory_order_relaxed));
    FreeOwn(meta_[e].truth);
    uint64_t via = slot.via.load(std::memory_order_relaxed);
    if (via != 0 && (via & kUniformBit) == 0) ::operator delete(reinterpret_cast<Via*>(via));
  }
}

void RouteTable::AttachRcu(rte_rcu_qsbr* qsbr) {
  qsbr_ = qsbr;
  fib_.AttachRcu(qsbr);
}

uint32_t RouteTable::ViewFor(std::span<const uint32_t> tags, uint32_t region) const {
  std::vector<uint32_t> sorted(tags.begin(), tags.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  auto it = view_index_.find({region, sorted});
  if (it != view_index_.end()) return it->second;
  it = view_index_.find({region, {}});
  return it != view_index_.end() ? it->second : kUntaggedView;
}

uint32_t RouteTable::fib_rebuilds() const { return fib_.rebuilds(); }

// ---- Lookup ----------------------------------------------------------------------------------

// Lookup is inline, in route_table.h.

// ---- Views and selections --------------------------------------------------------------------

uint32_t RouteTable::SlotCount(uint8_t dim) const {
  return dim == kUniform ? 1 : dim == kPerRegion ? region_rep_.size() : views_.size();
}

uint32_t RouteTable::RepView(uint8_t dim, uint32_t slot) const {
  return dim == kUniform ? 0 : dim == kPerRegion ? region_rep_[slot] : slot;
}

uint32_t RouteTable::SlotOf(uint8_t dim, uint32_t view) const {
  return dim == kUniform ? 0 : dim == kPerRegion ? region_of_view_[view] : view;
}

bool RouteTable::Applies(const Route& r, const View& v) const {
  if (!r.tags.empty() && !Intersects(r.tags, v.tags)) return false;
  if (r.kind == RouteKind::kDynamic && options_.mode == RoutingMode::kRegional &&
      v.region != kNoRegion && r.region != v.region) {
    return false;
  }
  return true;
}

uint32_t RouteTable::EffectivePriority(const Route& r, const View& v) const {
  if (r.kind == RouteKind::kDynamic && options_.mode == RoutingMode::kGlobal &&
      v.region != kNoRegion && r.region != v.region) {
    return r.priority + kInterRegionCost;
  }
  return r.priority;
}

RouteTable::Selection RouteTable::Select(uint32_t entry) const {
  const EntryMeta& m = meta_[entry];
  Selection out;
  std::vector<int32_t> candidates;
  for (int32_t id : m.routes) {
    const RouteSlot& slot = routes_[id];
    if (!slot.route.usable || slot.suppressed) continue;
    candidates.push_back(id);
    if (!slot.route.tags.empty()) {
      out.dim = kPerView;
    } else if (slot.route.kind == RouteKind::kDynamic && out.dim == kUniform) {
      out.dim = kPerRegion;
    }
  }
  // ECMP members in a canonical order (not ids, which depend on history), so equal tables
  // spread equal hashes the same way.
  auto canonical = [this](int32_t a, int32_t b) {
    const Route& x = routes_[a].route;
    const Route& y = routes_[b].route;
    return std::tie(x.name, x.router, x.peer, x.next_hop, x.target, a) <
           std::tie(y.name, y.router, y.peer, y.next_hop, y.target, b);
  };
  out.groups.assign(SlotCount(out.dim), {});
  for (uint32_t s = 0; s < out.groups.size(); ++s) {
    const View& v = views_[RepView(out.dim, s)];
    uint32_t best = UINT32_MAX;
    std::vector<int32_t>& selected = out.groups[s];
    for (int32_t id : candidates) {
      const Route& r = routes_[id].route;
      if (!Applies(r, v)) continue;
      uint32_t priority = EffectivePriority(r, v);
      if (priority < best) {
        best = priority;
        selected.clear();
      }
      if (priority == best) selected.push_back(id);
    }
    if (selected.size() > 1) std::sort(selected.begin(), selected.end(), canonical);
  }
  Compress(out.groups, out.dim);
  return out;
}

// What readers arriving at the entry must find: the true group for every view it answers for;
// with `keep`, the published group for every other view (readers that loaded a via before this
// batch may still arrive for them); otherwise those views are unreachable and filled so that the
// selection is as uniform as possible (one slot, often one route read from the entry slot).
RouteTable::Selection RouteTable::Published(const Selection& truth, uint64_t published,
                                            bool keep) const {
  Selection out;
  if (keep) {
    out.dim = std::max(truth.dim, OwnDim(published));
    out.groups.assign(SlotCount(out.dim), {});
    for (uint32_t s = 0; s < out.groups.size(); ++s) {
      const uint32_t v = RepView(out.dim, s);
      const auto& group = truth.groups[SlotOf(truth.dim, v)];
      if (!group.empty()) {
        out.groups[s] = group;
      } else {
        GroupRef kept = GroupOf(published, v);
        out.groups[s].assign(kept.begin(), kept.end());
      }
    }
    Compress(out.groups, out.dim);
    return out;
  }
  const std::vector<int32_t>* only = nullptr;
  for (const auto& group : truth.groups) {
    if (group.empty()) continue;
    if (only != nullptr && *only != group) return truth;
    only = &group;
  }
  if (only != nullptr) out.groups[0] = *only;
  return out;
}

uint64_t RouteTable::Encode(const Selection& s) const {
  if (s.dim == kUniform && s.groups[0].size() <= 1) {
    return s.groups[0].empty() ? kNoRouteWord : SingleRoute(s.groups[0][0]);
  }
  const uint32_t slots = s.groups.size();
  // Equal groups share their ids.
  std::vector<uint32_t> same_as(slots);
  size_t id_count = 0;
  for (uint32_t i = 0; i < slots; ++i) {
    same_as[i] = i;
    for (uint32_t j = 0; j < i; ++j) {
      if (same_as[j] == j && s.groups[j] == s.groups[i]) {
        same_as[i] = j;
        break;
      }
    }
    if (same_as[i] == i) id_count += s.groups[i].size();
  }
  void* memory = ::operator new(sizeof(Own) + slots * sizeof(Group) + id_count * sizeof(int32_t));
  Own* own = static_cast<Own*>(memory);
  Group* groups = reinterpret_cast<Group*>(own + 1);
  int32_t* ids = reinterpret_cast<int32_t*>(groups + slots);
  uint32_t next = 0;
  for (uint32_t i = 0; i < slots; ++i) {
    if (same_as[i] == i) {
      groups[i] = Group{next, static_cast<uint32_t>(s.groups[i].size())};
      std::copy(s.groups[i].begin(), s.groups[i].end(), ids + next);
      next += s.groups[i].size();
    } else {
      groups[i] = groups[same_as[i]];
    }
  }
  own->dim = s.dim;
  own->slots = slots;
  own->groups = groups;
  own->ids = ids;
  return reinterpret_cast<uint64_t>(own);
}

bool RouteTable::Matches(const Selection& s, uint64_t word) const {
  if (word == 0) return false;
  if (OwnDim(word) != s.dim) return false;
  for (uint32_t slot = 0; slot < s.groups.size(); ++slot) {
    GroupRef group = GroupOf(word, RepView(s.dim, slot));
    if (!std::equal(group.begin(), group.end(), s.groups[slot].begin(), s.groups[slot].end())) {
      return false;
    }
  }
  return true;
}

RouteTable::GroupRef RouteTable::GroupOf(uint64_t word, uint32_t view) const {
  GroupRef ref;
  if (word == 0 || word == kNoRouteWord) return ref;
  if (word & kUniformBit) {
    ref.count = 1;
    ref.single = static_cast<int32_t>(static_cast<uint32_t>(word >> 1));
    return ref;
  }
  const Own* own = reinterpret_cast<const Own*>(word);
  const Group& g = own->groups[SlotOf(own->dim, view)];
  ref.ids = own->ids + g.first;
  ref.count = g.count;
  return ref;
}

bool RouteTable::WordApplies(uint64_t word, uint32_t view) const {
  return !GroupOf(word, view).empty();
}

uint8_t RouteTable::OwnDim(uint64_t word) {
  return (word == 0 || (word & kUniformBit)) ? uint8_t{kUniform}
                                             : reinterpret_cast<const Own*>(word)->dim;
}

void RouteTable::FreeOwn(uint64_t word) {
  if (word != 0 && (word & kUniformBit) == 0) ::operator delete(reinterpret_cast<Own*>(word));
}

uint8_t RouteTable::ViaDim(uint64_t word) {
  return (word & kUniformBit) ? uint8_t{kUniform} : reinterpret_cast<const Via*>(word)->dim;
}

uint64_t RouteTable::ComputeVia(uint32_t entry, uint64_t truth, uint64_t parent_via) const {
  if (entry == 0) return UniformVia(0);
  const uint8_t dim = std::max(OwnDim(truth), ViaDim(parent_via));
  const uint32_t slots = SlotCount(dim);
  std::vector<uint32_t> to(slots);
  bool uniform = true;
  for (uint32_t s = 0; s < slots; ++s) {
    const uint32_t v = RepView(dim, s);
    if (WordApplies(truth, v)) {
      to[s] = entry;
    } else if (parent_via & kUniformBit) {
      to[s] = static_cast<uint32_t>(parent_via >> 1);
    } else {
      const Via* p = reinterpret_cast<const Via*>(parent_via);
      to[s] = p->to[SlotOf(p->dim, v)];
    }
    uniform = uniform && to[s] == to[0];
  }
  if (uniform) return UniformVia(to[0]);
  void* memory = ::operator new(sizeof(Via) + (slots - 1) * sizeof(uint32_t));
  Via* via = static_cast<Via*>(memory);
  via->dim = dim;
  via->slots = slots;
  std::copy(to.begin(), to.end(), via->to);
  return reinterpret_cast<uint64_t>(via);
}

bool RouteTable::SameVia(uint64_t a, uint64_t b) {
  if (a == b) return true;
  if (a == 0 || b == 0 || (a & kUniformBit) || (b & kUniformBit)) return false;
  const Via* x = reinterpret_cast<const Via*>(a);
  const Via* y = reinterpret_cast<const Via*>(b);
  return x->dim == y->dim && x->slots == y->slots && std::equal(x->to, x->to + x->slots, y->to);
}

// ---- Entries ---------------------------------------------------------------------------------

uint32_t RouteTable::FindEntry(const Prefix& p) const {
  auto it = entry_by_key_.find(Key(p));
  return it == entry_by_key_.end() ? UINT32_MAX : it->second;
}

uint32_t RouteTable::ParentEntry(const Prefix& p) const {
  for (int len = int{p.len} - 1; len >= 0; --len) {
    if (len_count_[len] == 0) continue;
    uint32_t e = FindEntry(Masked(p.addr, static_cast<uint8_t>(len)));
    if (e != UINT32_MAX) return e;
  }
  return 0;
}

bool RouteTable::CreateEntry(const Prefix& p, Batch& batch, uint32_t* id, std::string* error) {
  uint32_t e;
  if (!free_entries_.empty()) {
    e = free_entries_.back();
    free_entries_.pop_back();
  } else {
    e = static_cast<uint32_t>(meta_.size());
    if (!entries_.Reserve(uint64_t{e} + 1)) {
      *error = "route table full (" + std::to_string(e) + " prefixes)";
      return false;
    }
    meta_.emplace_back();
  }
  EntryMeta& m = meta_[e];
  m = EntryMeta{};
  m.prefix = p;
  m.live = true;
  m.created = true;
  // Owned ranges are all known at Build (created first): a later prefix inside one inherits it.
  entries_[e].owner = entries_[ParentEntry(p)].owner;
  entry_by_key_[Key(p)] = e;
  ordered_[Key(p)] = e;
  ++len_count_[p.len];
  MarkDirty(e, batch);
  *id = e;
  return true;
}

void RouteTable::MarkDirty(uint32_t entry, Batch& batch) {
  if (meta_[entry].dirty_mark == batch_mark_) return;
  meta_[entry].dirty_mark = batch_mark_;
  batch.dirty.push_back(entry);
}

// ---- Routes ----------------------------------------------------------------------------------

std::string RouteTable::PeerKey(std::string_view router, std::string_view peer) {
  std::string key(router);
  key += '\x1f';
  key += peer;
  return key;
}

const Prefix* RouteTable::ContainingSubnet(const Prefix& dest, Prefix* out) const {
  for (int len = dest.len; len >= 0; --len) {
    if (subnet_len_count_[len] == 0) continue;
    Prefix p = Masked(dest.addr, static_cast<uint8_t>(len));
    if (subnet_ranges_.contains(Key(p))) {
      *out = p;
      return out;
    }
  }
  return nullptr;
}

void RouteTable::Resuppress(const Prefix& range, Batch& batch) {
  for (auto it = ordered_.lower_bound(Key(range));
       it != ordered_.end() && (it->first >> 6) <= range.Last(); ++it) {
    uint32_t e = it->second;
    bool changed = false;
    for (int32_t id : meta_[e].routes) {
      RouteSlot& slot = routes_[id];
      if (slot.route.kind == RouteKind::kSubnet) continue;
      Prefix subnet;
      bool suppressed = ContainingSubnet(slot.route.dest, &subnet) != nullptr;
      if (suppressed != slot.suppressed) {
        slot.suppressed = suppressed;
        changed = true;
      }
    }
    if (changed) MarkDirty(e, batch);
  }
}

bool RouteTable::AddRoute(const Route& input, Batch& batch, int32_t* id, std::string* error) {
  Route r = input;
  Normalize(r);
  std::string peer_key;
  if (r.kind == RouteKind::kDynamic) {
    peer_key = PeerKey(r.router, r.peer);
    auto peer = dynamic_.find(peer_key);
    if (peer != dynamic_.end()) {
      auto old = peer->second.find(Key(r.dest));
      if (old != peer->second.end()) RemoveRoute(old->second, batch);
    }
  }
  uint32_t e = FindEntry(r.dest);
  if (e == UINT32_MAX && !CreateEntry(r.dest, batch, &e, error)) return false;
  int32_t rid;
  if (!free_routes_.empty()) {
    rid = free_routes_.back();
    free_routes_.pop_back();
  } else {
    if (!routes_.Reserve(uint64_t{route_high_} + 1)) {
      *error = "route table full (" + std::to_string(route_high_) + " routes)";
      return false;
    }
    rid = static_cast<int32_t>(route_high_++);
  }
  RouteSlot& slot = routes_[rid];
  slot.route = std::move(r);
  slot.live = true;
  slot.entry = e;
  slot.suppressed = false;
  const Route& route = slot.route;
  if (route.kind == RouteKind::kSubnet) {
    if (subnet_ranges_[Key(route.dest)]++ == 0) {
      ++subnet_len_count_[route.dest.len];
      Resuppress(route.dest, batch);
    }
  } else {
    Prefix subnet;
    slot.suppressed = ContainingSubnet(route.dest, &subnet) != nullptr;
  }
  if (route.kind == RouteKind::kDynamic) dynamic_[peer_key][Key(route.dest)] = rid;
  meta_[e].routes.push_back(rid);
  MarkDirty(e, batch);
  ++live_routes_;
  *id = rid;
  return true;
}

void RouteTable::RemoveRoute(int32_t id, Batch& batch) {
  RouteSlot& slot = routes_[id];
  if (!slot.live) return;
  slot.live = false;
  const Route& route = slot.route;
  std::vector<int32_t>& at = meta_[slot.entry].routes;
  at.erase(std::find(at.begin(), at.end(), id));
  if (route.kind == RouteKind::kDynamic) {
    auto peer = dynamic_.find(PeerKey(route.router, route.peer));
    if (peer != dynamic_.end()) {
      auto it = peer->second.find(Key(route.dest));
      if (it != peer->second.end() && it->second == id) peer->second.erase(it);
      if (peer->second.empty()) dynamic_.erase(peer);
    }
  } else if (route.kind == RouteKind::kSubnet) {
    auto it = subnet_ranges_.find(Key(route.dest));
    if (--it->second == 0) {
      subnet_ranges_.erase(it);
      --subnet_len_count_[route.dest.len];
      Resuppress(route.dest, batch);
    }
  }
  MarkDirty(slot.entry, batch);
  batch.retire.push_back(Retired{Retired::kRoute, static_cast<uint64_t>(id)});
  --live_routes_;
}

bool RouteTable::AddRoutes(std::span<const Route> routes, std::vector<int32_t>* ids,
                           std::string* error) {
  if (route_high_ + routes.size() > decltype(routes_)::kCapacity ||
      meta_.size() + routes.size() > decltype(entries_)::kCapacity) {
    *error = "route table full";
    return false;
  }
  Batch batch;
  BeginBatch(batch);
  if (ids != nullptr) ids->clear();
  for (const Route& r : routes) {
    int32_t id = -1;
    if (!AddRoute(r, batch, &id, error)) break;  // capacity checked above: not reached
    if (ids != nullptr) ids->push_back(id);
  }
  return Commit(batch, error);
}

bool RouteTable::RemoveRoutes(std::span<const int32_t> ids, std::string* error) {
  for (int32_t id : ids) {
    if (id < 0 || static_cast<uint32_t>(id) >= route_high_ || !routes_[id].live) {
      *error = "no route with id " + std::to_string(id);
      return false;
    }
  }
  Batch batch;
  BeginBatch(batch);
  for (int32_t id : ids) RemoveRoute(id, batch);
  return Commit(batch, error);
}

bool RouteTable::SetRoutesUsable(std::span<const int32_t> ids, bool usable, std::string* error) {
  for (int32_t id : ids) {
    if (id < 0 || static_cast<uint32_t>(id) >= route_high_ || !routes_[id].live) {
      *error = "no route with id " + std::to_string(id);
      return false;
    }
  }
  Batch batch;
  BeginBatch(batch);
  for (int32_t id : ids) {
    RouteSlot& slot = routes_[id];
    if (slot.route.usable == usable) continue;
    slot.route.usable = usable;
    MarkDirty(slot.entry, batch);
  }
  return Commit(batch, error);
}

bool RouteTable::WithdrawDynamicRoutes(std::string_view router, std::string_view peer,
                                       std::span<const Prefix> dests, std::string* error) {
  Batch batch;
  BeginBatch(batch);
  auto found = dynamic_.find(PeerKey(router, peer));
  if (found != dynamic_.end()) {
    for (const Prefix& d : dests) {
      auto peer_routes = dynamic_.find(PeerKey(router, peer));  // erased when emptied
      if (peer_routes == dynamic_.end()) break;
      auto it = peer_routes->second.find(Key(Masked(d.addr, d.len)));
      if (it != peer_routes->second.end()) RemoveRoute(it->second, batch);
    }
  }
  return Commit(batch, error);
}

bool RouteTable::RemovePeerRoutes(std::string_view router, std::string_view peer,
                                  std::string* error) {
  Batch batch;
  BeginBatch(batch);
  auto found = dynamic_.find(PeerKey(router, peer));
  if (found != dynamic_.end()) {
    std::vector<int32_t> ids;
    for (const auto& [key, id] : found->second) ids.push_back(id);
    for (int32_t id : ids) RemoveRoute(id, batch);
  }
  return Commit(batch, error);
}

bool RouteTable::ReplacePeerRoutes(std::string_view router, std::string_view peer,
                                   std::span<const Route> routes, std::string* error) {
  if (route_high_ + routes.size() > decltype(routes_)::kCapacity ||
      meta_.size() + routes.size() > decltype(entries_)::kCapacity) {
    *error = "route table full";
    return false;
  }
  std::vector<Route> wanted(routes.begin(), routes.end());
  std::unordered_map<uint64_t, const Route*> by_dest;
  for (Route& r : wanted) {
    r.kind = RouteKind::kDynamic;
    r.router = std::string(router);
    r.peer = std::string(peer);
    Normalize(r);
    by_dest[Key(r.dest)] = &r;
  }
  Batch batch;
  BeginBatch(batch);
  std::unordered_map<uint64_t, int32_t> current;
  auto found = dynamic_.find(PeerKey(router, peer));
  if (found != dynamic_.end()) current = found->second;
  for (const auto& [key, id] : current) {
    auto want = by_dest.find(key);
    if (want == by_dest.end()) {
      RemoveRoute(id, batch);
    } else if (SameRoute(routes_[id].route, *want->second)) {
      by_dest.erase(want);  // unchanged: untouched
    }
  }
  for (const Route& r : wanted) {
    auto want = by_dest.find(Key(r.dest));
    if (want == by_dest.end() || want->second != &r) continue;  // unchanged, or a duplicate
    int32_t id;
    AddRoute(r, batch, &id, error);
  }
  return Commit(batch, error);
}

// ---- Batches ---------------------------------------------------------------------------------

void RouteTable::BeginBatch(Batch& batch) {
  ++batch_mark_;
  batch = Batch{};
  Reclaim();
  Tighten(batch);
}

void RouteTable::Reclaim() {
  if (qsbr_ == nullptr) return;
  size_t done = 0;
  while (done < retired_.size() && rte_rcu_qsbr_check(qsbr_, retired_[done].first, false) == 1) {
    for (const Retired& r : retired_[done].second) Free(r);
    ++done;
  }
  retired_.erase(retired_.begin(), retired_.begin() + done);
}

// Entries that stopped answering for some views more than a grace period ago: no reader can
// arrive for those views any more, so their published selection can drop the kept groups.
void RouteTable::Tighten(Batch& batch) {
  size_t done = 0;
  while (done < to_tighten_.size() &&
         rte_rcu_qsbr_check(qsbr_, to_tighten_[done].first, false) == 1) {
    const auto [token, e] = to_tighten_[done++];
    EntryMeta& m = meta_[e];
    if (!m.live || m.final_token != token) continue;  // gone, or narrowed again since
    m.final_token = 0;
    EntrySlot& slot = entries_[e];
    const uint64_t old = slot.own.load(std::memory_order_relaxed);
    Selection truth;
    truth.dim = OwnDim(m.truth);
    truth.groups.assign(SlotCount(truth.dim), {});
    for (uint32_t s = 0; s < truth.groups.size(); ++s) {
      GroupRef g = GroupOf(m.truth, RepView(truth.dim, s));
      truth.groups[s].assign(g.begin(), g.end());
    }
    Selection published = Published(truth, old, false);
    if (Matches(published, old)) continue;
    slot.own.store(Encode(published), std::memory_order_release);
    if ((old & kUniformBit) == 0) batch.retire.push_back(Retired{Retired::kOwn, old});
  }
  to_tighten_.erase(to_tighten_.begin(), to_tighten_.begin() + done);
}

void RouteTable::Free(const Retired& r) {
  switch (r.kind) {
    case Retired::kOwn:
      FreeOwn(r.value);
      break;
    case Retired::kVia:
      ::operator delete(reinterpret_cast<Via*>(r.value));
      break;
    case Retired::kRoute: {
      RouteSlot& slot = routes_[static_cast<uint32_t>(r.value)];
      slot.route = Route{};
      free_routes_.push_back(static_cast<int32_t>(r.value));
      break;
    }
    case Retired::kEntry: {
      const uint32_t e = static_cast<uint32_t>(r.value);
      EntrySlot& slot = entries_[e];
      FreeOwn(slot.own.load(std::memory_order_relaxed));
      uint64_t via = slot.via.load(std::memory_order_relaxed);
      if (via != 0 && (via & kUniformBit) == 0) ::operator delete(reinterpret_cast<Via*>(via));
      slot.own.store(0, std::memory_order_relaxed);
      slot.via.store(0, std::memory_order_relaxed);
      slot.owner = -1;
      FreeOwn(meta_[e].truth);
      meta_[e] = EntryMeta{};
      free_entries_.push_back(e);
      break;
    }
  }
}

bool RouteTable::Commit(Batch& batch, std::string* error) {
  // 1. Re-select the routes of every entry whose routes changed; publish the new selections.
  //    An entry that starts or stops answering for some view (or is new) changes what the
  //    entries below it resolve to: it is the root of a walk. Readers may still arrive for the
  //    views it stops answering for (vias loaded before the walk): its published selection
  //    keeps their groups until a grace period has passed (Tighten).
  std::vector<uint32_t> roots;
  for (uint32_t e : batch.dirty) {
    EntryMeta& m = meta_[e];
    EntrySlot& slot = entries_[e];
    Selection truth = Select(e);
    if (!m.created && Matches(truth, m.truth)) continue;
    bool narrowed = false;
    bool changed_views = m.created;
    if (!m.created) {
      const uint8_t dim = std::max(truth.dim, OwnDim(m.truth));
      for (uint32_t s = 0; s < SlotCount(dim); ++s) {
        const uint32_t v = RepView(dim, s);
        const bool before = WordApplies(m.truth, v);
        const bool now = !truth.groups[SlotOf(truth.dim, v)].empty();
        narrowed = narrowed || (before && !now);
        changed_views = changed_views || before != now;
      }
    }
    // The root answers every view no other entry answers (its via is itself for all views): it
    // publishes its true selection, and what a view loses there is lost for that view.
    if (e == 0) narrowed = false;
    const bool keep = qsbr_ != nullptr && (narrowed || m.final_token != 0);
    const uint64_t old = slot.own.load(std::memory_order_relaxed);
    Selection published = e == 0 ? truth : Published(truth, old, keep);
    if (!Matches(published, old)) {
      slot.own.store(Encode(published), std::memory_order_release);
      if (old != 0 && (old & kUniformBit) == 0) {
        batch.retire.push_back(Retired{Retired::kOwn, old});
      }
    }
    FreeOwn(m.truth);  // writer-only
    m.truth = Encode(truth);
    if (narrowed && qsbr_ != nullptr) batch.narrowed.push_back(e);
    if (e != 0 && changed_views) {
      m.root_mark = batch_mark_;
      roots.push_back(e);
    }
  }
  // 2. Rewrite the vias below each root, parents before children (key order is pre-order).
  std::sort(roots.begin(), roots.end(),
            [this](uint32_t a, uint32_t b) { return Key(meta_[a].prefix) < Key(meta_[b].prefix); });
  for (uint32_t r : roots) {
    if (meta_[r].walk_mark != batch_mark_) Walk(r, batch);
  }
  // 3. Entries left without routes or owner go (nothing resolves to them any more: their via
  //    is their parent's); new ones enter the FIB.
  std::vector<uint32_t> dead;
  for (uint32_t e : batch.dirty) {
    EntryMeta& m = meta_[e];
    m.created = false;
    if (e == 0) continue;
    if (m.routes.empty() && !m.owned) {
      const uint64_t key = Key(m.prefix);
      entry_by_key_.erase(key);
      ordered_.erase(key);
      --len_count_[m.prefix.len];
      m.live = false;
      if (m.in_fib) batch.fib_ops.push_back(Fib::Op{m.prefix, e, false});
      m.in_fib = false;
      dead.push_back(e);
    } else if (!m.in_fib) {
      batch.fib_ops.push_back(Fib::Op{m.prefix, e, true});
      m.in_fib = true;
    }
  }
  // 4. Publish the FIB; then everything retired above is unreachable for new readers.
  bool ok = batch.fib_ops.empty() || fib_.Apply(batch.fib_ops, error);
  if (ok) {
    for (uint32_t e : dead) batch.retire.push_back(Retired{Retired::kEntry, e});
  } else {
    // The published FIB may still lead to the dead entries: keep them (their via is their
    // parent's, so they answer correctly) rather than reuse them.
    *error = "route table: " + *error + "; lookups may miss this change";
  }
  if (qsbr_ == nullptr) {
    for (const Retired& r : batch.retire) Free(r);
  } else if (!batch.retire.empty() || !batch.narrowed.empty()) {
    const uint64_t token = rte_rcu_qsbr_start(qsbr_);
    for (uint32_t e : batch.narrowed) {
      if (!meta_[e].live) continue;
      meta_[e].final_token = token;
      to_tighten_.emplace_back(token, e);
    }
    if (!batch.retire.empty()) retired_.emplace_back(token, std::move(batch.retire));
  }
  return ok;
}

void RouteTable::Walk(uint32_t root, Batch& batch) {
  struct Frame {
    Prefix prefix;
    uint64_t via;
  };
  std::vector<Frame> stack;
  const Prefix range = meta_[root].prefix;
  if (root != 0) {
    uint32_t parent = ParentEntry(range);
    stack.push_back(
        Frame{meta_[parent].prefix, entries_[parent].via.load(std::memory_order_relaxed)});
  }
  auto it = ordered_.find(Key(range));
  while (it != ordered_.end() && (it->first >> 6) <= range.Last()) {
    const uint32_t d = it->second;
    EntryMeta& m = meta_[d];
    while (!stack.empty() && !stack.back().prefix.Contains(m.prefix)) stack.pop_back();
    EntrySlot& slot = entries_[d];
    const uint64_t old = slot.via.load(std::memory_order_relaxed);
    const uint64_t fresh = d == 0 ? UniformVia(0) : ComputeVia(d, m.truth, stack.back().via);
    const bool changed = !SameVia(old, fresh);
    if (changed) {
      slot.via.store(fresh, std::memory_order_release);
      if (old != 0 && (old & kUniformBit) == 0) batch.retire.push_back(Retired{Retired::kVia, old});
    } else if (fresh != old && (fresh & kUniformBit) == 0) {
      ::operator delete(reinterpret_cast<Via*>(fresh));
    }
    m.walk_mark = batch_mark_;
    if (!changed && d != root && m.root_mark != batch_mark_) {
      // Nothing this walk changes reaches below an unchanged entry: skip its subtree (roots
      // inside it get walks of their own).
      const uint64_t next = uint64_t{m.prefix.Last()} + 1;
      if (next > UINT32_MAX) break;
      it = ordered_.lower_bound(next << 6);
      continue;
    }
    stack.push_back(Frame{m.prefix, changed ? fresh : old});
    ++it;
  }
}

// ---- Reports ---------------------------------------------------------------------------------

std::vector<int32_t> RouteTable::RouteIds() const {
  std::vector<int32_t> ids;
  for (uint32_t id = 0; id < route_high_; ++id) {
    if (routes_[id].live) ids.push_back(static_cast<int32_t>(id));
  }
  std::sort(ids.begin(), ids.end(), [this](int32_t a, int32_t b) {
    const Route& x = routes_[a].route;
    const Route& y = routes_[b].route;
    return std::tie(x.dest.addr, x.dest.len, x.priority, x.name, a) <
           std::tie(y.dest.addr, y.dest.len, y.priority, y.name, b);
  });
  return ids;
}

std::string RouteTable::InactiveReason(int32_t id) const {
  const RouteSlot& slot = routes_[id];
  if (slot.suppressed) {
    Prefix subnet;
    ContainingSubnet(slot.route.dest, &subnet);
    std::string name;
    uint32_t e = FindEntry(subnet);
    if (e != UINT32_MAX) {
      for (int32_t r : meta_[e].routes) {
        if (routes_[r].route.kind == RouteKind::kSubnet) name = routes_[r].route.name;
      }
    }
    return "inside subnet range " + FormatPrefix(subnet) + (name.empty() ? "" : " of " + name) +
           " (subnet routes cannot be overridden)";
  }
  if (!slot.route.usable) {
    return slot.route.inactive_reason.empty() ? "next hop down" : slot.route.inactive_reason;
  }
  return "";
}

std::optional<uint32_t> RouteTable::PriorityFor(int32_t id, uint32_t view) const {
  const Route& r = routes_[id].route;
  const View& v = views_[view];
  if (!Applies(r, v)) return std::nullopt;
  return EffectivePriority(r, v);
}

}  // namespace svpc::routing
