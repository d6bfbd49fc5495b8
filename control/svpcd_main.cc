// svpcd CONFIG_DIR [--log FILE] [--counters FILE] [-- EAL options]
#include <CLI/CLI.hpp>

#include "control/daemon.h"
#include "control/engine_options.h"

int main(int argc, char** argv) {
  std::vector<std::string> eal_args;
  int own_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      own_argc = i;
      eal_args.assign(argv + i + 1, argv + argc);
      break;
    }
  }
  svpc::control::DaemonOptions options;
  CLI::App app{"svpcd: the svpc Shared VPC engine on the testbed's ports"};
  app.add_option("CONFIG_DIR", options.config_dir, "configuration directory")->required();
  app.add_option("--log", options.log_file, "also log to this file");
  app.add_option("--counters", options.counters_file,
                 "write counters JSON here periodically and on stop");
  app.add_option("--counters-interval", options.counters_interval_s, "seconds between writes");
  app.add_option("--firewall-log", options.firewall_log_file,
                 "append Firewall Rules Logging records (JSON lines) to this file");
  app.add_option("--flow-log", options.flow_log_file,
                 "append VPC Flow Logs records (JSON lines) for subnets with logConfig.enable");
  app.add_option("--bgp-status", options.bgp_status_file,
                 "write Cloud Router BGP sessions and routes (JSON) here on every change; "
                 "`svpc bgp FILE` prints it");
  app.add_option("--workers", options.workers,
                 "worker cores (default 1); each polls its own queue of every port, with its "
                 "own connection table (symmetric RSS keeps both directions of a flow on one)")
      ->check(CLI::Range(1u, 64u));
  svpc::control::AddEngineOptions(app, options.conntrack_capacity, options.idle_timeout_s,
                                  options.on_rule_change);
  app.footer("EAL options for experts go after `--`; without them svpcd picks working defaults.");
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.eal_args = eal_args;
  return svpc::control::RunDaemon(options);
}
