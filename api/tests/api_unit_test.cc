// Units of the control API's pieces that need no running daemon: static internal addresses and
// awaited instances in the loader, IAM inheritance and org-policy evaluation, and the JSON the
// model is written back as.

#include <gtest/gtest.h>

#include "api/iam.h"
#include "config/resource_writer.h"
#include "config/tests/test_support.h"

namespace svpc::api {
namespace {

using config::Config;
using config::LoadResult;
using config::TempConfigDir;

constexpr char kSubnet1[] = "projects/host-prj/regions/us-west1/subnetworks/subnet-1";

std::string AddressJsonText(const std::string& name, const std::string& ip) {
  return R"({"kind": "compute#address", "name": ")" + name +
         R"(", "region": "us-west1", "addressType": "INTERNAL", "subnetwork": ")" + kSubnet1 +
         R"(", "address": ")" + ip + "\"}";
}

TEST(StaticAddressTest, LoadsAndReservesItsAddress) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/addresses.json", AddressJsonText("db-ip", "10.0.1.2"));
  // An instance without networkIP gets the first free address: not .2 (reserved), not .3
  // (instance-a).
  dir.Write("projects/svc-a/vm-new.json",
            R"({"kind": "compute#instance", "name": "vm-new", "zone": "us-west1-a",
                "networkInterfaces": [{"subnetwork": ")" +
                std::string(kSubnet1) + R"("}]})");
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << config::AllIssues(result);
  ASSERT_EQ(result.config.addresses.size(), 1u);
  EXPECT_EQ(FormatIpv4(result.config.addresses[0].ip), "10.0.1.2");
  for (const config::Instance& instance : result.config.instances) {
    if (instance.name == "vm-new") {
      EXPECT_EQ(FormatIpv4(instance.nics[0].ip), "10.0.1.4");
    }
  }
}

TEST(StaticAddressTest, RefusesReservedOutsideAndTwice) {
  TempConfigDir dir;
  dir.Write("projects/svc-a/addresses.json", AddressJsonText("gw", "10.0.1.1"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/addresses.json",
                    "projects/svc-a/regions/us-west1/addresses/gw", "address",
                    "10.0.1.1 is reserved in 10.0.1.0/24");
  dir.Write("projects/svc-a/addresses.json", AddressJsonText("far", "10.9.9.9"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/addresses.json",
                    "projects/svc-a/regions/us-west1/addresses/far", "address",
                    "10.9.9.9 is outside the subnetwork's primary range 10.0.1.0/24");
  dir.Write("projects/svc-a/addresses.json", "[" + AddressJsonText("one", "10.0.1.9") + "," +
                                                 AddressJsonText("two", "10.0.1.9") + "]");
  EXPECT_ONLY_ERROR(
      dir.Load(), "projects/svc-a/addresses.json", "projects/svc-a/regions/us-west1/addresses/two",
      "address", "10.0.1.9 is already reserved by projects/svc-a/regions/us-west1/addresses/one");
}

TEST(AwaitInstanceTest, AnAwaitedInstanceMayBeMissing) {
  TempConfigDir dir;
  auto testbed = [](const std::string& extra) {
    return R"({"ports": [{"name": "vms", "device": "net_tap0"}], "endpoints": [
      {"port": "vms", "instance": "projects/svc-a/zones/us-west1-a/instances/later")" +
           extra + "}]}";
  };
  dir.Write("testbed.json", testbed(""));
  EXPECT_ONLY_ERROR(dir.Load(), "testbed.json", "endpoints[0]", "instance",
                    "instance projects/svc-a/zones/us-west1-a/instances/later does not exist");
  dir.Write("testbed.json", testbed(R"(, "awaitInstance": true)"));
  LoadResult result = dir.Load();
  EXPECT_TRUE(result.ok()) << config::AllIssues(result);
}

Config HierarchyConfig() {
  Config config;
  config::ResourceHierarchy& h = config.shared_vpc.resource_hierarchy;
  h.organization = "organizations/1";
  h.folders = {{"folders/10", "organizations/1"},
               {"folders/11", "folders/10"},
               {"folders/20", "organizations/1"}};
  h.projects = {{"host", "folders/10"}, {"svc", "folders/11"}, {"other", "folders/20"}};
  return config;
}

TEST(IamTest, AncestorsFollowTheHierarchy) {
  Config config = HierarchyConfig();
  EXPECT_EQ(Ancestors(config, "projects/svc/zones/z-a/instances/vm"),
            (std::vector<std::string>{"projects/svc/zones/z-a/instances/vm", "projects/svc",
                                      "folders/11", "folders/10", "organizations/1"}));
  EXPECT_EQ(Ancestors(config, "projects/unlisted"),
            (std::vector<std::string>{"projects/unlisted", "organizations/1"}));
}

TEST(IamTest, BindingsInheritDownwardOnly) {
  Config config = HierarchyConfig();
  config.shared_vpc.iam_policies = {
      {"folders/10", {{"roles/compute.xpnAdmin", {"user:x@example.com"}}}},
      {"projects/host/regions/r/subnetworks/a",
       {{"roles/compute.networkUser", {"group:team@example.com"}}}}};
  Principal x{"user:x@example.com", {}};
  Principal member{"user:m@example.com", {"group:team@example.com"}};
  EXPECT_TRUE(HasPermission(config, x, "compute.organizations.enableXpnResource", "projects/svc"));
  EXPECT_FALSE(
      HasPermission(config, x, "compute.organizations.enableXpnResource", "projects/other"));
  EXPECT_FALSE(HasPermission(config, x, "compute.firewalls.create", "projects/host"));
  EXPECT_TRUE(HasPermission(config, member, "compute.subnetworks.use",
                            "projects/host/regions/r/subnetworks/a"));
  EXPECT_FALSE(HasPermission(config, member, "compute.subnetworks.use",
                             "projects/host/regions/r/subnetworks/b"));
  EXPECT_FALSE(HasPermission(config, member, "compute.subnetworks.use", "projects/host"));
}

TEST(IamTest, RolesSeparateNetworkAndSecurityAdmins) {
  EXPECT_TRUE(RoleGrants("roles/compute.networkAdmin", "compute.routes.create"));
  EXPECT_FALSE(RoleGrants("roles/compute.networkAdmin", "compute.firewalls.update"));
  EXPECT_TRUE(RoleGrants("roles/compute.networkAdmin", "compute.firewalls.get"));
  EXPECT_TRUE(RoleGrants("roles/compute.securityAdmin", "compute.firewalls.update"));
  EXPECT_FALSE(RoleGrants("roles/compute.securityAdmin", "compute.routes.create"));
  EXPECT_FALSE(RoleGrants("roles/compute.instanceAdmin.v1", "compute.subnetworks.use"));
  EXPECT_FALSE(RoleGrants("roles/editor", "compute.subnetworks.setIamPolicy"));
  EXPECT_FALSE(RoleGrants("roles/custom.unknown", "compute.instances.get"));
}

TEST(OrgPolicyTest, ListConstraintsWithUnderAndInheritance) {
  Config config = HierarchyConfig();
  config.shared_vpc.org_policies_json = {
      R"({"name": "folders/10/policies/compute.restrictSharedVpcHostProjects",
          "spec": {"rules": [{"values": {"allowedValues": ["under:folders/10"]}}]}})",
      R"({"name": "projects/other/policies/compute.restrictSharedVpcHostProjects",
          "spec": {"rules": [{"denyAll": true}]}})",
      R"({"name": "projects/svc/policies/compute.restrictSharedVpcSubnetworks",
          "spec": {"inheritFromParent": true,
                   "rules": [{"values": {"deniedValues": ["projects/host/regions/r/subnetworks/x"]}}]}})"};
  EXPECT_FALSE(OrgPolicyDenies(config, kRestrictHostProjects, "svc", "projects/host"));
  EXPECT_TRUE(OrgPolicyDenies(config, kRestrictHostProjects, "svc", "projects/other"));
  EXPECT_TRUE(OrgPolicyDenies(config, kRestrictHostProjects, "other", "projects/host"));
  EXPECT_FALSE(OrgPolicyDenies(config, kRestrictHostProjects, "unlisted", "projects/other"));
  EXPECT_TRUE(OrgPolicyDenies(config, kRestrictSubnetworks, "svc",
                              "projects/host/regions/r/subnetworks/x"));
  EXPECT_FALSE(OrgPolicyDenies(config, kRestrictSubnetworks, "svc",
                               "projects/host/regions/r/subnetworks/y"));
}

TEST(ResourceJsonTest, ExportLoadsBackToTheSameFiles) {
  TempConfigDir dir;
  LoadResult first = dir.Load();
  ASSERT_TRUE(first.ok()) << config::AllIssues(first);
  TempConfigDir out("");
  std::string error;
  ASSERT_TRUE(WriteConfigDir(first.config, out.path().string(), &error)) << error;
  LoadResult second = out.Load();
  ASSERT_TRUE(second.ok()) << config::AllIssues(second);
  EXPECT_EQ(ConfigFiles(first.config), ConfigFiles(second.config));
  EXPECT_EQ(second.config.instances.size(), first.config.instances.size());
}

}  // namespace
}  // namespace svpc::api
