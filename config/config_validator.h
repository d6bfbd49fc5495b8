#pragma once
// The rules of GCP's resource model that a single resource cannot check on its own: references
// between resources, range and address overlaps, Shared VPC attachment and sharing, the testbed
// wiring. Called by LoadConfig after parsing; each rule reports an issue with a fixed reason text.

#include <set>
#include <string>

#include "config/config_issue.h"
#include "config/model.h"

namespace svpc::config {

// Adds every rule violation of `config` to `issues`. `unparsed_refs` are resources that were
// defined but failed to load (their problems are already reported): references to them are not
// reported as missing. Cost: O(n log n) in the number of ranges and addresses per network, plus
// O(routes x subnet ranges) for the subnet-route override check.
void ValidateConfig(const Config& config, const std::set<std::string>& unparsed_refs,
                    IssueList& issues);

// True for the four unusable addresses of the subnet's primary range: network, gateway,
// second-to-last and broadcast.
bool IsReservedAddress(const Subnetwork& subnet, Ipv4 ip);

// The reason given when a subnetwork, firewall rule, route or Cloud Router of `project` names
// `target` (a network) of `target_project`: GCP's "Cross project referencing is not allowed for
// this resource", with the two projects named.
std::string CrossProjectReason(const std::string& target, const std::string& target_project,
                               const std::string& project);

}  // namespace svpc::config
