#pragma once
// Which firewall policies apply to an instance NIC, in GCP's order: what a compiler needs to
// build a firewall::NicPolicies (firewall/policy_evaluator.h) for each NIC. Works on a validated
// Config (LoadConfig's output).

#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace svpc::config {

// The ancestors of a project in the resource hierarchy: the organization first, then the folders
// down to the project's parent. Empty when the project is not listed in resourceHierarchy.
std::vector<std::string> ProjectAncestry(const ResourceHierarchy& hierarchy,
                                         std::string_view project_id);

struct NicFirewallPolicies {
  // Hierarchical policies associated with the ancestors of the network's project (for Shared
  // VPC: the host project), organization first, then folders top-down.
  std::vector<const FirewallPolicy*> hierarchical;
  const FirewallPolicy* global = nullptr;    // associated with the network
  const FirewallPolicy* regional = nullptr;  // associated with the network, in the NIC's region
  FirewallPolicyEnforcementOrder order = FirewallPolicyEnforcementOrder::kAfterClassicFirewall;
};

// The policies for a NIC in `network` of an instance in `region`. Pointers into `config`.
// Cost: O(policies x associations + hierarchy depth x folders).
NicFirewallPolicies FirewallPoliciesFor(const Config& config, const Network& network,
                                        std::string_view region);

}  // namespace svpc::config
