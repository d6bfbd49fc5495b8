// `svpc routes` on the static-routes scenario's configuration: a tagged instance sees the tagged
// route to the proxy, an untagged one does not; inactive routes say why; JSON in the Compute
// Engine route shape. And the compiler's nextHopIlb: by address it resolves to the NIC holding
// it, by forwarding rule it stays listed, inactive.

#include "cli/cmd_routes.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>

#include "config/config_loader.h"
#include "control/compiler.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;
namespace {

const std::string kConfig = std::string(SVPC_SCENARIOS) + "/static-routes/config";

class RoutesCommandTest : public testing::Test {
 protected:
  void SetUp() override {
    LoadResult loaded = LoadConfig(kConfig);
    ASSERT_TRUE(loaded.ok());
    config_ = std::move(loaded.config);
  }
  std::string Run(const std::string& instance, const std::string& format = "table",
                  int want_status = 0) {
    RoutesCommand command;
    command.config_dir = kConfig;
    command.instance = instance;
    command.format = format;
    std::ostringstream out, err;
    EXPECT_EQ(PrintRoutes(config_, command, out, err), want_status) << err.str();
    return out.str() + err.str();
  }
  // The table row of route `name` ("" when absent), spaces squeezed.
  static std::string RowOf(const std::string& table, const std::string& name) {
    std::istringstream lines(table);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) != 0) continue;
      std::string squeezed;
      for (char c : line) {
        if (c != ' ' || (!squeezed.empty() && squeezed.back() != ' ')) squeezed += c;
      }
      return squeezed;
    }
    return "";
  }
  Config config_;
};

TEST_F(RoutesCommandTest, TaggedInstanceSeesTheTaggedRoute) {
  const std::string client = Run("client");  // tag via-proxy
  EXPECT_NE(client.find("instance projects/svc-apps/zones/us-central1-a/instances/client nic0: "
                        "network core-net, region us-central1, tags via-proxy"),
            std::string::npos)
      << client;
  EXPECT_EQ(RowOf(client, "via-proxy"),
            "via-proxy core-net 0.0.0.0/0 us-central1-a/instances/proxy 800 via-proxy ACTIVE");
  EXPECT_EQ(RowOf(client, "default-internet"),
            "default-internet core-net 0.0.0.0/0 default-internet-gateway 1000 - ACTIVE");
  EXPECT_EQ(RowOf(client, "apps"), "apps core-net 10.10.0.0/24 core-net 0 - ACTIVE");

  const std::string plain = Run("plain");  // no tags
  EXPECT_EQ(RowOf(plain, "via-proxy"), "") << plain;
  EXPECT_EQ(RowOf(plain, "default-internet"),
            "default-internet core-net 0.0.0.0/0 default-internet-gateway 1000 - ACTIVE");
  EXPECT_EQ(RowOf(plain, "to-lab"), "to-lab core-net 172.16.0.0/16 10.20.0.11 1000 - ACTIVE");
  EXPECT_EQ(RowOf(plain, "onprem-specific"),
            "onprem-specific core-net 192.168.50.0/24 us-central1/vpnTunnels/tunnel-down 100 - "
            "INACTIVE: us-central1/vpnTunnels/tunnel-down is not wired in the testbed");
}

TEST_F(RoutesCommandTest, WholeNetworkListsEveryRoute) {
  const std::string all = Run("");
  EXPECT_EQ(all.rfind("NAME ", 0), 0u) << all;
  for (const char* name : {"via-proxy", "default-internet", "apps", "edge", "dc", "lab-5", "to-lab",
                           "onprem-a", "onprem-b", "onprem-specific"}) {
    EXPECT_NE(RowOf(all, name), "") << name;
  }
  EXPECT_EQ(RowOf(all, "dc"),
            "dc core-net 10.200.0.0/16 us-central1/interconnectAttachments/attach-1 1000 - ACTIVE");
}

TEST_F(RoutesCommandTest, JsonInTheRouteResourceShape) {
  boost::json::array routes = boost::json::parse(Run("client", "json")).as_array();
  bool proxy = false;
  for (const boost::json::value& v : routes) {
    const boost::json::object& r = v.as_object();
    EXPECT_EQ(r.at("instance").as_string(),
              "projects/svc-apps/zones/us-central1-a/instances/client");
    if (r.at("name").as_string() == "via-proxy") {
      proxy = true;
      EXPECT_EQ(r.at("priority").as_int64(), 800);
      EXPECT_EQ(r.at("tags").as_array().at(0).as_string(), "via-proxy");
      EXPECT_EQ(r.at("nextHopInstance").as_string(), "us-central1-a/instances/proxy");
      EXPECT_EQ(r.at("routeType").as_string(), "STATIC");
      EXPECT_EQ(r.at("routeStatus").as_string(), "ACTIVE");
    }
    if (r.at("name").as_string() == "apps") {
      EXPECT_EQ(r.at("routeType").as_string(), "SUBNET");
      EXPECT_EQ(r.at("nextHopNetwork").as_string(), "core-net");
    }
    if (r.at("name").as_string() == "onprem-specific") {
      EXPECT_EQ(r.at("routeStatus").as_string(), "INACTIVE");
      EXPECT_NE(r.at("inactiveReason").as_string(), "");
    }
  }
  EXPECT_TRUE(proxy);
  boost::json::array plain = boost::json::parse(Run("plain", "json")).as_array();
  for (const boost::json::value& v : plain) {
    EXPECT_NE(v.as_object().at("name").as_string(), "via-proxy");
  }
}

TEST_F(RoutesCommandTest, UnknownInstanceOrFormat) {
  EXPECT_NE(Run("nobody", "table", 2).find("no instance nobody"), std::string::npos);
  EXPECT_NE(Run("", "yaml", 2).find("--format"), std::string::npos);
}

TEST_F(RoutesCommandTest, IlbNextHopResolvesLikeNextHopIp) {
  Route by_address;
  by_address.name = "via-ilb";
  by_address.project = "route-host";
  by_address.network_ref = "projects/route-host/global/networks/core-net";
  by_address.dest_range = *ParsePrefix("172.30.0.0/16");
  by_address.next_hop_kind = NextHopKind::kIlb;
  by_address.next_hop_ip = *ParseIpv4("10.20.0.10");  // the proxy's address
  by_address.next_hop_ref = "10.20.0.10";
  Route by_rule = by_address;
  by_rule.name = "via-ilb-rule";
  by_rule.dest_range = *ParsePrefix("172.31.0.0/16");
  by_rule.next_hop_ip = 0;
  by_rule.next_hop_ref = "projects/route-host/regions/us-central1/forwardingRules/ilb";
  config_.routes.push_back(by_address);
  config_.routes.push_back(by_rule);

  std::string error;
  auto snap = CompileSnapshot(config_, &error);
  ASSERT_TRUE(snap) << error;
  const routing::RouteTable& table = *snap->networks[0].routes;
  auto hit = table.Lookup(routing::RouteTable::kUntaggedView, *ParseIpv4("172.30.1.1"), 0);
  ASSERT_GE(hit.route, 0);
  const routing::Route& route = table.route(hit.route);
  EXPECT_EQ(route.name, "via-ilb");
  EXPECT_EQ(route.hop_kind, routing::NextHopKind::kIlb);
  EXPECT_EQ(route.next_hop, routing::NextHopType::kInstance);
  EXPECT_TRUE(snap->nics[route.target].instance_ref.ends_with("/instances/proxy"));
  // The forwarding rule's address is unknown: listed, inactive, so the default route answers.
  hit = table.Lookup(routing::RouteTable::kUntaggedView, *ParseIpv4("172.31.1.1"), 0);
  ASSERT_GE(hit.route, 0);
  EXPECT_EQ(table.route(hit.route).name, "default-internet");

  const std::string all = Run("");
  EXPECT_EQ(RowOf(all, "via-ilb"), "via-ilb core-net 172.30.0.0/16 10.20.0.10 1000 - ACTIVE");
  EXPECT_EQ(RowOf(all, "via-ilb-rule"),
            "via-ilb-rule core-net 172.31.0.0/16 us-central1/forwardingRules/ilb 1000 - INACTIVE: "
            "forwarding rule us-central1/forwardingRules/ilb: load balancers are not emulated "
            "(give nextHopIlb as an address)");
}

}  // namespace
}  // namespace svpc::cli
