#include "firewall/policy_evaluator.h"

#include <gtest/gtest.h>

namespace svpc::firewall {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

// Policy indices in the PolicySet built by Fixture.
constexpr uint32_t kOrg = 0;
constexpr uint32_t kFolder = 1;
constexpr uint32_t kGlobal = 2;
constexpr uint32_t kRegional = 3;
// Network ids (targetResources).
constexpr uint32_t kNetA = 7;
constexpr uint32_t kNetB = 8;
// Service account and secure tag ids.
constexpr uint32_t kSaWeb = 1;
constexpr uint32_t kSaDb = 2;
constexpr uint32_t kTagProd = 10;
constexpr uint32_t kTagDev = 11;

Prefix P(const char* text) { return *ParsePrefix(text); }
Ipv4 Ip(const char* text) { return *ParseIpv4(text); }

FlowKey Tcp(const char* src, const char* dst, uint16_t dport) {
  return FlowKey{Ip(src), Ip(dst), kTcp, true, 40000, dport};
}

PolicyRule PRule(uint32_t priority, PolicyAction action, Direction dir = Direction::kIngress) {
  PolicyRule r;
  r.priority = priority;
  r.action = action;
  r.direction = dir;
  r.protocols = {ProtocolMatch{-1, {}}};
  return r;
}

PolicyRule PRule(uint32_t priority, PolicyAction action, uint16_t tcp_port,
                 Direction dir = Direction::kIngress) {
  PolicyRule r = PRule(priority, action, dir);
  r.protocols = {ProtocolMatch{kTcp, {PortRange{tcp_port, tcp_port}}}};
  return r;
}

Rule VpcRule(std::string name, uint32_t priority, Action action,
             Direction dir = Direction::kIngress) {
  Rule r;
  r.name = std::move(name);
  r.priority = priority;
  r.action = action;
  r.direction = dir;
  r.protocols = {ProtocolMatch{-1, {}}};
  return r;
}

const std::vector<uint32_t> kNoIds;

// Four policies (org, folder, global, regional) and a VPC rule set; each test fills the rules.
struct Fixture {
  std::vector<PolicyRule> org;
  std::vector<PolicyRule> folder;
  std::vector<PolicyRule> global;
  std::vector<PolicyRule> regional;
  std::vector<Rule> vpc;
  EnforcementOrder order = EnforcementOrder::kAfterClassicFirewall;
  uint32_t network = kNetA;
  std::vector<uint32_t> service_accounts;
  std::vector<uint32_t> secure_tags;
  std::vector<uint32_t> remote_secure_tags;
  bool remote_known = false;

  PolicySet policies;
  RuleSet rules;

  PolicyDecision Run(Direction dir, const FlowKey& key) {
    policies = PolicySet({Policy{"org-policy", PolicyKind::kHierarchical, org},
                          Policy{"folder-policy", PolicyKind::kHierarchical, folder},
                          Policy{"global-policy", PolicyKind::kGlobalNetwork, global},
                          Policy{"regional-policy", PolicyKind::kRegionalNetwork, regional}});
    rules = RuleSet(vpc);
    NicPolicies nic;
    nic.hierarchical = {kOrg, kFolder};
    nic.global = kGlobal;
    nic.regional = kRegional;
    nic.order = order;
    nic.network = network;
    NicIdentity target{kNoIds, service_accounts, secure_tags};
    PolicyChain chain = PolicyChain::Build(policies, rules, nic, dir, target);
    NicIdentity remote{kNoIds, kNoIds, remote_secure_tags};
    return EvaluatePolicies(policies, rules, chain, key, remote_known ? &remote : nullptr);
  }
  std::string Describe(Direction dir, const PolicyDecision& d) const {
    return DescribeDecision(policies, rules, dir, d) +
           (d.action == Action::kAllow ? ":allow" : ":deny") + (d.goto_next ? " (goto_next)" : "");
  }
  std::string Winner(Direction dir, const FlowKey& key) { return Describe(dir, Run(dir, key)); }
};

const FlowKey kSsh = Tcp("192.168.1.5", "10.0.1.3", 22);
const FlowKey kWeb = Tcp("192.168.1.5", "10.0.1.3", 80);

TEST(PolicyEvaluator, ChainOrderAfterClassicFirewall) {
  Fixture f;
  f.org = {PRule(1, PolicyAction::kGotoNext)};
  f.folder = {PRule(1, PolicyAction::kGotoNext)};
  f.vpc = {VpcRule("vpc-allow", 1000, Action::kAllow)};
  f.global = {PRule(1, PolicyAction::kDeny)};
  PolicyDecision d = f.Run(Direction::kIngress, kSsh);
  NicPolicies nic{
      {kOrg, kFolder}, kGlobal, kRegional, EnforcementOrder::kAfterClassicFirewall, kNetA};
  NicIdentity target{kNoIds, kNoIds, kNoIds};
  PolicyChain chain = PolicyChain::Build(f.policies, f.rules, nic, Direction::kIngress, target);
  ASSERT_EQ(chain.stages().size(), 5u);
  EXPECT_EQ(chain.stages()[0].policy, kOrg);
  EXPECT_EQ(chain.stages()[1].policy, kFolder);
  EXPECT_EQ(chain.stages()[2].kind, StageKind::kVpcFirewall);
  EXPECT_EQ(chain.stages()[3].kind, StageKind::kGlobalNetworkPolicy);
  EXPECT_EQ(chain.stages()[4].kind, StageKind::kRegionalNetworkPolicy);
  EXPECT_EQ(d.stage, StageKind::kVpcFirewall);
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.priority, 1000u);
  EXPECT_TRUE(d.goto_next);
  EXPECT_EQ(f.Describe(Direction::kIngress, d), "VPC firewall rule vpc-allow:allow (goto_next)");
}

TEST(PolicyEvaluator, OrganizationBeforeFolder) {
  Fixture f;
  f.org = {PRule(500, PolicyAction::kAllow, 22)};
  f.folder = {PRule(1, PolicyAction::kDeny)};
  PolicyDecision d = f.Run(Direction::kIngress, kSsh);
  EXPECT_EQ(d.stage, StageKind::kHierarchicalPolicy);
  EXPECT_EQ(d.policy, kOrg);
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.priority, 500u);
  EXPECT_FALSE(d.goto_next);
  EXPECT_EQ(f.Describe(Direction::kIngress, d),
            "hierarchical policy org-policy priority 500:allow");
  // Port 80 does not match the organization's rule: the folder decides.
  EXPECT_EQ(f.Winner(Direction::kIngress, kWeb),
            "hierarchical policy folder-policy priority 1:deny");
}

TEST(PolicyEvaluator, FolderBeforeVpcRules) {
  Fixture f;
  f.folder = {PRule(100, PolicyAction::kDeny, 22)};
  f.vpc = {VpcRule("allow-all", 0, Action::kAllow)};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "hierarchical policy folder-policy priority 100:deny");
  EXPECT_EQ(f.Winner(Direction::kIngress, kWeb), "VPC firewall rule allow-all:allow");
}

TEST(PolicyEvaluator, VpcRulesBeforeGlobalBeforeRegional) {
  Fixture f;
  f.vpc = {VpcRule("vpc-deny-ssh", 1000, Action::kDeny)};
  f.vpc[0].protocols = {ProtocolMatch{kTcp, {PortRange{22, 22}}}};
  f.global = {PRule(10, PolicyAction::kAllow, 80)};
  f.regional = {PRule(1, PolicyAction::kDeny)};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "VPC firewall rule vpc-deny-ssh:deny");
  EXPECT_EQ(f.Winner(Direction::kIngress, kWeb),
            "global network policy global-policy priority 10:allow");
  FlowKey dns = Tcp("192.168.1.5", "10.0.1.3", 53);
  PolicyDecision d = f.Run(Direction::kIngress, dns);
  EXPECT_EQ(d.stage, StageKind::kRegionalNetworkPolicy);
  EXPECT_EQ(d.policy, kRegional);
  EXPECT_EQ(d.priority, 1u);
  EXPECT_EQ(d.action, Action::kDeny);
}

TEST(PolicyEvaluator, BeforeClassicFirewallPutsNetworkPoliciesFirst) {
  Fixture f;
  f.order = EnforcementOrder::kBeforeClassicFirewall;
  f.org = {PRule(5, PolicyAction::kAllow, 443)};
  f.vpc = {VpcRule("vpc-allow", 0, Action::kAllow)};
  f.global = {PRule(10, PolicyAction::kDeny, 22), PRule(20, PolicyAction::kGotoNext, 443)};
  f.regional = {PRule(10, PolicyAction::kDeny, 80)};
  // Global policy before the VPC rules.
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "global network policy global-policy priority 10:deny");
  // Regional policy before the VPC rules too.
  EXPECT_EQ(f.Winner(Direction::kIngress, kWeb),
            "regional network policy regional-policy priority 10:deny");
  // Hierarchical policies stay first.
  EXPECT_EQ(f.Winner(Direction::kIngress, Tcp("192.168.1.5", "10.0.1.3", 443)),
            "hierarchical policy org-policy priority 5:allow");
  // Nothing in the network policies: the VPC rules decide last.
  EXPECT_EQ(f.Winner(Direction::kIngress, Tcp("192.168.1.5", "10.0.1.3", 8080)),
            "VPC firewall rule vpc-allow:allow");

  NicPolicies nic{{kOrg}, kGlobal, kRegional, EnforcementOrder::kBeforeClassicFirewall, kNetA};
  NicIdentity target{kNoIds, kNoIds, kNoIds};
  PolicyChain chain = PolicyChain::Build(f.policies, f.rules, nic, Direction::kIngress, target);
  ASSERT_EQ(chain.stages().size(), 4u);
  EXPECT_EQ(chain.stages()[0].kind, StageKind::kHierarchicalPolicy);
  EXPECT_EQ(chain.stages()[1].kind, StageKind::kGlobalNetworkPolicy);
  EXPECT_EQ(chain.stages()[2].kind, StageKind::kRegionalNetworkPolicy);
  EXPECT_EQ(chain.stages()[3].kind, StageKind::kVpcFirewall);
}

TEST(PolicyEvaluator, GotoNextChainsThroughEveryStage) {
  Fixture f;
  f.org = {PRule(1, PolicyAction::kGotoNext)};
  f.folder = {PRule(1, PolicyAction::kGotoNext)};
  f.vpc = {VpcRule("other-port", 1000, Action::kAllow)};
  f.vpc[0].protocols = {ProtocolMatch{kUdp, {}}};
  f.global = {PRule(1, PolicyAction::kGotoNext)};
  f.regional = {PRule(7, PolicyAction::kAllow, 22)};
  PolicyDecision d = f.Run(Direction::kIngress, kSsh);
  EXPECT_EQ(d.stage, StageKind::kRegionalNetworkPolicy);
  EXPECT_EQ(d.priority, 7u);
  EXPECT_TRUE(d.goto_next);
  EXPECT_EQ(f.Describe(Direction::kIngress, d),
            "regional network policy regional-policy priority 7:allow (goto_next)");
}

TEST(PolicyEvaluator, GotoNextEndsItsPolicy) {
  // The lowest-numbered match decides for the policy: goto_next at 10 hides the deny at 20.
  Fixture f;
  f.org = {PRule(20, PolicyAction::kDeny), PRule(10, PolicyAction::kGotoNext, 22)};
  f.vpc = {VpcRule("allow-all", 1000, Action::kAllow)};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "VPC firewall rule allow-all:allow (goto_next)");
  EXPECT_EQ(f.Winner(Direction::kIngress, kWeb), "hierarchical policy org-policy priority 20:deny");
}

TEST(PolicyEvaluator, LowestPriorityNumberWinsWithinAPolicy) {
  Fixture f;
  f.global = {PRule(2000, PolicyAction::kAllow), PRule(1000, PolicyAction::kDeny, 22),
              PRule(999, PolicyAction::kAllow, 80)};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "global network policy global-policy priority 1000:deny");
  EXPECT_EQ(f.Winner(Direction::kIngress, kWeb),
            "global network policy global-policy priority 999:allow");
  EXPECT_EQ(f.Winner(Direction::kIngress, Tcp("1.1.1.1", "10.0.1.3", 8080)),
            "global network policy global-policy priority 2000:allow");
}

TEST(PolicyEvaluator, DenyBeatsLaterAllow) {
  Fixture f;
  f.org = {PRule(65000, PolicyAction::kDeny, 22)};  // a high number, still an earlier stage
  f.folder = {PRule(0, PolicyAction::kAllow)};
  f.vpc = {VpcRule("allow-all", 0, Action::kAllow)};
  f.global = {PRule(0, PolicyAction::kAllow)};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "hierarchical policy org-policy priority 65000:deny");
  // A VPC deny ends evaluation before the global policy's allow.
  Fixture g;
  g.vpc = {VpcRule("deny-all", 65534, Action::kDeny)};
  g.global = {PRule(0, PolicyAction::kAllow)};
  EXPECT_EQ(g.Winner(Direction::kIngress, kSsh), "VPC firewall rule deny-all:deny");
}

TEST(PolicyEvaluator, NoMatchFallsThroughToImpliedRules) {
  Fixture f;
  f.org = {PRule(1, PolicyAction::kAllow, 443)};
  f.vpc = {VpcRule("allow-udp", 1, Action::kAllow)};
  f.vpc[0].protocols = {ProtocolMatch{kUdp, {}}};
  f.global = {PRule(1, PolicyAction::kAllow, 443)};
  PolicyDecision in = f.Run(Direction::kIngress, kSsh);
  EXPECT_EQ(in.stage, StageKind::kImplied);
  EXPECT_EQ(in.rule, kImpliedRule);
  EXPECT_EQ(in.policy, kNoPolicy);
  EXPECT_EQ(in.priority, kImpliedRulePriority);
  EXPECT_EQ(in.action, Action::kDeny);
  EXPECT_FALSE(in.goto_next);
  EXPECT_EQ(f.Describe(Direction::kIngress, in), "implied-deny-ingress:deny");
  EXPECT_EQ(f.Winner(Direction::kEgress, Tcp("10.0.1.3", "8.8.8.8", 22)),
            "implied-allow-egress:allow");
  // goto_next all the way down is still reported.
  Fixture g;
  g.folder = {PRule(1, PolicyAction::kGotoNext)};
  EXPECT_EQ(g.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny (goto_next)");
}

TEST(PolicyEvaluator, NoPoliciesIsTheVpcFirewall) {
  PolicySet policies;
  RuleSet rules({VpcRule("allow-ssh", 1000, Action::kAllow)});
  NicIdentity target{kNoIds, kNoIds, kNoIds};
  PolicyChain chain =
      PolicyChain::Build(policies, rules, NicPolicies{}, Direction::kIngress, target);
  ASSERT_EQ(chain.stages().size(), 1u);
  PolicyDecision d = EvaluatePolicies(policies, rules, chain, kSsh, nullptr);
  EXPECT_EQ(d.stage, StageKind::kVpcFirewall);
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.action, Action::kAllow);
}

TEST(PolicyEvaluator, EgressAndIngressRulesAreSeparate) {
  Fixture f;
  f.org = {PRule(1, PolicyAction::kDeny, 22, Direction::kEgress)};
  f.org[0].destination_ranges = {P("8.8.0.0/16")};
  f.folder = {PRule(1, PolicyAction::kAllow, 22, Direction::kIngress)};
  // Ingress: the egress deny does not apply.
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "hierarchical policy folder-policy priority 1:allow");
  // Egress: the deny applies to its destination range only.
  EXPECT_EQ(f.Winner(Direction::kEgress, Tcp("10.0.1.3", "8.8.8.8", 22)),
            "hierarchical policy org-policy priority 1:deny");
  EXPECT_EQ(f.Winner(Direction::kEgress, Tcp("10.0.1.3", "9.9.9.9", 22)),
            "implied-allow-egress:allow");
  // Egress srcIpRanges must hold the source.
  Fixture g;
  g.global = {PRule(1, PolicyAction::kDeny, Direction::kEgress)};
  g.global[0].source_ranges = {P("10.0.2.0/24")};
  EXPECT_EQ(g.Winner(Direction::kEgress, Tcp("10.0.1.3", "9.9.9.9", 22)),
            "implied-allow-egress:allow");
  EXPECT_EQ(g.Winner(Direction::kEgress, Tcp("10.0.2.3", "9.9.9.9", 22)),
            "global network policy global-policy priority 1:deny");
}

TEST(PolicyEvaluator, IngressSourceAndDestinationRanges) {
  Fixture f;
  f.global = {PRule(1, PolicyAction::kAllow, 22)};
  f.global[0].source_ranges = {P("192.168.0.0/16")};
  f.global[0].destination_ranges = {P("10.0.1.0/24")};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "global network policy global-policy priority 1:allow");
  EXPECT_EQ(f.Winner(Direction::kIngress, Tcp("172.16.0.1", "10.0.1.3", 22)),
            "implied-deny-ingress:deny");
  EXPECT_EQ(f.Winner(Direction::kIngress, Tcp("192.168.1.5", "10.0.2.3", 22)),
            "implied-deny-ingress:deny");
}

TEST(PolicyEvaluator, TargetServiceAccounts) {
  Fixture f;
  f.org = {PRule(1, PolicyAction::kDeny)};
  f.org[0].target_service_accounts = {kSaDb};
  f.service_accounts = {kSaWeb};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");
  f.org[0].action = PolicyAction::kAllow;
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");
  f.service_accounts = {kSaWeb, kSaDb};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "hierarchical policy org-policy priority 1:allow");
}

TEST(PolicyEvaluator, TargetSecureTags) {
  Fixture f;
  f.global = {PRule(1, PolicyAction::kAllow, 22)};
  f.global[0].target_secure_tags = {kTagProd};
  f.secure_tags = {kTagDev};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");
  f.secure_tags = {kTagProd, kTagDev};  // sorted ids, as the compiler hands them
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "global network policy global-policy priority 1:allow");
}

TEST(PolicyEvaluator, TargetResourcesSelectNetworks) {
  Fixture f;
  f.org = {PRule(1, PolicyAction::kDeny)};
  f.org[0].target_networks = {kNetB};
  f.network = kNetA;
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");
  f.org[0].action = PolicyAction::kAllow;
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");
  f.network = kNetB;
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "hierarchical policy org-policy priority 1:allow");
  // Every target field must match: network and service account.
  f.org[0].target_service_accounts = {kSaWeb};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");
  f.service_accounts = {kSaWeb};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "hierarchical policy org-policy priority 1:allow");
}

TEST(PolicyEvaluator, SourceSecureTagsNeedAKnownRemote) {
  Fixture f;
  f.global = {PRule(1, PolicyAction::kAllow, 22)};
  f.global[0].source_secure_tags = {kTagProd};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");  // no remote
  f.remote_known = true;
  f.remote_secure_tags = {kTagDev};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh), "implied-deny-ingress:deny");
  f.remote_secure_tags = {kTagProd};
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "global network policy global-policy priority 1:allow");
  // Source ranges OR source secure tags.
  f.global[0].source_ranges = {P("192.168.0.0/16")};
  f.remote_known = false;
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "global network policy global-policy priority 1:allow");
  EXPECT_EQ(f.Winner(Direction::kIngress, Tcp("172.16.0.1", "10.0.1.3", 22)),
            "implied-deny-ingress:deny");
}

TEST(PolicyEvaluator, PortsNeverMatchPacketsWithoutPorts) {
  Fixture f;
  f.global = {PRule(1, PolicyAction::kAllow, 22)};
  FlowKey fragment = kSsh;
  fragment.has_ports = false;
  EXPECT_EQ(f.Winner(Direction::kIngress, fragment), "implied-deny-ingress:deny");
  f.global[0].protocols = {ProtocolMatch{kTcp, {}}};
  EXPECT_EQ(f.Winner(Direction::kIngress, fragment),
            "global network policy global-policy priority 1:allow");
}

TEST(PolicyEvaluator, VpcStageUsesTheVpcTargetsAndRemote) {
  Fixture f;
  Rule by_source_tag = VpcRule("from-web", 1000, Action::kAllow);
  by_source_tag.source_tags = {3};
  f.vpc = {by_source_tag};
  f.global = {PRule(1, PolicyAction::kDeny)};
  // No remote: the VPC rule cannot match; the global policy decides.
  EXPECT_EQ(f.Winner(Direction::kIngress, kSsh),
            "global network policy global-policy priority 1:deny");
  f.policies = PolicySet({Policy{"g", PolicyKind::kGlobalNetwork, f.global}});
  f.rules = RuleSet(f.vpc);
  NicPolicies nic;
  nic.global = 0;
  NicIdentity target{kNoIds, kNoIds, kNoIds};
  PolicyChain chain = PolicyChain::Build(f.policies, f.rules, nic, Direction::kIngress, target);
  std::vector<uint32_t> remote_tags = {3};
  NicIdentity remote{remote_tags, kNoIds, kNoIds};
  PolicyDecision d = EvaluatePolicies(f.policies, f.rules, chain, kSsh, &remote);
  EXPECT_EQ(d.stage, StageKind::kVpcFirewall);
  EXPECT_EQ(d.action, Action::kAllow);
}

}  // namespace
}  // namespace svpc::firewall
