// The compiler's side of firewall policies, through CompileSnapshot on the firewall-policies
// scenario's configuration (organization and folder policies, VPC rules, global and regional
// network policies, a BEFORE_CLASSIC_FIREWALL network): one PolicySet whose ids are the ones the
// VPC rules and NICs use, each NIC's chains in GCP's order, the policy path only where a policy
// rule applies, report names and log references. Then the compiled chains on packets.

#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"
#include "control/compiler.h"

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

using firewall::Direction;
using firewall::StageKind;

const std::string kScenarioConfig = std::string(SVPC_SCENARIOS) + "/firewall-policies/config";

class CompilerPolicyTest : public testing::Test {
 protected:
  void SetUp() override {
    LoadResult loaded = LoadConfig(kScenarioConfig);
    ASSERT_TRUE(loaded.ok());
    config_ = std::move(loaded.config);
    std::string error;
    snap_ = CompileSnapshot(config_, &error);
    ASSERT_TRUE(snap_) << error;
  }

  const dataplane::NicInfo& Nic(const std::string& name) const {
    for (const dataplane::NicInfo& nic : snap_->nics) {
      if (nic.instance_ref.ends_with("/instances/" + name)) return nic;
    }
    ADD_FAILURE() << "no NIC " << name;
    return snap_->nics[0];
  }
  uint32_t Policy(const std::string& report_name) const {
    for (uint32_t p = 0; p < snap_->policies.size(); ++p) {
      if (snap_->policies.policy(p).name == report_name) return p;
    }
    ADD_FAILURE() << "no policy " << report_name;
    return 0;
  }
  const firewall::PolicyRule& Rule(uint32_t policy, uint32_t priority) const {
    for (const firewall::PolicyRule& rule : snap_->policies.policy(policy).rules) {
      if (rule.priority == priority) return rule;
    }
    ADD_FAILURE() << "no rule at priority " << priority;
    return snap_->policies.policy(policy).rules[0];
  }
  uint32_t Network(const std::string& name) const {
    for (uint32_t n = 0; n < snap_->networks.size(); ++n) {
      if (snap_->networks[n].name == name) return n;
    }
    ADD_FAILURE() << "no network " << name;
    return 0;
  }
  static std::vector<StageKind> Kinds(const firewall::PolicyChain& chain) {
    std::vector<StageKind> kinds;
    for (const firewall::Stage& stage : chain.stages()) kinds.push_back(stage.kind);
    return kinds;
  }
  uint32_t SecureTag(const std::string& value) const {
    for (uint32_t id = 0; id < snap_->secure_tag_names.size(); ++id) {
      if (snap_->secure_tag_names[id] == value) return id;
    }
    ADD_FAILURE() << "no secure tag " << value;
    return 0;
  }

  Config config_;
  std::unique_ptr<dataplane::Snapshot> snap_;
};

TEST_F(CompilerPolicyTest, OnePolicySetWithReportNamesAndReferences) {
  ASSERT_EQ(snap_->policies.size(), 5u);
  ASSERT_EQ(snap_->policy_refs.size(), 5u);
  const uint32_t org = Policy("firewallPolicies/org-fw");
  const uint32_t folder = Policy("firewallPolicies/folder-fw");  // displayName
  const uint32_t global = Policy("global/firewallPolicies/net-fw");
  const uint32_t regional = Policy("regions/us-east1/firewallPolicies/east-fw");
  Policy("global/firewallPolicies/before-fw");
  EXPECT_EQ(snap_->policy_refs[org], "locations/global/firewallPolicies/100200");
  EXPECT_EQ(snap_->policy_refs[regional],
            "projects/host-prj/regions/us-east1/firewallPolicies/east-fw");
  EXPECT_EQ(snap_->policies.policy(org).kind, firewall::PolicyKind::kHierarchical);
  EXPECT_EQ(snap_->policies.policy(global).kind, firewall::PolicyKind::kGlobalNetwork);
  EXPECT_EQ(snap_->policies.policy(regional).kind, firewall::PolicyKind::kRegionalNetwork);
  EXPECT_EQ(Rule(org, 200).action, firewall::PolicyAction::kGotoNext);
  EXPECT_TRUE(Rule(org, 100).log);
  // targetResources: network indices of the snapshot.
  EXPECT_EQ(Rule(folder, 100).target_networks, std::vector<uint32_t>{Network("shared-net")});

  const auto& refs = snap_->networks[Network("shared-net")].policy_log_references;
  auto reference = [&](uint32_t p) {
    for (const auto& [policy, ref] : refs) {
      if (policy == p) return ref;
    }
    return std::string("(none)");
  };
  EXPECT_EQ(reference(org), "0/firewallPolicy:100200");
  EXPECT_EQ(reference(folder), "1/firewallPolicy:300400");
  EXPECT_EQ(reference(global), "network:shared-net/firewallPolicy:net-fw");
  EXPECT_EQ(reference(regional), "network:shared-net/firewallPolicy:east-fw");
}

TEST_F(CompilerPolicyTest, IdsAreTheOnesVpcRulesAndNicsUse) {
  const uint32_t global = Policy("global/firewallPolicies/net-fw");
  const dataplane::NicInfo& web = Nic("web");
  const dataplane::NicInfo& app = Nic("app");
  const dataplane::NicInfo& db = Nic("db");
  // Service accounts: one interner for VPC rules, policies and NICs.
  ASSERT_EQ(web.service_accounts.size(), 1u);
  EXPECT_EQ(Rule(global, 500).target_service_accounts, web.service_accounts);
  EXPECT_EQ(snap_->service_account_names[web.service_accounts[0]],
            "web@svc-a.iam.gserviceaccount.com");
  const firewall::RuleSet& vpc = snap_->networks[Network("shared-net")].firewall;
  bool found = false;
  for (uint32_t r = 0; r < vpc.size(); ++r) {
    if (vpc.rule(r).name != "allow-ssh-from-app") continue;
    found = true;
    EXPECT_EQ(vpc.rule(r).source_service_accounts, app.service_accounts);
  }
  EXPECT_TRUE(found);
  // Secure tags: NICs and rules share the ids.
  EXPECT_EQ(web.secure_tags, std::vector<uint32_t>{SecureTag("tagValues/111")});
  EXPECT_EQ(db.secure_tags, std::vector<uint32_t>{SecureTag("tagValues/222")});
  EXPECT_EQ(Rule(global, 1000).source_secure_tags, web.secure_tags);
  EXPECT_EQ(Rule(global, 1000).target_secure_tags, db.secure_tags);
  EXPECT_TRUE(app.secure_tags.empty());
}

TEST_F(CompilerPolicyTest, ChainsInGcpOrderAndThePolicyPath) {
  using K = StageKind;
  const dataplane::NicInfo& db = Nic("db");
  const dataplane::NicInfo& web = Nic("web");
  const dataplane::NicInfo& b1 = Nic("b1");
  // db (us-east1): organization, folder, VPC rules, global, regional.
  EXPECT_EQ(Kinds(db.ingress_chain),
            (std::vector<K>{K::kHierarchicalPolicy, K::kHierarchicalPolicy, K::kVpcFirewall,
                            K::kGlobalNetworkPolicy, K::kRegionalNetworkPolicy}));
  // web (us-west1): no regional policy there.
  EXPECT_EQ(Kinds(web.ingress_chain),
            (std::vector<K>{K::kHierarchicalPolicy, K::kHierarchicalPolicy, K::kVpcFirewall,
                            K::kGlobalNetworkPolicy}));
  // before-net: the network policy before the VPC rules.
  EXPECT_EQ(Kinds(b1.ingress_chain), (std::vector<K>{K::kHierarchicalPolicy, K::kHierarchicalPolicy,
                                                     K::kGlobalNetworkPolicy, K::kVpcFirewall}));
  // The folder rule targets shared-net only: empty for b1.
  EXPECT_TRUE(b1.ingress_chain.stages()[1].rules.empty());
  // Ingress: the organization's rules reach every NIC. Egress: only web's service account has a
  // policy rule; the others keep the classifier (and no chain).
  for (const dataplane::NicInfo& nic : snap_->nics) {
    EXPECT_TRUE(nic.ingress_policy_path) << nic.instance_ref;
    EXPECT_EQ(nic.egress_policy_path, &nic == &web) << nic.instance_ref;
    if (!nic.egress_policy_path) {
      EXPECT_TRUE(nic.egress_chain.stages().empty());
    }
  }
}

TEST_F(CompilerPolicyTest, CompiledChainsDecidePackets) {
  const dataplane::NicInfo& web = Nic("web");
  const dataplane::NicInfo& app = Nic("app");
  const dataplane::NicInfo& db = Nic("db");
  const firewall::RuleSet& vpc = snap_->networks[db.network].firewall;
  auto tcp = [](const dataplane::NicInfo& from, const dataplane::NicInfo& to, uint16_t port) {
    return firewall::FlowKey{from.ip, to.ip, 6, true, 40000, port};
  };
  firewall::NicIdentity web_id = web.PolicyIdentity();
  firewall::NicIdentity app_id = app.PolicyIdentity();
  // web -> db:5432: the global policy, by secure tags.
  firewall::PolicyDecision d = firewall::EvaluatePolicies(snap_->policies, vpc, db.ingress_chain,
                                                          tcp(web, db, 5432), &web_id);
  EXPECT_EQ(d.action, firewall::Action::kAllow);
  EXPECT_EQ(d.stage, StageKind::kGlobalNetworkPolicy);
  EXPECT_EQ(d.priority, 1000u);
  EXPECT_TRUE(d.goto_next);
  // app -> db:5432: the regional deny of 10.0.1.11.
  d = firewall::EvaluatePolicies(snap_->policies, vpc, db.ingress_chain, tcp(app, db, 5432),
                                 &app_id);
  EXPECT_EQ(d.action, firewall::Action::kDeny);
  EXPECT_EQ(d.stage, StageKind::kRegionalNetworkPolicy);
  // app -> db:22: the VPC rule would allow app's service account; the organization denies first.
  d = firewall::EvaluatePolicies(snap_->policies, vpc, db.ingress_chain, tcp(app, db, 22), &app_id);
  EXPECT_EQ(d.action, firewall::Action::kDeny);
  EXPECT_EQ(d.stage, StageKind::kHierarchicalPolicy);
  EXPECT_EQ(snap_->policies.policy(d.policy).name, "firewallPolicies/org-fw");
}

TEST(CompilerWithoutPolicies, EveryNicStaysOnTheClassifier) {
  LoadResult loaded = LoadConfig(std::string(SVPC_EXAMPLES) + "/hybrid-cloud/config");
  ASSERT_TRUE(loaded.ok());
  std::string error;
  auto snap = CompileSnapshot(loaded.config, &error);
  ASSERT_TRUE(snap) << error;
  EXPECT_EQ(snap->policies.size(), 0u);
  for (const dataplane::NicInfo& nic : snap->nics) {
    EXPECT_FALSE(nic.egress_policy_path);
    EXPECT_FALSE(nic.ingress_policy_path);
    EXPECT_TRUE(nic.egress_chain.stages().empty());
    EXPECT_TRUE(nic.ingress_chain.stages().empty());
  }
}

}  // namespace
}  // namespace svpc::control
