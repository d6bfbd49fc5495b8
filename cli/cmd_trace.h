#pragma once
// `svpc trace`: the command around control/trace.h's engine, on a configuration directory (compiled
// here, with the EAL) or on a running svpcd (GET /svpc/v1/trace through its API).

#include <CLI/CLI.hpp>

#include <boost/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "config/model.h"
#include "control/trace.h"

namespace svpc::cli {

// Compiles `config` and traces. Needs the DPDK EAL. Returns 0 when every forward trace ends in
// DELIVER or FORWARD, 3 when one ends in DROP, 1 when the configuration does not compile, 2 for
// bad arguments (unknown instance, address nowhere in the testbed, ...).
int PrintTrace(const config::Config& config, const control::TraceCommand& command,
               std::ostream& out, std::ostream& err);

// The report as text, one line per step.
void PrintTraceReport(const boost::json::object& report, std::ostream& out);

// Loads the configuration, starts the EAL, PrintTrace.
int RunTraceCommand(const control::TraceCommand& command);

// Registers `trace` on `app`; `eal_args` are the options after `--` (split off by main).
void AddTraceCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args);

}  // namespace svpc::cli
