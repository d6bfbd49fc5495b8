#pragma once
// `svpc bench`: the engine next to dpdk-testpmd on the same synthetic Shared VPC traffic, in one
// run; a table, or one JSON object with --json (bench/README.md, "svpc bench").

#include <CLI/CLI.hpp>

#include <ostream>

#include "bench/side_by_side.h"

namespace svpc::cli {

void AddBenchCommand(CLI::App& app, int& exit_code);

// The result as one JSON object (what --json prints), and as a readable report.
void PrintBenchJson(const bench::SideBySideResult& r, std::ostream& out);
void PrintBenchReport(const bench::SideBySideResult& r, std::ostream& out);

}  // namespace svpc::cli
