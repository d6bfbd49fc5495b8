#include "config/policy_validator.h"

#include <map>
#include <tuple>

#include "config/policy_lookup.h"

namespace svpc::config {
namespace {

std::string Indexed(std::string_view list, size_t index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

class PolicyValidator {
 public:
  PolicyValidator(const Config& config, const std::set<std::string>& unparsed, IssueList& issues)
      : config_(config), unparsed_(unparsed), issues_(issues) {}

  void Run() {
    for (const Network& network : config_.networks) networks_.emplace(network.self_ref, &network);
    CheckHierarchy();
    CheckPolicies();
    CheckUnplacedProjects();
  }

 private:
  bool NodeExists(const std::string& node) const {
    return (!hierarchy().organization.empty() && node == hierarchy().organization) ||
           folders_.contains(node);
  }
  const ResourceHierarchy& hierarchy() const { return config_.shared_vpc.resource_hierarchy; }
  const std::string& layout_file() const { return config_.shared_vpc.origin.file; }
  std::string LayoutFileName() const {
    return layout_file().empty() ? "shared-vpc.json" : layout_file();
  }

  void CheckHierarchy() {
    const std::string& file = layout_file();
    for (size_t i = 0; i < hierarchy().folders.size(); ++i) {
      const Folder& folder = hierarchy().folders[i];
      if (folder.name.empty()) continue;
      if (!folders_.emplace(folder.name, &folder).second) {
        issues_.Error(file, folder.name, "resourceHierarchy." + Indexed("folders", i) + ".name",
                      "folder listed twice");
      }
    }
    for (size_t i = 0; i < hierarchy().folders.size(); ++i) {
      const Folder& folder = hierarchy().folders[i];
      if (folder.name.empty() || folder.parent.empty()) continue;
      if (folders_.at(folder.name) != &folder) continue;  // a duplicate, reported
      std::string field = "resourceHierarchy." + Indexed("folders", i) + ".parent";
      if (!NodeExists(folder.parent)) {
        issues_.Error(file, folder.name, field,
                      folder.parent +
                          " is not in resourceHierarchy (neither its organization nor a listed "
                          "folder)");
        continue;
      }
      // Walk up: a cycle comes back to this folder. Each cycle is reported once, on the folder
      // of the cycle listed first.
      std::string chain = folder.name;
      std::string node = folder.parent;
      bool first_of_cycle = true;
      for (size_t steps = 0; steps <= folders_.size(); ++steps) {
        chain += " -> " + node;
        if (node == folder.name) {
          if (first_of_cycle) {
            issues_.Error(file, folder.name, field,
                          "the folders form a cycle: " + chain +
                              "; the hierarchy must lead up to the organization");
          }
          break;
        }
        auto next = folders_.find(node);
        if (next == folders_.end()) break;
        if (next->second < &folder) first_of_cycle = false;
        node = next->second->parent;
      }
    }
    std::map<std::string, size_t> projects;
    for (size_t i = 0; i < hierarchy().projects.size(); ++i) {
      const ProjectParent& project = hierarchy().projects[i];
      if (project.project_id.empty()) continue;
      std::string path = "resourceHierarchy." + Indexed("projects", i);
      std::string label = "projects/" + project.project_id;
      if (!projects.emplace(project.project_id, i).second) {
        issues_.Error(file, label, path + ".projectId", "project listed twice");
        continue;
      }
      if (!project.parent.empty() && !NodeExists(project.parent)) {
        issues_.Error(file, label, path + ".parent",
                      project.parent +
                          " is not in resourceHierarchy (neither its organization nor a listed "
                          "folder)");
      }
    }
  }

  void CheckPolicies() {
    std::map<std::string, const FirewallPolicy*> first;
    std::map<std::string, const FirewallPolicy*> node_policy;    // organization/folder -> policy
    std::map<std::string, const FirewallPolicy*> global_policy;  // network -> policy
    std::map<std::pair<std::string, std::string>, const FirewallPolicy*> regional_policy;
    for (const FirewallPolicy& policy : config_.firewall_policies) {
      const std::string& file = policy.origin.file;
      const std::string& ref = policy.self_ref;
      auto [it, inserted] = first.emplace(ref, &policy);
      if (!inserted) {
        issues_.Error(file, ref, "name",
                      "duplicate firewall policy: already defined in " + it->second->origin.file);
        continue;
      }
      if (!policy.parent.empty() && !NodeExists(policy.parent)) {
        issues_.Error(file, ref, "parent",
                      policy.parent + " is not in the resourceHierarchy of " + LayoutFileName());
      }
      std::map<std::string, size_t> targets;  // this policy's targets -> association index
      for (size_t i = 0; i < policy.associations.size(); ++i) {
        const std::string& target = policy.associations[i].attachment_target;
        std::string field = Indexed("associations", i) + ".attachmentTarget";
        auto [seen, new_target] = targets.emplace(target, i);
        if (!new_target) {
          issues_.Error(
              file, ref, field,
              "already associated with " + target + " by " + Indexed("associations", seen->second));
          continue;
        }
        if (policy.kind == FirewallPolicyKind::kHierarchical) {
          if (!NodeExists(target)) {
            issues_.Error(file, ref, field,
                          target + " is not in the resourceHierarchy of " + LayoutFileName());
            continue;
          }
          auto [other, first_policy] = node_policy.emplace(target, &policy);
          if (!first_policy) {
            issues_.Error(file, ref, field,
                          target + " already has hierarchical firewall policy " +
                              other->second->self_ref +
                              " associated; an organization or folder has at most one");
          }
          continue;
        }
        if (!networks_.contains(target)) {
          if (!unparsed_.contains(target)) {
            issues_.Error(file, ref, field, "network " + target + " does not exist");
          }
          continue;
        }
        const Network& network = *networks_.at(target);
        if (network.project != policy.project) {
          issues_.Error(file, ref, field,
                        "network " + target + " is in project " + network.project +
                            "; a network firewall policy is associated only with networks of its "
                            "own project (" +
                            policy.project + ")");
          continue;
        }
        if (policy.kind == FirewallPolicyKind::kGlobal) {
          auto [other, first_policy] = global_policy.emplace(target, &policy);
          if (!first_policy) {
            issues_.Error(file, ref, field,
                          "network " + target + " already has global network firewall policy " +
                              other->second->self_ref + " associated; a network has at most one");
          }
        } else {
          auto [other, first_policy] =
              regional_policy.emplace(std::make_pair(target, policy.region), &policy);
          if (!first_policy) {
            issues_.Error(file, ref, field,
                          "network " + target + " already has regional network firewall policy " +
                              other->second->self_ref + " associated in region " + policy.region +
                              "; a network has at most one per region");
          }
        }
      }
      for (const FirewallPolicyRule& rule : policy.rules) {
        for (size_t j = 0; j < rule.target_network_refs.size(); ++j) {
          const std::string& network = rule.target_network_refs[j];
          if (!networks_.contains(network) && !unparsed_.contains(network)) {
            issues_.Error(file, ref,
                          Indexed("rules", rule.position) + "." + Indexed("targetResources", j),
                          "network " + network + " does not exist");
          }
        }
      }
    }
  }

  // Hierarchical policies are associated, but a network's project is not placed in the
  // hierarchy: no hierarchical policy reaches its instances. Worth a warning.
  void CheckUnplacedProjects() {
    bool any_hierarchical = false;
    for (const FirewallPolicy& policy : config_.firewall_policies) {
      any_hierarchical = any_hierarchical || (policy.kind == FirewallPolicyKind::kHierarchical &&
                                              !policy.associations.empty());
    }
    if (!any_hierarchical) return;
    std::set<std::string> warned;
    for (const Network& network : config_.networks) {
      if (!ProjectAncestry(hierarchy(), network.project).empty()) continue;
      if (!warned.insert(network.project).second) continue;
      issues_.Warning(LayoutFileName(), "projects/" + network.project, "resourceHierarchy.projects",
                      "project " + network.project + " (network " + network.self_ref +
                          ") is not placed in the resource hierarchy; no hierarchical firewall "
                          "policy applies to its networks");
    }
  }

  const Config& config_;
  const std::set<std::string>& unparsed_;
  IssueList& issues_;
  std::map<std::string, const Network*> networks_;
  std::map<std::string, const Folder*> folders_;  // first definition of each folder
};

}  // namespace

void ValidateFirewallPolicies(const Config& config, const std::set<std::string>& unparsed_refs,
                              IssueList& issues) {
  PolicyValidator(config, unparsed_refs, issues).Run();
}

}  // namespace svpc::config
