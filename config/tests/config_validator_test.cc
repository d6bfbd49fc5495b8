// One test per rule of the resource model: each starts from the valid hybrid fixture, breaks one
// thing, and expects exactly the error that names it.

#include "config/config_validator.h"

#include <gtest/gtest.h>

#include "config/tests/test_support.h"

namespace svpc::config {
namespace {

constexpr char kNet[] = "projects/host-prj/global/networks/shared-net";
constexpr char kSubnet1[] = "projects/host-prj/regions/us-west1/subnetworks/subnet-1";
constexpr char kSubnet3[] = "projects/host-prj/regions/us-east1/subnetworks/subnet-3";
constexpr char kInstanceA[] = "projects/svc-a/zones/us-west1-a/instances/instance-a";
constexpr char kInstanceC[] = "projects/svc-c/zones/us-east1-c/instances/instance-c";

// A subnetwork of host-prj's shared-net, to be written under projects/host-prj/.
std::string Subnet(const std::string& name, const std::string& region, const std::string& range,
                   const std::string& extra = "") {
  return R"({"kind": "compute#subnetwork", "name": ")" + name + R"(", "region": ")" + region +
         R"(", "network": "shared-net", "ipCidrRange": ")" + range + "\"" + extra + "}";
}

// An instance with one NIC, to be written under projects/PROJECT/.
std::string Vm(const std::string& name, const std::string& zone, const std::string& subnet,
               const std::string& ip, const std::string& nic_extra = "") {
  return R"({"kind": "compute#instance", "name": ")" + name + R"(", "zone": ")" + zone +
         R"(", "networkInterfaces": [{"subnetwork": ")" + subnet + R"(", "networkIP": ")" + ip +
         "\"" + nic_extra + "}]}";
}

std::string Firewall(const std::string& name, const std::string& body) {
  return R"({"kind": "compute#firewall", "name": ")" + name +
         R"(", "network": "global/networks/shared-net", )" + body + "}";
}

std::string Route(const std::string& name, const std::string& body) {
  return R"({"kind": "compute#route", "name": ")" + name + R"(", "network": "shared-net", )" +
         body + "}";
}

std::string Testbed(const std::string& endpoints, const std::string& ports = "") {
  return R"({"ports": [{"name": "vms", "device": "net_tap0"}, {"name": "uplink", "device": "net_tap1"})" +
         ports + R"(], "endpoints": [)" + endpoints + "]}";
}

std::string SharedVpc(const std::string& hosts, const std::string& services) {
  return R"({"hostProjects": [)" + hosts + R"(], "serviceProjects": [)" + services + "]}";
}

const std::string kHostAll = R"({"projectId": "host-prj", "shared": "ALL"})";
const std::string kServicesAbc = R"({"projectId": "svc-a", "hostProject": "host-prj"},
    {"projectId": "svc-b", "hostProject": "host-prj"},
    {"projectId": "svc-c", "hostProject": "host-prj"})";

const std::string kOtherNet =
    R"({"kind": "compute#network", "name": "other-net", "autoCreateSubnetworks": false})";

TEST(ConfigValidatorTest, BaseFixtureIsValid) {
  TempConfigDir dir;
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
}

// --- Duplicates -----------------------------------------------------------------------------

TEST(ConfigValidatorTest, DuplicateResource) {
  TempConfigDir dir;
  dir.Write("zz/dup.json", R"({"kind": "compute#subnetwork", "name": "subnet-2",
    "network": "projects/host-prj/global/networks/shared-net", "ipCidrRange": "10.15.2.0/24",
    "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/regions/us-east1/subnetworks/subnet-2"})");
  EXPECT_ONLY_ERROR(dir.Load(), "zz/dup.json",
                    "projects/host-prj/regions/us-east1/subnetworks/subnet-2", "name",
                    "duplicate subnetwork: already defined in host/subnetworks.json");
}

// --- Subnetworks ----------------------------------------------------------------------------

TEST(ConfigValidatorTest, SubnetPrimaryRangeAtLeastSlash29) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json", Subnet("tiny", "us-west1", "10.9.0.0/30"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-west1/subnetworks/tiny", "ipCidrRange",
                    "10.9.0.0/30 is too small: the smallest primary range is /29");
  dir.Write("projects/host-prj/s.json", Subnet("tiny", "us-west1", "10.9.0.0/29"));
  EXPECT_TRUE(dir.Load().ok());
}

TEST(ConfigValidatorTest, SubnetRangeMustNotOverlapForbiddenRanges) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json", Subnet("near-google", "us-west1", "199.36.152.0/22"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-west1/subnetworks/near-google", "ipCidrRange",
                    "199.36.152.0/22 overlaps the forbidden range 199.36.153.4/30");
  dir.Write(
      "projects/host-prj/s.json",
      Subnet("loop", "us-west1", "10.9.0.0/24",
             R"(, "secondaryIpRanges": [{"rangeName": "lo", "ipCidrRange": "127.0.0.0/24"}])"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/host-prj/s.json", "projects/host-prj/regions/us-west1/subnetworks/loop",
      "secondaryIpRanges[0].ipCidrRange", "127.0.0.0/24 overlaps the forbidden range 127.0.0.0/8");
}

TEST(ConfigValidatorTest, SecondaryRangeMustBeACidr) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json",
            Subnet("sec", "us-west1", "10.9.0.0/24",
                   R"(, "secondaryIpRanges": [{"rangeName": "a", "ipCidrRange": "10.9.8.0/33"}])"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/host-prj/s.json", "projects/host-prj/regions/us-west1/subnetworks/sec",
      "secondaryIpRanges[0].ipCidrRange", "\"10.9.8.0/33\" is not a valid IPv4 CIDR range");
}

TEST(ConfigValidatorTest, SecondaryRangeNamesAreUnique) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json",
            Subnet("sec", "us-west1", "10.9.0.0/24", R"(, "secondaryIpRanges": [
              {"rangeName": "a", "ipCidrRange": "10.9.8.0/24"},
              {"rangeName": "a", "ipCidrRange": "10.9.9.0/24"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-west1/subnetworks/sec",
                    "secondaryIpRanges[1].rangeName", "duplicate secondary range name \"a\"");
}

TEST(ConfigValidatorTest, PrimaryRangeHostBitsAreAnError) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json", Subnet("sec", "us-west1", "10.9.0.5/24"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-west1/subnetworks/sec", "ipCidrRange",
                    "\"10.9.0.5/24\" has host bits set (did you mean 10.9.0.0/24?)");
}

TEST(ConfigValidatorTest, RangesInOneNetworkMustNotOverlap) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json", Subnet("west-b", "us-east1", "10.0.1.128/25"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/host-prj/s.json",
      "projects/host-prj/regions/us-east1/subnetworks/west-b", "ipCidrRange",
      std::string("10.0.1.128/25 overlaps 10.0.1.0/24 (ipCidrRange of ") + kSubnet1 + ")");
  dir.Write(
      "projects/host-prj/s.json",
      Subnet("east-x", "us-east1", "10.50.0.0/24",
             R"(, "secondaryIpRanges": [{"rangeName": "pods2", "ipCidrRange": "10.100.8.0/24"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-east1/subnetworks/east-x",
                    "secondaryIpRanges[0].ipCidrRange",
                    std::string("10.100.8.0/24 overlaps 10.100.0.0/20 (secondary range pods of ") +
                        kSubnet1 + ")");
  // Within one subnetwork too.
  dir.Write(
      "projects/host-prj/s.json",
      Subnet("self", "us-east1", "10.50.0.0/24",
             R"(, "secondaryIpRanges": [{"rangeName": "x", "ipCidrRange": "10.50.0.64/26"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-east1/subnetworks/self",
                    "secondaryIpRanges[0].ipCidrRange",
                    "10.50.0.64/26 overlaps 10.50.0.0/24 (ipCidrRange of "
                    "projects/host-prj/regions/us-east1/subnetworks/self)");
}

TEST(ConfigValidatorTest, OtherNetworksMayReuseRanges) {
  TempConfigDir dir;
  dir.Remove("testbed.json");  // its internet link would not know which network
  dir.Write("projects/host-prj/other.json",
            "[" + kOtherNet + R"(, {"kind": "compute#subnetwork", "name": "other-1",
              "region": "us-west1", "network": "other-net", "ipCidrRange": "10.0.1.0/24"}])");
  dir.Write("projects/host-prj/vm.json",
            Vm("host-vm", "us-west1-b", "regions/us-west1/subnetworks/other-1", "10.0.1.3"));
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
}

TEST(ConfigValidatorTest, GatewayMustBeInsidePrimaryRange) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json",
            Subnet("gw", "us-west1", "10.9.0.0/24", R"(, "gatewayAddress": "10.9.1.1")"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-west1/subnetworks/gw", "gatewayAddress",
                    "10.9.1.1 is outside the primary range 10.9.0.0/24");
}

TEST(ConfigValidatorTest, GatewayIsNotTheNetworkOrBroadcastAddress) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json",
            Subnet("gw", "us-west1", "10.9.0.0/24", R"(, "gatewayAddress": "10.9.0.255")"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-west1/subnetworks/gw", "gatewayAddress",
                    "10.9.0.255 is the network or broadcast address of 10.9.0.0/24");
}

TEST(ConfigValidatorTest, SubnetNetworkMustExist) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/s.json",
            R"({"kind": "compute#subnetwork", "name": "orphan", "region": "us-west1",
                "network": "global/networks/nope", "ipCidrRange": "10.9.0.0/24"})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/s.json",
                    "projects/host-prj/regions/us-west1/subnetworks/orphan", "network",
                    "network projects/host-prj/global/networks/nope does not exist");
}

TEST(ConfigValidatorTest, AutoModeNetworkAcceptsSubnetsAsGiven) {
  TempConfigDir dir;
  dir.Remove("testbed.json");  // its internet link would not know which network
  dir.Write("projects/host-prj/auto.json",
            R"([{"kind": "compute#network", "name": "auto-net", "autoCreateSubnetworks": true},
                {"kind": "compute#subnetwork", "name": "odd", "region": "us-central1",
                 "network": "auto-net", "ipCidrRange": "172.16.0.0/24"}])");
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
}

// --- Instances ------------------------------------------------------------------------------

TEST(ConfigValidatorTest, InstanceZoneMustBeInSubnetRegion) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-east1-b", kSubnet1, "10.0.1.9"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/svc-a/vm.json", "projects/svc-a/zones/us-east1-b/instances/vm-x",
      "zone", std::string("zone us-east1-b is not in region us-west1 of subnetwork ") + kSubnet1);
}

TEST(ConfigValidatorTest, NicNetworkMustBeTheSubnetsNetwork) {
  TempConfigDir dir;
  dir.Remove("testbed.json");  // its internet link would not know which network
  dir.Write("projects/host-prj/other.json", kOtherNet);
  dir.Write("projects/svc-a/vm.json",
            Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
               R"(, "network": "projects/host-prj/global/networks/other-net")"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].network",
                    std::string("network projects/host-prj/global/networks/other-net does not "
                                "match the subnetwork's network ") +
                        kNet);
}

TEST(ConfigValidatorTest, InstanceSubnetMustExist) {
  TempConfigDir dir;
  dir.Write(
      "projects/svc-a/vm.json",
      Vm("vm-x", "us-west1-b", "projects/host-prj/regions/us-west1/subnetworks/ghost", "10.0.1.9"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].subnetwork",
                    "subnetwork projects/host-prj/regions/us-west1/subnetworks/ghost does not "
                    "exist");
}

TEST(ConfigValidatorTest, NetworkIpMustBeInsidePrimaryRange) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.2.9"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].networkIP",
                    "10.0.2.9 is outside the subnetwork's primary range 10.0.1.0/24");
}

TEST(ConfigValidatorTest, NetworkIpMustNotBeReserved) {
  for (const std::string ip : {"10.0.1.0", "10.0.1.1", "10.0.1.254", "10.0.1.255"}) {
    TempConfigDir dir;
    dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, ip));
    EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                      "projects/svc-a/zones/us-west1-b/instances/vm-x",
                      "networkInterfaces[0].networkIP",
                      ip + " is reserved in 10.0.1.0/24 (network, gateway, second-to-last and "
                           "broadcast addresses are unusable)");
  }
}

TEST(ConfigValidatorTest, AddressesInANetworkAreUnique) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.3"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].networkIP",
                    std::string("10.0.1.3 is already used by ") + kInstanceA + " nic0");
  dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
                                         R"(, "aliasIpRanges": [{"ipCidrRange": "10.0.1.2/31"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].aliasIpRanges[0].ipCidrRange",
                    std::string("10.0.1.2/31 overlaps 10.0.1.3 used by ") + kInstanceA + " nic0");
  dir.Write(
      "projects/svc-a/vm.json",
      Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
         R"(, "aliasIpRanges": [{"ipCidrRange": "10.100.0.0/24", "subnetworkRangeName": "pods"}])"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/svc-a/vm.json", "projects/svc-a/zones/us-west1-b/instances/vm-x",
      "networkInterfaces[0].aliasIpRanges[0].ipCidrRange",
      std::string("10.100.0.0/24 overlaps 10.100.0.16/28 used by ") + kInstanceA + " nic0");
}

TEST(ConfigValidatorTest, AliasRangesComeFromTheSubnet) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
                                         R"(, "aliasIpRanges": [{"ipCidrRange": "10.0.2.0/28"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].aliasIpRanges[0].ipCidrRange",
                    "10.0.2.0/28 is outside the subnetwork's primary range 10.0.1.0/24");
  dir.Write(
      "projects/svc-a/vm.json",
      Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
         R"(, "aliasIpRanges": [{"ipCidrRange": "10.101.0.0/24", "subnetworkRangeName": "pods"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].aliasIpRanges[0].ipCidrRange",
                    "10.101.0.0/24 is outside secondary range pods 10.100.0.0/20");
  dir.Write(
      "projects/svc-a/vm.json",
      Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
         R"(, "aliasIpRanges": [{"ipCidrRange": "10.100.1.0/24", "subnetworkRangeName": "svc"}])"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/svc-a/vm.json", "projects/svc-a/zones/us-west1-b/instances/vm-x",
      "networkInterfaces[0].aliasIpRanges[0].subnetworkRangeName",
      std::string("subnetwork ") + kSubnet1 + " has no secondary range named \"svc\"");
  // A bare address is a /32.
  dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
                                         R"(, "aliasIpRanges": [{"ipCidrRange": "10.0.1.77"}])"));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
}

TEST(ConfigValidatorTest, AliasRangeMustBeAFullCidr) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9",
                                         R"(, "aliasIpRanges": [{"ipCidrRange": "/24"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].aliasIpRanges[0].ipCidrRange",
                    "\"/24\" must be a full CIDR range (ADDRESS/LENGTH); a bare netmask asks GCP "
                    "to allocate, which the emulator does not do");
}

TEST(ConfigValidatorTest, InstanceHasOneNicPerNetwork) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/vm.json", R"({"kind": "compute#instance", "name": "vm-x",
    "zone": "us-west1-b", "networkInterfaces": [
      {"subnetwork": "projects/host-prj/regions/us-west1/subnetworks/subnet-1", "networkIP": "10.0.1.9"},
      {"subnetwork": "projects/host-prj/regions/us-west1/subnetworks/subnet-1", "networkIP": "10.0.1.10"}]})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json",
                    "projects/svc-a/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[1].network",
                    std::string("the instance already has an interface in network ") + kNet);
}

TEST(ConfigValidatorTest, ServiceProjectUsesOnlySharedSubnets) {
  TempConfigDir dir;
  dir.Write("shared-vpc.json", SharedVpc(R"({"projectId": "host-prj", "shared": [
                "regions/us-west1/subnetworks/subnet-1", "regions/us-east1/subnetworks/subnet-2"]})",
                                         kServicesAbc));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/svc-c/instance-c.json", kInstanceC, "networkInterfaces[0].subnetwork",
      std::string("subnetwork ") + kSubnet3 + " is not shared by host project host-prj");
  dir.Write("shared-vpc.json", SharedVpc(kHostAll, kServicesAbc));
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
}

TEST(ConfigValidatorTest, StandaloneProjectUsesOnlyItsOwnNetworks) {
  TempConfigDir dir;
  dir.Write("projects/lone/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/lone/vm.json",
                    "projects/lone/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].subnetwork",
                    std::string("subnetwork ") + kSubnet1 +
                        " is in project host-prj, and project lone is not a service project of "
                        "host-prj");
  // The host project's own instances use its networks.
  dir.Write("projects/lone/vm.json", "[]");
  dir.Write("projects/host-prj/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9"));
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
}

TEST(ConfigValidatorTest, ServiceProjectOfAnotherHostCannotUseTheSubnet) {
  TempConfigDir dir;
  dir.Write("shared-vpc.json",
            SharedVpc(kHostAll + R"(, {"projectId": "host-two", "shared": "ALL"})",
                      kServicesAbc + R"(, {"projectId": "svc-d", "hostProject": "host-two"})"));
  dir.Write("projects/svc-d/vm.json", Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.9"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-d/vm.json",
                    "projects/svc-d/zones/us-west1-b/instances/vm-x",
                    "networkInterfaces[0].subnetwork",
                    std::string("subnetwork ") + kSubnet1 +
                        " is in project host-prj, and project svc-d is not a service project of "
                        "host-prj");
}

TEST(ConfigValidatorTest, WithoutSharedVpcFileEveryProjectIsStandalone) {
  TempConfigDir dir;
  dir.Remove("shared-vpc.json");
  LoadResult result = dir.Load();
  ASSERT_EQ(result.errors.size(), 3u) << AllIssues(result);
  EXPECT_HAS_ERROR(result, "projects/svc-a/instance-a.json", kInstanceA,
                   "networkInterfaces[0].subnetwork",
                   std::string("subnetwork ") + kSubnet1 +
                       " is in project host-prj, and project svc-a is not a service project of "
                       "host-prj");
}

// --- Shared VPC -----------------------------------------------------------------------------

TEST(ConfigValidatorTest, ServiceProjectHasExactlyOneHost) {
  TempConfigDir dir;
  dir.Write("shared-vpc.json",
            SharedVpc(kHostAll + R"(, {"projectId": "host-two", "shared": "ALL"})",
                      kServicesAbc + R"(, {"projectId": "svc-a", "hostProject": "host-two"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "projects/svc-a",
                    "serviceProjects[3].hostProject",
                    "project svc-a is already attached to host project host-prj; a service "
                    "project has exactly one host");
}

TEST(ConfigValidatorTest, ProjectIsNotBothHostAndService) {
  TempConfigDir dir;
  dir.Write("shared-vpc.json",
            SharedVpc(kHostAll + R"(, {"projectId": "host-two", "shared": "ALL"})",
                      kServicesAbc + R"(, {"projectId": "host-two", "hostProject": "host-prj"})"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "shared-vpc.json", "projects/host-two", "serviceProjects[3].projectId",
      "project host-two is a host project; a project cannot be both host and service");
}

TEST(ConfigValidatorTest, ServiceProjectsHostMustBeAHostProject) {
  TempConfigDir dir;
  dir.Write(
      "shared-vpc.json",
      SharedVpc(kHostAll, kServicesAbc + R"(, {"projectId": "svc-d", "hostProject": "nowhere"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "projects/svc-d",
                    "serviceProjects[3].hostProject",
                    "\"nowhere\" is not a host project (not in hostProjects)");
}

TEST(ConfigValidatorTest, SharedSubnetsMustExistInTheHost) {
  TempConfigDir dir;
  dir.Write(
      "shared-vpc.json",
      SharedVpc(R"({"projectId": "host-prj", "shared": ["regions/us-west1/subnetworks/subnet-1",
                "regions/us-east1/subnetworks/subnet-2", "regions/us-east1/subnetworks/subnet-3",
                "regions/us-west1/subnetworks/ghost",
                "projects/elsewhere/regions/us-west1/subnetworks/subnet-1"]})",
                kServicesAbc));
  LoadResult result = dir.Load();
  std::vector<ConfigIssue> want = {
      {"shared-vpc.json", "projects/host-prj", "hostProjects[0].shared[3]",
       "subnetwork projects/host-prj/regions/us-west1/subnetworks/ghost does not exist"},
      {"shared-vpc.json", "projects/host-prj", "hostProjects[0].shared[4]",
       "subnetwork projects/elsewhere/regions/us-west1/subnetworks/subnet-1 is not in host project "
       "host-prj"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
}

TEST(ConfigValidatorTest, HostProjectListedOnce) {
  TempConfigDir dir;
  dir.Write("shared-vpc.json", SharedVpc(kHostAll + ", " + kHostAll, kServicesAbc));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "projects/host-prj", "hostProjects[1].projectId",
                    "host project listed twice");
}

TEST(ConfigValidatorTest, ServiceProjectListedTwiceWithTheSameHostIsAWarning) {
  TempConfigDir dir;
  dir.Write(
      "shared-vpc.json",
      SharedVpc(kHostAll, kServicesAbc + R"(, {"projectId": "svc-a", "hostProject": "host-prj"})"));
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, "shared-vpc.json", "projects/svc-a", "serviceProjects[3].projectId",
                     "service project listed twice");
}

TEST(ConfigValidatorTest, StandaloneProjectIsNeitherHostNorService) {
  TempConfigDir dir;
  dir.Write("shared-vpc.json", R"({"hostProjects": [{"projectId": "host-prj", "shared": "ALL"}],
    "serviceProjects": [{"projectId": "svc-a", "hostProject": "host-prj"},
                        {"projectId": "svc-b", "hostProject": "host-prj"},
                        {"projectId": "svc-c", "hostProject": "host-prj"}],
    "standaloneProjects": ["lab", "svc-b", "host-prj"]})");
  LoadResult result = dir.Load();
  std::vector<ConfigIssue> want = {
      {"shared-vpc.json", "projects/svc-b", "standaloneProjects[1]",
       "project svc-b is also a service project; it cannot be standalone"},
      {"shared-vpc.json", "projects/host-prj", "standaloneProjects[2]",
       "project host-prj is also a host project; it cannot be standalone"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
}

TEST(ConfigValidatorTest, SharedVpcFileTypeErrors) {
  TempConfigDir dir;
  dir.Write("shared-vpc.json", R"({"hostProjects": [{"projectId": "host-prj", "shared": "SOME"}],
    "serviceProjects": [{"projectId": 5, "hostProject": "host-prj"}], "orgPolicies": [1]})");
  LoadResult result = dir.Load();
  EXPECT_HAS_ERROR(result, "shared-vpc.json", "projects/host-prj", "hostProjects[0].shared",
                   "must be \"ALL\" or a list of subnetwork references, not \"SOME\"");
  EXPECT_HAS_ERROR(result, "shared-vpc.json", "serviceProjects[0]", "serviceProjects[0].projectId",
                   "must be a string, not an integer");
  EXPECT_HAS_ERROR(result, "shared-vpc.json", "", "orgPolicies[0]",
                   "must be an object, not an integer");
}

// --- Firewall rules -------------------------------------------------------------------------

const std::string kFwFile = "projects/host-prj/fw.json";
const std::string kFwRef = "projects/host-prj/global/firewalls/fw";

TEST(ConfigValidatorTest, FirewallHasExactlyOneOfAllowedDenied) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("allowed": [{"IPProtocol": "tcp"}],
                                       "denied": [{"IPProtocol": "udp"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "denied",
                    "a rule has either allowed or denied, not both");
  dir.Write(kFwFile,
            R"({"kind": "compute#firewall", "name": "fw", "sourceRanges": ["10.0.0.0/8"]})");
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "allowed",
                    "missing: a rule needs allowed or denied");
}

TEST(ConfigValidatorTest, FirewallSourceTagsOrSourceServiceAccounts) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("allowed": [{"IPProtocol": "tcp"}], "sourceTags": ["a"],
                                       "sourceServiceAccounts": ["x@y.iam.gserviceaccount.com"])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "sourceServiceAccounts",
                    "sourceTags and sourceServiceAccounts cannot be used together");
}

TEST(ConfigValidatorTest, FirewallTargetTagsOrTargetServiceAccounts) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("allowed": [{"IPProtocol": "tcp"}], "targetTags": ["a"],
                                       "targetServiceAccounts": ["x@y.iam.gserviceaccount.com"])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "targetServiceAccounts",
                    "targetTags and targetServiceAccounts cannot be used together");
}

TEST(ConfigValidatorTest, FirewallDoesNotMixTagsAndServiceAccounts) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("allowed": [{"IPProtocol": "tcp"}], "sourceTags": ["a"],
                                       "targetServiceAccounts": ["x@y.iam.gserviceaccount.com"])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "targetServiceAccounts",
                    "network tags and service accounts cannot be mixed in one rule (sourceTags "
                    "with targetServiceAccounts)");
  dir.Write(kFwFile, Firewall("fw", R"("allowed": [{"IPProtocol": "tcp"}], "targetTags": ["a"],
                                       "sourceServiceAccounts": ["x@y.iam.gserviceaccount.com"])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "targetTags",
                    "network tags and service accounts cannot be mixed in one rule "
                    "(sourceServiceAccounts with targetTags)");
}

TEST(ConfigValidatorTest, FirewallSourcesOnlyOnIngress) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("direction": "EGRESS", "allowed": [{"IPProtocol": "tcp"}],
                                       "sourceTags": ["a"])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "sourceTags",
                    "only INGRESS rules can have source tags or source service accounts");
  dir.Write(kFwFile, Firewall("fw", R"("direction": "EGRESS", "allowed": [{"IPProtocol": "tcp"}],
                                       "sourceServiceAccounts": ["x@y.iam.gserviceaccount.com"])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "sourceServiceAccounts",
                    "only INGRESS rules can have source tags or source service accounts");
}

TEST(ConfigValidatorTest, FirewallPortsOnlyForTcpUdpSctp) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("allowed": [{"IPProtocol": "icmp", "ports": ["8"]}])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "allowed[0].ports",
                    "ports are only allowed with tcp, udp and sctp (protocol is \"icmp\")");
  dir.Write(kFwFile, Firewall("fw", R"("allowed": [{"IPProtocol": "sctp", "ports": ["9"]},
                                                   {"IPProtocol": "17", "ports": ["53"]},
                                                   {"IPProtocol": 47}])"));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_EQ(result.config.firewalls.back().rules[1].protocol, 17);
  EXPECT_EQ(result.config.firewalls.back().rules[2].protocol, 47);
}

TEST(ConfigValidatorTest, FirewallPortRangesAreValid) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("denied": [{"IPProtocol": "tcp",
                                        "ports": ["2000-1000", "70000", "ssh", "0-65535"]}])"));
  LoadResult result = dir.Load();
  std::vector<ConfigIssue> want = {
      {kFwFile, kFwRef, "denied[0].ports[0]",
       "\"2000-1000\" is an empty range (first port above last)"},
      {kFwFile, kFwRef, "denied[0].ports[1]", "\"70000\": ports must be 0..65535"},
      {kFwFile, kFwRef, "denied[0].ports[2]",
       "\"ssh\" is not a port or port range (\"22\", \"1000-2000\")"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
}

TEST(ConfigValidatorTest, FirewallPriorityRange) {
  TempConfigDir dir;
  dir.Write(kFwFile, Firewall("fw", R"("priority": 65536, "allowed": [{"IPProtocol": "tcp"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "priority", "must be 0..65535 (got 65536)");
  dir.Write(kFwFile, Firewall("fw", R"("priority": -1, "allowed": [{"IPProtocol": "tcp"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "priority", "must be 0..65535 (got -1)");
  dir.Write(kFwFile, Firewall("fw", R"("priority": 65535, "allowed": [{"IPProtocol": "tcp"}])"));
  EXPECT_TRUE(dir.Load().ok());
}

TEST(ConfigValidatorTest, FirewallNetworkMustExist) {
  TempConfigDir dir;
  // Without "network" a rule belongs to the project's default network.
  dir.Write(kFwFile,
            R"({"kind": "compute#firewall", "name": "fw", "allowed": [{"IPProtocol": "tcp"}]})");
  EXPECT_ONLY_ERROR(dir.Load(), kFwFile, kFwRef, "network",
                    "network projects/host-prj/global/networks/default does not exist");
}

TEST(ConfigValidatorTest, FirewallUnknownEnumValues) {
  TempConfigDir dir;
  dir.Write(kFwFile,
            Firewall("fw", R"("direction": "SIDEWAYS", "allowed": [{"IPProtocol": "gre"}])"));
  LoadResult result = dir.Load();
  std::vector<ConfigIssue> want = {
      {kFwFile, kFwRef, "direction", "unknown value \"SIDEWAYS\" (expected INGRESS, EGRESS)"},
      {kFwFile, kFwRef, "allowed[0].IPProtocol",
       "unknown protocol \"gre\" (expected tcp, udp, icmp, esp, ah, sctp, ipip, all or a number "
       "0..255)"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
}

// --- Routes ---------------------------------------------------------------------------------

const std::string kRtFile = "projects/host-prj/rt.json";
const std::string kRtRef = "projects/host-prj/global/routes/rt";

TEST(ConfigValidatorTest, RouteHasExactlyOneNextHop) {
  TempConfigDir dir;
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.0/12")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "nextHop",
                    "missing: a route needs exactly one of nextHopGateway, nextHopInstance, "
                    "nextHopIp, nextHopIlb, nextHopVpnTunnel, nextHopInterconnectAttachment");
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.0/12", "nextHopIp": "10.0.1.3",
                                    "nextHopGateway": "default-internet-gateway")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "nextHop",
                    "a route has exactly one next hop, found nextHopGateway, nextHopIp");
}

TEST(ConfigValidatorTest, RouteDestRangeIsValid) {
  TempConfigDir dir;
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.0/33", "nextHopIp": "10.0.1.3")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "destRange",
                    "\"172.16.0.0/33\" is not a valid IPv4 CIDR range");
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.1/12", "nextHopIp": "10.0.1.3")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "destRange",
                    "\"172.16.0.1/12\" has host bits set (did you mean 172.16.0.0/12?)");
}

TEST(ConfigValidatorTest, RoutePriorityRange) {
  TempConfigDir dir;
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.0/12", "priority": 70000,
                                    "nextHopIp": "10.0.1.3")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "priority", "must be 0..65535 (got 70000)");
}

TEST(ConfigValidatorTest, RouteNetworkMustExist) {
  TempConfigDir dir;
  dir.Write(kRtFile, R"({"kind": "compute#route", "name": "rt", "network": "nope",
                         "destRange": "172.16.0.0/12", "nextHopIp": "10.0.1.3"})");
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "network",
                    "network projects/host-prj/global/networks/nope does not exist");
}

TEST(ConfigValidatorTest, RouteCannotOverrideSubnetRoutes) {
  TempConfigDir dir;
  dir.Write(kRtFile, Route("rt", R"("destRange": "10.0.1.128/25", "nextHopIp": "10.15.2.4")"));
  EXPECT_ONLY_ERROR(
      dir.Load(), kRtFile, kRtRef, "destRange",
      std::string("10.0.1.128/25 is within subnet range 10.0.1.0/24 (ipCidrRange of ") + kSubnet1 +
          "); subnet routes cannot be overridden");
  dir.Write(kRtFile, Route("rt", R"("destRange": "10.7.1.0/24", "nextHopIp": "10.15.2.4")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "destRange",
                    std::string("10.7.1.0/24 is within subnet range 10.7.1.0/24 (ipCidrRange of ") +
                        kSubnet3 + "); subnet routes cannot be overridden");
  dir.Write(kRtFile, Route("rt", R"("destRange": "10.100.1.0/24", "nextHopIp": "10.15.2.4")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "destRange",
                    std::string("10.100.1.0/24 is within subnet range 10.100.0.0/20 (secondary "
                                "range pods of ") +
                        kSubnet1 + "); subnet routes cannot be overridden");
  // Less specific than a subnet range is fine.
  dir.Write(kRtFile, Route("rt", R"("destRange": "10.0.0.0/8", "nextHopIp": "10.15.2.4")"));
  EXPECT_TRUE(dir.Load().ok());
}

TEST(ConfigValidatorTest, RouteNextHopInstanceHasANicInTheNetwork) {
  TempConfigDir dir;
  dir.Remove("testbed.json");  // its internet link would not know which network
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.0/12",
                                    "nextHopInstance": "zones/us-west1-a/instances/ghost")"));
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "nextHopInstance",
                    "instance projects/host-prj/zones/us-west1-a/instances/ghost does not exist");
  dir.Write("projects/host-prj/other.json", kOtherNet);
  dir.Write(kRtFile, R"({"kind": "compute#route", "name": "rt", "network": "other-net",
    "destRange": "172.16.0.0/12",
    "nextHopInstance": "https://www.googleapis.com/compute/v1/projects/svc-a/zones/us-west1-a/instances/instance-a"})");
  EXPECT_ONLY_ERROR(dir.Load(), kRtFile, kRtRef, "nextHopInstance",
                    std::string("instance ") + kInstanceA +
                        " has no interface in network projects/host-prj/global/networks/other-net");
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.0/12",
    "nextHopInstance": "projects/svc-a/zones/us-west1-a/instances/instance-a")"));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_EQ(result.config.routes.back().next_hop_ref, kInstanceA);
}

TEST(ConfigValidatorTest, RouteToIlbIsAWarning) {
  TempConfigDir dir;
  dir.Write(kRtFile, Route("rt", R"("destRange": "172.16.0.0/12", "nextHopIlb": "10.0.1.100")"));
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, kRtFile, kRtRef, "nextHopIlb",
                     "load balancing is not emulated: the route goes to the instance holding the "
                     "forwarding rule's address (inactive when given as a forwarding rule)");
}

// --- Testbed --------------------------------------------------------------------------------

const std::string kEndpointA =
    R"({"port": "vms", "vlan": 10, "instance": "projects/svc-a/zones/us-west1-a/instances/instance-a"})";

TEST(ConfigValidatorTest, TestbedPortNamesAreUnique) {
  TempConfigDir dir;
  dir.Write("testbed.json", Testbed(kEndpointA, R"(, {"name": "vms", "device": "net_tap2"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "ports[2]", "name",
                    "duplicate port name \"vms\" (also ports[0])");
}

TEST(ConfigValidatorTest, TestbedEndpointPortExists) {
  TempConfigDir dir;
  dir.Write("testbed.json", Testbed(R"({"port": "eth9", "instance": "instance-a"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "port",
                    "no port named \"eth9\" in ports");
}

TEST(ConfigValidatorTest, TestbedEndpointInstanceExists) {
  TempConfigDir dir;
  dir.Write(
      "testbed.json",
      Testbed(R"({"port": "vms", "instance": "projects/svc-a/zones/us-west1-a/instances/ghost"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "instance",
                    "instance projects/svc-a/zones/us-west1-a/instances/ghost does not exist");
  dir.Write("testbed.json", Testbed(R"({"port": "vms", "instance": "ghost"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "instance",
                    "no instance matches \"ghost\" (use a full reference: "
                    "projects/PROJECT/zones/ZONE/instances/NAME)");
}

TEST(ConfigValidatorTest, TestbedEndpointNicExists) {
  TempConfigDir dir;
  dir.Write("testbed.json", Testbed(R"({"port": "vms", "instance": "instance-a", "nic": "nic1"})"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "testbed.json", "endpoints[0]", "nic",
      std::string("instance ") + kInstanceA + " has no network interface named \"nic1\"");
}

TEST(ConfigValidatorTest, TestbedMacIsUniquePerPortAndVlan) {
  TempConfigDir dir;
  // instance-a's default MAC is 42:01:0a:00:01:03 (GCP's 42:01:<IP>).
  dir.Write("testbed.json", Testbed(kEndpointA + R"(,
      {"port": "vms", "vlan": 10, "instance": "instance-b", "mac": "42:01:0a:00:01:03"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[1]", "mac",
                    "MAC 42:01:0a:00:01:03 is already used on port vms VLAN 10 by endpoints[0]");
  dir.Write("testbed.json", Testbed(kEndpointA + R"(,
      {"port": "vms", "vlan": 11, "instance": "instance-b", "mac": "42:01:0a:00:01:03"})"));
  EXPECT_TRUE(dir.Load().ok());
}

TEST(ConfigValidatorTest, TestbedOneExternalLinkPerPortAndVlan) {
  TempConfigDir dir;
  dir.Write("testbed.json", Testbed(R"({"port": "uplink", "vlan": 100, "internet": true},
      {"port": "uplink", "vlan": 100, "vpnTunnel": "onprem-tunnel"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[1]", "port",
                    "port uplink VLAN 100 already carries an external link (endpoints[0]); one "
                    "external link per port and VLAN");
}

TEST(ConfigValidatorTest, TestbedExternalLinkHasItsOwnPortAndVlan) {
  TempConfigDir dir;
  dir.Write("testbed.json",
            Testbed(kEndpointA + R"(, {"port": "vms", "vlan": 10, "internet": true})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[1]", "port",
                    "port vms VLAN 10 also carries instance endpoints (endpoints[0]); an external "
                    "link needs a port and VLAN of its own");
}

TEST(ConfigValidatorTest, TestbedVlanRange) {
  TempConfigDir dir;
  dir.Write("testbed.json", Testbed(R"({"port": "vms", "vlan": 0, "instance": "instance-a"},
      {"port": "vms", "vlan": 4095, "instance": "instance-b"},
      {"port": "vms", "vlan": 70000, "instance": "instance-c"})"));
  LoadResult result = dir.Load();
  std::vector<ConfigIssue> want = {
      {"testbed.json", "endpoints[2]", "vlan", "must be 1..4094 (got 70000)"},
      {"testbed.json", "endpoints[0]", "vlan", "must be 1..4094 (got 0)"},
      {"testbed.json", "endpoints[1]", "vlan", "must be 1..4094 (got 4095)"},
  };
  EXPECT_EQ(result.errors, want) << AllIssues(result);
}

TEST(ConfigValidatorTest, TestbedNicIsWiredOnce) {
  TempConfigDir dir;
  dir.Write("testbed.json", Testbed(kEndpointA + R"(,
      {"port": "vms", "vlan": 20, "instance": "zones/us-west1-a/instances/instance-a"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[1]", "nic",
                    std::string(kInstanceA) + " nic0 is already wired by endpoints[0]");
}

TEST(ConfigValidatorTest, TestbedLinkNetworkIsInferredOrExplicit) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/other.json", kOtherNet);
  // The tunnel's network comes from the route to it; the internet link has no such route.
  dir.Write("testbed.json",
            Testbed(R"({"port": "uplink", "vlan": 100, "vpnTunnel": "onprem-tunnel"},
      {"port": "uplink", "vlan": 200, "internet": true})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[1]", "network",
                    "cannot tell which network this link belongs to; add \"network\"");
  dir.Write("testbed.json",
            Testbed(R"({"port": "uplink", "vlan": 100, "vpnTunnel": "onprem-tunnel"},
      {"port": "uplink", "vlan": 200, "internet": true, "network": "other-net"},
      {"port": "uplink", "vlan": 300, "interconnectAttachment":
         "projects/host-prj/regions/us-east1/interconnectAttachments/vlan-300",
       "network": "https://www.googleapis.com/compute/v1/projects/host-prj/global/networks/shared-net"})"));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  const std::vector<Endpoint>& endpoints = result.config.testbed.endpoints;
  EXPECT_EQ(endpoints[0].link_ref, "projects/host-prj/regions/us-east1/vpnTunnels/onprem-tunnel");
  EXPECT_EQ(endpoints[0].network_ref, kNet);
  EXPECT_EQ(endpoints[1].network_ref, "projects/host-prj/global/networks/other-net");
  EXPECT_EQ(endpoints[2].kind, EndpointKind::kInterconnectAttachment);
  EXPECT_EQ(endpoints[2].link_ref,
            "projects/host-prj/regions/us-east1/interconnectAttachments/vlan-300");
  EXPECT_EQ(endpoints[2].network_ref, kNet);
  // An explicit network must exist.
  dir.Write("testbed.json", Testbed(R"({"port": "uplink", "internet": true,
      "network": "projects/host-prj/global/networks/nope"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "network",
                    "network projects/host-prj/global/networks/nope does not exist");
}

TEST(ConfigValidatorTest, TestbedInstanceEndpointTakesNoNetwork) {
  TempConfigDir dir;
  dir.Write("testbed.json", Testbed(R"({"port": "vms", "instance": "instance-a",
      "network": "projects/host-prj/global/networks/shared-net"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "network",
                    "only external endpoints take a network; an instance NIC has its own");
}

TEST(ConfigValidatorTest, TestbedMacMustBeUnicast) {
  TempConfigDir dir;
  dir.Write("testbed.json",
            Testbed(R"({"port": "vms", "instance": "instance-a", "mac": "01:00:5e:00:00:01"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "mac",
                    "01:00:5e:00:00:01 is not a unicast MAC address");
  dir.Write("testbed.json",
            Testbed(R"({"port": "vms", "instance": "instance-a", "mac": "42:01"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "mac",
                    "\"42:01\" is not a MAC address (aa:bb:cc:dd:ee:ff)");
}

TEST(ConfigValidatorTest, TestbedAmbiguousInstanceName) {
  TempConfigDir dir;
  dir.Write("projects/svc-b/a.json",
            Vm("instance-a", "us-east1-b",
               "projects/host-prj/regions/us-east1/subnetworks/subnet-2", "10.15.2.9"));
  dir.Write("testbed.json", Testbed(R"({"port": "vms", "instance": "instance-a"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "instance",
                    "\"instance-a\" is ambiguous: it matches " + std::string(kInstanceA) +
                        " and projects/svc-b/zones/us-east1-b/instances/instance-a; use a full "
                        "reference");
}

TEST(ConfigValidatorTest, TestbedEndpointHasExactlyOneKind) {
  TempConfigDir dir;
  dir.Write("testbed.json",
            Testbed(R"({"port": "vms", "instance": "instance-a", "internet": true})"));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "",
                    "an endpoint needs exactly one of \"instance\", \"vpnTunnel\", "
                    "\"interconnectAttachment\" or \"internet\": true");
}

// --- Cross-project references ----------------------------------------------------------------

// Every reference a resource makes to another project's network or subnetwork, one row each:
// GCP allows only instances and addresses to use another project's subnet (a subnet their host
// project shares with them); subnetworks, firewall rules, routes, Cloud Routers and network
// firewall policies live in their network's project.
struct CrossProjectCase {
  const char* what;
  const char* file;  // under the hybrid fixture (projects/P/... sets the resource's project)
  std::string body;
  const char* resource;  // canonical ref of the resource reported
  const char* field;
  const char* reason;  // the start of the reason; nullptr = the reference is allowed
};

TEST(ConfigValidatorTest, CrossProjectReferencesOnEveryKind) {
  const std::string host_net = std::string(kNet);
  const std::string west = std::string(kSubnet1);
  const char* cross =
      "Cross project referencing is not allowed for this resource: "
      "projects/host-prj/global/networks/shared-net is in project host-prj, this resource in "
      "project svc-a";
  const std::vector<CrossProjectCase> cases = {
      {"subnetwork on the host's network", "projects/svc-a/subnet.json",
       R"({"kind": "compute#subnetwork", "name": "s", "region": "us-west1", "network": ")" +
           host_net + R"(", "ipCidrRange": "10.99.0.0/24"})",
       "projects/svc-a/regions/us-west1/subnetworks/s", "network", cross},
      {"firewall rule on the host's network", "projects/svc-a/fw.json",
       R"({"kind": "compute#firewall", "name": "deny-all", "network": ")" + host_net +
           R"(", "priority": 0, "direction": "EGRESS", "destinationRanges": ["0.0.0.0/0"],
           "denied": [{"IPProtocol": "all"}]})",
       "projects/svc-a/global/firewalls/deny-all", "network", cross},
      {"route on the host's network", "projects/svc-a/route.json",
       R"({"kind": "compute#route", "name": "rt", "network": ")" + host_net +
           R"(", "destRange": "172.16.0.0/12", "nextHopIp": "10.0.1.3"})",
       "projects/svc-a/global/routes/rt", "network", cross},
      {"Cloud Router on the host's network", "projects/svc-a/router.json",
       R"({"kind": "compute#router", "name": "cr", "region": "us-east1", "network": ")" + host_net +
           R"(", "bgp": {"asn": 64512}})",
       "projects/svc-a/regions/us-east1/routers/cr", "network", cross},
      {"network firewall policy associated with the host's network", "projects/svc-a/policy.json",
       R"({"kind": "compute#firewallPolicy", "name": "p", "associations": [{"name": "a",
           "attachmentTarget": ")" +
           host_net + R"("}], "rules": []})",
       "projects/svc-a/global/firewallPolicies/p", "associations[0].attachmentTarget",
       "network projects/host-prj/global/networks/shared-net is in project host-prj"},
      {"address of an attached service project in a shared subnet", "projects/svc-a/addr.json",
       R"({"kind": "compute#address", "name": "ip", "region": "us-west1", "addressType":
           "INTERNAL", "subnetwork": ")" +
           west + R"(", "address": "10.0.1.40"})",
       "projects/svc-a/regions/us-west1/addresses/ip", "subnetwork", nullptr},
      {"address of a project not attached to the host", "projects/lone/addr.json",
       R"({"kind": "compute#address", "name": "ip", "region": "us-west1", "addressType":
           "INTERNAL", "subnetwork": ")" +
           west + R"(", "address": "10.0.1.40"})",
       "projects/lone/regions/us-west1/addresses/ip", "subnetwork",
       "subnetwork projects/host-prj/regions/us-west1/subnetworks/subnet-1 is in project "
       "host-prj, and project lone is not a service project of host-prj"},
      {"instance of an attached service project in a shared subnet", "projects/svc-a/vm.json",
       Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.41"),
       "projects/svc-a/zones/us-west1-b/instances/vm-x", "networkInterfaces[0].subnetwork",
       nullptr},
      {"instance of a project not attached to the host", "projects/lone/vm.json",
       Vm("vm-x", "us-west1-b", kSubnet1, "10.0.1.41"),
       "projects/lone/zones/us-west1-b/instances/vm-x", "networkInterfaces[0].subnetwork",
       "subnetwork projects/host-prj/regions/us-west1/subnetworks/subnet-1 is in project "
       "host-prj, and project lone is not a service project of host-prj"},
  };
  for (const CrossProjectCase& c : cases) {
    SCOPED_TRACE(c.what);
    TempConfigDir dir;
    dir.Write(c.file, c.body);
    LoadResult result = dir.Load();
    if (c.reason == nullptr) {
      EXPECT_TRUE(result.ok()) << AllIssues(result);
      continue;
    }
    ASSERT_EQ(result.errors.size(), 1u) << AllIssues(result);
    const ConfigIssue& issue = result.errors[0];
    EXPECT_EQ(issue.file, c.file);
    EXPECT_EQ(issue.resource, c.resource);
    EXPECT_EQ(issue.field, c.field);
    EXPECT_TRUE(issue.reason.starts_with(c.reason)) << issue.reason;
  }
}

// The issue's reproduction as a configuration directory: svc-a's deny-all egress rule on the
// host's network fails `svpc validate` with the field named.
TEST(ConfigValidatorTest, ServiceProjectFirewallOnTheSharedNetworkIsRefused) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/firewalls.json",
            R"([{"kind": "compute#firewall", "name": "allow-all-in", "network": ")" +
                std::string(kNet) + R"(", "priority": 0, "sourceRanges": ["0.0.0.0/0"],
                "allowed": [{"IPProtocol": "all"}]}])");
  LoadResult result = dir.Load();
  ASSERT_EQ(result.errors.size(), 1u) << AllIssues(result);
  EXPECT_EQ(result.errors[0].field, "network");
  EXPECT_EQ(result.errors[0].resource, "projects/svc-a/global/firewalls/allow-all-in");
}

// --- Cloud Routers --------------------------------------------------------------------------

constexpr char kRouter[] = "projects/host-prj/regions/us-east1/routers/cr-east";

// A Cloud Router of shared-net in us-east1 with one interface and one peer; `bgp` and `peer`
// replace the defaults.
std::string CloudRouter(
    const std::string& bgp = R"("asn": 64512)",
    const std::string& peer = R"("peerIpAddress": "169.254.0.2", "peerAsn": 65010)",
    const std::string& extra = "") {
  return R"({"kind": "compute#router", "name": "cr-east", "region": "us-east1",
    "network": "shared-net", "bgp": {)" +
         bgp + R"(}, "interfaces": [{"name": "if-0", "ipRange": "169.254.0.1/29"}],
    "bgpPeers": [{"name": "onprem", "interfaceName": "if-0", )" +
         peer + "}]" + extra + "}";
}

TEST(ConfigValidatorTest, RouterIsLoadedWithItsPeers) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/router.json",
            CloudRouter(R"("asn": 64512, "keepaliveInterval": 30, "advertiseMode": "CUSTOM",
                           "advertisedGroups": ["ALL_SUBNETS"],
                           "advertisedIpRanges": [{"range": "10.99.0.0/16"}])",
                        R"("peerIpAddress": "169.254.0.2", "peerAsn": 4200000001,
                           "advertisedRoutePriority": 200, "enable": "FALSE",
                           "md5AuthenticationKeyName": "k")",
                        R"(, "md5AuthenticationKeys": [{"name": "k", "key": "s3cret"}])"));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  ASSERT_EQ(result.config.routers.size(), 1u);
  const Router& r = result.config.routers[0];
  EXPECT_EQ(r.self_ref, kRouter);
  EXPECT_EQ(r.network_ref, kNet);
  EXPECT_EQ(r.asn, 64512u);
  EXPECT_EQ(r.keepalive_seconds, 30u);
  EXPECT_TRUE(r.advertisement.custom);
  EXPECT_TRUE(r.advertisement.all_subnets);
  ASSERT_EQ(r.advertisement.ranges.size(), 1u);
  EXPECT_EQ(FormatPrefix(r.advertisement.ranges[0]), "10.99.0.0/16");
  ASSERT_EQ(r.interfaces.size(), 1u);
  EXPECT_EQ(FormatIpv4(r.interfaces[0].ip), "169.254.0.1");
  EXPECT_EQ(FormatPrefix(r.interfaces[0].ip_range), "169.254.0.0/29");
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].peer_asn, 4200000001u);
  EXPECT_EQ(r.peers[0].advertised_route_priority, 200u);
  EXPECT_FALSE(r.peers[0].enabled);
  EXPECT_EQ(r.peers[0].md5_key, "s3cret");
}

TEST(ConfigValidatorTest, RouterAsnMustBeACloudRouterAsn) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/router.json", CloudRouter(R"("asn": 65535)"));
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/host-prj/router.json", kRouter, "bgp.asn",
      "65535 is not a Cloud Router ASN (64512-65534, 4200000000-4294967294 or 16550)");
}

TEST(ConfigValidatorTest, RouterKeepaliveWithinRange) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/router.json",
            CloudRouter(R"("asn": 64512, "keepaliveInterval": 10)"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/router.json", kRouter, "bgp.keepaliveInterval",
                    "10 is outside 20..60 seconds");
}

TEST(ConfigValidatorTest, RouterPeerAddressInItsInterfaceRange) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/router.json",
            CloudRouter(R"("asn": 64512)", R"("peerIpAddress": "169.254.1.2", "peerAsn": 65010)"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/router.json", kRouter,
                    "bgpPeers[0].peerIpAddress",
                    "169.254.1.2 is not in the interface's range 169.254.0.0/29");
}

TEST(ConfigValidatorTest, RouterPeerNamesAnInterface) {
  TempConfigDir dir;
  dir.Write(
      "projects/host-prj/router.json",
      CloudRouter(R"("asn": 64512)",
                  R"("peerIpAddress": "169.254.0.2", "peerAsn": 65010, "interfaceName": "if-9")"));
  LoadResult result = dir.Load();
  EXPECT_FALSE(result.ok());
}

TEST(ConfigValidatorTest, RouterPeerIsExternal) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/router.json",
            CloudRouter(R"("asn": 64512)", R"("peerIpAddress": "169.254.0.2", "peerAsn": 64512)"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/router.json", kRouter, "bgpPeers[0].peerAsn",
                    "the peer's ASN equals the router's: Cloud Router speaks eBGP only");
}

TEST(ConfigValidatorTest, RouterMd5KeyMustExist) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/router.json",
            CloudRouter(R"("asn": 64512)", R"("peerIpAddress": "169.254.0.2", "peerAsn": 65010,
                        "md5AuthenticationKeyName": "nope")"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/router.json", kRouter,
                    "bgpPeers[0].md5AuthenticationKeyName",
                    "\"nope\" is not one of the router's md5AuthenticationKeys");
}

TEST(ConfigValidatorTest, RouterCustomRangesNeedCustomMode) {
  TempConfigDir dir;
  dir.Write("projects/host-prj/router.json",
            CloudRouter(R"("asn": 64512, "advertisedIpRanges": [{"range": "10.99.0.0/16"}])"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/router.json", kRouter, "bgp.advertiseMode",
                    "advertisedGroups and advertisedIpRanges need advertiseMode CUSTOM");
}

TEST(ConfigValidatorTest, RouterNetworkMustExist) {
  TempConfigDir dir;
  std::string router = CloudRouter();
  router.replace(router.find("\"shared-net\""), 12, "\"nonet\"");
  dir.Write("projects/host-prj/router.json", router);
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/router.json", kRouter, "network",
                    "network projects/host-prj/global/networks/nonet does not exist");
}

}  // namespace
}  // namespace svpc::config
