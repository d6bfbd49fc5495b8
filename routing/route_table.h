#pragma once
// One network's routing table for the data plane, changed in place: GCP route selection (routes
// that apply to the sender by tag and, for dynamic routes, by region; longest prefix; lowest
// priority; ECMP by flow hash; routes whose next hop is down skipped) and the owner of the
// destination address (which NIC holds it as primary IP or alias range), answered by one FIB
// lookup and, in the common case, one entry slot.
//
// How: every distinct prefix (route destinations and owned ranges) is an *entry* with a stable
// id; the FIB maps addresses to the longest matching entry. Each entry publishes two immutable
// records by pointer swap: `own`, the routes selected at that prefix per view, and `via`, per
// view the entry whose own routes answer (itself, or the nearest containing entry that has
// routes for the view). A change re-selects only the entries whose routes changed; the `via` of
// the entries below is rewritten only when a prefix starts or stops having routes for some view.
// A *view* is a sender class: (region, tags). Records depend on the views only as far as their
// routes do: uniform (most), per region (dynamic routes), per view (tagged routes).
// Readers are lock-free (DPDK rte_rcu_qsbr): records, routes and entries are freed or reused
// only after a grace period (see AttachRcu), and an entry keeps answering for the views it just
// stopped answering for until then, so a reader sees the old answer or the new one.
// Cost: 64 MiB of tbl24 per table (twice once RCU is attached, routing/fib.h). A lookup is the
// DIR-24-8 read and one 32-byte entry slot when the answering selection is uniform with one
// route (most), plus a via record and/or a selection record otherwise: ~10 cycles at 10,000
// routes, ~1 us per route added in a batch (routing/README.md).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/net_types.h"
#include "routing/fib.h"
#include "routing/stable_array.h"

struct rte_rcu_qsbr;

namespace svpc::routing {

// Region ids are interned by whoever builds the table (the compiler); kNoRegion: unknown.
inline constexpr uint32_t kNoRegion = UINT32_MAX;

// Added to a dynamic route's priority (its MED) for senders outside the Cloud Router's region in
// GLOBAL routing mode. GCP documents 201..9999 depending on the region pair; the per-pair values
// are not published. 201 everywhere is an assumption: unconfirmed.
inline constexpr uint32_t kInterRegionCost = 201;

enum class RoutingMode : uint8_t { kRegional, kGlobal };

// What the fabric does with a packet taking the route.
enum class NextHopType : uint8_t {
  kSubnet,           // a subnet route: deliver to the owner of the destination address
  kInternetGateway,  // default internet gateway
  kInstance,         // nextHopInstance / nextHopIp / nextHopIlb resolved to an instance NIC
  kVpnTunnel,
  kInterconnectAttachment,
};

enum class RouteKind : uint8_t { kSubnet, kStatic, kDynamic, kPeering };
inline constexpr int kRouteKindCount = 4;

// The next hop as the configuration names it (reports only).
enum class NextHopKind : uint8_t {
  kNetwork,  // subnet routes (gcloud: nextHopNetwork)
  kGateway,
  kInstance,
  kIp,
  kIlb,
  kVpnTunnel,
  kInterconnectAttachment,
  kPeering,
};

struct Route {
  std::string name;
  Prefix dest;
  uint32_t priority = 1000;    // dynamic routes: the MED
  std::vector<uint32_t> tags;  // interned tag ids; empty = applies to every sender
  NextHopType next_hop = NextHopType::kSubnet;
  uint32_t target = 0;  // NIC index (kInstance) or endpoint index (tunnels, attachments, gateway)
  bool usable = true;   // false: next hop is down or unresolved; the route is listed, not used
  // The fields below default to a static route, so the seven above still initialize one.
  // next_hop kSubnet always means kind kSubnet.
  RouteKind kind = RouteKind::kStatic;
  NextHopKind hop_kind = NextHopKind::kGateway;
  std::string next_hop_name{};    // as gcloud shows it: "us-east1/vpnTunnels/t1", an IP, ...
  std::string inactive_reason{};  // why !usable, for reports
  // Dynamic routes: the Cloud Router (name and region id) and BGP peer they were learned from.
  // (router, peer, dest) identifies a dynamic route: announcing it again replaces it.
  std::string router{};
  std::string peer{};
  uint32_t region = kNoRegion;
};

// The name given to dynamic routes: gcloud's `routers get-status` lists learned routes
// (bestRoutes) without a name; "ROUTER/PEER" says where one came from, its DEST_RANGE the rest.
std::string DynamicRouteName(std::string_view router, std::string_view peer);

// An address range held by a NIC: its primary IP as a /32, or an alias IP range.
struct OwnedRange {
  Prefix range;
  uint32_t owner = 0;  // NIC index
};

// A sender that will look up in the table: its tags (interned ids) and region id.
struct Sender {
  std::vector<uint32_t> tags;
  uint32_t region = kNoRegion;
};

struct RouteTableOptions {
  RoutingMode mode = RoutingMode::kRegional;
};

class RouteTable {
 public:
  struct Result {
    int32_t route = -1;  // route id (route()), -1 = no route
    int32_t owner = -1;  // NIC owning the destination, -1 = none
  };

  // Views are made for `senders` now (one per distinct (region, tags), view 0 for senders that
  // are not instances: no tags, no region). Returns nullptr with `error` when DPDK cannot
  // allocate.
  static std::unique_ptr<RouteTable> Build(std::vector<Route> routes, std::vector<OwnedRange> owned,
                                           const std::vector<Sender>& senders,
                                           const RouteTableOptions& options, std::string* error);
  // Senders given by their tags only (no regions), REGIONAL mode.
  static std::unique_ptr<RouteTable> Build(
      std::vector<Route> routes, std::vector<OwnedRange> owned,
      const std::vector<std::vector<uint32_t>>& sender_tag_sets, std::string* error);
  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Lookups may run concurrently with changes from here on: readers (workers) registered with
  // `qsbr` report a quiescent state between bursts; nothing a reader may hold (route(), records,
  // the FIB) is freed or reused before they all have. Call once, before concurrent lookups.
  void AttachRcu(rte_rcu_qsbr* qsbr);

  // The view of a sender with these tags in this region: the one made for exactly that sender,
  // else the one for (region, no tags), else view 0.
  uint32_t ViewFor(std::span<const uint32_t> tags, uint32_t region = kNoRegion) const;
  static constexpr uint32_t kUntaggedView = 0;
  size_t view_count() const { return views_.size(); }

  // Bit 0 of an entry's own or via word (EntrySlot): the word itself is the answer, not a
  // pointer. Public for route_table.cc's helpers; nothing outside the table reads the words.
  static constexpr uint64_t kUniformBit = 1;

  // Hot path: noexcept, allocation-free, lock-free. View 0 sees dynamic routes of every region
  // at their own priority.
  Result Lookup(uint32_t view, Ipv4 dst, uint32_t flow_hash) const noexcept {
    return LookupWith(view, dst, [flow_hash]() noexcept { return flow_hash; });
  }
  // The same, with the flow hash computed by `flow_hash()` only when an ECMP group needs it
  // (most destinations have one route: the data path saves hashing every packet).
  template <typename FlowHash>
  Result LookupWith(uint32_t view, Ipv4 dst, FlowHash&& flow_hash) const noexcept;

  // A route by id; valid for a reader until its next quiescent state even if removed meanwhile.
  const Route& route(int32_t id) const { return routes_[static_cast<uint32_t>(id)].route; }

  // ---- Changes: one control thread. Each call is one batch, visible to lookups when it returns
  // (nothing of it before). False with `error` for an unknown route id (nothing changed) or when
  // DPDK memory runs out (the routes are recorded, lookups may miss the batch's changes).

  // Adds routes; `ids` (optional) receives their ids. A dynamic route replaces the route with
  // the same (router, peer, dest), as a BGP announcement implicitly withdraws the previous one.
  bool AddRoutes(std::span<const Route> routes, std::vector<int32_t>* ids, std::string* error);
  bool RemoveRoutes(std::span<const int32_t> ids, std::string* error);
  // A next hop went down or came back (tunnel status): the routes stay listed either way.
  bool SetRoutesUsable(std::span<const int32_t> ids, bool usable, std::string* error);
  // BGP: withdrawals of one peer's prefixes (absent ones ignored); the session went down (every
  // route learned from the peer goes); the peer's complete set (route refresh, re-established
  // session): routes absent from `routes` go, the others are announced, unchanged ones untouched.
  bool WithdrawDynamicRoutes(std::string_view router, std::string_view peer,
                             std::span<const Prefix> dests, std::string* error);
  bool RemovePeerRoutes(std::string_view router, std::string_view peer, std::string* error);
  bool ReplacePeerRoutes(std::string_view router, std::string_view peer,
                         std::span<const Route> routes, std::string* error);

  // ---- Reports (control thread).
  // Live route ids, by destination, then priority, then name.
  std::vector<int32_t> RouteIds() const;
  size_t route_count() const { return live_routes_; }
  // "" when the route is used for the senders it applies to; else why not: its next hop is down
  // (route.inactive_reason) or it lies inside a subnet range (subnet routes cannot be overridden).
  std::string InactiveReason(int32_t id) const;
  // The priority a sender of `view` sees for the route (with kInterRegionCost where it applies),
  // nullopt when the route does not apply to that sender (tags, region). Ignores activity.
  std::optional<uint32_t> PriorityFor(int32_t id, uint32_t view) const;
  // Number of FIB rebuilds (growth) so far, and whether lookups read the FIB's tables directly
  // (routing/fib.h), for tests and the benchmark.
  uint32_t fib_rebuilds() const;
  bool fib_direct() const { return fib_.direct(); }

 private:
  RouteTable() = default;

  struct View {
    uint32_t region = kNoRegion;
    std::vector<uint32_t> tags;  // sorted
  };
  enum Dim : uint8_t { kUniform = 0, kPerRegion = 1, kPerView = 2 };
  struct Group {
    uint32_t first = 0;  // into the record's ids
    uint32_t count = 0;
  };
  // A selection with several groups or routes. Immutable once published. One allocation: the
  // header, `slots` groups, then the route ids.
  struct Own {
    uint8_t dim;
    uint32_t slots;
    const Group* groups;  // per slot (SlotOf)
    const int32_t* ids;
  };
  // Per view, the entry answering. Immutable once published; 8-byte aligned (bit 0 of a via word
  // is the uniform marker).
  struct Via {
    uint8_t dim;
    uint32_t slots;
    uint32_t to[1];  // `slots` entries
  };
  struct Selection;  // writer-side form of an own word
  struct Batch;

  // An own word: bit 0 set = uniform and at most one route (its id in bits 1-32, all ones for
  // none), read straight from the slot; else a const Own*. A via word: bit 0 set = uniform (the
  // answering entry's id in the upper bits); else a const Via*.
  struct alignas(32) EntrySlot {
    std::atomic<uint64_t> via{0};
    std::atomic<uint64_t> own{0};  // published: what readers arriving here for a view use
    int32_t owner = -1;  // the NIC whose owned range is the longest one containing this prefix
  };
  struct EntryMeta {  // writer only
    Prefix prefix;
    std::vector<int32_t> routes;
    // The true selection (own word; records are writer-only). The published one may differ: it
    // keeps the groups of views the entry stopped answering for until a grace period has
    // passed (readers may still arrive through vias loaded before), and fills views no reader
    // reaches with whatever makes it uniform.
    uint64_t truth = 0;
    uint64_t final_token = 0;  // RCU token after which the published selection can be tightened
    bool live = false;
    bool owned = false;  // an owned range (entry kept while the table lives)
    bool in_fib = false;
    bool created = false;  // in the current batch
    uint64_t dirty_mark = 0;
    uint64_t root_mark = 0;
    uint64_t walk_mark = 0;
  };
  struct RouteSlot {
    Route route;
    bool live = false;
    bool suppressed = false;  // inside a subnet range
    uint32_t entry = 0;
  };
  struct Retired {
    enum Kind : uint8_t { kOwn, kVia, kRoute, kEntry } kind;
    uint64_t value;
  };

  static uint64_t Key(const Prefix& p) { return (uint64_t{p.addr} << 6) | p.len; }

  // Views and selections.
  uint32_t SlotCount(uint8_t dim) const;
  uint32_t RepView(uint8_t dim, uint32_t slot) const;
  uint32_t SlotOf(uint8_t dim, uint32_t view) const;
  bool Applies(const Route& r, const View& v) const;
  uint32_t EffectivePriority(const Route& r, const View& v) const;
  Selection Select(uint32_t entry) const;
  Selection Published(const Selection& truth, uint64_t published, bool keep) const;
  uint64_t Encode(const Selection& s) const;
  bool Matches(const Selection& s, uint64_t word) const;
  struct GroupRef {                // a group read from an own word
    const int32_t* ids = nullptr;  // nullptr with count 1: the id is `single`
    uint32_t count = 0;
    int32_t single = -1;
    const int32_t* begin() const { return ids != nullptr ? ids : &single; }
    const int32_t* end() const { return begin() + count; }
    bool empty() const { return count == 0; }
  };
  GroupRef GroupOf(uint64_t own_word, uint32_t view) const;
  bool WordApplies(uint64_t own_word, uint32_t view) const;
  static uint8_t OwnDim(uint64_t own_word);
  static void FreeOwn(uint64_t own_word);
  uint64_t ComputeVia(uint32_t entry, uint64_t truth, uint64_t parent_via) const;
  static uint8_t ViaDim(uint64_t word);
  static bool SameVia(uint64_t a, uint64_t b);

  // Entries.
  uint32_t FindEntry(const Prefix& p) const;    // UINT32_MAX when absent
  uint32_t ParentEntry(const Prefix& p) const;  // nearest strictly containing entry
  bool CreateEntry(const Prefix& p, Batch& batch, uint32_t* id, std::string* error);
  void MarkDirty(uint32_t entry, Batch& batch);

  // Routes.
  bool AddRoute(const Route& route, Batch& batch, int32_t* id, std::string* error);
  void RemoveRoute(int32_t id, Batch& batch);
  // The subnet range containing (or equal to) `dest`, written to `out`; nullptr when none.
  const Prefix* ContainingSubnet(const Prefix& dest, Prefix* out) const;
  void Resuppress(const Prefix& range, Batch& batch);
  static std::string PeerKey(std::string_view router, std::string_view peer);

  // Batches.
  void BeginBatch(Batch& batch);
  bool Commit(Batch& batch, std::string* error);
  void Walk(uint32_t root, Batch& batch);
  void Free(const Retired& r);
  void Reclaim();
  void Tighten(Batch& batch);

  RouteTableOptions options_;
  std::vector<View> views_;
  std::map<std::pair<uint32_t, std::vector<uint32_t>>, uint32_t> view_index_;
  std::vector<uint32_t> region_of_view_;  // view -> region slot
  std::vector<uint32_t> region_rep_;      // region slot -> a view with it

  StableArray<RouteSlot> routes_;
  std::vector<int32_t> free_routes_;
  uint32_t route_high_ = 0;
  size_t live_routes_ = 0;

  StableArray<EntrySlot> entries_;
  std::vector<EntryMeta> meta_;
  std::vector<uint32_t> free_entries_;
  std::unordered_map<uint64_t, uint32_t> entry_by_key_;
  std::map<uint64_t, uint32_t> ordered_;  // Key order = containment pre-order
  uint32_t len_count_[33] = {};           // entries per prefix length

  std::unordered_map<uint64_t, uint32_t> subnet_ranges_;  // subnet route count per range key
  uint32_t subnet_len_count_[33] = {};
  // Dynamic routes by PeerKey, then destination key.
  std::unordered_map<std::string, std::unordered_map<uint64_t, int32_t>> dynamic_;

  Fib fib_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::vector<std::pair<uint64_t, std::vector<Retired>>> retired_;  // (token, objects)
  std::vector<std::pair<uint64_t, uint32_t>> to_tighten_;           // (token, entry)
  uint64_t batch_mark_ = 0;
};

// Inline (here rather than in route_table.cc): every packet looks up, and as a call it cost ~8
// instructions more a packet (callgrind, bench/README.md).
template <typename FlowHash>
[[gnu::always_inline]] inline RouteTable::Result RouteTable::LookupWith(
    uint32_t view, Ipv4 dst, FlowHash&& flow_hash) const noexcept {
  const uint32_t entry = fib_.Lookup(dst);
  const EntrySlot& slot = entries_[entry];
  const uint64_t via = slot.via.load(std::memory_order_acquire);
  uint64_t own;
  if (via & kUniformBit) {
    const uint32_t answering = static_cast<uint32_t>(via >> 1);
    own = (answering == entry ? slot : entries_[answering]).own.load(std::memory_order_acquire);
  } else {
    const Via* v = reinterpret_cast<const Via*>(via);
    const uint32_t answering = v->to[v->dim == kPerRegion ? region_of_view_[view] : view];
    own = entries_[answering].own.load(std::memory_order_acquire);
  }
  Result result;
  result.owner = slot.owner;
  if (own & kUniformBit) {
    result.route = static_cast<int32_t>(static_cast<uint32_t>(own >> 1));  // none: -1
    return result;
  }
  const Own* o = reinterpret_cast<const Own*>(own);
  const uint32_t index = o->dim == kUniform     ? 0
                         : o->dim == kPerRegion ? region_of_view_[view]
                                                : view;
  const Group g = o->groups[index];
  if (g.count == 1) {
    result.route = o->ids[g.first];
  } else if (g.count > 1) {
    result.route = o->ids[g.first + flow_hash() % g.count];
  }
  return result;
}

}  // namespace svpc::routing
