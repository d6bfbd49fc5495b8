#pragma once
// `svpc validate CONFIG_DIR`: loads and validates a configuration directory, prints every issue,
// and, when the configuration is valid, a one-screen summary.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <ostream>
#include <string>

#include "config/model.h"

namespace svpc::cli {

// Registers the `validate` subcommand on `app`. When it runs, its exit status goes to `exit_code`.
void AddValidateCommand(CLI::App& app, int& exit_code);

// Prints "error: ..." and "warning: ..." lines to `err` and the summary to `out`. Returns the exit
// status: 0 when valid, 1 when there is any error.
int RunValidate(const std::filesystem::path& dir, std::ostream& out, std::ostream& err);

// Counts of projects and resources, then per network its subnetworks and instances.
std::string FormatSummary(const config::Config& config);

}  // namespace svpc::cli
