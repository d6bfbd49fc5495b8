// `svpc trace` on the seed scenarios: each trace checked step by step (state, and the rule,
// route, instance or cause the step names), ECMP paths, round trips by TRACKING_STATE, exit
// statuses and argument errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cmd_trace.h"
#include "config/config_loader.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;
namespace {

struct TraceRun {
  int status = 0;
  std::string err;
  boost::json::array traces;
};

TraceRun Trace(const std::string& scenario, const std::string& source,
               const std::string& destination, const std::string& protocol = "tcp",
               uint16_t port = 80, bool round_trip = false) {
  // A scenario's configuration is where its scenario.json says (hybrid-cloud: the example's).
  const std::string dir = std::string(SVPC_SCENARIOS) + "/" + scenario;
  std::ifstream file(dir + "/scenario.json");
  std::stringstream text;
  text << file.rdbuf();
  const std::string config(boost::json::parse(text.str()).at("config").as_string());
  LoadResult loaded = LoadConfig(dir + "/" + config);
  EXPECT_TRUE(loaded.errors.empty()) << scenario;
  TraceCommand command;
  command.source = source;
  command.destination = destination;
  command.protocol = protocol;
  command.port = port;
  command.round_trip = round_trip;
  command.format = "json";
  std::ostringstream out, err;
  TraceRun run;
  run.status = PrintTrace(loaded.config, command, out, err);
  run.err = err.str();
  if (run.status == 0 || run.status == 3) {
    run.traces = boost::json::parse(out.str()).as_object().at("traces").as_array();
  }
  return run;
}

// "STATE" or "STATE name": the step's state and what it names (rule, route, instance, cause,
// delivery target).
std::vector<std::string> Steps(const boost::json::value& trace) {
  std::vector<std::string> out;
  for (const boost::json::value& v : trace.at("steps").as_array()) {
    const boost::json::object& step = v.as_object();
    std::string line(step.at("state").as_string());
    auto field = [&](const char* info, const char* key) {
      if (const auto* o = step.if_contains(info)) {
        if (const auto* x = o->as_object().if_contains(key)) {
          line += " " + std::string(x->as_string());
        }
      }
    };
    field("firewall", "displayName");
    field("firewall", "action");
    field("route", "displayName");
    field("instance", "displayName");
    field("drop", "cause");
    field("deliver", "target");
    field("forward", "target");
    field("forward", "port");
    field("deliver", "port");
    field("vpnTunnel", "displayName");
    out.push_back(line);
  }
  return out;
}

using Lines = std::vector<std::string>;

TEST(TraceTest, HybridCloudAllowedConnectionAndItsReplyByTracking) {
  TraceRun run = Trace("hybrid-cloud", "instance-a", "10.15.2.4", "tcp", 8080, true);
  ASSERT_EQ(run.status, 0) << run.err;
  ASSERT_EQ(run.traces.size(), 2u);
  EXPECT_EQ(Steps(run.traces[0]),
            (Lines{"START_FROM_INSTANCE instance-a",
                   "APPLY_EGRESS_FIREWALL_RULE implied-allow-egress ALLOW",
                   "APPLY_ROUTE subnet-us-east1", "ARRIVE_AT_INSTANCE instance-b",
                   "APPLY_INGRESS_FIREWALL_RULE allow-web-to-app ALLOW", "DELIVER INSTANCE vm-b"}));
  EXPECT_EQ(
      Steps(run.traces[1]),
      (Lines{"START_FROM_INSTANCE instance-b", "APPLY_EGRESS_FIREWALL_RULE TRACKING_STATE ALLOW",
             "APPLY_ROUTE subnet-us-west1", "ARRIVE_AT_INSTANCE instance-a",
             "APPLY_INGRESS_FIREWALL_RULE TRACKING_STATE ALLOW", "DELIVER INSTANCE vm-a"}));
  EXPECT_EQ(run.traces[1].at("forwardTraceId").as_int64(), 1);
  const boost::json::object& info = run.traces[0].at("endpointInfo").as_object();
  EXPECT_EQ(info.at("sourceIp").as_string(), "10.0.1.3");
  EXPECT_EQ(info.at("destinationPort").as_int64(), 8080);
  EXPECT_EQ(info.at("sourceNetworkUri").as_string(),
            "projects/host-prj/global/networks/shared-net");
  // The firewall step in the API's shape.
  const boost::json::object& fw =
      run.traces[0].at("steps").as_array()[4].at("firewall").as_object();
  EXPECT_EQ(fw.at("firewallRuleType").as_string(), "VPC_FIREWALL_RULE");
  EXPECT_EQ(fw.at("direction").as_string(), "INGRESS");
  EXPECT_EQ(fw.at("uri").as_string(), "projects/host-prj/global/firewalls/allow-web-to-app");
}

TEST(TraceTest, HybridCloudDeniedAndForwardedAndBlocked) {
  TraceRun denied = Trace("hybrid-cloud", "instance-a", "instance-c", "tcp", 5432);
  ASSERT_EQ(denied.status, 3) << denied.err;
  EXPECT_EQ(Steps(denied.traces[0]).back(), "DROP FIREWALL_RULE");
  EXPECT_EQ(Steps(denied.traces[0])[4], "APPLY_INGRESS_FIREWALL_RULE implied-deny-ingress DENY");
  EXPECT_TRUE(denied.traces[0].at("steps").as_array()[4].at("causesDrop").as_bool());

  TraceRun vpn = Trace("hybrid-cloud", "instance-c", "192.168.10.5", "tcp", 443, true);
  ASSERT_EQ(vpn.status, 0) << vpn.err;
  EXPECT_EQ(
      Steps(vpn.traces[0]),
      (Lines{"START_FROM_INSTANCE instance-c",
             "APPLY_EGRESS_FIREWALL_RULE allow-db-egress-internal ALLOW", "APPLY_ROUTE to-onprem",
             "ARRIVE_AT_VPN_TUNNEL projects/host-prj/regions/us-east1/vpnTunnels/"
             "onprem-tunnel",
             "FORWARD VPN_GATEWAY onprem"}));
  EXPECT_EQ(Steps(vpn.traces[1]),
            (Lines{"START_FROM_PRIVATE_NETWORK", "APPLY_ROUTE subnet-us-east1-c",
                   "ARRIVE_AT_INSTANCE instance-c",
                   "APPLY_INGRESS_FIREWALL_RULE TRACKING_STATE ALLOW", "DELIVER INSTANCE vm-c"}));

  TraceRun smtp = Trace("hybrid-cloud", "instance-a", "93.184.216.34", "tcp", 25);
  ASSERT_EQ(smtp.status, 3);
  EXPECT_EQ(Steps(smtp.traces[0]).back(), "DROP TRAFFIC_TYPE_BLOCKED");

  TraceRun onprem = Trace("hybrid-cloud", "192.168.10.5", "10.0.1.3", "tcp", 22);
  ASSERT_EQ(onprem.status, 3);
  EXPECT_EQ(Steps(onprem.traces[0]),
            (Lines{"START_FROM_PRIVATE_NETWORK", "APPLY_ROUTE subnet-us-west1",
                   "ARRIVE_AT_INSTANCE instance-a",
                   "APPLY_INGRESS_FIREWALL_RULE implied-deny-ingress DENY", "DROP FIREWALL_RULE"}));

  TraceRun metadata = Trace("hybrid-cloud", "instance-b", "169.254.169.254");
  ASSERT_EQ(metadata.status, 0);
  EXPECT_EQ(Steps(metadata.traces[0]),
            (Lines{"START_FROM_INSTANCE instance-b", "DELIVER METADATA_SERVER"}));
}

TEST(TraceTest, OneTracePerEcmpPath) {
  TraceRun run = Trace("static-routes", "plain", "192.168.7.7", "tcp", 443, true);
  ASSERT_EQ(run.status, 0) << run.err;
  ASSERT_EQ(run.traces.size(), 4u) << "two paths, each with its reply";
  std::vector<std::string> routes;
  for (const boost::json::value& t : run.traces) {
    if (t.as_object().contains("forwardTraceId")) {
      EXPECT_EQ(Steps(t)[3], "APPLY_INGRESS_FIREWALL_RULE TRACKING_STATE ALLOW");
      continue;
    }
    routes.push_back(Steps(t)[2]);
    EXPECT_EQ(Steps(t).back(), "FORWARD VPN_GATEWAY wan");
  }
  EXPECT_EQ(routes, (Lines{"APPLY_ROUTE onprem-a", "APPLY_ROUTE onprem-b"}));

  TraceRun hop = Trace("static-routes", "client", "8.8.8.8", "tcp", 443);
  ASSERT_EQ(hop.status, 0) << hop.err;
  ASSERT_EQ(hop.traces.size(), 1u);
  EXPECT_EQ(
      Steps(hop.traces[0]),
      (Lines{"START_FROM_INSTANCE client", "APPLY_EGRESS_FIREWALL_RULE implied-allow-egress ALLOW",
             "APPLY_ROUTE via-proxy", "ARRIVE_AT_INSTANCE proxy",
             "APPLY_INGRESS_FIREWALL_RULE allow-proxy-ingress ALLOW", "FORWARD INSTANCE vms"}));
}

TEST(TraceTest, SeedScenarios) {
  TraceRun basic = Trace("basic", "instance-a", "10.15.2.4", "tcp", 23);
  ASSERT_EQ(basic.status, 3);
  EXPECT_EQ(Steps(basic.traces[0])[4], "APPLY_INGRESS_FIREWALL_RULE deny-telnet DENY");
  TraceRun isolated = Trace("basic", "standalone-vm", "10.15.2.4", "icmp");
  ASSERT_EQ(isolated.status, 3);
  EXPECT_EQ(Steps(isolated.traces[0]).back(), "DROP NO_ROUTE");

  TraceRun health = Trace("two-tier-web", "35.191.1.1", "web-0", "tcp", 80);
  ASSERT_EQ(health.status, 0) << health.err;
  EXPECT_EQ(Steps(health.traces[0]),
            (Lines{"START_FROM_INTERNET", "APPLY_ROUTE tier1", "ARRIVE_AT_INSTANCE web-0",
                   "APPLY_INGRESS_FIREWALL_RULE allow-lb-health-checks ALLOW",
                   "DELIVER INSTANCE tier1"}));
  TraceRun egress = Trace("two-tier-web", "app-0", "8.8.8.8", "tcp", 443);
  ASSERT_EQ(egress.status, 3);
  EXPECT_EQ(Steps(egress.traces[0]),
            (Lines{"START_FROM_INSTANCE app-0", "APPLY_EGRESS_FIREWALL_RULE deny-tier2-egress DENY",
                   "DROP FIREWALL_RULE"}));

  TraceRun ambiguous = Trace("multiple-host-projects", "10.0.1.3", "10.15.2.4", "tcp", 443);
  EXPECT_EQ(ambiguous.status, 2);
  EXPECT_NE(ambiguous.err.find("several networks"), std::string::npos) << ambiguous.err;
  TraceRun prod = Trace("multiple-host-projects", "instance-ap", "10.15.2.4", "tcp", 443);
  ASSERT_EQ(prod.status, 0) << prod.err;
  EXPECT_EQ(Steps(prod.traces[0])[3], "ARRIVE_AT_INSTANCE instance-mp");
  EXPECT_EQ(Steps(prod.traces[0])[4], "APPLY_INGRESS_FIREWALL_RULE prod-allow-https ALLOW");
}

TEST(TraceTest, BadArguments) {
  EXPECT_EQ(Trace("hybrid-cloud", "no-such-vm", "10.15.2.4").status, 2);
  EXPECT_EQ(Trace("hybrid-cloud", "instance-a", "not-an-address").status, 2);
  EXPECT_EQ(Trace("hybrid-cloud", "instance-a", "10.15.2.4", "gre").status, 2);
  EXPECT_EQ(Trace("hybrid-cloud", "instance-a", "10.15.2.4", "300").status, 2);
  // An address no instance holds and no route leads back to.
  TraceRun nowhere = Trace("basic", "172.31.9.9", "10.15.2.4");
  EXPECT_EQ(nowhere.status, 2) << nowhere.err;
}

}  // namespace
}  // namespace svpc::cli
