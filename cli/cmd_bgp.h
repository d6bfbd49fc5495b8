#pragma once
// `svpc bgp STATUS_FILE [--format=json] [--routes]`: the Cloud Router sessions of a running
// svpcd (the file it writes with --bgp-status), in the habits of `gcloud compute routers
// get-status`: one line per peer (router, peer, address, state, uptime, prefixes received and
// advertised, last error); --routes adds the learned routes.

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace svpc::cli {

int RunBgp(const std::string& status_file, const std::string& format, bool routes,
           std::ostream& out, std::ostream& err);
void AddBgpCommand(CLI::App& app, int& exit_code);

}  // namespace svpc::cli
