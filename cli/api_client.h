#pragma once
// `svpc` as the client of a running svpcd's API, in gcloud's habits: `svpc status`,
// `svpc firewall-rules list`, `svpc routes list`, `svpc instances list`, `svpc networks list`,
// `svpc subnets list`, `svpc addresses list`, `svpc routers list` print a table (gcloud's
// columns) or, with --format=json, the resources as the API returns them; `svpc export OUT_DIR`
// writes the running configuration as a configuration directory (or, with --config DIR, a
// loaded one: the round trip the tests check).
//
// Where: --api URL, else $SVPC_API, else http://127.0.0.1:9180. Who: --token, else $SVPC_TOKEN.
// Which project: --project, else $SVPC_PROJECT, else every project the daemon knows.

#include <CLI/CLI.hpp>

#include <string>

namespace svpc::cli {

struct HttpResult {
  int status = 0;  // 0: no connection
  std::string body;
  std::string error;  // connection problem
};

// One HTTP/1.1 request to `base_url` (http://HOST:PORT) + `path`, bearer `token`.
HttpResult HttpCall(const std::string& base_url, const std::string& method, const std::string& path,
                    const std::string& token, const std::string& body = "");

// Registers the client subcommands. `svpc routes list` reaches them as "routes-list" (svpc_main
// rewrites it: `svpc routes CONFIG_DIR` is the offline command).
void AddClientCommands(CLI::App& app, int& exit_code);

}  // namespace svpc::cli
