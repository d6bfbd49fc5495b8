// Firewall policies in the configuration: the accepted shapes (compute#firewallPolicy as a REST
// resource, an asset export, or inferred), the resource hierarchy of shared-vpc.json, the policy
// fields of networks and instances, and one test per rule, each expecting exactly its issue.

#include <gtest/gtest.h>

#include "config/policy_lookup.h"
#include "config/tests/test_support.h"

namespace svpc::config {
namespace {

constexpr char kNet[] = "projects/host-prj/global/networks/shared-net";
constexpr char kOrgPolicy[] = "locations/global/firewallPolicies/100200";
constexpr char kNetPolicy[] = "projects/host-prj/global/firewallPolicies/net-fw";
constexpr char kNetPolicyFile[] = "projects/host-prj/net-fw.json";
constexpr char kOrgPolicyFile[] = "policies/org.json";

const std::string kHierarchy = R"("resourceHierarchy": {
  "organization": "organizations/100",
  "folders": [{"name": "folders/1", "parent": "organizations/100"},
              {"name": "folders/2", "parent": "folders/1"}],
  "projects": [{"projectId": "host-prj", "parent": "folders/2"},
               {"projectId": "svc-a", "parent": "folders/1"}]})";

// shared-vpc.json of the hybrid fixture (every subnet shared), plus `extra` top-level keys.
std::string SharedVpcWith(const std::string& extra) {
  return R"({"hostProjects": [{"projectId": "host-prj", "shared": "ALL"}],
    "serviceProjects": [{"projectId": "svc-a", "hostProject": "host-prj"},
                        {"projectId": "svc-b", "hostProject": "host-prj"},
                        {"projectId": "svc-c", "hostProject": "host-prj"}])" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

// One rule: priority, action, then extra rule fields and extra match fields.
std::string Rule(int64_t priority, const std::string& action = "allow",
                 const std::string& rule_extra = "", const std::string& match_extra = "") {
  return R"({"priority": )" + std::to_string(priority) + R"(, "action": ")" + action +
         R"(", "direction": "INGRESS", "match": {"srcIpRanges": ["10.0.0.0/8"],
         "layer4Configs": [{"ipProtocol": "tcp", "ports": ["22"]}])" +
         match_extra + "}" + rule_extra + "}";
}

// A hierarchical policy with a selfLink, associated with the organization.
std::string OrgPolicy(const std::string& rules, const std::string& extra = "") {
  return R"({"kind": "compute#firewallPolicy", "name": "100200", "shortName": "org-fw",
    "parent": "organizations/100",
    "selfLink": "https://www.googleapis.com/compute/v1/locations/global/firewallPolicies/100200",
    "associations": [{"name": "org-assoc", "attachmentTarget": "organizations/100"}],
    "rules": [)" +
         rules + "]" + extra + "}";
}

// A global network policy to be written under projects/host-prj/, associated with shared-net.
std::string NetPolicy(const std::string& name, const std::string& rules,
                      const std::string& extra = "",
                      const std::string& target = "projects/host-prj/global/networks/shared-net") {
  return R"({"kind": "compute#firewallPolicy", "name": ")" + name +
         R"(", "associations": [{"name": "a", "attachmentTarget": ")" + target +
         R"("}], "rules": [)" + rules + "]" + extra + "}";
}

// The hybrid fixture plus the hierarchy, ready for policies.
struct PolicyDir : TempConfigDir {
  PolicyDir() { Write("shared-vpc.json", SharedVpcWith(kHierarchy)); }
};

// --- A valid, complete example ----------------------------------------------------------------

TEST(PolicyLoaderTest, LoadsEveryShape) {
  PolicyDir dir;
  // Hierarchical, organization: REST resource with selfLink; a goto_next rule, targetResources,
  // targetServiceAccounts, a disabled rule, logging, and GCP's default IPv6 rule (left out).
  dir.Write(kOrgPolicyFile, OrgPolicy(Rule(1000, "deny", R"(, "enableLogging": true,
      "targetResources": ["https://www.googleapis.com/compute/v1/projects/host-prj/global/networks/shared-net"],
      "targetServiceAccounts": ["app-a@svc-a.iam.gserviceaccount.com"])") +
                                      "," + Rule(2000, "goto_next") + "," +
                                      Rule(3000, "allow", R"(, "disabled": true)") + "," +
                                      R"({"priority": 2147483645, "action": "goto_next",
      "direction": "INGRESS", "match": {"srcIpRanges": ["::/0"],
      "layer4Configs": [{"ipProtocol": "all"}]}})"));
  // Hierarchical, folder: no kind, no selfLink (inferred from rules + parent), displayName.
  dir.Write("policies/folder.json", R"({"name": "300400", "displayName": "folder-fw",
    "parent": "folders/1", "associations": [{"attachmentTarget": "folders/2"}],
    "rules": [{"priority": 10, "action": "allow", "direction": "EGRESS",
               "match": {"destIpRanges": ["192.168.0.0/16"], "srcIpRanges": ["10.0.1.0/24"],
                         "layer4Configs": [{"ipProtocol": "udp", "ports": ["53", "5000-5010"]},
                                           {"ipProtocol": "icmp"}]}}]})");
  // Global network policy from a Cloud Asset Inventory export; secure tags.
  dir.Write(
      "host/policies.ndjson",
      R"({"name": "//compute.googleapis.com/projects/host-prj/global/firewallPolicies/net-fw", "asset_type": "compute.googleapis.com/FirewallPolicy", "resource": {"data": {"name": "net-fw", "associations": [{"name": "net-assoc", "attachmentTarget": "https://www.googleapis.com/compute/v1/projects/host-prj/global/networks/shared-net"}], "rules": [{"priority": 100, "action": "allow", "direction": "INGRESS", "match": {"srcSecureTags": [{"name": "tagValues/11", "state": "EFFECTIVE"}, {"name": "tagValues/12", "state": "INEFFECTIVE"}], "layer4Configs": [{"ipProtocol": "tcp", "ports": ["443"]}]}, "targetSecureTags": [{"name": "tagValues/13"}]}]}}})"
      "\n");
  // Regional network policy: region from the file, network reference relative to the project.
  dir.Write("projects/host-prj/regional.json",
            R"({"kind": "compute#firewallPolicy", "name": "west-fw", "region": "us-west1",
    "associations": [{"name": "w", "attachmentTarget": "global/networks/shared-net"}],
    "rules": [{"priority": 5, "action": "deny", "match": {"layer4Configs": [{"ipProtocol": "all"}]}}]})");
  // The network's enforcement order and an instance's secure tags.
  dir.Write("host/network.json", R"({"kind": "compute#network", "name": "shared-net",
    "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/global/networks/shared-net",
    "autoCreateSubnetworks": false, "routingConfig": {"routingMode": "GLOBAL"},
    "networkFirewallPolicyEnforcementOrder": "BEFORE_CLASSIC_FIREWALL"})");
  dir.Write("projects/svc-a/tagged.json", R"({"kind": "compute#instance", "name": "tagged",
    "zone": "us-west1-b", "params": {"resourceManagerTags": {"tagKeys/2": "tagValues/13",
                                                             "tagKeys/1": "tagValues/11"}},
    "networkInterfaces": [{"subnetwork": "projects/host-prj/regions/us-west1/subnetworks/subnet-1",
                           "networkIP": "10.0.1.20"}]})");

  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  ASSERT_EQ(result.warnings.size(), 2u) << AllIssues(result);  // the VPN tunnel asset, and:
  EXPECT_EQ(result.warnings[1],
            (ConfigIssue{kOrgPolicyFile, kOrgPolicy, "rules[3].match.srcIpRanges",
                         "only IPv6 source ranges, and IPv6 is not emulated; rule ignored "
                         "(priority 2147483645)"}));
  const Config& config = result.config;
  ASSERT_EQ(config.firewall_policies.size(), 4u);

  const FirewallPolicy& net = config.firewall_policies[0];  // host/policies.ndjson sorts first
  EXPECT_EQ(net.self_ref, kNetPolicy);
  EXPECT_EQ(net.kind, FirewallPolicyKind::kGlobal);
  EXPECT_EQ(net.project, "host-prj");
  ASSERT_EQ(net.associations.size(), 1u);
  EXPECT_EQ(net.associations[0].name, "net-assoc");
  EXPECT_EQ(net.associations[0].attachment_target, kNet);
  ASSERT_EQ(net.rules.size(), 1u);
  EXPECT_EQ(net.rules[0].source_secure_tags, std::vector<std::string>{"tagValues/11"});
  EXPECT_EQ(net.rules[0].target_secure_tags, std::vector<std::string>{"tagValues/13"});
  EXPECT_TRUE(net.rules[0].source_ranges.empty());

  const FirewallPolicy& org = config.firewall_policies[2];  // policies/folder.json sorts first
  EXPECT_EQ(org.self_ref, kOrgPolicy);
  EXPECT_EQ(org.kind, FirewallPolicyKind::kHierarchical);
  EXPECT_EQ(org.name, "100200");
  EXPECT_EQ(org.short_name, "org-fw");
  EXPECT_EQ(org.parent, "organizations/100");
  EXPECT_EQ(org.associations[0].attachment_target, "organizations/100");
  ASSERT_EQ(org.rules.size(), 3u);
  EXPECT_EQ(org.rules[0].priority, 1000u);
  EXPECT_EQ(org.rules[0].action, PolicyAction::kDeny);
  EXPECT_TRUE(org.rules[0].log);
  EXPECT_EQ(org.rules[0].target_network_refs, std::vector<std::string>{kNet});
  EXPECT_EQ(org.rules[0].target_service_accounts,
            std::vector<std::string>{"app-a@svc-a.iam.gserviceaccount.com"});
  ASSERT_EQ(org.rules[0].protocols.size(), 1u);
  EXPECT_EQ(org.rules[0].protocols[0].protocol, 6);
  EXPECT_EQ(org.rules[0].source_ranges, std::vector<Prefix>{*ParsePrefix("10.0.0.0/8")});
  EXPECT_EQ(org.rules[1].action, PolicyAction::kGotoNext);
  EXPECT_TRUE(org.rules[2].disabled);
  EXPECT_EQ(org.rules[2].position, 2u);

  const FirewallPolicy& folder = config.firewall_policies[1];
  EXPECT_EQ(folder.self_ref, "locations/global/firewallPolicies/300400");
  EXPECT_EQ(folder.kind, FirewallPolicyKind::kHierarchical);
  EXPECT_EQ(folder.short_name, "folder-fw");
  const FirewallPolicyRule& egress = folder.rules.at(0);
  EXPECT_EQ(egress.direction, Direction::kEgress);
  EXPECT_EQ(egress.destination_ranges, std::vector<Prefix>{*ParsePrefix("192.168.0.0/16")});
  ASSERT_EQ(egress.protocols.size(), 2u);
  EXPECT_EQ(egress.protocols[0].protocol, 17);
  ASSERT_EQ(egress.protocols[0].ports.size(), 2u);
  EXPECT_EQ(egress.protocols[0].ports[1].first, 5000);
  EXPECT_EQ(egress.protocols[0].ports[1].last, 5010);
  EXPECT_EQ(egress.protocols[1].protocol, 1);

  const FirewallPolicy& regional = config.firewall_policies[3];
  EXPECT_EQ(regional.self_ref, "projects/host-prj/regions/us-west1/firewallPolicies/west-fw");
  EXPECT_EQ(regional.kind, FirewallPolicyKind::kRegional);
  EXPECT_EQ(regional.region, "us-west1");
  EXPECT_EQ(regional.rules.at(0).direction, Direction::kIngress);  // the default
  EXPECT_EQ(regional.rules.at(0).protocols.at(0).protocol, -1);

  ASSERT_EQ(config.networks.size(), 1u);
  EXPECT_EQ(config.networks[0].firewall_policy_enforcement_order,
            FirewallPolicyEnforcementOrder::kBeforeClassicFirewall);
  auto tagged = std::find_if(config.instances.begin(), config.instances.end(),
                             [](const Instance& i) { return i.name == "tagged"; });
  ASSERT_NE(tagged, config.instances.end());
  EXPECT_EQ(tagged->secure_tags, (std::vector<std::string>{"tagValues/11", "tagValues/13"}));

  const ResourceHierarchy& hierarchy = config.shared_vpc.resource_hierarchy;
  EXPECT_EQ(hierarchy.organization, "organizations/100");
  ASSERT_EQ(hierarchy.folders.size(), 2u);
  EXPECT_EQ(hierarchy.folders[1].parent, "folders/1");
  EXPECT_EQ(ProjectAncestry(hierarchy, "host-prj"),
            (std::vector<std::string>{"organizations/100", "folders/1", "folders/2"}));
  EXPECT_TRUE(ProjectAncestry(hierarchy, "svc-b").empty());

  // What applies to a NIC of shared-net: org then folder, the network's policies, its order.
  NicFirewallPolicies west = FirewallPoliciesFor(config, config.networks[0], "us-west1");
  ASSERT_EQ(west.hierarchical.size(), 2u);
  EXPECT_EQ(west.hierarchical[0]->self_ref, kOrgPolicy);
  EXPECT_EQ(west.hierarchical[1]->self_ref, "locations/global/firewallPolicies/300400");
  ASSERT_NE(west.global, nullptr);
  EXPECT_EQ(west.global->self_ref, kNetPolicy);
  ASSERT_NE(west.regional, nullptr);
  EXPECT_EQ(west.regional->region, "us-west1");
  EXPECT_EQ(west.order, FirewallPolicyEnforcementOrder::kBeforeClassicFirewall);
  NicFirewallPolicies east = FirewallPoliciesFor(config, config.networks[0], "us-east1");
  EXPECT_EQ(east.regional, nullptr);
  EXPECT_EQ(east.global, west.global);
}

TEST(PolicyLoaderTest, RestListOfPolicies) {
  PolicyDir dir;
  dir.Write("projects/host-prj/list.json", R"({"kind": "compute#firewallPolicyList", "items": [)" +
                                               NetPolicy("net-fw", Rule(1)) + "]}");
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  ASSERT_EQ(result.config.firewall_policies.size(), 1u);
  EXPECT_EQ(result.config.firewall_policies[0].self_ref, kNetPolicy);
}

TEST(PolicyLoaderTest, NoPoliciesChangeNothing) {
  TempConfigDir dir;
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_TRUE(result.config.firewall_policies.empty());
  NicFirewallPolicies none =
      FirewallPoliciesFor(result.config, result.config.networks[0], "us-west1");
  EXPECT_TRUE(none.hierarchical.empty());
  EXPECT_EQ(none.global, nullptr);
  EXPECT_EQ(none.order, FirewallPolicyEnforcementOrder::kAfterClassicFirewall);
}

// --- Identity -----------------------------------------------------------------------------------

TEST(PolicyLoaderTest, SelfLinkMustNameAFirewallPolicy) {
  PolicyDir dir;
  dir.Write(
      kNetPolicyFile,
      NetPolicy(
          "net-fw", Rule(1),
          R"(, "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/global/firewalls/net-fw")"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, "net-fw", "selfLink",
                    "\"https://www.googleapis.com/compute/v1/projects/host-prj/global/firewalls/"
                    "net-fw\" is not a firewall policy URL (expected "
                    "https://www.googleapis.com/compute/v1/projects/PROJECT/global/"
                    "firewallPolicies/NAME, .../projects/PROJECT/regions/REGION/"
                    "firewallPolicies/NAME or .../locations/global/firewallPolicies/ID)");
}

TEST(PolicyLoaderTest, NameMustMatchSelfLink) {
  PolicyDir dir;
  dir.Write(kOrgPolicyFile, R"({"kind": "compute#firewallPolicy", "name": "999",
    "selfLink": "https://www.googleapis.com/compute/v1/locations/global/firewallPolicies/100200",
    "rules": []})");
  EXPECT_ONLY_ERROR(dir.Load(), kOrgPolicyFile, "999", "name",
                    "\"999\" does not match the name in selfLink \"100200\"");
}

TEST(PolicyLoaderTest, RegionMustMatchSelfLink) {
  PolicyDir dir;
  dir.Write(
      kNetPolicyFile,
      NetPolicy(
          "net-fw", Rule(1),
          R"(, "region": "us-east1", "selfLink": "projects/host-prj/regions/us-west1/firewallPolicies/net-fw")"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, "net-fw", "region",
                    "\"us-east1\" does not match the region in selfLink \"us-west1\"");
}

TEST(PolicyLoaderTest, NetworkPolicyNeedsAProject) {
  PolicyDir dir;
  dir.Write("policies/net.json", NetPolicy("net-fw", Rule(1)));
  EXPECT_ONLY_ERROR(dir.Load(), "policies/net.json", "net-fw", "selfLink",
                    "missing: cannot tell the project (add a selfLink, put the file under "
                    "projects/PROJECT_ID/, or give a hierarchical policy its parent)");
}

TEST(PolicyLoaderTest, NameMustBeValid) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("Net_FW", Rule(1)));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, "Net_FW", "name",
                    "\"Net_FW\" is not a valid name (lowercase letters, digits and hyphens, "
                    "starting with a letter, at most 63 characters; a hierarchical policy's name "
                    "may be its numeric ID)");
}

TEST(PolicyLoaderTest, OnlyHierarchicalPoliciesHaveAParent) {
  PolicyDir dir;
  dir.Write(
      kNetPolicyFile,
      NetPolicy(
          "net-fw", Rule(1),
          R"(, "parent": "organizations/100", "selfLink": "projects/host-prj/global/firewallPolicies/net-fw")"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, "net-fw", "parent",
                    "only hierarchical firewall policies have a parent; this is a network "
                    "firewall policy");
}

TEST(PolicyLoaderTest, ParentMustBeAnOrganizationOrFolder) {
  PolicyDir dir;
  dir.Write(kOrgPolicyFile, R"({"kind": "compute#firewallPolicy", "name": "100200",
    "parent": "projects/host-prj", "rules": []})");
  EXPECT_ONLY_ERROR(dir.Load(), kOrgPolicyFile, kOrgPolicy, "parent",
                    "\"projects/host-prj\" is not an organization or folder (organizations/ID or "
                    "folders/ID)");
}

TEST(PolicyLoaderTest, DuplicatePolicy) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(1)));
  dir.Write("projects/host-prj/zz.json",
            R"({"kind": "compute#firewallPolicy", "name": "net-fw", "rules": []})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/zz.json", kNetPolicy, "name",
                    "duplicate firewall policy: already defined in projects/host-prj/net-fw.json");
}

// --- Rules --------------------------------------------------------------------------------------

TEST(PolicyLoaderTest, PriorityIsRequired) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", R"({"action": "allow",
    "match": {"layer4Configs": [{"ipProtocol": "all"}]}})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].priority", "missing");
}

TEST(PolicyLoaderTest, PriorityRange) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(2147483648)));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].priority",
                    "must be 0..2147483647 (got 2147483648)");
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(-1)));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].priority",
                    "must be 0..2147483647 (got -1)");
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(0) + "," + Rule(2147483647)));
  EXPECT_TRUE(dir.Load().ok());
}

TEST(PolicyLoaderTest, PrioritiesAreUniqueWithinAPolicy) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile,
            NetPolicy("net-fw", Rule(10) + "," + Rule(20, "deny") + "," + Rule(10, "deny")));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[2].priority",
                    "priority 10 is already used by rules[0]; priorities are unique within a "
                    "policy");
  // Across policies the same priority is fine.
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(10)));
  dir.Write(kOrgPolicyFile, OrgPolicy(Rule(10)));
  EXPECT_TRUE(dir.Load().ok());
}

TEST(PolicyLoaderTest, ActionIsRequiredAndKnown) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(1, "accept")));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].action",
                    "unknown value \"accept\" (expected allow, deny, goto_next, "
                    "apply_security_profile_group)");
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", R"({"priority": 1,
    "match": {"layer4Configs": [{"ipProtocol": "all"}]}})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].action", "missing");
}

TEST(PolicyLoaderTest, SecurityProfileGroupsAreNotEmulated) {
  PolicyDir dir;
  dir.Write(
      kNetPolicyFile,
      NetPolicy(
          "net-fw",
          Rule(
              1, "apply_security_profile_group",
              R"(, "securityProfileGroup": "//networksecurity.googleapis.com/organizations/100/locations/global/securityProfileGroups/spg")") +
              "," + Rule(2)));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[0].action",
                     "apply_security_profile_group is not emulated; rule ignored (priority 1)");
  ASSERT_EQ(result.config.firewall_policies.size(), 1u);
  ASSERT_EQ(result.config.firewall_policies[0].rules.size(), 1u);
  EXPECT_EQ(result.config.firewall_policies[0].rules[0].priority, 2u);
}

TEST(PolicyLoaderTest, DirectionIsKnown) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", R"({"priority": 1, "action": "allow",
    "direction": "INBOUND", "match": {"layer4Configs": [{"ipProtocol": "all"}]}})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].direction",
                    "unknown value \"INBOUND\" (expected INGRESS, EGRESS)");
}

TEST(PolicyLoaderTest, MatchIsRequired) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", R"({"priority": 1, "action": "allow"})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].match", "missing");
}

TEST(PolicyLoaderTest, Layer4ConfigsAreRequired) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", R"({"priority": 1, "action": "allow",
    "match": {"srcIpRanges": ["10.0.0.0/8"]}})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].match.layer4Configs",
                    "missing: a rule needs at least one layer4Configs entry ({\"ipProtocol\": "
                    "\"all\"} matches every protocol)");
}

TEST(PolicyLoaderTest, Layer4ConfigsLikeFirewallAllowed) {
  PolicyDir dir;
  auto with_l4 = [](const std::string& l4) {
    return NetPolicy("net-fw", R"({"priority": 1, "action": "allow",
      "match": {"layer4Configs": [)" +
                                   l4 + "]}}");
  };
  dir.Write(kNetPolicyFile, with_l4(R"({"ipProtocol": "gre2"})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy,
                    "rules[0].match.layer4Configs[0].ipProtocol",
                    "unknown protocol \"gre2\" (expected tcp, udp, icmp, esp, ah, sctp, ipip, all "
                    "or a number 0..255)");
  dir.Write(kNetPolicyFile, with_l4(R"({"ipProtocol": "icmp", "ports": ["8"]})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].match.layer4Configs[0].ports",
                    "ports are only allowed with tcp, udp and sctp (protocol is \"icmp\")");
  dir.Write(kNetPolicyFile,
            with_l4(R"({"ipProtocol": "tcp"}, {"ipProtocol": "udp", "ports": ["90-80"]})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy,
                    "rules[0].match.layer4Configs[1].ports[0]",
                    "\"90-80\" is an empty range (first port above last)");
  dir.Write(kNetPolicyFile, with_l4(R"({"ipProtocol": "tcp", "ports": ["70000"]})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy,
                    "rules[0].match.layer4Configs[0].ports[0]",
                    "\"70000\": ports must be 0..65535");
  dir.Write(kNetPolicyFile, with_l4(R"({"ipProtocol": 47})"));
  EXPECT_TRUE(dir.Load().ok());
}

TEST(PolicyLoaderTest, RangesMustBeCidrs) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile,
            NetPolicy("net-fw", Rule(1, "allow", "", R"(, "destIpRanges": ["10.1.2.0/33"])")));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].match.destIpRanges[0]",
                    "\"10.1.2.0/33\" is not a valid IPv4 CIDR range");
  dir.Write(kNetPolicyFile,
            NetPolicy("net-fw", Rule(1, "allow", "", R"(, "destIpRanges": ["10.1.2.3/24"])")));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[0].match.destIpRanges[0]",
                     "\"10.1.2.3/24\" has host bits set; using 10.1.2.0/24");
}

TEST(PolicyLoaderTest, Ipv6OnlyRulesAreLeftOut) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", R"({"priority": 1, "action": "deny",
    "direction": "EGRESS", "match": {"destIpRanges": ["2001:db8::/32"],
    "layer4Configs": [{"ipProtocol": "all"}]}}, {"priority": 2, "action": "deny",
    "direction": "EGRESS", "match": {"destIpRanges": ["2001:db8::/32", "10.9.0.0/16"],
    "layer4Configs": [{"ipProtocol": "all"}]}})"));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[0].match.destIpRanges",
                     "only IPv6 destination ranges, and IPv6 is not emulated; rule ignored "
                     "(priority 1)");
  ASSERT_EQ(result.config.firewall_policies[0].rules.size(), 1u);
  EXPECT_EQ(result.config.firewall_policies[0].rules[0].destination_ranges,
            std::vector<Prefix>{*ParsePrefix("10.9.0.0/16")});
}

TEST(PolicyLoaderTest, NotEmulatedMatchFieldsLeaveTheRuleOut) {
  PolicyDir dir;
  dir.Write(
      kNetPolicyFile,
      NetPolicy(
          "net-fw",
          Rule(1, "allow", "", R"(, "srcFqdns": ["example.com"])") + "," +
              Rule(2, "deny", "", R"(, "srcRegionCodes": ["US"])") + "," +
              Rule(3, "deny", "", R"(, "srcThreatIntelligences": ["iplist-tor-exit-nodes"])") +
              "," +
              Rule(
                  4, "deny", "",
                  R"(, "srcAddressGroups": ["projects/host-prj/locations/global/addressGroups/g"])") +
              "," + Rule(5, "allow", "", R"(, "srcFqdns": [])")));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[0].match.srcFqdns",
                     "srcFqdns is not emulated; rule ignored (priority 1)");
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[1].match.srcRegionCodes",
                     "srcRegionCodes is not emulated; rule ignored (priority 2)");
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[2].match.srcThreatIntelligences",
                     "srcThreatIntelligences is not emulated; rule ignored (priority 3)");
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[3].match.srcAddressGroups",
                     "srcAddressGroups is not emulated; rule ignored (priority 4)");
  ASSERT_EQ(result.config.firewall_policies[0].rules.size(), 1u);  // an empty list is fine
  EXPECT_EQ(result.config.firewall_policies[0].rules[0].priority, 5u);
}

TEST(PolicyLoaderTest, SourceSecureTagsOnlyOnIngress) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", R"({"priority": 1, "action": "allow",
    "direction": "EGRESS", "match": {"srcSecureTags": [{"name": "tagValues/1"}],
    "layer4Configs": [{"ipProtocol": "all"}]}})"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].match.srcSecureTags",
                    "only INGRESS rules can have source secure tags");
}

TEST(PolicyLoaderTest, SecureTagsAreTagValues) {
  PolicyDir dir;
  dir.Write(
      kNetPolicyFile,
      NetPolicy("net-fw", Rule(1, "allow", R"(, "targetSecureTags": [{"name": "tagKeys/1"}])")));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].targetSecureTags[0].name",
                    "\"tagKeys/1\" is not a secure tag value (tagValues/ID)");
}

TEST(PolicyLoaderTest, IneffectiveSecureTagsOnlyLeaveTheRuleOut) {
  PolicyDir dir;
  dir.Write(
      kNetPolicyFile,
      NetPolicy(
          "net-fw",
          R"({"priority": 1, "action": "allow",
    "match": {"srcSecureTags": [{"name": "tagValues/1", "state": "INEFFECTIVE"}],
    "layer4Configs": [{"ipProtocol": "all"}]}})" +
              std::string(",") +
              Rule(2, "allow",
                   R"(, "targetSecureTags": [{"name": "tagValues/2", "state": "INEFFECTIVE"}])")));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[0].match.srcSecureTags",
                     "every source secure tag is INEFFECTIVE and there are no srcIpRanges; rule "
                     "ignored (priority 1)");
  EXPECT_HAS_WARNING(result, kNetPolicyFile, kNetPolicy, "rules[1].targetSecureTags",
                     "every target secure tag is INEFFECTIVE; rule ignored (priority 2)");
  EXPECT_TRUE(result.config.firewall_policies[0].rules.empty());
}

TEST(PolicyLoaderTest, TargetSecureTagsOrServiceAccounts) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile,
            NetPolicy("net-fw", Rule(1, "allow", R"(, "targetSecureTags": [{"name": "tagValues/1"}],
              "targetServiceAccounts": ["a@svc-a.iam.gserviceaccount.com"])")));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].targetSecureTags",
                    "targetSecureTags and targetServiceAccounts cannot be used together");
}

TEST(PolicyLoaderTest, TargetResourcesOnlyInHierarchicalPolicies) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile,
            NetPolicy("net-fw",
                      Rule(1, "allow", R"(, "targetResources": [")" + std::string(kNet) + "\"]")));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "rules[0].targetResources",
                    "only the rules of hierarchical firewall policies take targetResources");
}

TEST(PolicyLoaderTest, TargetResourcesAreNetworks) {
  PolicyDir dir;
  dir.Write(kOrgPolicyFile, OrgPolicy(Rule(1, "allow", R"(, "targetResources": ["shared-net"])")));
  EXPECT_ONLY_ERROR(dir.Load(), kOrgPolicyFile, kOrgPolicy, "rules[0].targetResources[0]",
                    "\"shared-net\" is not a valid network reference (expected a URL or "
                    "projects/PROJECT/global/networks/NAME)");
  dir.Write(kOrgPolicyFile,
            OrgPolicy(Rule(1, "allow",
                           R"(, "targetResources": ["projects/host-prj/global/networks/nope"])")));
  EXPECT_ONLY_ERROR(dir.Load(), kOrgPolicyFile, kOrgPolicy, "rules[0].targetResources[0]",
                    "network projects/host-prj/global/networks/nope does not exist");
}

// --- Associations -------------------------------------------------------------------------------

TEST(PolicyLoaderTest, HierarchicalAssociationsAreOrganizationsOrFolders) {
  PolicyDir dir;
  dir.Write(kOrgPolicyFile, R"({"kind": "compute#firewallPolicy", "name": "100200",
    "parent": "organizations/100", "associations": [{"attachmentTarget": ")" +
                                std::string(kNet) + R"("}], "rules": []})");
  EXPECT_ONLY_ERROR(dir.Load(), kOrgPolicyFile, kOrgPolicy, "associations[0].attachmentTarget",
                    "\"projects/host-prj/global/networks/shared-net\" is not an organization or "
                    "folder (organizations/ID or folders/ID); a hierarchical policy is associated "
                    "with organizations and folders");
}

TEST(PolicyLoaderTest, HierarchicalAssociationMustBeInTheHierarchy) {
  PolicyDir dir;
  dir.Write(kOrgPolicyFile, R"({"kind": "compute#firewallPolicy", "name": "100200",
    "parent": "organizations/100", "associations": [{"attachmentTarget": "folders/9"}],
    "rules": []})");
  EXPECT_ONLY_ERROR(dir.Load(), kOrgPolicyFile, kOrgPolicy, "associations[0].attachmentTarget",
                    "folders/9 is not in the resourceHierarchy of shared-vpc.json");
  // Without a hierarchy, neither the parent nor the association resolves.
  dir.Write(kOrgPolicyFile, OrgPolicy(Rule(1)));
  dir.Write("shared-vpc.json", SharedVpcWith(""));
  LoadResult result = dir.Load();
  ASSERT_EQ(result.errors.size(), 2u) << AllIssues(result);
  EXPECT_EQ(result.errors[0],
            (ConfigIssue{kOrgPolicyFile, kOrgPolicy, "parent",
                         "organizations/100 is not in the resourceHierarchy of shared-vpc.json"}));
  EXPECT_EQ(result.errors[1],
            (ConfigIssue{kOrgPolicyFile, kOrgPolicy, "associations[0].attachmentTarget",
                         "organizations/100 is not in the resourceHierarchy of shared-vpc.json"}));
}

TEST(PolicyLoaderTest, OnePolicyPerOrganizationOrFolder) {
  PolicyDir dir;
  dir.Write(kOrgPolicyFile, OrgPolicy(Rule(1)));
  dir.Write("policies/second.json", R"({"kind": "compute#firewallPolicy", "name": "555",
    "parent": "organizations/100", "associations": [{"attachmentTarget": "organizations/100"}],
    "rules": []})");
  EXPECT_ONLY_ERROR(dir.Load(), "policies/second.json", "locations/global/firewallPolicies/555",
                    "associations[0].attachmentTarget",
                    "organizations/100 already has hierarchical firewall policy "
                    "locations/global/firewallPolicies/100200 associated; an organization or "
                    "folder has at most one");
}

TEST(PolicyLoaderTest, AssociationTargetsAreUniqueWithinAPolicy) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, R"({"kind": "compute#firewallPolicy", "name": "net-fw",
    "associations": [{"attachmentTarget": "shared-net"}, {"attachmentTarget": ")" +
                                std::string(kNet) + R"("}], "rules": []})");
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "associations[1].attachmentTarget",
                    "already associated with projects/host-prj/global/networks/shared-net by "
                    "associations[0]");
}

TEST(PolicyLoaderTest, NetworkAssociationMustExist) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile,
            NetPolicy("net-fw", Rule(1), "", "projects/host-prj/global/networks/nope"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "associations[0].attachmentTarget",
                    "network projects/host-prj/global/networks/nope does not exist");
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(1), "", "organizations/100"));
  EXPECT_ONLY_ERROR(dir.Load(), kNetPolicyFile, kNetPolicy, "associations[0].attachmentTarget",
                    "\"organizations/100\" is not a valid network reference (expected a URL or "
                    "projects/PROJECT/global/networks/NAME)");
}

TEST(PolicyLoaderTest, NetworkPolicyOnlyForNetworksOfItsProject) {
  PolicyDir dir;
  dir.Remove("testbed.json");  // its internet endpoint needs a single network
  dir.Write("projects/svc-a/net.json", R"({"kind": "compute#network", "name": "own-net"})");
  dir.Write("projects/svc-a/fw.json", NetPolicy("svc-fw", Rule(1)));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/fw.json",
                    "projects/svc-a/global/firewallPolicies/svc-fw",
                    "associations[0].attachmentTarget",
                    "network projects/host-prj/global/networks/shared-net is in project host-prj; "
                    "a network firewall policy is associated only with networks of its own "
                    "project (svc-a)");
}

TEST(PolicyLoaderTest, OneGlobalNetworkPolicyPerNetwork) {
  PolicyDir dir;
  dir.Write(kNetPolicyFile, NetPolicy("net-fw", Rule(1)));
  dir.Write("projects/host-prj/other.json", NetPolicy("other-fw", Rule(1)));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/other.json",
                    "projects/host-prj/global/firewallPolicies/other-fw",
                    "associations[0].attachmentTarget",
                    "network projects/host-prj/global/networks/shared-net already has global "
                    "network firewall policy projects/host-prj/global/firewallPolicies/net-fw "
                    "associated; a network has at most one");
}

TEST(PolicyLoaderTest, OneRegionalNetworkPolicyPerNetworkAndRegion) {
  PolicyDir dir;
  auto regional = [](const std::string& name, const std::string& region) {
    return NetPolicy(name, Rule(1), R"(, "region": ")" + region + "\"");
  };
  dir.Write("projects/host-prj/a.json", regional("west-a", "us-west1"));
  dir.Write("projects/host-prj/b.json", regional("east", "us-east1"));
  EXPECT_TRUE(dir.Load().ok());  // one per region
  dir.Write("projects/host-prj/c.json", regional("west-c", "us-west1"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/c.json",
                    "projects/host-prj/regions/us-west1/firewallPolicies/west-c",
                    "associations[0].attachmentTarget",
                    "network projects/host-prj/global/networks/shared-net already has regional "
                    "network firewall policy "
                    "projects/host-prj/regions/us-west1/firewallPolicies/west-a associated in "
                    "region us-west1; a network has at most one per region");
}

// --- Networks and instances ---------------------------------------------------------------------

TEST(PolicyLoaderTest, EnforcementOrderIsKnown) {
  PolicyDir dir;
  dir.Write("projects/host-prj/n.json", R"({"kind": "compute#network", "name": "n2",
    "networkFirewallPolicyEnforcementOrder": "FIRST"})");
  EXPECT_ONLY_ERROR(dir.Load(), "projects/host-prj/n.json", "projects/host-prj/global/networks/n2",
                    "networkFirewallPolicyEnforcementOrder",
                    "unknown value \"FIRST\" (expected AFTER_CLASSIC_FIREWALL, "
                    "BEFORE_CLASSIC_FIREWALL)");
}

std::string TaggedVm(const std::string& tags) {
  return R"({"kind": "compute#instance", "name": "tagged", "zone": "us-west1-b",
    "params": {"resourceManagerTags": )" +
         tags + R"(}, "networkInterfaces": [{"subnetwork": "regions/us-west1/subnetworks/subnet-1",
    "networkIP": "10.0.1.20"}]})";
}

TEST(PolicyLoaderTest, ResourceManagerTagsAreKeysAndValues) {
  PolicyDir dir;
  constexpr char kVm[] = "projects/svc-a/zones/us-west1-b/instances/tagged";
  dir.Write("projects/svc-a/vm.json", TaggedVm(R"({"env": "tagValues/1"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json", kVm, "params.resourceManagerTags.env",
                    "\"env\" is not a tag key (tagKeys/ID)");
  dir.Write("projects/svc-a/vm.json", TaggedVm(R"({"tagKeys/1": "prod"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json", kVm,
                    "params.resourceManagerTags.tagKeys/1",
                    "\"prod\" is not a tag value (tagValues/ID)");
  dir.Write("projects/svc-a/vm.json", TaggedVm(R"({"tagKeys/1": 7})"));
  EXPECT_ONLY_ERROR(dir.Load(), "projects/svc-a/vm.json", kVm,
                    "params.resourceManagerTags.tagKeys/1", "must be a string, not an integer");
}

// --- Resource hierarchy -------------------------------------------------------------------------

TEST(PolicyLoaderTest, HierarchyNamesHaveTheirShape) {
  PolicyDir dir;
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {"organization": "orgs/1"})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "", "resourceHierarchy.organization",
                    "\"orgs/1\" is not an organization (organizations/ID)");
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/1", "folders": [{"name": "f1", "parent": "organizations/1"}]})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "f1", "resourceHierarchy.folders[0].name",
                    "\"f1\" is not a folder (folders/ID)");
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/1", "projects": [{"projectId": "host-prj"}]})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "projects/host-prj",
                    "resourceHierarchy.projects[0].parent", "missing");
}

TEST(PolicyLoaderTest, HierarchyParentsExist) {
  PolicyDir dir;
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/1",
    "folders": [{"name": "folders/1", "parent": "organizations/2"}],
    "projects": [{"projectId": "host-prj", "parent": "folders/3"}]})"));
  LoadResult result = dir.Load();
  ASSERT_EQ(result.errors.size(), 2u) << AllIssues(result);
  EXPECT_EQ(result.errors[0],
            (ConfigIssue{"shared-vpc.json", "folders/1", "resourceHierarchy.folders[0].parent",
                         "organizations/2 is not in resourceHierarchy (neither its organization "
                         "nor a listed folder)"}));
  EXPECT_EQ(
      result.errors[1],
      (ConfigIssue{"shared-vpc.json", "projects/host-prj", "resourceHierarchy.projects[0].parent",
                   "folders/3 is not in resourceHierarchy (neither its organization nor a "
                   "listed folder)"}));
}

TEST(PolicyLoaderTest, HierarchyIsAcyclic) {
  PolicyDir dir;
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/1",
    "folders": [{"name": "folders/1", "parent": "organizations/1"},
                {"name": "folders/2", "parent": "folders/4"},
                {"name": "folders/3", "parent": "folders/2"},
                {"name": "folders/4", "parent": "folders/3"}]})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "folders/2",
                    "resourceHierarchy.folders[1].parent",
                    "the folders form a cycle: folders/2 -> folders/4 -> folders/3 -> folders/2; "
                    "the hierarchy must lead up to the organization");
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/1", "folders": [{"name": "folders/5", "parent": "folders/5"}]})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "folders/5",
                    "resourceHierarchy.folders[0].parent",
                    "the folders form a cycle: folders/5 -> folders/5; the hierarchy must lead up "
                    "to the organization");
}

TEST(PolicyLoaderTest, HierarchyEntriesAreListedOnce) {
  PolicyDir dir;
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/1",
    "folders": [{"name": "folders/1", "parent": "organizations/1"},
                {"name": "folders/1", "parent": "organizations/1"}]})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "folders/1", "resourceHierarchy.folders[1].name",
                    "folder listed twice");
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/1",
    "projects": [{"projectId": "host-prj", "parent": "organizations/1"},
                 {"projectId": "host-prj", "parent": "organizations/1"}]})"));
  EXPECT_ONLY_ERROR(dir.Load(), "shared-vpc.json", "projects/host-prj",
                    "resourceHierarchy.projects[1].projectId", "project listed twice");
}

TEST(PolicyLoaderTest, WarnsWhenAHostProjectIsNotPlaced) {
  PolicyDir dir;
  dir.Write("shared-vpc.json", SharedVpcWith(R"("resourceHierarchy": {
    "organization": "organizations/100", "projects": [{"projectId": "svc-a", "parent": "organizations/100"}]})"));
  dir.Write(kOrgPolicyFile, OrgPolicy(Rule(1)));
  LoadResult result = dir.Load();
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  EXPECT_HAS_WARNING(result, "shared-vpc.json", "projects/host-prj", "resourceHierarchy.projects",
                     "project host-prj (network projects/host-prj/global/networks/shared-net) is "
                     "not placed in the resource hierarchy; no hierarchical firewall policy "
                     "applies to its networks");
}

}  // namespace
}  // namespace svpc::config
