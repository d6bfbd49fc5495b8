#pragma once
// IAM as GCP evaluates it for the methods the API serves: roles (a fixed table of the predefined
// roles Shared VPC uses, api/README.md) granted to members by the bindings of shared-vpc.json's
// iamPolicies on a resource or any of its ancestors (subnetwork -> project -> folders ->
// organization, from resourceHierarchy), and the two Shared VPC list constraints of the org
// policies. Pure functions of the configuration.

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"

namespace svpc::api {

// Who calls: the principal tokens.json names ("user:alice@example.com",
// "serviceAccount:...") and the groups it belongs to ("group:team-a@example.com").
struct Principal {
  std::string member;
  std::vector<std::string> groups;
};

// The permissions a predefined role grants; nullopt for a role the table does not know (such a
// binding grants nothing, as a custom role the emulator cannot see).
bool RoleGrants(const std::string& role, const std::string& permission);

// The ancestors of a resource, itself first: projects/P/regions/R/subnetworks/S, projects/P,
// then P's folders up to the organization. A project with no parent in resourceHierarchy is under
// the hierarchy's organization when there is one; else it has no ancestor above itself and
// bindings on any organizations/ID apply to it (one implicit organization).
std::vector<std::string> Ancestors(const config::Config& config, const std::string& resource);

// True when `principal` holds `permission` on `resource` through a binding on it or an ancestor.
bool HasPermission(const config::Config& config, const Principal& principal,
                   const std::string& permission, const std::string& resource);

// The two Shared VPC list constraints (org policies in gcloud's v2 JSON: {"name":
// "projects/P/policies/compute.restrictSharedVpcHostProjects", "spec": {"rules": [{"values":
// {"allowedValues": [...], "deniedValues": [...]}} | {"allowAll": true} | {"denyAll": true}],
// "inheritFromParent": bool}}). Values are "projects/HOST" (host projects) or subnetwork
// references; "under:projects/P", "under:folders/F", "under:organizations/O" match everything
// below. Returns the reason when `value` is not allowed for `project`, nullopt when allowed.
inline constexpr std::string_view kRestrictHostProjects = "compute.restrictSharedVpcHostProjects";
inline constexpr std::string_view kRestrictSubnetworks = "compute.restrictSharedVpcSubnetworks";
std::optional<std::string> OrgPolicyDenies(const config::Config& config,
                                           std::string_view constraint, const std::string& project,
                                           const std::string& value);

}  // namespace svpc::api
