// The `svpc` command line. Each subcommand lives in its own cmd_*.cc and registers itself here.
// Everything after a bare `--` is passed to DPDK's EAL (replay) untouched.

#include <CLI/CLI.hpp>

#include "api/client.h"
#include "bench/cmd_bench.h"
#include "control/cmd_bgp.h"
#include "control/cmd_billing.h"
#include "control/cmd_netns_plan.h"
#include "control/cmd_replay.h"
#include "control/cmd_routes.h"
#include "control/cmd_trace.h"
#include "control/cmd_validate.h"

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
  // `svpc routes list` asks the running daemon (api/client.h); `svpc routes CONFIG_DIR` is the
  // offline command.
  std::string routes_list = "routes-list";
  if (own_argc >= 3 && std::string(argv[1]) == "routes" && std::string(argv[2]) == "list") {
    argv[2] = routes_list.data();
    ++argv;
    --own_argc;
  }
  CLI::App app{"svpc: a Google Cloud Shared VPC data plane emulator"};
  app.require_subcommand(1);
  int exit_code = 0;
  svpc::control::AddValidateCommand(app, exit_code);
  svpc::control::AddReplayCommand(app, exit_code, eal_args);
  svpc::control::AddRoutesCommand(app, exit_code, eal_args);
  svpc::control::AddTraceCommand(app, exit_code, eal_args);
  svpc::control::AddNetnsPlanCommand(app, exit_code);
  svpc::control::AddBgpCommand(app, exit_code);
  svpc::control::AddBillingCommand(app, exit_code);
  svpc::api::AddClientCommands(app, exit_code);
  svpc::bench::AddBenchCommand(app, exit_code);
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
