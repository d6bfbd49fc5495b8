#pragma once
// `svpc replay CONFIG_DIR --pcap PORT=FILE ... --out OUT_DIR [-- EAL options]`

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace svpc::cli {

struct ReplayCommand {
  std::string config_dir;
  std::vector<std::string> pcaps;  // PORT=FILE
  std::string out_dir;
  std::vector<std::string> eal_args;
  bool quiet = false;  // no flow table
  uint32_t conntrack_capacity = 1'000'000;
  double idle_timeout_s = 600;
  std::string on_rule_change = "continue";
};

// Returns the process exit status: 0 when the replay ran (whatever the verdicts), 1 for an
// invalid configuration, 2 for bad arguments or unusable inputs/outputs.
int RunReplayCommand(const ReplayCommand& command);

// Registers `replay` on `app`; `eal_args` are the options after `--` (split off by main).
void AddReplayCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args);

}  // namespace svpc::cli
