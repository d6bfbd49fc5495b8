#include "api/iam.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace svpc::api {
namespace {

namespace json = boost::json;
using config::Config;

// Predefined roles as permission patterns ("compute.firewalls.*" = every method of a
// collection). A subset of GCP's tables covering the methods the API serves; where GCP's
// exact list is not confirmed the choice is written in api/README.md.
struct RoleDef {
  std::vector<std::string_view> grants;
  std::vector<std::string_view> except;
};

const std::map<std::string, RoleDef, std::less<>>& Roles() {
  static const std::map<std::string, RoleDef, std::less<>> roles = {
      {"roles/owner", {{"compute.*"}, {}}},
      {"roles/compute.admin", {{"compute.*"}, {}}},
      // Editors change resources but not IAM policies, and are not Shared VPC Admins.
      {"roles/editor", {{"compute.*"}, {"*.setIamPolicy", "compute.organizations.*"}}},
      {"roles/viewer", {{"*.get", "*.list", "*.getIamPolicy"}, {}}},
      {"roles/compute.viewer", {{"*.get", "*.list"}, {}}},
      {"roles/compute.xpnAdmin",
       {{"compute.organizations.*", "compute.projects.get", "compute.subnetworks.getIamPolicy",
         "compute.subnetworks.setIamPolicy"},
        {}}},
      {"roles/compute.networkUser",
       {{"compute.networks.use", "compute.networks.useExternalIp", "compute.subnetworks.use",
         "compute.subnetworks.useExternalIp", "compute.networks.get", "compute.networks.list",
         "compute.subnetworks.get", "compute.subnetworks.list", "compute.projects.get"},
        {}}},
      // Everything about networks but firewall rules (read only) and IAM policies.
      {"roles/compute.networkAdmin",
       {{"compute.networks.*", "compute.subnetworks.*", "compute.routes.*", "compute.routers.*",
         "compute.addresses.*", "compute.firewalls.get", "compute.firewalls.list",
         "compute.firewallPolicies.get", "compute.firewallPolicies.list", "compute.instances.get",
         "compute.instances.list", "compute.projects.get"},
        {"compute.subnetworks.setIamPolicy", "compute.networks.updatePolicy"}}},
      {"roles/compute.securityAdmin",
       {{"compute.firewalls.*", "compute.firewallPolicies.*", "compute.networks.updatePolicy",
         "compute.networks.get", "compute.networks.list", "compute.subnetworks.get",
         "compute.subnetworks.list", "compute.instances.get", "compute.instances.list",
         "compute.routes.get", "compute.routes.list", "compute.projects.get"},
        {}}},
      // Instance admins create instances in their project; using a (shared) subnet takes
      // compute.subnetworks.use on top, which they do not have.
      {"roles/compute.instanceAdmin.v1",
       {{"compute.instances.*", "compute.addresses.get", "compute.addresses.list",
         "compute.addresses.use", "compute.addresses.createInternal",
         "compute.addresses.deleteInternal", "compute.networks.get", "compute.networks.list",
         "compute.subnetworks.get", "compute.subnetworks.list", "compute.projects.get"},
        {}}},
      {"roles/compute.instanceAdmin",
       {{"compute.instances.*", "compute.addresses.get", "compute.addresses.list",
         "compute.addresses.use", "compute.addresses.createInternal",
         "compute.addresses.deleteInternal", "compute.networks.get", "compute.networks.list",
         "compute.subnetworks.get", "compute.subnetworks.list", "compute.projects.get"},
        {}}},
  };
  return roles;
}

bool Matches(std::string_view pattern, std::string_view permission) {
  if (pattern.ends_with("*")) {
    pattern.remove_suffix(1);
    return permission.starts_with(pattern);
  }
  if (pattern.starts_with("*")) {
    pattern.remove_prefix(1);
    return permission.ends_with(pattern);
  }
  return pattern == permission;
}

std::string ProjectOf(const std::string& resource) {
  if (!resource.starts_with("projects/")) return "";
  size_t end = resource.find('/', 9);
  return resource.substr(9, end == std::string::npos ? std::string::npos : end - 9);
}

std::string ParentOf(const Config& config, const std::string& node) {
  const config::ResourceHierarchy& h = config.shared_vpc.resource_hierarchy;
  if (node.starts_with("projects/")) {
    std::string id = node.substr(9);
    for (const config::ProjectParent& p : h.projects) {
      if (p.project_id == id) return p.parent;
    }
    return h.organization;
  }
  if (node.starts_with("folders/")) {
    for (const config::Folder& f : h.folders) {
      if (f.name == node) return f.parent;
    }
  }
  return "";
}

struct ListPolicy {
  bool found = false;
  bool allow_all = false;
  bool deny_all = false;
  bool inherit = false;
  std::vector<std::string> allowed;
  std::vector<std::string> denied;
};

ListPolicy PolicyAt(const Config& config, std::string_view constraint, const std::string& node) {
  ListPolicy out;
  const std::string wanted = node + "/policies/" + std::string(constraint);
  for (const std::string& text : config.shared_vpc.org_policies_json) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) continue;
    const json::object& policy = value.get_object();
    const json::value* name = policy.if_contains("name");
    if (name == nullptr || !name->is_string() || name->get_string() != wanted) continue;
    out.found = true;
    const json::value* spec = policy.if_contains("spec");
    if (spec == nullptr || !spec->is_object()) continue;
    if (const json::value* inherit = spec->get_object().if_contains("inheritFromParent")) {
      out.inherit = inherit->is_bool() && inherit->get_bool();
    }
    const json::value* rules = spec->get_object().if_contains("rules");
    if (rules == nullptr || !rules->is_array()) continue;
    for (const json::value& rule : rules->get_array()) {
      if (!rule.is_object()) continue;
      const json::object& r = rule.get_object();
      if (const json::value* v = r.if_contains("allowAll"); v && v->is_bool() && v->get_bool()) {
        out.allow_all = true;
      }
      if (const json::value* v = r.if_contains("denyAll"); v && v->is_bool() && v->get_bool()) {
        out.deny_all = true;
      }
      const json::value* values = r.if_contains("values");
      if (values == nullptr || !values->is_object()) continue;
      for (auto [key, list] :
           {std::pair{"allowedValues", &out.allowed}, std::pair{"deniedValues", &out.denied}}) {
        const json::value* items = values->get_object().if_contains(key);
        if (items == nullptr || !items->is_array()) continue;
        for (const json::value& item : items->get_array()) {
          if (item.is_string()) list->emplace_back(item.get_string());
        }
      }
    }
  }
  return out;
}

// "projects/host-prj" matches itself; "under:X" matches X and everything below it.
bool ValueMatches(const Config& config, const std::string& pattern, const std::string& value) {
  if (!pattern.starts_with("under:")) return pattern == value;
  const std::string node = pattern.substr(6);
  for (const std::string& ancestor : Ancestors(config, value)) {
    if (ancestor == node) return true;
  }
  return false;
}

}  // namespace

bool RoleGrants(const std::string& role, const std::string& permission) {
  auto it = Roles().find(role);
  if (it == Roles().end()) return false;
  for (std::string_view except : it->second.except) {
    if (Matches(except, permission)) return false;
  }
  for (std::string_view grant : it->second.grants) {
    if (Matches(grant, permission)) return true;
  }
  return false;
}

std::vector<std::string> Ancestors(const Config& config, const std::string& resource) {
  std::vector<std::string> out{resource};
  std::string project = ProjectOf(resource);
  std::string node = resource;
  if (!project.empty() && resource != "projects/" + project) {
    node = "projects/" + project;
    out.push_back(node);
  }
  std::set<std::string> seen(out.begin(), out.end());
  for (std::string parent = ParentOf(config, node); !parent.empty() && seen.insert(parent).second;
       parent = ParentOf(config, parent)) {
    out.push_back(parent);
  }
  return out;
}

bool HasPermission(const Config& config, const Principal& principal, const std::string& permission,
                   const std::string& resource) {
  std::vector<std::string> ancestors = Ancestors(config, resource);
  const bool implicit_org = config.shared_vpc.resource_hierarchy.organization.empty();
  auto applies = [&](const std::string& policy_resource) {
    if (std::find(ancestors.begin(), ancestors.end(), policy_resource) != ancestors.end()) {
      return true;
    }
    // Without a hierarchy every project is in the one organization the bindings name.
    return implicit_org && policy_resource.starts_with("organizations/");
  };
  auto is_member = [&](const std::string& member) {
    if (member == principal.member || member == "allAuthenticatedUsers") return true;
    return std::find(principal.groups.begin(), principal.groups.end(), member) !=
           principal.groups.end();
  };
  for (const config::IamPolicy& policy : config.shared_vpc.iam_policies) {
    if (!applies(policy.resource)) continue;
    for (const config::IamBinding& binding : policy.bindings) {
      if (!RoleGrants(binding.role, permission)) continue;
      for (const std::string& member : binding.members) {
        if (is_member(member)) return true;
      }
    }
  }
  return false;
}

std::optional<std::string> OrgPolicyDenies(const Config& config, std::string_view constraint,
                                           const std::string& project, const std::string& value) {
  // The effective policy: the nearest node with a policy, merged with its parents' while it
  // says inheritFromParent.
  std::vector<ListPolicy> chain;
  for (const std::string& node : Ancestors(config, "projects/" + project)) {
    ListPolicy policy = PolicyAt(config, constraint, node);
    if (!policy.found) continue;
    chain.push_back(policy);
    if (!policy.inherit) break;
  }
  if (chain.empty()) return std::nullopt;
  bool any_allowed_list = false;
  bool allowed = false;
  for (const ListPolicy& policy : chain) {
    for (const std::string& denied : policy.denied) {
      if (ValueMatches(config, denied, value)) {
        return "the value " + value + " is denied";
      }
    }
    if (policy.deny_all) return "every value is denied";
    if (policy.allow_all) allowed = true;
    for (const std::string& pattern : policy.allowed) {
      any_allowed_list = true;
      if (ValueMatches(config, pattern, value)) allowed = true;
    }
  }
  if (any_allowed_list && !allowed) return "the value " + value + " is not in the allowed values";
  return std::nullopt;
}

}  // namespace svpc::api
