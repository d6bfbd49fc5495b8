#pragma once
// The reference VPC firewall evaluator: plain, linear and obviously correct. It knows GCP's
// matching semantics (ranges, tags, service accounts, protocols and ports, priority, deny beats
// allow, implied rules) and nothing about ports, threads or packets' bytes. A later fast
// classifier is checked against it.
//
// Tags and service accounts arrive interned as sorted integer ids (the compiler owns the
// string <-> id table), so matching is a sorted-span intersection and evaluation never allocates.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/net_types.h"

namespace svpc::firewall {

enum class Direction : uint8_t { kIngress, kEgress };
enum class Action : uint8_t { kAllow, kDeny };

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 65535;
};

// One `allowed[]`/`denied[]` entry. protocol -1 = "all".
struct ProtocolMatch {
  int16_t protocol = -1;
  std::vector<PortRange> ports;  // empty = every port
};

struct Rule {
  std::string name;
  uint32_t priority = 1000;
  Direction direction = Direction::kIngress;
  Action action = Action::kAllow;
  std::vector<ProtocolMatch> protocols;
  std::vector<Prefix> source_ranges;
  std::vector<Prefix> destination_ranges;
  std::vector<uint32_t> source_tags;  // sorted ids
  std::vector<uint32_t> target_tags;
  std::vector<uint32_t> source_service_accounts;
  std::vector<uint32_t> target_service_accounts;
  bool log = false;
};

// Who an instance NIC is, as firewall rules see it: its tags and service accounts, sorted ids.
struct Identity {
  std::span<const uint32_t> tags;
  std::span<const uint32_t> service_accounts;
};

// The packet fields rules match on. `has_ports` is false for non-first fragments and for
// protocols without ports: rules that name ports then do not match.
struct FlowKey {
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint8_t protocol = 0;
  bool has_ports = false;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

// Index of the deciding rule, or kImpliedRule for the implied allow-egress / deny-ingress.
inline constexpr int32_t kImpliedRule = -1;
inline constexpr uint32_t kImpliedRulePriority = 65535;

struct Decision {
  Action action = Action::kDeny;
  int32_t rule = kImpliedRule;
};

const char* ImpliedRuleName(
    Direction direction);  // "implied-allow-egress" / "implied-deny-ingress"

// The enabled VPC firewall rules of one network. Disabled rules must not be passed in: for
// evaluation they do not exist.
class RuleSet {
 public:
  RuleSet() = default;
  explicit RuleSet(std::vector<Rule> rules);

  // Indices of the rules of `direction` whose targets include an instance with `target`'s tags
  // and service accounts, in evaluation order: priority ascending, deny before allow at equal
  // priority (so the first match is the winner). Called once per NIC when compiling.
  std::vector<uint32_t> RulesFor(Direction direction, const Identity& target) const;

  // First matching rule of `applicable` (from RulesFor) decides; none matches -> implied rule.
  // `remote` is the other end's identity when it is an instance NIC of the same network sending
  // from its own address, else nullptr (then source tags / service accounts never match).
  Decision Evaluate(Direction direction, std::span<const uint32_t> applicable, const FlowKey& key,
                    const Identity* remote) const noexcept;

  // True if rule `index` matches the packet (target already known to apply).
  bool Matches(uint32_t index, const FlowKey& key, const Identity* remote) const noexcept;

  const Rule& rule(uint32_t index) const { return rules_[index]; }
  size_t size() const { return rules_.size(); }

 private:
  std::vector<Rule> rules_;
};

}  // namespace svpc::firewall
