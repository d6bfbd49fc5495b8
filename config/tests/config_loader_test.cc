// The loader: file formats, resource identity and references, defaults, and issue reporting.

#include "config/config_loader.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "config/tests/test_support.h"

namespace svpc::config {
namespace {

constexpr char kNet[] = "projects/host-prj/global/networks/shared-net";
constexpr char kSubnet1[] = "projects/host-prj/regions/us-west1/subnetworks/subnet-1";
constexpr char kSubnet2[] = "projects/host-prj/regions/us-east1/subnetworks/subnet-2";
constexpr char kSubnet3[] = "projects/host-prj/regions/us-east1/subnetworks/subnet-3";
constexpr char kInstanceA[] = "projects/svc-a/zones/us-west1-a/instances/instance-a";
constexpr char kInstanceB[] = "projects/svc-b/zones/us-east1-b/instances/instance-b";
constexpr char kInstanceC[] = "projects/svc-c/zones/us-east1-c/instances/instance-c";
constexpr char kTunnel[] = "projects/host-prj/regions/us-east1/vpnTunnels/onprem-tunnel";

Prefix P(const char* text) { return *ParsePrefix(text); }
Ipv4 Ip(const char* text) { return *ParseIpv4(text); }

const Instance& FindInstance(const Config& config, const std::string& ref) {
  auto it = std::find_if(config.instances.begin(), config.instances.end(),
                         [&](const Instance& i) { return i.self_ref == ref; });
  EXPECT_NE(it, config.instances.end()) << ref;
  return *it;
}

TEST(ConfigLoaderTest, LoadsHybridFixture) {
  LoadResult result = LoadConfig(FixturePath("hybrid"));
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  const Config& config = result.config;
  // The Cloud Asset Inventory export also holds a VPN tunnel, which is not a modelled resource.
  ASSERT_EQ(result.warnings.size(), 1u) << AllIssues(result);
  EXPECT_EQ(result.warnings[0],
            (ConfigIssue{"host/assets.ndjson",
                         "//compute.googleapis.com/projects/host-prj/regions/us-east1/vpnTunnels/"
                         "onprem-tunnel",
                         "asset_type",
                         "unsupported asset type \"compute.googleapis.com/VpnTunnel\"; ignored"}));

  // Single resource file.
  ASSERT_EQ(config.networks.size(), 1u);
  const Network& net = config.networks[0];
  EXPECT_EQ(net.self_ref, kNet);
  EXPECT_EQ(net.project, "host-prj");
  EXPECT_EQ(net.origin.file, "host/network.json");
  EXPECT_EQ(net.routing_mode, "GLOBAL");
  EXPECT_EQ(net.mtu, 1460u);
  EXPECT_FALSE(net.auto_create_subnetworks);

  // gcloud list output.
  ASSERT_EQ(config.subnetworks.size(), 3u);
  const Subnetwork& s1 = config.subnetworks[0];
  EXPECT_EQ(s1.self_ref, kSubnet1);
  EXPECT_EQ(s1.region, "us-west1");
  EXPECT_EQ(s1.network_ref, kNet);
  EXPECT_EQ(s1.range, P("10.0.1.0/24"));
  EXPECT_EQ(s1.gateway, Ip("10.0.1.1"));
  EXPECT_EQ(s1.purpose, "");
  ASSERT_EQ(s1.secondary_ranges.size(), 1u);
  EXPECT_EQ(s1.secondary_ranges[0].range_name, "pods");
  EXPECT_EQ(s1.secondary_ranges[0].range, P("10.100.0.0/20"));
  EXPECT_EQ(config.subnetworks[1].self_ref, kSubnet2);
  EXPECT_EQ(config.subnetworks[2].self_ref, kSubnet3);
  EXPECT_EQ(config.subnetworks[2].gateway, Ip("10.7.1.1"));  // default: the range's .1

  // projects/P/ folders without selfLink; partial and full URL references.
  ASSERT_EQ(config.instances.size(), 3u);
  const Instance& a = FindInstance(config, kInstanceA);
  EXPECT_EQ(a.project, "svc-a");
  EXPECT_EQ(a.zone, "us-west1-a");
  EXPECT_EQ(a.tags, (std::vector<std::string>{"ssh", "web"}));
  EXPECT_EQ(a.service_accounts, (std::vector<std::string>{"app-a@svc-a.iam.gserviceaccount.com"}));
  ASSERT_EQ(a.nics.size(), 1u);
  EXPECT_EQ(a.nics[0].name, "nic0");
  EXPECT_EQ(a.nics[0].subnetwork_ref, kSubnet1);
  EXPECT_EQ(a.nics[0].network_ref, kNet);  // from the subnetwork
  EXPECT_EQ(a.nics[0].ip, Ip("10.0.1.3"));
  ASSERT_EQ(a.nics[0].alias_ranges.size(), 1u);
  EXPECT_EQ(a.nics[0].alias_ranges[0].range, P("10.100.0.16/28"));
  EXPECT_EQ(a.nics[0].alias_ranges[0].subnetwork_range_name, "pods");
  EXPECT_FALSE(a.nics[0].has_external_ip);
  const Instance& b = FindInstance(config, kInstanceB);
  EXPECT_EQ(b.zone, "us-east1-b");
  EXPECT_EQ(b.nics[0].name, "nic0");  // defaulted from the index
  EXPECT_EQ(b.nics[0].subnetwork_ref, kSubnet2);
  EXPECT_EQ(b.nics[0].ip, Ip("10.15.2.4"));
  EXPECT_TRUE(b.nics[0].has_external_ip);
  const Instance& c = FindInstance(config, kInstanceC);  // no "kind": inferred
  EXPECT_TRUE(c.can_ip_forward);
  EXPECT_EQ(c.nics[0].subnetwork_ref, kSubnet3);
  EXPECT_EQ(c.nics[0].network_ref, kNet);
  EXPECT_EQ(c.nics[0].ip, Ip("10.7.1.50"));

  // Cloud Asset Inventory NDJSON.
  ASSERT_EQ(config.firewalls.size(), 4u);
  const Firewall& internal = config.firewalls[0];
  EXPECT_EQ(internal.self_ref, "projects/host-prj/global/firewalls/allow-internal");
  EXPECT_EQ(internal.network_ref, kNet);
  EXPECT_EQ(internal.priority, 1000u);
  EXPECT_EQ(internal.direction, Direction::kIngress);
  EXPECT_EQ(internal.action, Action::kAllow);
  ASSERT_EQ(internal.rules.size(), 3u);
  EXPECT_EQ(internal.rules[0].protocol, 6);
  EXPECT_EQ(internal.rules[1].protocol, 17);
  EXPECT_EQ(internal.rules[2].protocol, 1);
  EXPECT_TRUE(internal.rules[0].ports.empty());
  EXPECT_EQ(internal.source_ranges, (std::vector<Prefix>{P("10.0.0.0/8")}));
  const Firewall& ssh = config.firewalls[1];  // identity from the asset name
  EXPECT_EQ(ssh.self_ref, "projects/host-prj/global/firewalls/allow-ssh-onprem");
  EXPECT_EQ(ssh.network_ref, kNet);
  EXPECT_EQ(ssh.target_tags, (std::vector<std::string>{"ssh"}));
  EXPECT_TRUE(ssh.log);
  ASSERT_EQ(ssh.rules.size(), 1u);
  ASSERT_EQ(ssh.rules[0].ports.size(), 1u);
  EXPECT_EQ(ssh.rules[0].ports[0].first, 22);
  EXPECT_EQ(ssh.rules[0].ports[0].last, 22);
  const Firewall& web = config.firewalls[2];
  EXPECT_EQ(web.rules[0].ports[1].first, 8080);
  EXPECT_EQ(web.rules[0].ports[1].last, 8090);
  EXPECT_EQ(web.target_service_accounts,
            (std::vector<std::string>{"web-b@svc-b.iam.gserviceaccount.com"}));
  const Firewall& smtp = config.firewalls[3];
  EXPECT_EQ(smtp.direction, Direction::kEgress);
  EXPECT_EQ(smtp.action, Action::kDeny);
  EXPECT_EQ(smtp.priority, 100u);
  EXPECT_EQ(smtp.destination_ranges, (std::vector<Prefix>{P("0.0.0.0/0")}));

  ASSERT_EQ(config.routes.size(), 2u);
  EXPECT_EQ(config.routes[0].self_ref, "projects/host-prj/global/routes/to-onprem");
  EXPECT_EQ(config.routes[0].next_hop_kind, NextHopKind::kVpnTunnel);
  EXPECT_EQ(config.routes[0].next_hop_ref, kTunnel);
  EXPECT_EQ(config.routes[0].dest_range, P("192.168.0.0/16"));
  EXPECT_EQ(config.routes[0].priority, 100u);
  EXPECT_EQ(config.routes[1].next_hop_kind, NextHopKind::kGateway);
  EXPECT_EQ(config.routes[1].next_hop_ref, "default-internet-gateway");

  // shared-vpc.json (with comments).
  const SharedVpc& shared = config.shared_vpc;
  ASSERT_EQ(shared.host_projects.size(), 1u);
  EXPECT_EQ(shared.host_projects[0].project_id, "host-prj");
  EXPECT_FALSE(shared.host_projects[0].share_all);
  EXPECT_EQ(shared.host_projects[0].shared_subnetwork_refs,
            (std::vector<std::string>{kSubnet1, kSubnet2, kSubnet3}));
  ASSERT_EQ(shared.service_projects.size(), 3u);
  EXPECT_EQ(shared.service_projects[2].project_id, "svc-c");
  EXPECT_EQ(shared.service_projects[2].host_project, "host-prj");
  ASSERT_EQ(shared.iam_policies.size(), 2u);
  EXPECT_EQ(shared.iam_policies[0].bindings[0].role, "roles/compute.networkUser");
  EXPECT_EQ(shared.iam_policies[0].bindings[0].members,
            (std::vector<std::string>{"group:team-a@example.com"}));
  ASSERT_EQ(shared.org_policies_json.size(), 1u);
  EXPECT_NE(shared.org_policies_json[0].find("restrictSharedVpcHostProjects"), std::string::npos);

  // testbed.json: references by full path, bare name and partial path; link networks inferred.
  const Testbed& testbed = config.testbed;
  ASSERT_EQ(testbed.ports.size(), 2u);
  EXPECT_EQ(testbed.ports[1].name, "uplink");
  EXPECT_EQ(testbed.ports[1].device, "net_tap1,iface=svpc-up");
  ASSERT_EQ(testbed.endpoints.size(), 5u);
  EXPECT_EQ(testbed.endpoints[0].instance_ref, kInstanceA);
  EXPECT_EQ(testbed.endpoints[0].vlan, 10);
  EXPECT_EQ(testbed.endpoints[0].nic, "nic0");
  EXPECT_FALSE(testbed.endpoints[0].mac.has_value());
  EXPECT_EQ(testbed.endpoints[1].instance_ref, kInstanceB);
  EXPECT_EQ(testbed.endpoints[2].instance_ref, kInstanceC);
  EXPECT_EQ(testbed.endpoints[2].mac, ParseMac("02:00:00:00:00:0c"));
  EXPECT_EQ(testbed.endpoints[3].kind, EndpointKind::kVpnTunnel);
  EXPECT_EQ(testbed.endpoints[3].link_ref, kTunnel);
  EXPECT_EQ(testbed.endpoints[3].network_ref, kNet);
  EXPECT_EQ(testbed.endpoints[4].kind, EndpointKind::kInternet);
  EXPECT_EQ(testbed.endpoints[4].network_ref, kNet);
}

TEST(ConfigLoaderTest, MalformedJsonIsAnError) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/bad.json", "{\n  \"name\": \"x\",\n  \"mtu\" 1500\n}\n");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/bad.json", "", "",
                    "invalid JSON: syntax error (line 3, column 9)");
}

TEST(ConfigLoaderTest, ReportsEveryProblemInEveryFile) {
  LoadResult result = LoadConfig(FixturePath("broken"));
  std::vector<ConfigIssue> want = {
      {"firewalls.ndjson", "projects/host/global/firewalls/fw-1", "allowed[0].IPProtocol",
       "unknown protocol \"tcpp\" (expected tcp, udp, icmp, esp, ah, sctp, ipip, all or a number "
       "0..255)"},
      {"firewalls.ndjson", "line 2", "", "invalid JSON: incomplete JSON (column 42)"},
      {"firewalls.ndjson", "projects/host/global/firewalls/fw-3", "priority",
       "must be an integer, not \"high\""},
      {"malformed.json", "", "", "invalid JSON: syntax error (line 4, column 3)"},
      {"subnets.json", "projects/host/regions/us-west1/subnetworks/tiny", "ipCidrRange",
       "10.0.0.0/30 is too small: the smallest primary range is /29"},
      {"projects/svc/vm.json", "projects/svc/zones/us-west1-b/instances/vm",
       "networkInterfaces[0].networkIP",
       "10.0.2.9 is outside the subnetwork's primary range 10.0.1.0/24"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
  EXPECT_TRUE(result.config.networks.empty());  // never half-loaded
  EXPECT_TRUE(result.config.subnetworks.empty());
}

TEST(ConfigLoaderTest, TypeErrorsDoNotHideOtherIssues) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vms.json", R"([
    {"kind": "compute#instance", "name": "vm-1", "zone": "us-west1-b", "canIpForward": "yes",
     "tags": {"items": ["ok", 7]},
     "networkInterfaces": [{"subnetwork": "projects/host-prj/regions/us-west1/subnetworks/subnet-1",
                            "networkIP": 10}]},
    {"kind": "compute#instance", "name": "vm-2", "zone": "us-west1-b",
     "networkInterfaces": "nic0"},
    "not a resource",
    {"kind": "compute#instance", "name": "vm-3", "zone": "us-west1-b",
     "networkInterfaces": [{"subnetwork": "projects/host-prj/regions/us-west1/subnetworks/subnet-1",
                            "networkIP": "10.0.1.3"}]}
  ])");
  LoadResult result = dir.Load();
  const std::string file = "projects/svc-a/vms.json";
  std::vector<ConfigIssue> want = {
      {file, "projects/svc-a/zones/us-west1-b/instances/vm-1", "canIpForward",
       "must be true or false, not a string"},
      {file, "projects/svc-a/zones/us-west1-b/instances/vm-1", "tags.items[1]",
       "must be a string, not an integer"},
      {file, "projects/svc-a/zones/us-west1-b/instances/vm-1", "networkInterfaces[0].networkIP",
       "must be a string, not an integer"},
      {file, "projects/svc-a/zones/us-west1-b/instances/vm-2", "networkInterfaces",
       "must be a list, not a string"},
      {file, "[2]", "", "must be a JSON object (a resource), not a string"},
      {file, "projects/svc-a/zones/us-west1-b/instances/vm-3", "networkInterfaces[0].networkIP",
       "10.0.1.3 is already used by projects/svc-a/zones/us-west1-a/instances/instance-a nic0"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
}

TEST(ConfigLoaderTest, UnknownKindsAreIgnoredWithAWarning) {
  TempConfigDir dir;
  dir.Write("host/other.json", R"([
    {"kind": "compute#vpnGateway", "name": "gw-1", "region": "us-east1"},
    {"kind": "compute#vpnTunnel", "name": "onprem-tunnel", "region": "us-east1"}
  ])");
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, "host/other.json", "gw-1", "kind",
                     "unsupported resource kind \"compute#vpnGateway\"; ignored");
  EXPECT_HAS_WARNING(result, "host/other.json", "onprem-tunnel", "kind",
                     "unsupported resource kind \"compute#vpnTunnel\"; ignored");
}

TEST(ConfigLoaderTest, KindIsInferredFromFields) {
  TempConfigDir dir;
  dir.Remove("testbed.json");  // its internet link would not know which network
  dir.Write("projects/host-prj/inferred.json", R"([
    {"name": "auto-net", "autoCreateSubnetworks": true},
    {"name": "auto-sub", "region": "us-west1", "network": "auto-net", "ipCidrRange": "10.200.0.0/20"},
    {"name": "fw", "network": "auto-net", "allowed": [{"IPProtocol": "all"}]},
    {"name": "rt", "network": "auto-net", "destRange": "10.0.0.0/8", "nextHopIp": "10.200.0.9"},
    {"name": "what-am-i"}
  ])");
  LoadResult result = dir.Load();
  EXPECT_ONLY_ERROR(result, "projects/host-prj/inferred.json", "what-am-i", "kind",
                    "cannot tell the resource kind: add \"kind\" (compute#network, "
                    "compute#subnetwork, compute#instance, compute#firewall, compute#route or "
                    "compute#router)");
  dir.Write("projects/host-prj/inferred.json", R"([
    {"name": "auto-net", "autoCreateSubnetworks": true},
    {"name": "auto-sub", "region": "us-west1", "network": "auto-net", "ipCidrRange": "10.200.0.0/20"},
    {"name": "fw", "network": "auto-net", "allowed": [{"IPProtocol": "all"}]},
    {"name": "rt", "network": "auto-net", "destRange": "10.0.0.0/8", "nextHopIp": "10.200.0.9"}
  ])");
  result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_EQ(result.config.networks.size(), 2u);
  EXPECT_TRUE(result.config.networks[1].auto_create_subnetworks);
  EXPECT_EQ(result.config.subnetworks.back().self_ref,
            "projects/host-prj/regions/us-west1/subnetworks/auto-sub");
  EXPECT_EQ(result.config.firewalls.back().rules[0].protocol, -1);
  EXPECT_EQ(result.config.routes.back().next_hop_kind, NextHopKind::kIp);
  EXPECT_EQ(result.config.routes.back().next_hop_ip, Ip("10.200.0.9"));
}

TEST(ConfigLoaderTest, RestListResponsesAreUnwrapped) {
  TempConfigDir dir;
  dir.Remove("testbed.json");  // its internet link would not know which network
  dir.Write("projects/host-prj/list.json", R"({"kind": "compute#networkList", "items": [
    {"kind": "compute#network", "name": "listed-net", "autoCreateSubnetworks": false}]})");
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_EQ(result.config.networks.back().self_ref, "projects/host-prj/global/networks/listed-net");
}

TEST(ConfigLoaderTest, ProjectIsRequired) {
  TempConfigDir dir;
  dir.Write("loose.json", R"({"kind": "compute#network", "name": "n1"})");
  EXPECT_ONLY_ERROR(dir.Load(), "loose.json", "n1", "selfLink",
                    "missing: cannot tell the project (add a selfLink or put the file under "
                    "projects/PROJECT_ID/)");
}

TEST(ConfigLoaderTest, RegionIsRequired) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json", R"({"kind": "compute#subnetwork", "name": "s",
    "network": "shared-net", "ipCidrRange": "10.9.0.0/24"})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json", "s", "region", "missing");
}

TEST(ConfigLoaderTest, SelfLinkMustAgreeWithFields) {
  TempConfigDir dir;
  dir.Write("host/s.json", R"({"kind": "compute#subnetwork", "name": "other",
    "network": "shared-net", "ipCidrRange": "10.9.0.0/24", "region": "us-east1",
    "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/regions/us-west1/subnetworks/s"})");
  LoadResult result = dir.Load();
  EXPECT_HAS_ERROR(result, "host/s.json", "other", "name",
                   "\"other\" does not match the name in selfLink \"s\"");
  EXPECT_HAS_ERROR(result, "host/s.json", "other", "region",
                   "\"us-east1\" does not match the region in selfLink \"us-west1\"");
  dir.Write("host/s.json", R"({"kind": "compute#subnetwork", "name": "s",
    "network": "shared-net", "ipCidrRange": "10.9.0.0/24",
    "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/global/networks/s"})");
  EXPECT_ONLY_ERROR(dir.Load(), "host/s.json", "s", "selfLink",
                    "\"https://www.googleapis.com/compute/v1/projects/host-prj/global/networks/s\" "
                    "is not a subnetwork URL (expected https://www.googleapis.com/compute/v1/"
                    "projects/PROJECT/regions/LOCATION/subnetworks/NAME)");
}

TEST(ConfigLoaderTest, BadReferenceIsAnError) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", R"({"kind": "compute#instance", "name": "vm",
    "zone": "us-west1-b", "networkInterfaces": [{"subnetwork": "global/networks/shared-net"}]})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm",
                    "networkInterfaces[0].subnetwork",
                    "\"global/networks/shared-net\" is not a valid subnetwork reference (expected "
                    "a URL or projects/PROJECT/regions/REGION/subnetworks/NAME)");
}

TEST(ConfigLoaderTest, InvalidNameIsAnError) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/n.json", R"({"kind": "compute#network", "name": "Bad_Name"})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/n.json", "Bad_Name", "name",
                    "\"Bad_Name\" is not a valid name (lowercase letters, digits and hyphens, "
                    "starting with a letter, at most 63 characters)");
}

TEST(ConfigLoaderTest, UnknownEnumValuesAreErrors) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/n.json", R"({"kind": "compute#network", "name": "n2",
    "routingConfig": {"routingMode": "PLANETARY"}, "mtu": 9000})");
  LoadResult result = dir.Load();
  std::vector<ConfigIssue> want = {
      {"projects/host-prj/n.json", "projects/host-prj/global/networks/n2",
       "routingConfig.routingMode", "unknown value \"PLANETARY\" (expected REGIONAL, GLOBAL)"},
      {"projects/host-prj/n.json", "projects/host-prj/global/networks/n2", "mtu",
       "must be 1300..8896 (got 9000)"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
}

TEST(ConfigLoaderTest, SubnetRoutesInRouteExportsAreIgnored) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/routes.json", R"([{"kind": "compute#route",
    "name": "default-route-abc", "network": "shared-net", "destRange": "10.0.1.0/24",
    "nextHopNetwork": "projects/host-prj/global/networks/shared-net"}])");
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_EQ(result.config.routes.size(), 2u);
  EXPECT_HAS_WARNING(result, "projects/host-prj/routes.json",
                     "projects/host-prj/global/routes/default-route-abc", "nextHopNetwork",
                     "subnet routes are derived from the subnetworks; route ignored");
}

TEST(ConfigLoaderTest, EphemeralAddressesAreTheFirstFree) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/more.json", R"([
    {"kind": "compute#instance", "name": "vm-1", "zone": "us-west1-b",
     "networkInterfaces": [{"subnetwork": "regions/us-west1/subnetworks/subnet-1"}]},
    {"kind": "compute#instance", "name": "vm-2", "zone": "us-west1-b",
     "networkInterfaces": [{"subnetwork": "projects/host-prj/regions/us-west1/subnetworks/subnet-1"}]}
  ])");
  // A bare name or partial path without project resolves in the resource's own project.
  LoadResult result = dir.Load();
  EXPECT_HAS_ERROR(
      result, "projects/svc-a/more.json", "projects/svc-a/zones/us-west1-b/instances/vm-1",
      "networkInterfaces[0].subnetwork",
      "subnetwork projects/svc-a/regions/us-west1/subnetworks/subnet-1 does not exist");
  dir.Write("projects/svc-a/more.json", R"([
    {"kind": "compute#instance", "name": "vm-1", "zone": "us-west1-b",
     "networkInterfaces": [{"subnetwork": "projects/host-prj/regions/us-west1/subnetworks/subnet-1"}]},
    {"kind": "compute#instance", "name": "vm-2", "zone": "us-west1-b",
     "networkInterfaces": [{"network": "projects/host-prj/global/networks/shared-net"}]}
  ])");
  result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  const Instance& vm1 =
      FindInstance(result.config, "projects/svc-a/zones/us-west1-b/instances/vm-1");
  const Instance& vm2 =
      FindInstance(result.config, "projects/svc-a/zones/us-west1-b/instances/vm-2");
  EXPECT_EQ(vm1.nics[0].ip, Ip("10.0.1.2"));        // .0 network, .1 gateway
  EXPECT_EQ(vm2.nics[0].ip, Ip("10.0.1.4"));        // .3 is instance-a's
  EXPECT_EQ(vm2.nics[0].subnetwork_ref, kSubnet1);  // the network's only subnet in us-west1
}

TEST(ConfigLoaderTest, NicNeedsASubnetworkInItsRegion) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", R"({"kind": "compute#instance", "name": "vm",
    "zone": "europe-west1-b",
    "networkInterfaces": [{"network": "projects/host-prj/global/networks/shared-net"}]})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/europe-west1-b/instances/vm",
                    "networkInterfaces[0].subnetwork",
                    "missing, and network projects/host-prj/global/networks/shared-net has no "
                    "subnetwork in region europe-west1");
}

TEST(ConfigLoaderTest, NotADirectory) {
  LoadResult result = LoadConfig("/nonexistent/svpc-config");
  EXPECT_ONLY_ERROR(result, "/nonexistent/svpc-config", "", "", "not a directory");
}

TEST(ConfigLoaderTest, FormatIssueSkipsEmptyParts) {
  EXPECT_EQ(FormatIssue({"a.json", "projects/p/global/networks/n", "mtu", "bad"}),
            "a.json: projects/p/global/networks/n: mtu: bad");
  EXPECT_EQ(FormatIssue({"a.json", "", "", "invalid JSON"}), "a.json: invalid JSON");
}

}  // namespace
}  // namespace svpc::config

namespace svpc::config {
namespace {

namespace json = boost::json;

// Visits every value of a JSON document; `replace` gets a pointer it may overwrite.
template <typename Fn>
void ForEachValue(json::value& value, Fn& fn) {
  fn(value);
  if (value.is_object()) {
    for (auto& [key, child] : value.get_object()) ForEachValue(child, fn);
  } else if (value.is_array()) {
    for (json::value& child : value.get_array()) ForEachValue(child, fn);
  }
}

// Replaces every value of every file of the hybrid fixture, one at a time, with values of other
// types: the loader must report issues (or accept), never throw or crash.
TEST(ConfigRobustnessTest, EveryFieldWithEveryWrongType) {
  TempConfigDir dir;
  const std::vector<json::value> replacements = {nullptr, -1, "x", json::array{}, json::object{}};
  size_t loads = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file()) continue;
    std::string rel = std::filesystem::relative(entry.path(), dir.path()).generic_string();
    std::ifstream in(entry.path());
    std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool ndjson = rel.ends_with(".ndjson");
    std::vector<std::string> docs;
    if (ndjson) {
      std::istringstream lines(original);
      for (std::string line; std::getline(lines, line);) docs.push_back(line);
    } else {
      json::parse_options options;
      options.allow_comments = true;
      docs.push_back(json::serialize(json::parse(original, {}, options)));
    }
    for (size_t d = 0; d < docs.size(); ++d) {
      json::value doc = json::parse(docs[d]);
      size_t count = 0;
      auto counter = [&](json::value&) { ++count; };
      ForEachValue(doc, counter);
      for (size_t target = 0; target < count; ++target) {
        for (const json::value& replacement : replacements) {
          json::value mutated = json::parse(docs[d]);
          size_t index = 0;
          auto mutate = [&](json::value& v) {
            if (index++ == target) v = replacement;
          };
          ForEachValue(mutated, mutate);
          std::vector<std::string> out = docs;
          out[d] = json::serialize(mutated);
          std::string text;
          for (const std::string& doc_text : out) text += doc_text + "\n";
          dir.Write(rel, text);
          LoadResult result = dir.Load();
          ++loads;
          if (!result.ok()) {
            EXPECT_TRUE(result.config.networks.empty() && result.config.instances.empty());
          }
          for (const ConfigIssue& issue : result.errors) {
            EXPECT_FALSE(issue.reason.starts_with("internal error")) << FormatIssue(issue);
          }
        }
      }
    }
    dir.Write(rel, original);
  }
  EXPECT_GT(loads, 500u);
}

}  // namespace
}  // namespace svpc::config
