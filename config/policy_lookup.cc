#include "config/policy_lookup.h"

#include <algorithm>
#include <map>

namespace svpc::config {

std::vector<std::string> ProjectAncestry(const ResourceHierarchy& hierarchy,
                                         std::string_view project_id) {
  auto project = std::find_if(
      hierarchy.projects.begin(), hierarchy.projects.end(),
      [&](const ProjectParent& p) { return !p.project_id.empty() && p.project_id == project_id; });
  if (project == hierarchy.projects.end()) return {};
  std::map<std::string_view, std::string_view> parents;
  for (const Folder& folder : hierarchy.folders) parents.emplace(folder.name, folder.parent);
  std::vector<std::string> up;  // parent first
  std::string_view node = project->parent;
  // A validated hierarchy has no cycles; the bound keeps a broken one from looping.
  for (size_t steps = 0; !node.empty() && steps <= hierarchy.folders.size(); ++steps) {
    up.emplace_back(node);
    auto parent = parents.find(node);
    if (parent == parents.end()) break;
    node = parent->second;
  }
  std::reverse(up.begin(), up.end());
  return up;
}

NicFirewallPolicies FirewallPoliciesFor(const Config& config, const Network& network,
                                        std::string_view region) {
  NicFirewallPolicies out;
  out.order = network.firewall_policy_enforcement_order;
  std::map<std::string, const FirewallPolicy*> by_node;  // organization/folder -> first policy
  for (const FirewallPolicy& policy : config.firewall_policies) {
    for (const FirewallPolicyAssociation& association : policy.associations) {
      if (policy.kind == FirewallPolicyKind::kHierarchical) {
        by_node.emplace(association.attachment_target, &policy);
      } else if (association.attachment_target == network.self_ref) {
        if (policy.kind == FirewallPolicyKind::kGlobal && out.global == nullptr) {
          out.global = &policy;
        } else if (policy.kind == FirewallPolicyKind::kRegional && policy.region == region &&
                   out.regional == nullptr) {
          out.regional = &policy;
        }
      }
    }
  }
  for (const std::string& node :
       ProjectAncestry(config.shared_vpc.resource_hierarchy, network.project)) {
    auto policy = by_node.find(node);
    if (policy != by_node.end()) out.hierarchical.push_back(policy->second);
  }
  return out;
}

}  // namespace svpc::config
