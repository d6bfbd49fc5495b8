#pragma once
// `svpc netns-plan CONFIG_DIR`: what scripts/tap-netns.sh needs to put each instance NIC wired
// to a TAP port into its own network namespace, one line per NIC:
//   IFACE NAMESPACE IP GATEWAY MAC MTU VLAN|-
// The namespace is svpc-PROJECT-INSTANCE; the MAC is the testbed's, or GCP's 42:01:<ip>.

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace svpc::cli {

int RunNetnsPlan(const std::string& config_dir, std::ostream& out, std::ostream& err);
void AddNetnsPlanCommand(CLI::App& app, int& exit_code);

}  // namespace svpc::cli
