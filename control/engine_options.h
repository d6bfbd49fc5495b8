#pragma once
// Engine options shared by `svpc replay` and `svpcd`: connection tracking capacity, idle
// timeout, and what tracked connections do when rules change.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "dataplane/pipeline.h"
#include "firewall/conntrack.h"

namespace svpc::control {

void AddEngineOptions(CLI::App& command, uint32_t& capacity, double& idle_timeout_s,
                      std::string& on_rule_change);

// Checks them (printing an error to stderr) and fills the engine's settings.
bool ParseEngineOptions(uint32_t capacity, double idle_timeout_s, const std::string& on_rule_change,
                        firewall::ConnTrack::Config& conntrack, dataplane::OnRuleChange& policy);

}  // namespace svpc::control
