// Units of the control API's pieces that need no running daemon: static internal addresses and
// awaited instances in the loader, IAM inheritance and org-policy evaluation, and the JSON the
// model is written back as.

#include <gtest/gtest.h>

#include "api/api_state.h"
#include "api/iam.h"
#include "api/resource_json.h"
#include "control/tests/test_support.h"

namespace svpc::api {
namespace {

using control::Config;
using control::LoadResult;
using control::TempConfigDir;

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
  ASSERT_TRUE(result.ok()) << control::AllIssues(result);
  ASSERT_EQ(result.config.addresses.size(), 1u);
  EXPECT_EQ(FormatIpv4(result.config.addresses[0].ip), "10.0.1.2");
  for (const control::Instance& instance : result.config.instances) {
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
  EXPECT_TRUE(result.ok()) << control::AllIssues(result);
}

Config HierarchyConfig() {
  Config config;
  control::ResourceHierarchy& h = config.shared_vpc.resource_hierarchy;
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
  ASSERT_TRUE(first.ok()) << control::AllIssues(first);
  TempConfigDir out("");
  std::string error;
  ASSERT_TRUE(WriteConfigDir(first.config, out.path().string(), &error)) << error;
  LoadResult second = out.Load();
  ASSERT_TRUE(second.ok()) << control::AllIssues(second);
  EXPECT_EQ(ConfigFiles(first.config), ConfigFiles(second.config));
  EXPECT_EQ(second.config.instances.size(), first.config.instances.size());
}

}  // namespace
}  // namespace svpc::api

// api/api_state.h: the overlay of API changes and its merge over CONFIG_DIR.
TEST(ApiStateTest, WithWriteKeepsTheFirstBaseAndDropsWhatReturnsToIt) {
  using svpc::api::ApiChanges;
  using svpc::api::FileMap;
  using svpc::api::WithWrite;
  const FileMap f0{{"a.json", "A0"}, {"b.json", "B0"}};
  const FileMap f1{{"a.json", "A1"}, {"b.json", "B0"}, {"c.json", "C1"}};
  ApiChanges changes = WithWrite({}, f0, f1);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes["a.json"].base, "A0");
  EXPECT_EQ(changes["a.json"].current, "A1");
  EXPECT_FALSE(changes["c.json"].base.has_value());
  const FileMap f2{{"a.json", "A0"}, {"b.json", "B0"}, {"c.json", "C2"}};
  changes = WithWrite(changes, f1, f2);
  EXPECT_EQ(changes.count("a.json"), 0u);  // back at its base
  EXPECT_EQ(changes["c.json"].current, "C2");
  const FileMap f3{{"a.json", "A0"}};
  changes = WithWrite(changes, f2, f3);
  EXPECT_EQ(changes.count("c.json"), 0u);  // created, then deleted: as before
  EXPECT_EQ(changes["b.json"].base, "B0");
  EXPECT_FALSE(changes["b.json"].current.has_value());
}

TEST(ApiStateTest, MergeTakesKeepsDropsAndReportsConflicts) {
  svpc::api::ApiChanges changes{{"kept.json", {"K0", "K1"}},
                                {"exported.json", {"E0", "E1"}},
                                {"edited.json", {"D0", "D1"}},
                                {"deleted.json", {"X0", std::nullopt}}};
  const svpc::api::FileMap theirs{
      {"kept.json", "K0"}, {"exported.json", "E1"}, {"edited.json", "D9"}, {"deleted.json", "X0"}};
  svpc::api::MergeResult m = svpc::api::Merge(changes, theirs);
  EXPECT_EQ(m.files.at("kept.json"), "K1");
  EXPECT_EQ(m.files.at("exported.json"), "E1");
  EXPECT_EQ(m.files.at("edited.json"), "D9");  // the directory wins
  EXPECT_EQ(m.files.count("deleted.json"), 0u);
  EXPECT_EQ(m.reapplied, 2u);
  EXPECT_EQ(m.already, 1u);
  ASSERT_EQ(m.conflicts.size(), 1u);
  EXPECT_EQ(m.conflicts[0].path, "edited.json");
  EXPECT_EQ(m.conflicts[0].ours, "D1");
  EXPECT_EQ(m.changes.size(), 2u);  // kept and deleted remain
}

TEST(ApiStateTest, SerializeParseRoundTripAndRefusals) {
  svpc::api::ApiChanges changes{{"p/a.json", {std::nullopt, "{\n}\n"}},
                                {"p/b.json", {"x", std::nullopt}}};
  svpc::api::ApiChanges back;
  std::string error;
  ASSERT_TRUE(svpc::api::ApiState::Parse(svpc::api::ApiState::Serialize(changes), &back, &error))
      << error;
  EXPECT_EQ(back, changes);
  EXPECT_FALSE(svpc::api::ApiState::Parse("{\"version\":2,\"changes\":{}}", &back, &error));
  EXPECT_FALSE(svpc::api::ApiState::Parse(
      "{\"version\":1,\"changes\":{\"../x\":{\"base\":null,\"current\":\"y\"}}}", &back, &error));
  EXPECT_FALSE(svpc::api::ApiState::Parse("{\"version\":1,", &back, &error));
}
