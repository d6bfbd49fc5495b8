#pragma once
// `svpc billing COUNTERS_FILE [--format=json]`: egress attributed per project as Shared VPC
// billing does it (an instance's egress to its service project; through a VPN gateway to the
// gateway's project, the host project; through a VLAN attachment to the sending service
// project), from the counters file `svpc replay` (OUT_DIR/counters.json) or `svpcd --counters`
// writes. One line per project: packets and bytes (IPv4 total length) in all, and bytes by where
// they went.

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace svpc::cli {

// 0, or 2 when the file cannot be read or has no billing section.
int RunBilling(const std::string& counters_file, const std::string& format, std::ostream& out,
               std::ostream& err);
void AddBillingCommand(CLI::App& app, int& exit_code);

}  // namespace svpc::cli
