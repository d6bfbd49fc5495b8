// The `svpc` command line. Each subcommand lives in its own cmd_*.cc and registers itself here.

#include <CLI/CLI.hpp>

#include "control/cmd_validate.h"

int main(int argc, char** argv) {
  CLI::App app{"svpc: a Google Cloud Shared VPC data plane emulator"};
  app.require_subcommand(1);
  int exit_code = 0;
  svpc::control::AddValidateCommand(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
