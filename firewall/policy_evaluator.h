#pragma once
// The reference evaluator of firewall policies together with the VPC firewall rules: plain,
// linear and obviously correct, as vpc_firewall.h is for the VPC rules alone.
//
// GCP's order for one NIC and one direction (networkFirewallPolicyEnforcementOrder
// AFTER_CLASSIC_FIREWALL, the default):
//   hierarchical policies (organization, then folders top-down) -> VPC firewall rules ->
//   global network policy -> regional network policy (the VM's region) -> implied rules.
// BEFORE_CLASSIC_FIREWALL evaluates the two network policies before the VPC firewall rules.
// Within a policy the matching rule with the lowest priority number decides: allow/deny end the
// evaluation, goto_next goes on with the next stage, no match goes on too. The VPC stage decides
// with its first match (RuleSet order); no match goes on. After the last stage: the implied
// rules (allow egress, deny ingress).
//
// Usage: the compiler builds one PolicySet per snapshot, and per NIC and direction one
// PolicyChain (PolicyChain::Build, which allocates); the data plane calls EvaluatePoliciesWith
// with its classifier for the VPC stage (re-checks call EvaluatePolicies); both are noexcept and
// allocation-free. Service accounts, secure tags and networks arrive as
// interned ids (the compiler owns the string <-> id tables); service account ids are the same
// ones the VPC RuleSet uses.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "firewall/vpc_firewall.h"

namespace svpc::firewall {

enum class PolicyAction : uint8_t { kAllow, kDeny, kGotoNext };
enum class PolicyKind : uint8_t { kHierarchical, kGlobalNetwork, kRegionalNetwork };
enum class EnforcementOrder : uint8_t { kAfterClassicFirewall, kBeforeClassicFirewall };

// One enabled rule of a firewall policy (disabled rules are not passed in). Id lists are sorted
// by PolicySet's constructor.
struct PolicyRule {
  uint32_t priority = 0;  // unique within its policy; lower number wins
  Direction direction = Direction::kIngress;
  PolicyAction action = PolicyAction::kAllow;
  std::vector<ProtocolMatch> protocols;      // layer4Configs; at least one (empty matches nothing)
  std::vector<Prefix> source_ranges;         // srcIpRanges
  std::vector<Prefix> destination_ranges;    // destIpRanges
  std::vector<uint32_t> source_secure_tags;  // srcSecureTags (ingress only), tag value ids
  std::vector<uint32_t> target_secure_tags;  // targetSecureTags, tag value ids
  std::vector<uint32_t> target_service_accounts;
  std::vector<uint32_t> target_networks;  // targetResources (hierarchical policies), network ids
  bool log = false;
};

struct Policy {
  std::string name;  // for reports: the short name, or the reference
  PolicyKind kind = PolicyKind::kGlobalNetwork;
  std::vector<PolicyRule> rules;
};

// Who an instance NIC is, for VPC rules and firewall policies together: network tags (VPC rules
// only), service accounts (both) and secure tags (policies only), each a sorted id list.
struct NicIdentity {
  std::span<const uint32_t> tags;
  std::span<const uint32_t> service_accounts;
  std::span<const uint32_t> secure_tags;
  Identity Vpc() const { return Identity{tags, service_accounts}; }
};

inline constexpr uint32_t kNoPolicy = UINT32_MAX;

// Every firewall policy of a configuration.
class PolicySet {
 public:
  PolicySet() = default;
  // Sorts every id list. Rule order inside a policy does not matter (RulesFor orders them).
  explicit PolicySet(std::vector<Policy> policies);

  // Indices into policy(p).rules of the rules of `direction` that apply to a NIC of `network`
  // with `target`'s service accounts and secure tags, lowest priority number first. A rule
  // applies when each target field it has matches (targetResources: the NIC's network is listed;
  // targetServiceAccounts, targetSecureTags: the NIC has one of them); no target field = every
  // NIC the policy reaches. Called once per NIC when compiling.
  std::vector<uint32_t> RulesFor(uint32_t p, Direction direction, const NicIdentity& target,
                                 uint32_t network) const;

  // True if rule `r` of policy `p` matches the packet (its target is already known to apply).
  // Ingress: the source is in srcIpRanges or (remote known) has one of srcSecureTags; neither
  // given = any source; destIpRanges, when given, must hold the destination. Egress: destIpRanges
  // and srcIpRanges, when given, must hold the destination and the source. Then layer4Configs.
  bool Matches(uint32_t p, uint32_t r, const FlowKey& key,
               const NicIdentity* remote) const noexcept;

  const Policy& policy(uint32_t p) const { return policies_[p]; }
  size_t size() const { return policies_.size(); }

 private:
  std::vector<Policy> policies_;
};

// What applies to one NIC, as the compiler resolves it from the configuration: the hierarchical
// policies of the ancestry of the network's (host) project, the network's global and regional
// (NIC's region) policies, the network's enforcement order, and the network's id (the id space
// of PolicyRule::target_networks).
struct NicPolicies {
  std::vector<uint32_t> hierarchical;  // policy indices: organization first, then folders down
  uint32_t global = kNoPolicy;
  uint32_t regional = kNoPolicy;
  EnforcementOrder order = EnforcementOrder::kAfterClassicFirewall;
  uint32_t network = 0;
};

enum class StageKind : uint8_t {
  kHierarchicalPolicy,
  kVpcFirewall,
  kGlobalNetworkPolicy,
  kRegionalNetworkPolicy,
  kImplied,
};

// One stage of a chain: a policy's applicable rules (indices into Policy::rules), or the VPC
// firewall's applicable rules (indices into the RuleSet, RuleSet::RulesFor order).
struct Stage {
  StageKind kind = StageKind::kVpcFirewall;
  uint32_t policy = kNoPolicy;  // index in the PolicySet; kNoPolicy for the VPC stage
  std::vector<uint32_t> rules;  // in evaluation order
};

// The stages of one NIC for one direction, in evaluation order (the implied rules are not a
// stage: they decide when every stage went on).
class PolicyChain {
 public:
  PolicyChain() = default;
  // Compile time: selects and orders each stage's applicable rules for `target`.
  static PolicyChain Build(const PolicySet& policies, const RuleSet& vpc_rules,
                           const NicPolicies& nic, Direction direction, const NicIdentity& target);

  Direction direction() const { return direction_; }
  const std::vector<Stage>& stages() const { return stages_; }

 private:
  Direction direction_ = Direction::kIngress;
  std::vector<Stage> stages_;
};

// Who decided. `rule` indexes Policy::rules for policy stages and the RuleSet for the VPC stage;
// kImpliedRule for the implied rules (priority 65535).
struct PolicyDecision {
  Action action = Action::kDeny;
  StageKind stage = StageKind::kImplied;
  uint32_t policy = kNoPolicy;
  int32_t rule = kImpliedRule;
  uint32_t priority = kImpliedRulePriority;
  bool goto_next = false;  // a goto_next rule matched (and was passed through) before the decision
};

// Runs `chain` on the packet. `remote` is the other end's identity when it is an instance NIC of
// the same network sending from its own address, else nullptr (then source tags, source service
// accounts and source secure tags never match). noexcept, allocation-free.
// Cost: O(applicable rules of the chain) compares per packet.
PolicyDecision EvaluatePolicies(const PolicySet& policies, const RuleSet& vpc_rules,
                                const PolicyChain& chain, const FlowKey& key,
                                const NicIdentity* remote) noexcept;

// EvaluatePolicies with the VPC stage answered by `vpc_stage(stage)`, which must return exactly
// what vpc_rules.Evaluate(chain.direction(), stage.rules, key, remote's VPC identity) returns
// (kImpliedRule: no VPC rule matched, go on). The data plane passes its compiled Classifier, so
// the VPC rules of a NIC on the policy path keep their fast path; EvaluatePolicies passes the
// reference. The policy stages are the same code either way.
template <typename VpcStage>
PolicyDecision EvaluatePoliciesWith(const PolicySet& policies, const RuleSet& vpc_rules,
                                    const PolicyChain& chain, const FlowKey& key,
                                    const NicIdentity* remote, VpcStage&& vpc_stage) noexcept {
  bool goto_next = false;
  for (const Stage& stage : chain.stages()) {
    if (stage.kind == StageKind::kVpcFirewall) {
      const Decision d = vpc_stage(stage);
      if (d.rule == kImpliedRule) continue;  // no VPC rule matched: next stage
      PolicyDecision out;
      out.action = d.action;
      out.stage = StageKind::kVpcFirewall;
      out.rule = d.rule;
      out.priority = vpc_rules.rule(static_cast<uint32_t>(d.rule)).priority;
      out.goto_next = goto_next;
      return out;
    }
    for (uint32_t r : stage.rules) {
      if (!policies.Matches(stage.policy, r, key, remote)) continue;
      const PolicyRule& rule = policies.policy(stage.policy).rules[r];
      if (rule.action == PolicyAction::kGotoNext) {
        goto_next = true;
        break;  // the policy's decision is "go on": its later rules are not looked at
      }
      PolicyDecision out;
      out.action = rule.action == PolicyAction::kAllow ? Action::kAllow : Action::kDeny;
      out.stage = stage.kind;
      out.policy = stage.policy;
      out.rule = static_cast<int32_t>(r);
      out.priority = rule.priority;
      out.goto_next = goto_next;
      return out;
    }
  }
  PolicyDecision implied;
  implied.action = chain.direction() == Direction::kEgress ? Action::kAllow : Action::kDeny;
  implied.goto_next = goto_next;
  return implied;
}

// For reports and logs (allocates): "hierarchical policy NAME priority N",
// "VPC firewall rule NAME", "global network policy NAME priority N",
// "regional network policy NAME priority N", or the implied rule's name.
std::string DescribeDecision(const PolicySet& policies, const RuleSet& vpc_rules,
                             Direction direction, const PolicyDecision& decision);

}  // namespace svpc::firewall
