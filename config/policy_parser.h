#pragma once
// Firewall policies in the configuration: the compute#firewallPolicy resource (hierarchical,
// global and regional network policies), the fields of other resources that policies use
// (networkFirewallPolicyEnforcementOrder on networks, params.resourceManagerTags on instances),
// and the resource hierarchy of shared-vpc.json (`resourceHierarchy`). Checks what one resource
// can check on its own (types, enums, priorities unique within a policy, layer4Configs, ranges);
// rules between resources live in policy_validator.h. Never throws for bad input.

#include <boost/json.hpp>

#include "config/config_issue.h"
#include "config/json_fields.h"
#include "config/model.h"
#include "config/resource_parser.h"

namespace svpc::config {

// Parses one firewall policy and appends it to config.firewall_policies if it has no errors.
// Its kind: hierarchical when its selfLink (or asset name) is locations/global/firewallPolicies/ID
// or it has a `parent`; regional when the selfLink names a region or it has `region`; else global.
// Rules using what is not emulated (FQDNs, geolocations, threat intelligence, address groups,
// network scopes, security profile groups; IPv6-only ranges; only INEFFECTIVE secure tags) are
// left out with a warning naming the rule.
ParsedResource ParseFirewallPolicy(const boost::json::object& data, const ResourceSource& source,
                                   Config& config, IssueList& issues);

// networkFirewallPolicyEnforcementOrder (AFTER_CLASSIC_FIREWALL, BEFORE_CLASSIC_FIREWALL).
void ParseNetworkPolicyFields(const JsonFields& f, Network& network);

// params.resourceManagerTags {"tagKeys/K": "tagValues/V"} -> instance.secure_tags.
void ParseInstanceSecureTags(const JsonFields& f, Instance& instance);

// shared-vpc.json `resourceHierarchy` -> shared.resource_hierarchy. Entries keep their positions
// (failed fields stay empty) so the validator's paths match the file.
void ParseResourceHierarchy(const JsonFields& root, const std::string& file, IssueList& issues,
                            SharedVpc& shared);

}  // namespace svpc::config
