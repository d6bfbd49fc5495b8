#include "firewall/vpc_firewall.h"
#include "firewall/match.h"

#include <algorithm>

namespace svpc::firewall {
namespace {

bool TargetApplies(const Rule& rule, const Identity& target) {
  if (!rule.target_tags.empty()) return Intersects(rule.target_tags, target.tags);
  if (!rule.target_service_accounts.empty()) {
    return Intersects(rule.target_service_accounts, target.service_accounts);
  }
  return true;  // no target: every instance in the network
}

}  // namespace

const char* ImpliedRuleName(Direction direction) {
  return direction == Direction::kEgress ? "implied-allow-egress" : "implied-deny-ingress";
}

RuleSet::RuleSet(std::vector<Rule> rules) : rules_(std::move(rules)) {
  for (Rule& r : rules_) {
    std::sort(r.source_tags.begin(), r.source_tags.end());
    std::sort(r.target_tags.begin(), r.target_tags.end());
    std::sort(r.source_service_accounts.begin(), r.source_service_accounts.end());
    std::sort(r.target_service_accounts.begin(), r.target_service_accounts.end());
  }
}

std::vector<uint32_t> RuleSet::RulesFor(Direction direction, const Identity& target) const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].direction == direction && TargetApplies(rules_[i], target)) out.push_back(i);
  }
  // Lowest priority number first; at equal priority deny beats allow. Stable, so among equals
  // the configuration order (by name, see the compiler) decides which name is reported.
  std::stable_sort(out.begin(), out.end(), [this](uint32_t a, uint32_t b) {
    const Rule& ra = rules_[a];
    const Rule& rb = rules_[b];
    if (ra.priority != rb.priority) return ra.priority < rb.priority;
    return ra.action == Action::kDeny && rb.action == Action::kAllow;
  });
  return out;
}

bool RuleSet::Matches(uint32_t index, const FlowKey& key, const Identity* remote) const noexcept {
  const Rule& r = rules_[index];
  if (!ProtocolMatches(r.protocols, key)) return false;
  if (r.direction == Direction::kIngress) {
    bool has_source =
        !r.source_ranges.empty() || !r.source_tags.empty() || !r.source_service_accounts.empty();
    if (has_source) {
      // Ranges OR tags OR service accounts: any one of the source kinds may match.
      bool source =
          InAny(r.source_ranges, key.src) ||
          (remote != nullptr && Intersects(r.source_tags, remote->tags)) ||
          (remote != nullptr && Intersects(r.source_service_accounts, remote->service_accounts));
      if (!source) return false;
    }
    if (!r.destination_ranges.empty() && !InAny(r.destination_ranges, key.dst)) return false;
  } else {
    if (!r.destination_ranges.empty() && !InAny(r.destination_ranges, key.dst)) return false;
    if (!r.source_ranges.empty() && !InAny(r.source_ranges, key.src)) return false;
  }
  return true;
}

Decision RuleSet::Evaluate(Direction direction, std::span<const uint32_t> applicable,
                           const FlowKey& key, const Identity* remote) const noexcept {
  for (uint32_t index : applicable) {
    if (Matches(index, key, remote))
      return Decision{rules_[index].action, static_cast<int32_t>(index)};
  }
  return Decision{direction == Direction::kEgress ? Action::kAllow : Action::kDeny, kImpliedRule};
}

}  // namespace svpc::firewall
