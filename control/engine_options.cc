#include "control/engine_options.h"

#include <iostream>

namespace svpc::control {

void AddEngineOptions(CLI::App& command, uint32_t& capacity, double& idle_timeout_s,
                      std::string& on_rule_change) {
  command.add_option(
      "--conntrack-capacity", capacity,
      "Connections tracked in all, split equally among the workers (default 1000000)");
  command.add_option("--conntrack-idle-timeout", idle_timeout_s,
                     "Seconds a connection lives without packets (GCP: 600)");
  command.add_option("--on-rule-change", on_rule_change,
                     "Tracked connections when rules change: continue (GCP) or recheck");
}

bool ParseEngineOptions(uint32_t capacity, double idle_timeout_s, const std::string& on_rule_change,
                        firewall::ConnTrack::Config& conntrack, dataplane::OnRuleChange& policy) {
  if (capacity == 0) {
    std::cerr << "error: --conntrack-capacity must be at least 1\n";
    return false;
  }
  if (!(idle_timeout_s > 0)) {
    std::cerr << "error: --conntrack-idle-timeout must be positive\n";
    return false;
  }
  if (on_rule_change != "continue" && on_rule_change != "recheck") {
    std::cerr << "error: --on-rule-change must be continue or recheck, not '" << on_rule_change
              << "'\n";
    return false;
  }
  conntrack.capacity = capacity;
  conntrack.idle_timeout_ns = static_cast<uint64_t>(idle_timeout_s * 1e9);
  policy = on_rule_change == "recheck" ? dataplane::OnRuleChange::kRecheck
                                       : dataplane::OnRuleChange::kContinue;
  return true;
}

}  // namespace svpc::control
