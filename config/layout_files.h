#pragma once
// The two files at the top of a configuration directory that are not Compute Engine resources:
// shared-vpc.json (which projects are hosts and service projects) and testbed.json (how the
// emulator's ports are wired to instance NICs and external links).

#include <boost/json.hpp>

#include <set>
#include <string>

#include "config/config_issue.h"
#include "config/model.h"

namespace svpc::config {

// Fills config.shared_vpc. Every entry keeps its position in its list, even when some of its fields
// failed (they stay empty), so the validator's issue paths ("serviceProjects[2]") match the file.
void ParseSharedVpcFile(const boost::json::value& root, const std::string& file, Config& config,
                        IssueList& issues);

// Fills config.testbed. Endpoint references are canonicalised; references without a project are
// matched by name against the resources already loaded (and against `unparsed_refs`, resources
// that failed to load). External endpoints get their network_ref: the explicit "network", else the
// network of the routes whose next hop is that link, else the only network.
void ParseTestbedFile(const boost::json::value& root, const std::string& file,
                      const std::set<std::string>& unparsed_refs, Config& config,
                      IssueList& issues);

}  // namespace svpc::config
