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

#include <boost/json.hpp>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "control/model.h"
#include "dataplane/snapshot.h"
#include "firewall/conntrack.h"

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
  // Without config_dir: ask a running svpcd (its API; $SVPC_API, $SVPC_TOKEN by default), which
  // traces on its live configuration and adds each flow's live connection-tracking state.
  std::string api;
  std::string token;
};

// Compiles `config` and traces. Needs the DPDK EAL. Returns 0 when every forward trace ends in
// DELIVER or FORWARD, 3 when one ends in DROP, 1 when the configuration does not compile, 2 for
// bad arguments (unknown instance, address nowhere in the testbed, ...).
int PrintTrace(const Config& config, const TraceCommand& command, std::ostream& out,
               std::ostream& err);

// The flow's live connection-tracking state in a running engine ({state, worker, initiator,
// idleSeconds}, or null when untracked); the daemon provides it for traces it runs.
using LiveStateFn = std::function<boost::json::value(const firewall::FlowTuple& flow)>;

// The traces of `command` on `snap` ({"traces": [...]}, the Network Management API's shape);
// `worker`: whose rule-hit slice the traced decisions count in (svpcd: kScratchWorker, none).
// `status` is set as PrintTrace returns it (0, 2 or 3); on 2 the report is empty and `err` says
// why. Needs the EAL (mbufs, a connection table per path).
boost::json::object TraceReport(const dataplane::Snapshot& snap, const TraceCommand& command,
                                uint32_t worker, const LiveStateFn& live_state, std::ostream& err,
                                int* status);
// The report as text, one line per step.
void PrintTraceReport(const boost::json::object& report, std::ostream& out);

// Loads the configuration, starts the EAL, PrintTrace.
int RunTraceCommand(const TraceCommand& command);

// Registers `trace` on `app`; `eal_args` are the options after `--` (split off by main).
void AddTraceCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args);

}  // namespace svpc::control
