#pragma once
// The rules of firewall policies that involve more than one resource: associations resolve
// (networks exist and are in the policy's project, organizations and folders are in
// shared-vpc.json's resourceHierarchy), one hierarchical policy per organization or folder, one
// global network policy per network and one regional network policy per network and region,
// targetResources networks exist, and the resource hierarchy itself (parents exist, no cycles, no
// duplicates). Called by ValidateConfig (config_validator.h).

#include <set>
#include <string>

#include "config/config_issue.h"
#include "config/model.h"

namespace svpc::config {

// Adds every violation to `issues`. `unparsed_refs`: resources that failed to load (references
// to them are not reported as missing). Cost: O(policies x associations + rules x targets) with
// map lookups, plus O(folders^2) at worst for the cycle check.
void ValidateFirewallPolicies(const Config& config, const std::set<std::string>& unparsed_refs,
                              IssueList& issues);

}  // namespace svpc::config
