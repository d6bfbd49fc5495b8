// The `svpc` command line. Each subcommand lives in its own cmd_*.cc and registers itself here.
// Everything after a bare `--` is passed to DPDK's EAL (replay) untouched.

#include <CLI/CLI.hpp>

#include "cli/api_client.h"
#include "cli/cmd_bench.h"
#include "cli/cmd_bgp.h"
#include "cli/cmd_billing.h"
#include "cli/cmd_netns_plan.h"
#include "cli/cmd_replay.h"
#include "cli/cmd_routes.h"
#include "cli/cmd_trace.h"
#include "cli/cmd_validate.h"

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
  svpc::cli::AddValidateCommand(app, exit_code);
  svpc::cli::AddReplayCommand(app, exit_code, eal_args);
  svpc::cli::AddRoutesCommand(app, exit_code, eal_args);
  svpc::cli::AddTraceCommand(app, exit_code, eal_args);
  svpc::cli::AddNetnsPlanCommand(app, exit_code);
  svpc::cli::AddBgpCommand(app, exit_code);
  svpc::cli::AddBillingCommand(app, exit_code);
  svpc::cli::AddClientCommands(app, exit_code);
  svpc::cli::AddBenchCommand(app, exit_code);
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
