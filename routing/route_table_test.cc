#include "routing/route_table.h"

#include <gtest/gtest.h>

namespace svpc::routing {
namespace {

Prefix P(const char* text) { return *ParsePrefix(text); }
Ipv4 Ip(const char* text) { return *ParseIpv4(text); }

Route R(std::string name, const char* dest, uint32_t priority, NextHopType hop,
        std::vector<uint32_t> tags = {}, uint32_t target = 0) {
  return Route{std::move(name), P(dest), priority, std::move(tags), hop, target, true};
}

std::unique_ptr<RouteTable> MustBuild(std::vector<Route> routes, std::vector<OwnedRange> owned,
                                      std::vector<std::vector<uint32_t>> tag_sets = {}) {
  std::string error;
  auto table = RouteTable::Build(std::move(routes), std::move(owned), tag_sets, &error);
  EXPECT_TRUE(table) << error;
  return table;
}

std::string RouteName(const RouteTable& t, uint32_t view, const char* dst, uint32_t hash = 0) {
  auto r = t.Lookup(view, Ip(dst), hash);
  return r.route < 0 ? "none" : t.route(r.route).name;
}

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

TEST(RouteTable, TaggedRoutesApplyOnlyToTaggedSenders) {
  // Tag 4 senders go to the proxy for everything; others take the default route. A tagged /24
  // for tag 5 must not hide the wider untagged route from senders without tag 5.
  auto t = MustBuild({R("default", "0.0.0.0/0", 1000, NextHopType::kInternetGateway),
                      R("via-proxy", "0.0.0.0/0", 900, NextHopType::kInstance, {4}, 3),
                      R("onprem", "192.168.0.0/16", 1000, NextHopType::kVpnTunnel),
                      R("tag5-special", "192.168.7.0/24", 1000, NextHopType::kVpnTunnel, {5})},
                     {}, {{4}, {5}, {1, 2}});
  uint32_t proxy_view = t->ViewFor(std::vector<uint32_t>{4});
  uint32_t tag5_view = t->ViewFor(std::vector<uint32_t>{5});
  uint32_t plain_view = t->ViewFor(std::vector<uint32_t>{1, 2});
  EXPECT_EQ(plain_view, RouteTable::kUntaggedView);
  EXPECT_NE(proxy_view, tag5_view);
  EXPECT_EQ(RouteName(*t, proxy_view, "8.8.8.8"), "via-proxy");
  EXPECT_EQ(RouteName(*t, plain_view, "8.8.8.8"), "default");
  EXPECT_EQ(RouteName(*t, tag5_view, "192.168.7.1"), "tag5-special");
  EXPECT_EQ(RouteName(*t, plain_view, "192.168.7.1"), "onprem");
  EXPECT_EQ(RouteName(*t, proxy_view, "192.168.7.1"), "onprem");
}

TEST(RouteTable, UnusableRoutesAreSkipped) {
  auto down = R("tunnel-down", "192.168.0.0/24", 100, NextHopType::kVpnTunnel);
  down.usable = false;
  auto t = MustBuild({down, R("backup", "192.168.0.0/16", 500, NextHopType::kVpnTunnel)}, {});
  EXPECT_EQ(RouteName(*t, 0, "192.168.0.1"), "backup");
}

TEST(RouteTable, EmptyTableFindsNothing) {
  auto t = MustBuild({}, {});
  EXPECT_EQ(t->Lookup(0, Ip("10.0.0.1"), 0).route, -1);
}

}  // namespace
}  // namespace svpc::routing
