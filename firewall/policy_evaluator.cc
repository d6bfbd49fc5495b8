#include "firewall/policy_evaluator.h"
#include "firewall/match.h"

#include <algorithm>

namespace svpc::firewall {
namespace {

bool TargetApplies(const PolicyRule& rule, const NicIdentity& target, uint32_t network) {
  if (!rule.target_networks.empty() &&
      !std::binary_search(rule.target_networks.begin(), rule.target_networks.end(), network)) {
    return false;
  }
  if (!rule.target_service_accounts.empty() &&
      !Intersects(rule.target_service_accounts, target.service_accounts)) {
    return false;
  }
  if (!rule.target_secure_tags.empty() &&
      !Intersects(rule.target_secure_tags, target.secure_tags)) {
    return false;
  }
  return true;
}

void SortIds(std::vector<uint32_t>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

StageKind StageOf(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kHierarchical:
      return StageKind::kHierarchicalPolicy;
    case PolicyKind::kGlobalNetwork:
      return StageKind::kGlobalNetworkPolicy;
    case PolicyKind::kRegionalNetwork:
      return StageKind::kRegionalNetworkPolicy;
  }
  return StageKind::kGlobalNetworkPolicy;
}

}  // namespace

PolicySet::PolicySet(std::vector<Policy> policies) : policies_(std::move(policies)) {
  for (Policy& policy : policies_) {
    for (PolicyRule& rule : policy.rules) {
      SortIds(rule.source_secure_tags);
      SortIds(rule.target_secure_tags);
      SortIds(rule.target_service_accounts);
      SortIds(rule.target_networks);
    }
  }
}

std::vector<uint32_t> PolicySet::RulesFor(uint32_t p, Direction direction,
                                          const NicIdentity& target, uint32_t network) const {
  const std::vector<PolicyRule>& rules = policies_[p].rules;
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < rules.size(); ++i) {
    if (rules[i].direction == direction && TargetApplies(rules[i], target, network)) {
      out.push_back(i);
    }
  }
  // Priorities are unique within a policy (the loader checks it); stable for equal ones anyway.
  std::stable_sort(out.begin(), out.end(), [&rules](uint32_t a, uint32_t b) {
    return rules[a].priority < rules[b].priority;
  });
  return out;
}

bool PolicySet::Matches(uint32_t p, uint32_t r, const FlowKey& key,
                        const NicIdentity* remote) const noexcept {
  const PolicyRule& rule = policies_[p].rules[r];
  if (!ProtocolMatches(rule.protocols, key)) return false;
  if (rule.direction == Direction::kIngress) {
    bool has_source = !rule.source_ranges.empty() || !rule.source_secure_tags.empty();
    if (has_source) {
      // Source ranges OR source secure tags: either kind may match.
      bool source = InAny(rule.source_ranges, key.src) ||
                    (remote != nullptr && Intersects(rule.source_secure_tags, remote->secure_tags));
      if (!source) return false;
    }
    if (!rule.destination_ranges.empty() && !InAny(rule.destination_ranges, key.dst)) return false;
  } else {
    if (!rule.destination_ranges.empty() && !InAny(rule.destination_ranges, key.dst)) return false;
    if (!rule.source_ranges.empty() && !InAny(rule.source_ranges, key.src)) return false;
  }
  return true;
}

PolicyChain PolicyChain::Build(const PolicySet& policies, const RuleSet& vpc_rules,
                               const NicPolicies& nic, Direction direction,
                               const NicIdentity& target) {
  PolicyChain chain;
  chain.direction_ = direction;
  auto add_policy = [&](uint32_t p) {
    if (p == kNoPolicy) return;
    Stage stage;
    stage.kind = StageOf(policies.policy(p).kind);
    stage.policy = p;
    stage.rules = policies.RulesFor(p, direction, target, nic.network);
    chain.stages_.push_back(std::move(stage));
  };
  auto add_vpc = [&] {
    Stage stage;
    stage.kind = StageKind::kVpcFirewall;
    stage.rules = vpc_rules.RulesFor(direction, target.Vpc());
    chain.stages_.push_back(std::move(stage));
  };
  for (uint32_t p : nic.hierarchical) add_policy(p);
  if (nic.order == EnforcementOrder::kBeforeClassicFirewall) {
    add_policy(nic.global);
    add_policy(nic.regional);
    add_vpc();
  } else {
    add_vpc();
    add_policy(nic.global);
    add_policy(nic.regional);
  }
  return chain;
}

PolicyDecision EvaluatePolicies(const PolicySet& policies, const RuleSet& vpc_rules,
                                const PolicyChain& chain, const FlowKey& key,
                                const NicIdentity* remote) noexcept {
  Identity remote_vpc;
  if (remote != nullptr) remote_vpc = remote->Vpc();
  return EvaluatePoliciesWith(
      policies, vpc_rules, chain, key, remote, [&](const Stage& stage) noexcept {
        return vpc_rules.Evaluate(chain.direction(), stage.rules, key,
                                  remote != nullptr ? &remote_vpc : nullptr);
      });
}

std::string DescribeDecision(const PolicySet& policies, const RuleSet& vpc_rules,
                             Direction direction, const PolicyDecision& decision) {
  auto policy_rule = [&](const char* what) {
    return std::string(what) + " " + policies.policy(decision.policy).name + " priority " +
           std::to_string(decision.priority);
  };
  switch (decision.stage) {
    case StageKind::kHierarchicalPolicy:
      return policy_rule("hierarchical policy");
    case StageKind::kGlobalNetworkPolicy:
      return policy_rule("global network policy");
    case StageKind::kRegionalNetworkPolicy:
      return policy_rule("regional network policy");
    case StageKind::kVpcFirewall:
      return "VPC firewall rule " + vpc_rules.rule(static_cast<uint32_t>(decision.rule)).name;
    case StageKind::kImplied:
      break;
  }
  return ImpliedRuleName(direction);
}

}  // namespace svpc::firewall
