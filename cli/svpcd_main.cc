// svpcd CONFIG_DIR [--log FILE] [--counters FILE] [--state-dir DIR] [-- EAL options]
#include <CLI/CLI.hpp>

#include <iostream>

#include "api/http_server.h"
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
  bool no_api = false;
  app.add_option("--api", options.api_listen,
                 "serve the control API (Compute Engine v1 subset) on ADDRESS:PORT")
      ->capture_default_str();
  app.add_flag("--no-api", no_api, "do not serve the control API");
  app.add_flag("--api-allow-remote", options.api_allow_remote,
               "allow --api on a non-loopback address (plain HTTP with bearer tokens: only on a "
               "network you trust)");
  app.add_option("--audit-log", options.audit_log_file,
                 "append the API's audit records (JSON lines) to this file");
  app.add_option("--state-dir", options.state_dir,
                 "keep the API's changes here (api-changes.json), so they survive SIGHUP, "
                 "restarts and crashes; default CONFIG_DIR/.svpcd-state. Where CONFIG_DIR edits "
                 "and API changes to one file conflict, the directory wins and the API's "
                 "version is saved under DIR/conflicts/");
  svpc::control::AddEngineOptions(app, options.conntrack_capacity, options.idle_timeout_s,
                                  options.on_rule_change);
  app.footer("EAL options for experts go after `--`; without them svpcd picks working defaults.");
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.eal_args = eal_args;
  options.api_explicit = app.count("--api") > 0;
  if (no_api) options.api_listen.clear();
  if (!options.api_listen.empty()) {
    const size_t colon = options.api_listen.rfind(':');
    const std::string address =
        colon == std::string::npos ? "" : options.api_listen.substr(0, colon);
    const std::string port = colon == std::string::npos ? "" : options.api_listen.substr(colon + 1);
    if (address.empty() || port.empty() ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
      std::cerr << "svpcd: --api " << options.api_listen << ": expected ADDRESS:PORT\n";
      return 2;
    }
    if (!svpc::api::IsLoopbackAddress(address) && !options.api_allow_remote) {
      std::cerr << "svpcd: --api " << options.api_listen
                << " is not a loopback address; the API speaks plain HTTP, so svpcd only serves "
                   "it elsewhere with --api-allow-remote\n";
      return 2;
    }
  }
  return svpc::control::RunDaemon(options);
}
