#pragma once
// One network's routing table, compiled for the data plane: GCP route selection (routes that
// apply to the sender by tag, longest prefix, then lowest priority, then ECMP by flow hash) and
// the owner of the destination address (which NIC holds it as primary IP or alias range), both
// answered by a single DPDK rte_lpm lookup.
//
// How: every distinct prefix (route destinations and owned ranges) is one rte_lpm entry. For a
// destination whose longest match is prefix P, the routes that could apply are exactly those on
// prefixes containing P, so the selected route group for each (P, view) is computed at build
// time. A "view" is the set of tagged routes that apply to a sender; senders with the same view
// share it, view 0 (untagged routes only) serves senders that are not instances.
// Cost: rte_lpm's tbl24 is 64 MiB per table; a lookup is one or two memory reads.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/net_types.h"

struct rte_lpm;

namespace svpc::routing {

enum class NextHopType : uint8_t {
  kSubnet,           // a subnet route: deliver to the owner of the destination address
  kInternetGateway,  // default internet gateway
  kInstance,         // nextHopInstance / nextHopIp resolved to an instance NIC
  kVpnTunnel,
  kInterconnectAttachment,
};

struct Route {
  std::string name;
  Prefix dest;
  uint32_t priority = 1000;
  std::vector<uint32_t> tags;  // interned tag ids; empty = applies to every sender
  NextHopType next_hop = NextHopType::kSubnet;
  uint32_t target = 0;  // NIC index (kInstance) or endpoint index (tunnels, attachments, gateway)
  bool usable = true;   // false: next hop is down (e.g. tunnel not wired); the route is skipped
};

// An address range held by a NIC: its primary IP as a /32, or an alias IP range.
struct OwnedRange {
  Prefix range;
  uint32_t owner = 0;  // NIC index
};

class RouteTable {
 public:
  struct Result {
    int32_t route = -1;  // index into routes(), -1 = no route
    int32_t owner = -1;  // NIC owning the destination, -1 = none
  };

  // `sender_tag_sets`: the tag sets of every sender that will look up in this table (sorted ids),
  // so the views can be built now. Returns nullptr with `error` set when DPDK cannot allocate.
  static std::unique_ptr<RouteTable> Build(
      std::vector<Route> routes, std::vector<OwnedRange> owned,
      const std::vector<std::vector<uint32_t>>& sender_tag_sets, std::string* error);
  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // The view for a sender with these tags (one of the sets given to Build; others get view 0).
  uint32_t ViewFor(std::span<const uint32_t> tags) const;
  static constexpr uint32_t kUntaggedView = 0;

  Result Lookup(uint32_t view, Ipv4 dst, uint32_t flow_hash) const noexcept;

  const Route& route(int32_t index) const { return routes_[index]; }
  const std::vector<Route>& routes() const { return routes_; }
  size_t view_count() const { return view_keys_.size(); }

 private:
  RouteTable() = default;

  struct Group {
    uint32_t first = 0;  // into group_routes_
    uint32_t count = 0;
  };

  std::vector<Route> routes_;
  std::vector<std::vector<uint32_t>>
      view_keys_;                     // per view: sorted indices of applying tagged routes
  std::vector<int32_t> entry_owner_;  // per LPM entry
  std::vector<Group> groups_;         // per (entry, view): entry * views + view
  std::vector<uint32_t> group_routes_;
  int32_t default_entry_ = -1;  // the 0.0.0.0/0 entry, kept outside rte_lpm
  rte_lpm* lpm_ = nullptr;
};

}  // namespace svpc::routing
