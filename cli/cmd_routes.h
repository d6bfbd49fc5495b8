#pragma once
// `svpc routes CONFIG_DIR [--instance NAME] [--format=json] [-- EAL options]`: the effective
// routes of each network as the engine compiles them (subnet and static routes; dynamic routes
// exist only in a running svpcd), in the columns of `gcloud compute routes list` plus TAGS and
// STATUS (inactive routes say why). With --instance, only the routes that apply to that
// instance (its tags, its region), with the priority it sees.

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "config/model.h"

namespace svpc::cli {

struct RoutesCommand {
  std::string config_dir;
  std::string instance;          // NAME, ZONE/instances/NAME or projects/P/zones/Z/instances/NAME
  std::string format = "table";  // or "json"
  std::vector<std::string> eal_args;
};

// Compiles `config` and prints its routes. Needs the DPDK EAL (route tables live in DPDK
// memory). Returns the exit status: 0, 1 when the configuration does not compile, 2 for an
// unknown or ambiguous instance or format.
int PrintRoutes(const config::Config& config, const RoutesCommand& command, std::ostream& out,
                std::ostream& err);

// Loads the configuration, starts the EAL, PrintRoutes.
int RunRoutesCommand(const RoutesCommand& command);

// Registers `routes` on `app`; `eal_args` are the options after `--` (split off by main).
void AddRoutesCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args);

}  // namespace svpc::cli
