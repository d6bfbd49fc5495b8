// RouteTable tests: GCP's selection order one rule at a time (tags, regions, subnet routes that
// cannot be overridden, down next hops, ECMP), the BGP-shaped changes (announce, withdraw,
// session down, full replacement), then the randomized differential test (any sequence of changes
// against a table built from scratch and a reference evaluator; SVPC_SEED replays a run, the seed
// is printed), FIB growth, and concurrent lookups under RCU while a writer changes the table.
#include "routing/route_table.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

namespace svpc::routing {
namespace {

Prefix P(const char* text) { return *ParsePrefix(text); }
Ipv4 Ip(const char* text) { return *ParseIpv4(text); }

Route R(std::string name, const char* dest, uint32_t priority, NextHopType hop,
        std::vector<uint32_t> tags = {}, uint32_t target = 0) {
  return Route{std::move(name), P(dest), priority, std::move(tags), hop, target, true};
}

// A dynamic route learned by `router` (in `region`) from `peer`, MED `med`.
Route Dynamic(const std::string& router, const std::string& peer, uint32_t region, const char* dest,
              uint32_t med, uint32_t target = 0) {
  Route r{DynamicRouteName(router, peer), P(dest), med, {}, NextHopType::kVpnTunnel, target, true};
  r.kind = RouteKind::kDynamic;
  r.hop_kind = NextHopKind::kIp;
  r.router = router;
  r.peer = peer;
  r.region = region;
  return r;
}

std::unique_ptr<RouteTable> MustBuild(std::vector<Route> routes, std::vector<OwnedRange> owned,
                                      std::vector<std::vector<uint32_t>> tag_sets = {}) {
  std::string error;
  auto table = RouteTable::Build(std::move(routes), std::move(owned), tag_sets, &error);
  EXPECT_TRUE(table) << error;
  return table;
}

std::unique_ptr<RouteTable> MustBuild(std::vector<Route> routes, std::vector<Sender> senders,
                                      RoutingMode mode) {
  std::string error;
  auto table = RouteTable::Build(std::move(routes), {}, senders, RouteTableOptions{mode}, &error);
  EXPECT_TRUE(table) << error;
  return table;
}

std::string RouteName(const RouteTable& t, uint32_t view, const char* dst, uint32_t hash = 0) {
  auto r = t.Lookup(view, Ip(dst), hash);
  return r.route < 0 ? "none" : t.route(r.route).name;
}

// The names of the ECMP group a sender sees (every member, over many hashes).
std::set<std::string> Group(const RouteTable& t, uint32_t view, const char* dst) {
  std::set<std::string> names;
  for (uint32_t h = 0; h < 64; ++h) names.insert(RouteName(t, view, dst, h));
  return names;
}

// ---- Selection -------------------------------------------------------------------------------

TEST(RouteTable, SubnetRoutesAndOwners) {
  auto t = MustBuild({R("subnet-a", "10.0.1.0/24", 0, NextHopType::kSubnet),
                      R("subnet-b", "10.15.2.0/24", 0, NextHopType::kSubnet),
                      R("default-internet", "0.0.0.0/0", 1000, NextHopType::kInternetGateway)},
                     {OwnedRange{P("10.0.1.3/32"), 7}, OwnedRange{P("10.15.2.16/28"), 9}});
  auto hit = t->Lookup(0, Ip("10.0.1.3"), 0);
  EXPECT_EQ(t->route(hit.route).name, "subnet-a");
  EXPECT_EQ(hit.owner, 7);
  auto alias = t->Lookup(0, Ip("10.15.2.20"), 0);
  EXPECT_EQ(t->route(alias.route).name, "subnet-b");
  EXPECT_EQ(alias.owner, 9);
  auto unknown = t->Lookup(0, Ip("10.0.1.99"), 0);
  EXPECT_EQ(t->route(unknown.route).name, "subnet-a");
  EXPECT_EQ(unknown.owner, -1);
  EXPECT_EQ(RouteName(*t, 0, "8.8.8.8"), "default-internet");
}

TEST(RouteTable, LongestPrefixThenPriority) {
  auto t = MustBuild({R("wide-cheap", "192.168.0.0/16", 100, NextHopType::kVpnTunnel),
                      R("narrow-costly", "192.168.1.0/24", 5000, NextHopType::kVpnTunnel),
                      R("narrow-cheap", "192.168.1.0/24", 200, NextHopType::kVpnTunnel)},
                     {});
  EXPECT_EQ(RouteName(*t, 0, "192.168.1.5"), "narrow-cheap");
  EXPECT_EQ(RouteName(*t, 0, "192.168.2.5"), "wide-cheap");
  EXPECT_EQ(RouteName(*t, 0, "10.1.1.1"), "none");
}

TEST(RouteTable, EcmpSpreadsByHashAmongEqualPriority) {
  auto t = MustBuild({R("tunnel-1", "192.168.0.0/16", 100, NextHopType::kVpnTunnel, {}, 1),
                      R("tunnel-2", "192.168.0.0/16", 100, NextHopType::kVpnTunnel, {}, 2)},
                     {});
  EXPECT_EQ(RouteName(*t, 0, "192.168.1.1", 0), "tunnel-1");
  EXPECT_EQ(RouteName(*t, 0, "192.168.1.1", 1), "tunnel-2");
  EXPECT_EQ(RouteName(*t, 0, "192.168.1.1", 1), RouteName(*t, 0, "192.168.1.1", 3));
}

TEST(RouteTable, EcmpSpreadIsEvenAndStable) {
  std::vector<Route> routes;
  for (uint32_t i = 0; i < 4; ++i) {
    routes.push_back(
        R("hop-" + std::to_string(i), "0.0.0.0/0", 500, NextHopType::kInstance, {}, i));
  }
  routes.push_back(R("costlier", "0.0.0.0/0", 501, NextHopType::kInternetGateway));
  auto t = MustBuild(routes, {});
  std::mt19937 rng(7);
  std::map<std::string, int> hits;
  std::vector<std::pair<uint32_t, std::string>> sample;
  constexpr int kFlows = 100'000;
  for (int i = 0; i < kFlows; ++i) {
    uint32_t hash = rng();
    std::string name = RouteName(*t, 0, "203.0.113.9", hash);
    ++hits[name];
    if (i < 1000) sample.emplace_back(hash, name);
  }
  ASSERT_EQ(hits.size(), 4u);
  for (const auto& [name, count] : hits) {
    EXPECT_NEAR(count, kFlows / 4, kFlows / 4 * 0.05) << name;
  }
  // Same hash, same route: repeated, and after unrelated changes to the table.
  std::string error;
  std::vector<int32_t> ids;
  ASSERT_TRUE(t->AddRoutes(
      std::vector<Route>{R("other", "10.9.0.0/16", 1, NextHopType::kVpnTunnel)}, &ids, &error))
      << error;
  for (const auto& [hash, name] : sample) EXPECT_EQ(RouteName(*t, 0, "203.0.113.9", hash), name);
  ASSERT_TRUE(t->RemoveRoutes(ids, &error)) << error;
  for (const auto& [hash, name] : sample) EXPECT_EQ(RouteName(*t, 0, "203.0.113.9", hash), name);
}

TEST(RouteTable, TaggedRoutesApplyOnlyToTaggedSenders) {
  // Tag 4 senders go to the proxy for everything; others take the default route. A tagged /24
  // for tag 5 must not hide the wider untagged route from senders without tag 5.
  auto t = MustBuild({R("default", "0.0.0.0/0", 1000, NextHopType::kInternetGateway),
                      R("via-proxy", "0.0.0.0/0", 900, NextHopType::kInstance, {4}, 3),
                      R("onprem", "192.168.0.0/16", 1000, NextHopType::kVpnTunnel),
                      R("tag5-special", "192.168.7.0/24", 1000, NextHopType::kVpnTunnel, {5})},
                     {}, {{4}, {5}, {1, 2}, {4, 5}});
  uint32_t proxy_view = t->ViewFor(std::vector<uint32_t>{4});
  uint32_t tag5_view = t->ViewFor(std::vector<uint32_t>{5});
  uint32_t plain_view = t->ViewFor(std::vector<uint32_t>{2, 1});
  uint32_t both_view = t->ViewFor(std::vector<uint32_t>{5, 4});
  EXPECT_NE(proxy_view, tag5_view);
  EXPECT_EQ(t->ViewFor(std::vector<uint32_t>{9}), RouteTable::kUntaggedView);  // unknown sender
  EXPECT_EQ(RouteName(*t, proxy_view, "8.8.8.8"), "via-proxy");
  EXPECT_EQ(RouteName(*t, plain_view, "8.8.8.8"), "default");
  EXPECT_EQ(RouteName(*t, 0, "8.8.8.8"), "default");
  EXPECT_EQ(RouteName(*t, tag5_view, "192.168.7.1"), "tag5-special");
  EXPECT_EQ(RouteName(*t, plain_view, "192.168.7.1"), "onprem");
  EXPECT_EQ(RouteName(*t, proxy_view, "192.168.7.1"), "onprem");
  EXPECT_EQ(RouteName(*t, both_view, "192.168.7.1"), "tag5-special");
  EXPECT_EQ(RouteName(*t, both_view, "8.8.8.8"), "via-proxy");
  EXPECT_EQ(t->PriorityFor(1, proxy_view), 900u);
  EXPECT_EQ(t->PriorityFor(1, plain_view), std::nullopt);
}

TEST(RouteTable, UnusableRoutesAreSkipped) {
  auto down = R("tunnel-down", "192.168.0.0/24", 100, NextHopType::kVpnTunnel);
  down.usable = false;
  down.inactive_reason = "VPN tunnel not wired";
  auto t = MustBuild({down, R("backup", "192.168.0.0/16", 500, NextHopType::kVpnTunnel)}, {});
  EXPECT_EQ(RouteName(*t, 0, "192.168.0.1"), "backup");
  EXPECT_EQ(t->InactiveReason(0), "VPN tunnel not wired");
  EXPECT_EQ(t->InactiveReason(1), "");
  // The tunnel comes up, then goes down again.
  std::string error;
  ASSERT_TRUE(t->SetRoutesUsable(std::vector<int32_t>{0}, true, &error)) << error;
  EXPECT_EQ(RouteName(*t, 0, "192.168.0.1"), "tunnel-down");
  ASSERT_TRUE(t->SetRoutesUsable(std::vector<int32_t>{0}, false, &error)) << error;
  EXPECT_EQ(RouteName(*t, 0, "192.168.0.1"), "backup");
  EXPECT_FALSE(t->SetRoutesUsable(std::vector<int32_t>{7}, true, &error));
}

TEST(RouteTable, EmptyTableFindsNothing) {
  auto t = MustBuild({}, {});
  EXPECT_EQ(t->Lookup(0, Ip("10.0.0.1"), 0).route, -1);
  // DPDK 22.11's DIR-24-8 layout is the one Fib reads directly (else it falls back to the API).
  EXPECT_TRUE(t->fib_direct());
}

TEST(RouteTable, SubnetRoutesCannotBeOverridden) {
  auto t = MustBuild({R("subnet-a", "10.0.1.0/24", 0, NextHopType::kSubnet),
                      R("subnet-a", "10.4.0.0/20", 0, NextHopType::kSubnet),  // a secondary range
                      R("inside", "10.0.1.0/25", 0, NextHopType::kInstance),
                      R("equal", "10.0.1.0/24", 0, NextHopType::kInstance),
                      R("in-secondary", "10.4.2.0/24", 0, NextHopType::kVpnTunnel),
                      R("wider", "10.0.0.0/16", 100, NextHopType::kVpnTunnel)},
                     {});
  EXPECT_EQ(RouteName(*t, 0, "10.0.1.5"), "subnet-a");
  EXPECT_EQ(RouteName(*t, 0, "10.4.2.9"), "subnet-a");
  EXPECT_EQ(RouteName(*t, 0, "10.0.2.5"), "wider");
  EXPECT_EQ(t->InactiveReason(2),
            "inside subnet range 10.0.1.0/24 of subnet-a (subnet routes cannot be overridden)");
  EXPECT_NE(t->InactiveReason(3), "");
  EXPECT_NE(t->InactiveReason(4), "");
  EXPECT_EQ(t->InactiveReason(5), "");
  // Dynamic routes inside a subnet range are listed, not used.
  std::string error;
  ASSERT_TRUE(t->AddRoutes(std::vector<Route>{Dynamic("cr", "peer", kNoRegion, "10.0.1.128/25", 0)},
                           nullptr, &error))
      << error;
  EXPECT_EQ(RouteName(*t, 0, "10.0.1.200"), "subnet-a");
  EXPECT_EQ(t->route_count(), 7u);
  // A subnet added later takes over the routes inside it; removing it gives them back.
  std::vector<int32_t> ids;
  ASSERT_TRUE(t->AddRoutes(
      std::vector<Route>{R("subnet-c", "10.0.2.0/24", 0, NextHopType::kSubnet)}, &ids, &error))
      << error;
  EXPECT_EQ(RouteName(*t, 0, "10.0.2.5"), "subnet-c");
  ASSERT_TRUE(t->AddRoutes(
      std::vector<Route>{R("later", "10.0.2.0/26", 0, NextHopType::kVpnTunnel)}, nullptr, &error))
      << error;
  EXPECT_EQ(RouteName(*t, 0, "10.0.2.5"), "subnet-c");
  ASSERT_TRUE(t->RemoveRoutes(ids, &error)) << error;
  EXPECT_EQ(RouteName(*t, 0, "10.0.2.5"), "later");
  EXPECT_EQ(RouteName(*t, 0, "10.0.2.100"), "wider");
}

// ---- Regions and dynamic routes --------------------------------------------------------------

constexpr uint32_t kEast = 1;
constexpr uint32_t kWest = 2;
constexpr uint32_t kCentral = 3;

TEST(RouteTable, RegionalModeDynamicRoutesApplyInTheRoutersRegionOnly) {
  auto t =
      MustBuild({R("static-wide", "192.168.0.0/16", 1000, NextHopType::kVpnTunnel),
                 Dynamic("cr-east", "onprem", kEast, "192.168.5.0/24", 100)},
                {Sender{{}, kEast}, Sender{{}, kWest}, Sender{{7}, kWest}}, RoutingMode::kRegional);
  const uint32_t east = t->ViewFor({}, kEast);
  const uint32_t west = t->ViewFor({}, kWest);
  const uint32_t west_tagged = t->ViewFor(std::vector<uint32_t>{7}, kWest);
  EXPECT_NE(east, west);
  EXPECT_NE(west, west_tagged);
  EXPECT_EQ(t->ViewFor(std::vector<uint32_t>{8}, kWest), west);  // unknown tags: its region's view
  EXPECT_EQ(RouteName(*t, east, "192.168.5.1"), "cr-east/onprem");
  EXPECT_EQ(RouteName(*t, west, "192.168.5.1"), "static-wide");
  EXPECT_EQ(RouteName(*t, west_tagged, "192.168.5.1"), "static-wide");
  EXPECT_EQ(RouteName(*t, 0, "192.168.5.1"), "cr-east/onprem");  // no region: every route
  EXPECT_EQ(t->PriorityFor(1, east), 100u);
  EXPECT_EQ(t->PriorityFor(1, west), std::nullopt);
}

TEST(RouteTable, GlobalModeAddsTheInterRegionCost) {
  auto t =
      MustBuild({Dynamic("cr-east", "peer-e", kEast, "172.16.0.0/12", 100, 1),
                 Dynamic("cr-west", "peer-w", kWest, "172.16.0.0/12", 200, 2),
                 R("static", "172.16.0.0/12", 400, NextHopType::kVpnTunnel)},
                {Sender{{}, kEast}, Sender{{}, kWest}, Sender{{}, kCentral}}, RoutingMode::kGlobal);
  const uint32_t east = t->ViewFor({}, kEast);
  const uint32_t west = t->ViewFor({}, kWest);
  const uint32_t central = t->ViewFor({}, kCentral);
  // east: 100 vs 200 + 201; west: 100 + 201 vs 200; central: 301 vs 401 vs static 400.
  EXPECT_EQ(Group(*t, east, "172.16.1.1"), std::set<std::string>{"cr-east/peer-e"});
  EXPECT_EQ(Group(*t, west, "172.16.1.1"), std::set<std::string>{"cr-west/peer-w"});
  EXPECT_EQ(Group(*t, central, "172.16.1.1"), std::set<std::string>{"cr-east/peer-e"});
  EXPECT_EQ(t->PriorityFor(0, west), 100 + kInterRegionCost);
  EXPECT_EQ(t->PriorityFor(1, west), 200u);
  // Equal MEDs: each region keeps its own router; a third region spreads over both.
  std::string error;
  ASSERT_TRUE(
      t->AddRoutes(std::vector<Route>{Dynamic("cr-west", "peer-w", kWest, "172.16.0.0/12", 100, 2)},
                   nullptr, &error))
      << error;
  EXPECT_EQ(t->route_count(), 3u);  // replaced, not added
  EXPECT_EQ(Group(*t, east, "172.16.1.1"), std::set<std::string>{"cr-east/peer-e"});
  EXPECT_EQ(Group(*t, west, "172.16.1.1"), std::set<std::string>{"cr-west/peer-w"});
  EXPECT_EQ(Group(*t, central, "172.16.1.1"),
            (std::set<std::string>{"cr-east/peer-e", "cr-west/peer-w"}));
  // A static route beats the remote router's route once its priority is lower.
  ASSERT_TRUE(t->AddRoutes(
      std::vector<Route>{R("static-cheap", "172.16.0.0/12", 250, NextHopType::kVpnTunnel)}, nullptr,
      &error))
      << error;
  EXPECT_EQ(Group(*t, central, "172.16.1.1"), std::set<std::string>{"static-cheap"});
  EXPECT_EQ(Group(*t, east, "172.16.1.1"), std::set<std::string>{"cr-east/peer-e"});
}

TEST(RouteTable, PeerAnnounceWithdrawSessionDownAndReplace) {
  auto t = MustBuild({R("default", "0.0.0.0/0", 1000, NextHopType::kInternetGateway)},
                     {Sender{{}, kEast}}, RoutingMode::kRegional);
  const uint32_t east = t->ViewFor({}, kEast);
  std::string error;
  std::vector<Route> learned;
  for (int i = 0; i < 10; ++i) {
    std::string dest = "10.50." + std::to_string(i) + ".0/24";
    learned.push_back(Dynamic("cr", "peer-a", kEast, dest.c_str(), 100));
  }
  ASSERT_TRUE(t->AddRoutes(learned, nullptr, &error)) << error;
  ASSERT_TRUE(t->AddRoutes(std::vector<Route>{Dynamic("cr", "peer-b", kEast, "10.50.3.0/24", 50)},
                           nullptr, &error))
      << error;
  EXPECT_EQ(t->route_count(), 12u);
  EXPECT_EQ(RouteName(*t, east, "10.50.3.7"), "cr/peer-b");
  EXPECT_EQ(RouteName(*t, east, "10.50.4.7"), "cr/peer-a");
  // Re-announcing with a worse MED replaces peer-b's route.
  ASSERT_TRUE(t->AddRoutes(std::vector<Route>{Dynamic("cr", "peer-b", kEast, "10.50.3.0/24", 150)},
                           nullptr, &error))
      << error;
  EXPECT_EQ(t->route_count(), 12u);
  EXPECT_EQ(RouteName(*t, east, "10.50.3.7"), "cr/peer-a");
  // Withdrawals (an unknown prefix is ignored).
  ASSERT_TRUE(t->WithdrawDynamicRoutes(
      "cr", "peer-a", std::vector<Prefix>{P("10.50.3.0/24"), P("10.50.4.0/24"), P("10.99.0.0/16")},
      &error))
      << error;
  EXPECT_EQ(RouteName(*t, east, "10.50.3.7"), "cr/peer-b");
  EXPECT_EQ(RouteName(*t, east, "10.50.4.7"), "default");
  // The full set from peer-a: 10.50.0-1 unchanged (same ids), 10.50.2 new MED, 10.60 new.
  std::map<std::string, int32_t> before;
  for (int32_t id : t->RouteIds()) before[FormatPrefix(t->route(id).dest)] = id;
  std::vector<Route> replacement = {
      Dynamic("x", "y", kEast, "10.50.0.0/24", 100), Dynamic("x", "y", kEast, "10.50.1.0/24", 100),
      Dynamic("x", "y", kEast, "10.50.2.0/24", 90), Dynamic("x", "y", kEast, "10.60.0.0/16", 100)};
  for (Route& r : replacement) r.name = DynamicRouteName("cr", "peer-a");
  ASSERT_TRUE(t->ReplacePeerRoutes("cr", "peer-a", replacement, &error)) << error;
  EXPECT_EQ(t->route_count(), 6u);  // default, peer-b's, four of peer-a's
  std::map<std::string, int32_t> after;
  for (int32_t id : t->RouteIds()) after[FormatPrefix(t->route(id).dest)] = id;
  EXPECT_EQ(after["10.50.0.0/24"], before["10.50.0.0/24"]);
  EXPECT_EQ(after["10.50.1.0/24"], before["10.50.1.0/24"]);
  EXPECT_EQ(t->route(after["10.50.2.0/24"]).priority, 90u);
  EXPECT_EQ(t->route(after["10.60.0.0/16"]).router, "cr");
  EXPECT_EQ(RouteName(*t, east, "10.50.5.1"), "default");
  EXPECT_EQ(RouteName(*t, east, "10.60.9.1"), "cr/peer-a");
  // Session down.
  ASSERT_TRUE(t->RemovePeerRoutes("cr", "peer-a", &error)) << error;
  EXPECT_EQ(t->route_count(), 2u);
  EXPECT_EQ(RouteName(*t, east, "10.50.0.1"), "default");
  EXPECT_EQ(RouteName(*t, east, "10.50.3.1"), "cr/peer-b");
  ASSERT_TRUE(t->RemovePeerRoutes("cr", "nobody", &error)) << error;
  EXPECT_FALSE(t->RemoveRoutes(std::vector<int32_t>{999}, &error));
}

TEST(RouteTable, RouteInsideAnOwnedRangeKeepsItsOwner) {
  auto t = MustBuild({R("subnet", "10.1.0.0/16", 0, NextHopType::kSubnet)},
                     {OwnedRange{P("10.1.2.0/28"), 4}, OwnedRange{P("10.1.0.5/32"), 2}});
  std::string error;
  ASSERT_TRUE(t->AddRoutes(std::vector<Route>{Dynamic("cr", "p", kNoRegion, "10.1.2.0/30", 1)},
                           nullptr, &error))
      << error;
  EXPECT_EQ(t->Lookup(0, Ip("10.1.2.1"), 0).owner, 4);
  EXPECT_EQ(RouteName(*t, 0, "10.1.2.1"), "subnet");
  EXPECT_EQ(t->Lookup(0, Ip("10.1.0.5"), 0).owner, 2);
  EXPECT_EQ(t->Lookup(0, Ip("10.1.0.6"), 0).owner, -1);
}

// RCU for tests: a QSBR variable for `threads` reader threads.
class Qsbr {
 public:
  explicit Qsbr(uint32_t threads) {
    size_t size = rte_rcu_qsbr_get_memsize(threads);
    qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("test_qsbr", size, RTE_CACHE_LINE_SIZE));
    rte_rcu_qsbr_init(qsbr_, threads);
  }
  ~Qsbr() { rte_free(qsbr_); }
  rte_rcu_qsbr* get() const { return qsbr_; }

 private:
  rte_rcu_qsbr* qsbr_;
};

// ---- Randomized differential test ------------------------------------------------------------

uint64_t SeedFromEnvironment() {
  const char* text = std::getenv("SVPC_SEED");
  uint64_t seed =
      text != nullptr
          ? std::strtoull(text, nullptr, 0)
          : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::printf("SVPC_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

// GCP's selection written the obvious way, over a plain list of routes.
struct Reference {
  RoutingMode mode;
  std::vector<Sender> views;  // index = view id (view 0: no tags, no region)
  std::vector<OwnedRange> owned;

  static bool Intersect(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    for (uint32_t x : a) {
      if (std::find(b.begin(), b.end(), x) != b.end()) return true;
    }
    return false;
  }
  bool Applies(const Route& r, const Sender& v) const {
    if (!r.tags.empty() && !Intersect(r.tags, v.tags)) return false;
    return !(r.kind == RouteKind::kDynamic && mode == RoutingMode::kRegional &&
             v.region != kNoRegion && r.region != v.region);
  }
  uint32_t Priority(const Route& r, const Sender& v) const {
    bool remote = r.kind == RouteKind::kDynamic && mode == RoutingMode::kGlobal &&
                  v.region != kNoRegion && r.region != v.region;
    return r.priority + (remote ? kInterRegionCost : 0);
  }
  static bool InsideSubnet(const Route& r, const std::vector<Route>& routes) {
    if (r.next_hop == NextHopType::kSubnet) return false;
    for (const Route& s : routes) {
      if (s.next_hop == NextHopType::kSubnet && s.dest.Contains(r.dest)) return true;
    }
    return false;
  }
  // The selected route's name ("none") and the owner.
  std::pair<std::string, int32_t> Select(const std::vector<Route>& routes, uint32_t view, Ipv4 dst,
                                         uint32_t hash) const {
    const Sender& v = views[view];
    int best_len = -1;
    uint32_t best_priority = UINT32_MAX;
    std::vector<const Route*> chosen;
    for (const Route& r : routes) {
      if (!r.dest.Contains(dst) || !r.usable || InsideSubnet(r, routes) || !Applies(r, v)) continue;
      uint32_t priority = Priority(r, v);
      if (int{r.dest.len} > best_len || (int{r.dest.len} == best_len && priority < best_priority)) {
        best_len = r.dest.len;
        best_priority = priority;
        chosen.clear();
      }
      if (int{r.dest.len} == best_len && priority == best_priority) chosen.push_back(&r);
    }
    int owner_len = -1;
    int32_t owner = -1;
    for (const OwnedRange& o : owned) {
      if (o.range.Contains(dst) && int{o.range.len} > owner_len) {
        owner_len = o.range.len;
        owner = static_cast<int32_t>(o.owner);
      }
    }
    if (chosen.empty()) return {"none", owner};
    std::sort(chosen.begin(), chosen.end(), [](const Route* a, const Route* b) {
      return std::tie(a->name, a->router, a->peer, a->next_hop, a->target) <
             std::tie(b->name, b->router, b->peer, b->next_hop, b->target);
    });
    return {chosen[hash % chosen.size()]->name, owner};
  }
};

class RandomTables {
 public:
  explicit RandomTables(uint64_t seed) : rng_(seed) {}
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t percent) { return Below(100) < percent; }

  // Prefixes from a small pool of nested ranges, so destinations collide and nest.
  Prefix RandomPrefix() {
    static constexpr uint8_t kLens[] = {0, 8, 12, 16, 20, 24, 24, 25, 28, 30, 32};
    uint8_t len = kLens[Below(sizeof(kLens))];
    Ipv4 addr = (10u << 24) | (Below(4) << 16) | (Below(4) << 8) | Below(8) << 5 | Below(4);
    if (Chance(10)) addr = (192u << 24) | (168u << 16) | (Below(4) << 8);
    return Prefix{addr & Prefix::MaskOf(len), len};
  }
  Route RandomRoute(uint32_t regions, uint32_t serial) {
    Route r;
    r.dest = RandomPrefix();
    r.priority = 100 * (1 + Below(3));
    r.usable = !Chance(10);
    r.target = Below(3);
    uint32_t kind = Below(10);
    if (kind == 0 && r.dest.len >= 16) {
      r.next_hop = NextHopType::kSubnet;
      r.priority = 0;
      r.name = "subnet-" + std::to_string(serial);
    } else if (kind < 5) {
      r.kind = RouteKind::kDynamic;
      r.next_hop = NextHopType::kVpnTunnel;
      r.router = "cr" + std::to_string(Below(3));
      r.peer = "peer" + std::to_string(Below(2));
      r.region = 1 + Below(regions);
      r.name = DynamicRouteName(r.router, r.peer) + "#" + std::to_string(serial);
    } else {
      r.next_hop = Chance(50) ? NextHopType::kInstance : NextHopType::kInternetGateway;
      if (Chance(30)) r.tags = {Below(3)};
      r.name = "static-" + std::to_string(serial);
    }
    return r;
  }
  Ipv4 RandomAddress(const std::vector<Route>& routes) {
    if (!routes.empty() && Chance(80)) {
      const Prefix& p = routes[Below(routes.size())].dest;
      return p.addr | (static_cast<uint32_t>(rng_()) & ~p.Mask());
    }
    return static_cast<uint32_t>(rng_());
  }
  uint32_t Hash() { return static_cast<uint32_t>(rng_()); }

 private:
  std::mt19937_64 rng_;
};

// Compares `table` with the reference (and with `scratch`, when given) on random addresses.
void Compare(const RouteTable& table, const RouteTable* scratch, const Reference& ref,
             const std::vector<Route>& routes, RandomTables& random, uint64_t seed, int step,
             int* mismatches) {
  for (int q = 0; q < 300; ++q) {
    Ipv4 dst = random.RandomAddress(routes);
    uint32_t hash = random.Hash();
    for (uint32_t view = 0; view < ref.views.size(); ++view) {
      auto [want, want_owner] = ref.Select(routes, view, dst, hash);
      RouteTable::Result got = table.Lookup(view, dst, hash);
      std::string got_name = got.route < 0 ? "none" : table.route(got.route).name;
      std::string scratch_name = want;
      if (scratch != nullptr) {
        RouteTable::Result s = scratch->Lookup(view, dst, hash);
        scratch_name = s.route < 0 ? "none" : scratch->route(s.route).name;
      }
      if (got_name == want && got.owner == want_owner && scratch_name == want) continue;
      if (++*mismatches <= 10) {
        ADD_FAILURE() << "SVPC_SEED=" << seed << " step " << step << " view " << view << " dst "
                      << FormatIpv4(dst) << " hash " << hash << ": table " << got_name << " owner "
                      << got.owner << ", scratch " << scratch_name << ", reference " << want
                      << " owner " << want_owner;
      }
    }
  }
}

TEST(RouteTableRandom, IncrementalChangesEqualAScratchBuild) {
  const uint64_t seed = SeedFromEnvironment();
  RandomTables random(seed);
  int mismatches = 0;
  for (int round = 0; round < 4 && mismatches == 0; ++round) {
    const RoutingMode mode = round % 2 == 0 ? RoutingMode::kRegional : RoutingMode::kGlobal;
    const uint32_t regions = 3;
    Reference ref;
    ref.mode = mode;
    ref.views.push_back(Sender{});
    std::vector<Sender> senders;
    for (uint32_t region = 1; region <= regions; ++region) {
      for (std::vector<uint32_t> tags :
           std::vector<std::vector<uint32_t>>{{}, {0}, {1, 2}, {0, 1, 2}}) {
        senders.push_back(Sender{tags, region});
        ref.views.push_back(Sender{tags, region});
      }
    }
    for (int i = 0; i < 12; ++i) {
      ref.owned.push_back(OwnedRange{random.RandomPrefix(), static_cast<uint32_t>(i)});
      if (ref.owned.back().range.len < 24) ref.owned.back().range.len = 32;
      ref.owned.back().range.addr &= ref.owned.back().range.Mask();
    }
    // Owned ranges do not overlap in GCP: keep the first of overlapping ones.
    std::vector<OwnedRange> owned;
    for (const OwnedRange& o : ref.owned) {
      if (std::none_of(owned.begin(), owned.end(),
                       [&](const OwnedRange& x) { return x.range.Overlaps(o.range); })) {
        owned.push_back(o);
      }
    }
    ref.owned = owned;

    uint32_t serial = 0;
    std::vector<Route> routes;  // the current set, by value
    std::vector<int32_t> ids;   // their ids in the table
    for (int i = 0; i < 20; ++i) routes.push_back(random.RandomRoute(regions, serial++));
    std::string error;
    auto table = RouteTable::Build(routes, ref.owned, senders, RouteTableOptions{mode}, &error);
    ASSERT_TRUE(table) << error;
    // Rounds 2 and 3 with RCU (no reader registered: grace periods pass at once), so changes go
    // through the double-buffered FIB and selections kept for late readers, then tightened.
    Qsbr qsbr(1);
    if (round >= 2) table->AttachRcu(qsbr.get());
    for (int32_t id : table->RouteIds()) ids.push_back(id);
    // RouteIds sorts; realign `routes` with the ids by name.
    std::map<std::string, Route> by_name;
    for (const Route& r : routes) by_name[r.name] = r;
    routes.clear();
    for (int32_t id : ids) routes.push_back(by_name.at(table->route(id).name));
    // Keep `routes` in its normalized form, as the table stores it.
    auto normalize = [](Route& r) {
      if (r.next_hop == NextHopType::kSubnet) r.kind = RouteKind::kSubnet;
    };
    for (Route& r : routes) normalize(r);

    for (int step = 0; step < 60 && mismatches == 0; ++step) {
      const uint32_t op = random.Below(6);
      if (op <= 1 || routes.empty()) {  // add a batch
        std::vector<Route> add;
        for (uint32_t n = 1 + random.Below(op == 0 ? 3 : 40); n > 0; --n) {
          add.push_back(random.RandomRoute(regions, serial++));
        }
        std::vector<int32_t> new_ids;
        ASSERT_TRUE(table->AddRoutes(add, &new_ids, &error)) << error;
        for (size_t k = 0; k < add.size(); ++k) {
          Route& r = add[k];
          normalize(r);
          if (r.kind == RouteKind::kDynamic) {
            // Replaces the same (router, peer, dest).
            for (size_t j = 0; j < routes.size(); ++j) {
              if (routes[j].kind == RouteKind::kDynamic && routes[j].router == r.router &&
                  routes[j].peer == r.peer && routes[j].dest == r.dest) {
                routes.erase(routes.begin() + j);
                ids.erase(ids.begin() + j);
                break;
              }
            }
          }
          routes.push_back(r);
          ids.push_back(new_ids[k]);
        }
      } else if (op == 2) {  // remove some
        std::vector<int32_t> remove;
        for (size_t j = routes.size(); j-- > 0;) {
          if (random.Chance(20)) {
            remove.push_back(ids[j]);
            routes.erase(routes.begin() + j);
            ids.erase(ids.begin() + j);
          }
        }
        ASSERT_TRUE(table->RemoveRoutes(remove, &error)) << error;
      } else if (op == 3) {  // a next hop goes down or comes up
        std::vector<int32_t> flip;
        bool usable = random.Chance(50);
        for (size_t j = 0; j < routes.size(); ++j) {
          if (random.Chance(15)) {
            flip.push_back(ids[j]);
            routes[j].usable = usable;
          }
        }
        ASSERT_TRUE(table->SetRoutesUsable(flip, usable, &error)) << error;
      } else if (op == 4) {  // session down, or withdrawals
        std::string router = "cr" + std::to_string(random.Below(3));
        std::string peer = "peer" + std::to_string(random.Below(2));
        bool all = random.Chance(50);
        std::vector<Prefix> withdrawn;
        for (size_t j = routes.size(); j-- > 0;) {
          const Route& r = routes[j];
          if (r.kind != RouteKind::kDynamic || r.router != router || r.peer != peer) continue;
          if (all || random.Chance(50)) {
            withdrawn.push_back(r.dest);
            routes.erase(routes.begin() + j);
            ids.erase(ids.begin() + j);
          }
        }
        if (all) {
          ASSERT_TRUE(table->RemovePeerRoutes(router, peer, &error)) << error;
        } else {
          ASSERT_TRUE(table->WithdrawDynamicRoutes(router, peer, withdrawn, &error)) << error;
        }
      } else {  // a peer's full set
        std::string router = "cr" + std::to_string(random.Below(3));
        std::string peer = "peer" + std::to_string(random.Below(2));
        std::vector<Route> next;
        std::set<uint64_t> dests;
        for (size_t j = 0; j < routes.size(); ++j) {
          const Route& r = routes[j];
          if (r.kind == RouteKind::kDynamic && r.router == router && r.peer == peer &&
              random.Chance(60)) {
            Route keep = r;
            if (random.Chance(30)) keep.priority += 50;
            next.push_back(keep);
            dests.insert((uint64_t{keep.dest.addr} << 6) | keep.dest.len);
          }
        }
        for (uint32_t n = random.Below(5); n > 0; --n) {
          Route r = random.RandomRoute(regions, serial++);
          if (r.kind != RouteKind::kDynamic) continue;
          r.router = router;
          r.peer = peer;
          if (!dests.insert((uint64_t{r.dest.addr} << 6) | r.dest.len).second) continue;
          next.push_back(r);
        }
        ASSERT_TRUE(table->ReplacePeerRoutes(router, peer, next, &error)) << error;
        for (size_t j = routes.size(); j-- > 0;) {
          const Route& r = routes[j];
          if (r.kind == RouteKind::kDynamic && r.router == router && r.peer == peer) {
            routes.erase(routes.begin() + j);
            ids.erase(ids.begin() + j);
          }
        }
        // The table's ids for the peer's routes: look them up by name and destination.
        std::map<std::pair<std::string, uint64_t>, int32_t> table_ids;
        for (int32_t id : table->RouteIds()) {
          const Route& r = table->route(id);
          table_ids[{r.name, (uint64_t{r.dest.addr} << 6) | r.dest.len}] = id;
        }
        for (const Route& r : next) {
          routes.push_back(r);
          ids.push_back(table_ids.at({r.name, (uint64_t{r.dest.addr} << 6) | r.dest.len}));
        }
      }
      ASSERT_EQ(table->route_count(), routes.size()) << "SVPC_SEED=" << seed << " step " << step;
      std::unique_ptr<RouteTable> scratch;
      if (step % 6 == 5) {
        scratch = RouteTable::Build(routes, ref.owned, senders, RouteTableOptions{mode}, &error);
        ASSERT_TRUE(scratch) << error;
      }
      Compare(*table, scratch.get(), ref, routes, random, seed, step, &mismatches);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// ---- FIB growth ------------------------------------------------------------------------------

// Builds a table, then adds and removes `count` /28s in `batches` batches, checking every one.
void GrowAndShrink(rte_rcu_qsbr* qsbr) {
  std::string error;
  auto t = RouteTable::Build({R("default", "0.0.0.0/0", 1000, NextHopType::kInternetGateway)}, {},
                             std::vector<Sender>{}, RouteTableOptions{}, &error);
  ASSERT_TRUE(t) << error;
  if (qsbr != nullptr) t->AttachRcu(qsbr);
  constexpr uint32_t kCount = 6000;  // past the initial 1,024 prefixes and 128 tbl8 groups
  auto dest = [](uint32_t i) { return Prefix{(100u << 24) | (i << 4), 28}; };
  std::vector<int32_t> all;
  for (uint32_t first = 0; first < kCount; first += 1000) {
    std::vector<Route> add;
    for (uint32_t i = first; i < first + 1000; ++i) {
      Route r = Dynamic("cr", "p", kNoRegion, "0.0.0.0/0", 100);
      r.dest = dest(i);
      r.name = "n" + std::to_string(i);
      add.push_back(r);
    }
    std::vector<int32_t> ids;
    ASSERT_TRUE(t->AddRoutes(add, &ids, &error)) << error;
    all.insert(all.end(), ids.begin(), ids.end());
  }
  EXPECT_GT(t->fib_rebuilds(), 0u);
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(RouteName(*t, 0, FormatIpv4(dest(i).addr + 3).c_str()), "n" + std::to_string(i));
  }
  ASSERT_TRUE(t->RemoveRoutes(std::span(all).subspan(0, kCount / 2), &error)) << error;
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(RouteName(*t, 0, FormatIpv4(dest(i).addr + 3).c_str()),
              i < kCount / 2 ? "default" : "n" + std::to_string(i));
  }
}

TEST(RouteTable, FibGrowsPastItsInitialCapacity) { GrowAndShrink(nullptr); }

// ---- Concurrency -----------------------------------------------------------------------------

TEST(RouteTable, FibGrowsUnderRcu) {
  Qsbr qsbr(1);  // no reader registered: grace periods pass at once
  GrowAndShrink(qsbr.get());
}

TEST(RouteTable, ReadersSeeOnlyValidAnswersWhileAWriterChangesTheTable) {
  Qsbr qsbr(2);
  std::string error;
  auto t = RouteTable::Build({R("wide", "10.0.0.0/8", 1000, NextHopType::kVpnTunnel),
                              R("default", "0.0.0.0/0", 1000, NextHopType::kInternetGateway),
                              R("subnet", "10.200.0.0/16", 0, NextHopType::kSubnet)},
                             {}, std::vector<Sender>{Sender{{}, kEast}, Sender{{}, kWest}},
                             RouteTableOptions{RoutingMode::kRegional}, &error);
  ASSERT_TRUE(t) << error;
  t->AttachRcu(qsbr.get());
  const uint32_t east = t->ViewFor({}, kEast);
  const uint32_t west = t->ViewFor({}, kWest);
  constexpr uint32_t kPrefixes = 2000;
  auto dest = [](uint32_t i) { return Prefix{(10u << 24) | (i << 8), 24}; };
  // Valid answers per probe: with or without the learned routes (east), always "wide" (west).
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0}, bad{0}, seen_learned{0}, seen_wide{0};
  std::thread reader([&] {
    // The EAL pinned this process to lcore 0: run the reader on another CPU, as a worker would.
    if (std::thread::hardware_concurrency() > 1) {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(1, &cpus);
      pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
    }
    rte_rcu_qsbr_thread_register(qsbr.get(), 0);
    rte_rcu_qsbr_thread_online(qsbr.get(), 0);
    uint32_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int k = 0; k < 64; ++k, ++i) {
        const uint32_t n = i % kPrefixes;
        const Ipv4 addr = dest(n).addr + 7;
        RouteTable::Result east_hit = t->Lookup(east, addr, i);
        RouteTable::Result west_hit = t->Lookup(west, addr, i);
        ++lookups;
        if (east_hit.route < 0 || west_hit.route < 0) {
          ++bad;
          continue;
        }
        const std::string& e = t->route(east_hit.route).name;  // read under RCU
        const std::string& w = t->route(west_hit.route).name;
        bool learned = e.starts_with("cr-east/");
        if (learned) {
          ++seen_learned;
        } else {
          ++seen_wide;
        }
        if ((!learned && e != "wide") || w != "wide" || east_hit.owner != -1) ++bad;
      }
      rte_rcu_qsbr_quiescent(qsbr.get(), 0);
    }
    rte_rcu_qsbr_thread_offline(qsbr.get(), 0);
    rte_rcu_qsbr_thread_unregister(qsbr.get(), 0);
  });
  std::mt19937 rng(1);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  int rounds = 0;
  while (std::chrono::steady_clock::now() < until) {
    std::vector<Route> learned;
    for (uint32_t i = 0; i < kPrefixes; ++i) {
      if (rng() % 2 == 0) continue;
      Route r = Dynamic("cr-east", "peer" + std::to_string(rng() % 2), kEast, "0.0.0.0/0",
                        100 + rng() % 3);
      r.dest = dest(i);
      learned.push_back(r);
    }
    // Alternate: one batch, single changes, full replacement, session down.
    ASSERT_TRUE(t->AddRoutes(learned, nullptr, &error)) << error;
    for (int k = 0; k < 50; ++k) {
      std::vector<Prefix> one = {dest(rng() % kPrefixes)};
      ASSERT_TRUE(t->WithdrawDynamicRoutes("cr-east", "peer0", one, &error)) << error;
    }
    std::vector<Route> half(learned.begin(), learned.begin() + learned.size() / 2);
    for (Route& r : half) r.peer = "peer1", r.name = "cr-east/peer1";
    ASSERT_TRUE(t->ReplacePeerRoutes("cr-east", "peer1", half, &error)) << error;
    ASSERT_TRUE(t->RemovePeerRoutes("cr-east", "peer0", &error)) << error;
    // Visible when the call returns.
    ASSERT_EQ(RouteName(*t, east, FormatIpv4(half[0].dest.addr + 1).c_str()), "cr-east/peer1");
    ASSERT_TRUE(t->RemovePeerRoutes("cr-east", "peer1", &error)) << error;
    ASSERT_EQ(t->route_count(), 3u);
    ++rounds;
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(lookups.load(), 10'000u);
  EXPECT_GT(seen_learned.load(), 0u);
  EXPECT_GT(seen_wide.load(), 0u);
  EXPECT_GT(rounds, 2);
}

}  // namespace
}  // namespace svpc::routing
