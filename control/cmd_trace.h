#pragma once
// `svpc trace CONFIG_DIR --source INSTANCE|IP --destination INSTANCE|IP [--protocol tcp|udp|icmp|N]
// [--port N] [--source-port N] [--round-trip] [--format=json] [-- EAL options]`: one synthetic
// packet through the engine's own pipeline (dataplane::Pipeline, the code svpcd and replay run,
// with a fresh connection table), printed as the steps of a Connectivity Tests trace:
// START_FROM_INSTANCE / START_FROM_PRIVATE_NETWORK / START_FROM_INTERNET,
// APPLY_EGRESS_FIREWALL_RULE, APPLY_ROUTE, ARRIVE_AT_INSTANCE / ARRIVE_AT_VPN_TUNNEL /
// ARRIVE_AT_INTERCONNECT_ATTACHMENT, APPLY_INGRESS_FIREWALL_RULE, then DELIVER, FORWARD or DROP
// with its cause. One trace per ECMP path; --round-trip adds each path's reply, which the
// connection table of its forward trace lets through (TRACKING_STATE). JSON: the Network
// Management API's ReachabilityDetails {traces: [Trace {endpointInfo, steps: [Step]}]}.

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "control/model.h"

namespace svpc::control {

struct TraceCommand {
  std::string config_dir;
  std::string source;       // instance (NAME, ZONE/instances/NAME, reference) or an IPv4 address
  std::string destination;  // the same
  std::string protocol = "tcp";  // tcp, udp, icmp (echo request) or an IP protocol number
  uint16_t port = 80;            // destination port (tcp, udp)
  uint16_t source_port = 49152;
  bool round_trip = false;
  std::string format = "text";  // or "json"
  std::vector<std::string> eal_args;
};

// Compiles `config` and traces. Needs the DPDK EAL. Returns 0 when every forward trace ends in
// DELIVER or FORWARD, 3 when one ends in DROP, 1 when the configuration does not compile, 2 for
// bad arguments (unknown instance, address nowhere in the testbed, ...).
int PrintTrace(const Config& config, const TraceCommand& command, std::ostream& out,
               std::ostream& err);

// Loads the configuration, starts the EAL, PrintTrace.
int RunTraceCommand(const TraceCommand& command);

// Registers `trace` on `app`; `eal_args` are the options after `--` (split off by main).
void AddTraceCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args);

}  // namespace svpc::control
