// Firewall policies in the pipeline, on a hand-built snapshot: one network with an organization
// policy, VPC rules and a global network policy; NICs on the policy path and one on the classifier
// path. Asserts which stage and rule decided (PacketMeta's *_policy / *_rule), that tracked
// connections still pass whatever decided, hit counters, logging events and re-checks.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include "dataplane/pipeline.h"

namespace svpc::dataplane {
namespace {

using firewall::Direction;
using firewall::PolicyAction;

Ipv4 Ip(const char* s) { return *ParseIpv4(s); }

void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
void Put32(std::vector<uint8_t>& b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}

// A TCP segment from the sender's GCP MAC, tagged with `vlan` (-1: untagged).
std::vector<uint8_t> Tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport, int vlan,
                         uint8_t flags = 0x02) {
  std::vector<uint8_t> b = {0x42, 0x01, 0x0a, 0x00, 0x01, 0x01};
  MacAddr mac = GcpMacForIp(Ip(src));
  b.insert(b.end(), mac.bytes.begin(), mac.bytes.end());
  if (vlan >= 0) {
    Put16(b, 0x8100);
    Put16(b, static_cast<uint16_t>(vlan));
  }
  Put16(b, 0x0800);
  size_t ip = b.size();
  std::vector<uint8_t> h = {0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0};
  b.insert(b.end(), h.begin(), h.end());
  Put32(b, Ip(src));
  Put32(b, Ip(dst));
  uint32_t sum = 0;
  for (size_t i = ip; i < ip + 20; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  b[ip + 10] = static_cast<uint8_t>(~sum >> 8);
  b[ip + 11] = static_cast<uint8_t>(~sum & 0xff);
  Put16(b, sport);
  Put16(b, dport);
  for (int i = 0; i < 8; ++i) b.push_back(0);
  b.push_back(0x50);
  b.push_back(flags);
  for (int i = 0; i < 6; ++i) b.push_back(0);
  return b;
}

constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kSynAck = 0x12;

// Ids as a compiler would intern them.
constexpr uint32_t kTagWeb = 1;       // network tag
constexpr uint32_t kSecureWeb = 100;  // secure tag values
constexpr uint32_t kSecureDb = 200;
constexpr uint32_t kSaDb = 7;  // service account
// Policy indices.
constexpr uint32_t kOrg = 0;
constexpr uint32_t kGlobal = 1;
// NICs: a (web, on the policy path), b (db, on the policy path), c (no policy reaches it).
constexpr int32_t kA = 0;
constexpr int32_t kB = 1;
constexpr int32_t kC = 2;

firewall::PolicyRule PRule(uint32_t priority, PolicyAction action, Direction direction,
                           uint16_t tcp_port) {
  firewall::PolicyRule r;
  r.priority = priority;
  r.action = action;
  r.direction = direction;
  r.protocols = {{6, {{tcp_port, tcp_port}}}};
  return r;
}

class PolicyPipelineTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = rte_pktmbuf_pool_create("policy_pipeline_test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }

  void SetUp() override { Build(/*global_allows_db=*/true, /*generation=*/1); }

  // The organization policy denies SSH to every NIC (logged) and sends 10.0.0.0/8 -> tcp:5432 on
  // with goto_next; the VPC rules allow tcp:80 from the web tag; the global network policy allows
  // tcp:5432 from the web secure tag to NICs with the db secure tag (or, with
  // !global_allows_db, denies it: a rule change) and denies egress to tcp:9999 for the db
  // service account. NIC c is in no project the policies reach.
  void Build(bool global_allows_db, uint64_t generation) {
    snap_ = std::make_unique<Snapshot>();
    snap_->generation = generation;
    snap_->port_names = {"vm", "vpn"};
    NetworkInfo net;
    net.ref = "projects/host/global/networks/shared";
    net.name = "shared";
    firewall::Rule allow_web;
    allow_web.name = "allow-web";
    allow_web.protocols = {{6, {{80, 80}}}};
    allow_web.source_tags = {kTagWeb};
    // Rules only the differential test below exercises.
    firewall::Rule deny_7000;
    deny_7000.name = "deny-7000";
    deny_7000.priority = 500;
    deny_7000.action = firewall::Action::kDeny;
    deny_7000.protocols = {{6, {{7000, 7000}}}};
    firewall::Rule allow_db_7001;
    allow_db_7001.name = "allow-db-7001";
    allow_db_7001.protocols = {{6, {{7001, 7001}}}};
    allow_db_7001.source_service_accounts = {kSaDb};
    firewall::Rule deny_egress_8000;
    deny_egress_8000.name = "deny-egress-8000";
    deny_egress_8000.direction = Direction::kEgress;
    deny_egress_8000.action = firewall::Action::kDeny;
    deny_egress_8000.protocols = {{6, {{8000, 8000}}}};
    net.firewall = firewall::RuleSet({allow_web, deny_7000, allow_db_7001, deny_egress_8000});
    net.policy_log_references = {{kOrg, "0/firewallPolicy:100"},
                                 {kGlobal, "network:shared/firewallPolicy:net-fw"}};
    snap_->networks.push_back(std::move(net));

    firewall::Policy org{"firewallPolicies/org-fw", firewall::PolicyKind::kHierarchical, {}};
    org.rules.push_back(PRule(100, PolicyAction::kDeny, Direction::kIngress, 22));
    org.rules.back().log = true;
    org.rules.push_back(PRule(200, PolicyAction::kGotoNext, Direction::kIngress, 5432));
    org.rules.back().source_ranges = {*ParsePrefix("10.0.0.0/8")};
    firewall::Policy global{
        "global/firewallPolicies/net-fw", firewall::PolicyKind::kGlobalNetwork, {}};
    global.rules.push_back(PRule(1000,
                                 global_allows_db ? PolicyAction::kAllow : PolicyAction::kDeny,
                                 Direction::kIngress, 5432));
    global.rules.back().source_secure_tags = {kSecureWeb};
    global.rules.back().target_secure_tags = {kSecureDb};
    global.rules.back().log = true;
    global.rules.push_back(PRule(10, PolicyAction::kDeny, Direction::kEgress, 9999));
    global.rules.back().target_service_accounts = {kSaDb};
    snap_->policies = firewall::PolicySet({org, global});
    snap_->policy_refs = {"locations/global/firewallPolicies/100",
                          "projects/host/global/firewallPolicies/net-fw"};

    AddNic("a", "10.0.1.3", {kTagWeb}, {}, {kSecureWeb}, 10);
    AddNic("b", "10.15.2.4", {}, {kSaDb}, {kSecureDb}, 20);
    AddNic("c", "10.0.1.9", {}, {kSaDb}, {kSecureDb}, 30);
    EndpointInfo vpn;
    vpn.kind = EndpointKind::kVpnTunnel;
    vpn.port = 1;
    vpn.mac = *ParseMac("02:00:00:00:00:99");
    vpn.name = "tunnel";
    snap_->endpoints.push_back(vpn);

    std::vector<routing::Route> routes = {
        {"subnet-a", *ParsePrefix("10.0.1.0/24"), 0, {}, routing::NextHopType::kSubnet, 0, true},
        {"subnet-b", *ParsePrefix("10.15.2.0/24"), 0, {}, routing::NextHopType::kSubnet, 0, true},
        {"to-onprem",
         *ParsePrefix("192.168.0.0/16"),
         1000,
         {},
         routing::NextHopType::kVpnTunnel,
         3,
         true}};
    std::vector<routing::OwnedRange> owned = {{*ParsePrefix("10.0.1.3/32"), 0},
                                              {*ParsePrefix("10.15.2.4/32"), 1},
                                              {*ParsePrefix("10.0.1.9/32"), 2}};
    std::string error;
    snap_->networks[0].routes =
        routing::RouteTable::Build(routes, owned, {{kTagWeb}, {}, {}}, &error);
    ASSERT_TRUE(snap_->networks[0].routes) << error;

    const firewall::RuleSet& rules = snap_->networks[0].firewall;
    firewall::NicPolicies reached;
    reached.hierarchical = {kOrg};
    reached.global = kGlobal;
    std::vector<firewall::Identity> identities;
    for (NicInfo& nic : snap_->nics) identities.push_back(nic.Identity());
    for (int32_t i : {kA, kB}) {
      NicInfo& nic = snap_->nics[i];
      nic.egress_chain = firewall::PolicyChain::Build(snap_->policies, rules, reached,
                                                      Direction::kEgress, nic.PolicyIdentity());
      nic.ingress_chain = firewall::PolicyChain::Build(snap_->policies, rules, reached,
                                                       Direction::kIngress, nic.PolicyIdentity());
      nic.egress_policy_path = HasPolicyRules(nic.egress_chain);
      nic.ingress_policy_path = HasPolicyRules(nic.ingress_chain);
    }
    snap_->networks[0].classifier = firewall::Classifier::Build(rules, identities, &error);
    ASSERT_TRUE(snap_->networks[0].classifier) << error;
    for (uint32_t i = 0; i < snap_->nics.size(); ++i) {
      snap_->nics[i].target_class = snap_->networks[0].classifier->TargetClass(i);
      snap_->nics[i].source_class = snap_->networks[0].classifier->SourceClass(i);
    }
    ASSERT_TRUE(snap_->BuildClassifier(&error)) << error;
    snap_->AllocateWorkerCounters();
  }

  static bool HasPolicyRules(const firewall::PolicyChain& chain) {
    for (const firewall::Stage& stage : chain.stages()) {
      if (stage.kind != firewall::StageKind::kVpcFirewall && !stage.rules.empty()) return true;
    }
    return false;
  }

  void AddNic(const char* name, const char* ip, std::vector<uint32_t> tags,
              std::vector<uint32_t> service_accounts, std::vector<uint32_t> secure_tags,
              uint16_t vlan) {
    NicInfo nic;
    nic.instance_ref = std::string("projects/svc/zones/us-west1-a/instances/") + name;
    nic.ip = Ip(ip);
    nic.tags = std::move(tags);
    nic.service_accounts = std::move(service_accounts);
    nic.secure_tags = std::move(secure_tags);
    nic.mac = GcpMacForIp(nic.ip);
    nic.gateway_mac = GcpMacForIp((nic.ip & 0xffffff00) | 1);
    nic.endpoint = static_cast<int32_t>(snap_->endpoints.size());
    EndpointInfo ep;
    ep.port = 0;
    ep.vlan = vlan;
    ep.mac = nic.mac;
    ep.nic = static_cast<int32_t>(snap_->nics.size());
    snap_->endpoints.push_back(ep);
    snap_->nics.push_back(std::move(nic));
  }

  PacketMeta Run(const Pipeline& pipeline, const std::vector<uint8_t>& frame, uint16_t in_port,
                 uint64_t time_ns = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, frame.size()), frame.data(), frame.size());
    PacketMeta meta;
    meta.in_port = in_port;
    meta.time_ns = time_ns;
    Burst burst{&m, &meta, 1};
    pipeline.Process(*snap_, burst, counters_);
    rte_pktmbuf_free(m);
    return meta;
  }
  PacketMeta Run(const std::vector<uint8_t>& frame, uint16_t in_port) {
    return Run(pipeline_, frame, in_port);
  }

  uint64_t PolicyHits(uint32_t policy, uint32_t rule) const {
    return snap_->rule_hits[snap_->policy_rule_hit_base[policy] + rule];
  }
  // Index in Policy::rules of the rule with `priority`.
  int32_t RuleAt(uint32_t policy, uint32_t priority) const {
    const auto& rules = snap_->policies.policy(policy).rules;
    for (uint32_t r = 0; r < rules.size(); ++r) {
      if (rules[r].priority == priority) return static_cast<int32_t>(r);
    }
    return -100;
  }

  static inline rte_mempool* pool_ = nullptr;
  std::unique_ptr<Snapshot> snap_;
  Pipeline pipeline_;
  Counters counters_;
};

TEST_F(PolicyPipelineTest, PolicyPathOnlyWherePolicyRulesApply) {
  const NicInfo& a = snap_->nics[kA];
  const NicInfo& b = snap_->nics[kB];
  // Ingress: the organization's rules reach everyone. Egress: only the db service account has a
  // policy rule (the global egress deny); a's egress chain has empty policy stages.
  EXPECT_TRUE(a.ingress_policy_path);
  EXPECT_FALSE(a.egress_policy_path);
  EXPECT_TRUE(b.ingress_policy_path);
  EXPECT_TRUE(b.egress_policy_path);
  EXPECT_FALSE(snap_->nics[kC].ingress_policy_path);
  EXPECT_FALSE(snap_->nics[kC].egress_policy_path);
}

TEST_F(PolicyPipelineTest, HierarchicalDenyDecidesBeforeVpcRules) {
  // a -> b:22: the organization's deny at priority 100, whatever the VPC rules say.
  PacketMeta meta = Run(Tcp("10.0.1.3", "10.15.2.4", 40000, 22, 10), 0);
  EXPECT_EQ(meta.verdict, Verdict::kDrop);
  EXPECT_EQ(meta.cause, DropCause::kFirewallRule);
  EXPECT_EQ(meta.egress_policy, firewall::kNoPolicy);  // a's egress: classifier, implied allow
  EXPECT_EQ(meta.egress_rule, kImplied);
  EXPECT_EQ(meta.ingress_policy, kOrg);
  EXPECT_EQ(meta.ingress_rule, RuleAt(kOrg, 100));
  EXPECT_EQ(PolicyHits(kOrg, RuleAt(kOrg, 100)), 1u);
}

TEST_F(PolicyPipelineTest, GotoNextThenVpcNoMatchThenNetworkPolicyBySecureTag) {
  // a -> b:5432: org goto_next (10/8), no VPC rule, the global policy allows the web secure tag.
  PacketMeta meta = Run(Tcp("10.0.1.3", "10.15.2.4", 40000, 5432, 10), 0);
  EXPECT_EQ(meta.verdict, Verdict::kDeliver);
  EXPECT_EQ(meta.ingress_policy, kGlobal);
  EXPECT_EQ(meta.ingress_rule, RuleAt(kGlobal, 1000));
  EXPECT_EQ(PolicyHits(kGlobal, RuleAt(kGlobal, 1000)), 1u);
  // The goto_next rule passes; it is not the decision and not counted.
  EXPECT_EQ(PolicyHits(kOrg, RuleAt(kOrg, 200)), 0u);
}

TEST_F(PolicyPipelineTest, SecureTagsMatchOnlyIdentifiedSenders) {
  // From on-prem: no secure tags, so the global rule does not match; implied deny.
  PacketMeta meta = Run(Tcp("192.168.5.5", "10.15.2.4", 40000, 5432, -1), 1);
  EXPECT_EQ(meta.verdict, Verdict::kDrop);
  EXPECT_EQ(meta.ingress_policy, firewall::kNoPolicy);
  EXPECT_EQ(meta.ingress_rule, kImplied);
}

TEST_F(PolicyPipelineTest, VpcRuleDecidesInsideThePolicyChain) {
  // a -> b:80: the organization has nothing for port 80, the VPC rule allow-web matches (a has
  // the web tag) and decides before the global policy.
  PacketMeta meta = Run(Tcp("10.0.1.3", "10.15.2.4", 40000, 80, 10), 0);
  EXPECT_EQ(meta.verdict, Verdict::kDeliver);
  EXPECT_EQ(meta.ingress_policy, firewall::kNoPolicy);
  EXPECT_EQ(snap_->networks[0].firewall.rule(meta.ingress_rule).name, "allow-web");
  EXPECT_EQ(snap_->rule_hits[snap_->networks[0].rule_hit_base + meta.ingress_rule], 1u);
}

TEST_F(PolicyPipelineTest, EgressPolicyByServiceAccountAndFastPathNic) {
  // b -> on-prem:9999: the global egress deny for the db service account.
  PacketMeta meta = Run(Tcp("10.15.2.4", "192.168.5.5", 40000, 9999, 20), 0);
  EXPECT_EQ(meta.cause, DropCause::kFirewallRule);
  EXPECT_EQ(meta.egress_policy, kGlobal);
  EXPECT_EQ(meta.egress_rule, RuleAt(kGlobal, 10));
  // c has the same service account but no policy reaches it: the classifier, implied allow.
  PacketMeta fast = Run(Tcp("10.0.1.9", "192.168.5.5", 40000, 9999, 30), 0);
  EXPECT_EQ(fast.verdict, Verdict::kForward);
  EXPECT_EQ(fast.egress_policy, firewall::kNoPolicy);
  EXPECT_EQ(fast.egress_rule, kImplied);
}

TEST_F(PolicyPipelineTest, ConnectionsAllowedByAPolicyAreTrackedAndLogged) {
  std::string error;
  auto conntrack = firewall::ConnTrack::Create(firewall::ConnTrack::Config{}, &error);
  ASSERT_TRUE(conntrack) << error;
  auto log = FirewallLog::Create(64, &error);
  ASSERT_TRUE(log) << error;
  Pipeline pipeline(conntrack.get(), OnRuleChange::kContinue, log.get());
  PacketMeta open = Run(pipeline, Tcp("10.0.1.3", "10.15.2.4", 40000, 5432, 10, kSyn), 0);
  ASSERT_EQ(open.verdict, Verdict::kDeliver);
  ASSERT_EQ(open.ingress_policy, kGlobal);
  // b's answer: b's egress chain and a's ingress chain would not allow it as a new connection
  // (a has no ingress rule for it); conntrack does.
  PacketMeta reply = Run(pipeline, Tcp("10.15.2.4", "10.0.1.3", 5432, 40000, 20, kSynAck), 0);
  EXPECT_EQ(reply.verdict, Verdict::kDeliver);
  EXPECT_EQ(reply.egress_rule, kTrackingState);
  EXPECT_EQ(reply.ingress_rule, kTrackingState);
  EXPECT_EQ(reply.egress_policy, firewall::kNoPolicy);
  EXPECT_EQ(reply.ingress_policy, firewall::kNoPolicy);
  // A logged denial (the organization's SSH rule).
  PacketMeta ssh = Run(pipeline, Tcp("10.0.1.3", "10.15.2.4", 40001, 22, 10, kSyn), 0);
  ASSERT_EQ(ssh.cause, DropCause::kFirewallRule);

  LogEvent events[8];
  ASSERT_EQ(log->Drain(events, 8), 2u);
  EXPECT_TRUE(events[0].allowed);
  EXPECT_EQ(events[0].direction, Direction::kIngress);
  EXPECT_EQ(events[0].policy, kGlobal);
  EXPECT_EQ(events[0].rule, RuleAt(kGlobal, 1000));
  EXPECT_EQ(events[0].nic, kB);
  EXPECT_EQ(events[0].remote_nic, kA);
  EXPECT_FALSE(events[1].allowed);
  EXPECT_EQ(events[1].policy, kOrg);
  EXPECT_EQ(events[1].rule, RuleAt(kOrg, 100));
}

TEST_F(PolicyPipelineTest, RecheckReportsThePolicyRuleThatNowDenies) {
  std::string error;
  auto conntrack = firewall::ConnTrack::Create(firewall::ConnTrack::Config{}, &error);
  ASSERT_TRUE(conntrack) << error;
  Pipeline pipeline(conntrack.get(), OnRuleChange::kRecheck);
  ASSERT_EQ(Run(pipeline, Tcp("10.0.1.3", "10.15.2.4", 40000, 5432, 10, kSyn), 0).verdict,
            Verdict::kDeliver);
  // Generation 2: the global policy's rule now denies a -> b:5432.
  Build(/*global_allows_db=*/false, /*generation=*/2);
  PacketMeta reply = Run(pipeline, Tcp("10.15.2.4", "10.0.1.3", 5432, 40000, 20, kSynAck), 0);
  EXPECT_EQ(reply.verdict, Verdict::kDrop);
  EXPECT_EQ(reply.cause, DropCause::kFirewallRule);
  // The opening direction was denied at b (the responder): shown on the reply's egress side.
  EXPECT_EQ(reply.egress_policy, kGlobal);
  EXPECT_EQ(reply.egress_rule, RuleAt(kGlobal, 1000));
  EXPECT_EQ(conntrack->size(), 0u);
}

// The data path runs the classifier for the VPC stage inside a policy chain; its decisions must
// be exactly the reference evaluators' (EvaluatePolicies on the policy path, RuleSet::Evaluate
// elsewhere), rule and policy, for every sender and receiver.
TEST_F(PolicyPipelineTest, SameDecisionsAsTheReferenceEvaluators) {
  struct Sender {
    const char* ip;
    int vlan;
    uint16_t port;
    int32_t nic;
  };
  const Sender senders[] = {{"10.0.1.3", 10, 0, kA},
                            {"10.15.2.4", 20, 0, kB},
                            {"10.0.1.9", 30, 0, kC},
                            {"192.168.5.5", -1, 1, -1}};
  const char* receivers[] = {"10.0.1.3", "10.15.2.4", "10.0.1.9"};
  const uint16_t ports[] = {22, 80, 443, 5432, 7000, 7001, 8000, 9999, 12345};
  const firewall::RuleSet& rules = snap_->networks[0].firewall;
  auto reference = [&](const NicInfo& nic, Direction direction, const firewall::FlowKey& key,
                       const NicInfo* remote, int32_t* rule, uint32_t* policy) {
    const bool egress = direction == Direction::kEgress;
    if (egress ? nic.egress_policy_path : nic.ingress_policy_path) {
      firewall::NicIdentity id;
      if (remote != nullptr) id = remote->PolicyIdentity();
      firewall::PolicyDecision d = firewall::EvaluatePolicies(
          snap_->policies, rules, egress ? nic.egress_chain : nic.ingress_chain, key,
          remote != nullptr ? &id : nullptr);
      *rule = d.rule;
      *policy = d.policy;
      return d.action;
    }
    firewall::Identity id;
    if (remote != nullptr) id = remote->Identity();
    firewall::Decision d = rules.Evaluate(direction, rules.RulesFor(direction, nic.Identity()), key,
                                          remote != nullptr ? &id : nullptr);
    *rule = d.rule;
    *policy = firewall::kNoPolicy;
    return d.action;
  };
  int compared = 0;
  for (const Sender& from : senders) {
    for (const char* to : receivers) {
      if (std::strcmp(from.ip, to) == 0) continue;
      for (uint16_t port : ports) {
        PacketMeta meta = Run(Tcp(from.ip, to, 40000, port, from.vlan), from.port);
        const firewall::FlowKey key{Ip(from.ip), Ip(to), 6, true, 40000, port};
        firewall::Action egress = firewall::Action::kAllow;
        if (from.nic >= 0) {
          int32_t rule;
          uint32_t policy;
          egress =
              reference(snap_->nics[from.nic], Direction::kEgress, key, nullptr, &rule, &policy);
          EXPECT_EQ(meta.egress_rule, rule) << from.ip << " -> " << to << ":" << port;
          EXPECT_EQ(meta.egress_policy, policy) << from.ip << " -> " << to << ":" << port;
        }
        if (egress == firewall::Action::kDeny) {
          EXPECT_EQ(meta.ingress_rule, kNotEvaluated);
          continue;
        }
        ASSERT_GE(meta.dst_nic, 0);
        int32_t rule;
        uint32_t policy;
        const NicInfo* remote = from.nic >= 0 ? &snap_->nics[from.nic] : nullptr;
        firewall::Action ingress =
            reference(snap_->nics[meta.dst_nic], Direction::kIngress, key, remote, &rule, &policy);
        EXPECT_EQ(meta.ingress_rule, rule) << from.ip << " -> " << to << ":" << port;
        EXPECT_EQ(meta.ingress_policy, policy) << from.ip << " -> " << to << ":" << port;
        EXPECT_EQ(meta.verdict == Verdict::kDrop, ingress == firewall::Action::kDeny);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 50);
}

}  // namespace
}  // namespace svpc::dataplane
