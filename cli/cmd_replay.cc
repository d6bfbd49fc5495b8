#include "cli/cmd_replay.h"

#include <rte_eal.h>

#include <iostream>

#include "cli/command_support.h"
#include "config/config_loader.h"
#include "control/compiler.h"
#include "control/eal_setup.h"
#include "control/engine_options.h"
#include "pcap/replay.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;

int RunReplayCommand(const ReplayCommand& command) {
  std::vector<pcap::ReplayInput> inputs;
  for (const std::string& arg : command.pcaps) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
      std::cerr << "error: --pcap expects PORT=FILE, got '" << arg << "'\n";
      return 2;
    }
    inputs.push_back({arg.substr(0, eq), arg.substr(eq + 1)});
  }
  pcap::ReplayOptions options;
  if (!ParseEngineOptions(command.conntrack_capacity, command.idle_timeout_s,
                          command.on_rule_change, options.conntrack, options.on_rule_change)) {
    return 2;
  }
  LoadResult loaded;
  if (!LoadForCommand(command.config_dir, &loaded, std::cerr, "; nothing replayed")) return 1;
  if (loaded.config.testbed.ports.empty()) {
    std::cerr << "error: testbed.json: ports: replay needs the testbed's port names\n";
    return 1;
  }
  if (!StartEalForCommand("svpc-replay", command.eal_args, loaded.config, std::cerr)) return 2;
  int status = 0;
  std::string error;
  {
    auto snap = CompileSnapshot(loaded.config, &error);
    pcap::ReplaySummary summary;
    if (!snap) {
      std::cerr << "error: compiling the configuration: " << error << '\n';
      status = 2;
    } else if (!pcap::RunReplay(*snap, inputs, command.out_dir, options, &summary, &error)) {
      std::cerr << "error: " << error << '\n';
      status = 2;
    } else {
      if (!command.quiet) std::cout << pcap::FormatFlowTable(summary) << '\n';
      std::cout << summary.packets << " packets replayed; outputs:\n";
      for (const std::string& f : summary.output_files) std::cout << "  " << f << '\n';
    }
  }
  rte_eal_cleanup();
  return status;
}

void AddReplayCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args) {
  CLI::App* command = app.add_subcommand(
      "replay", "Run recorded traffic through the engine's pipeline; write verdicts and captures");
  auto cmd = std::make_shared<ReplayCommand>();
  command->add_option("CONFIG_DIR", cmd->config_dir, "Configuration directory")->required();
  command->add_option("--pcap", cmd->pcaps, "PORT=FILE: traffic arriving on testbed port PORT")
      ->required();
  command->add_option("--out", cmd->out_dir, "Output directory")->required();
  command->add_flag("--quiet", cmd->quiet, "Do not print the flow table");
  AddEngineOptions(*command, cmd->conntrack_capacity, cmd->idle_timeout_s, cmd->on_rule_change);
  command->footer("EAL options for experts go after `--`.");
  command->callback([cmd, &exit_code, &eal_args] {
    cmd->eal_args = eal_args;
    exit_code = RunReplayCommand(*cmd);
  });
}

}  // namespace svpc::cli
