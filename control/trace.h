#pragma once
// The trace engine behind `svpc trace` and svpcd's GET /svpc/v1/trace (cli/cmd_trace.h is the
// command). `svpc trace CONFIG_DIR --source INSTANCE|IP --destination INSTANCE|IP [--protocol
// tcp|udp|icmp|N]
// [--port N] [--source-port N] [--round-trip] [--format=json] [-- EAL options]`: one synthetic
// packet through the engine's own pipeline (dataplane::Pipeline, the code svpcd and replay run,
// with a fresh connection table), printed as the steps of a Connectivity Tests trace:
// START_FROM_INSTANCE / START_FROM_PRIVATE_NETWORK / START_FROM_INTERNET,
// APPLY_EGRESS_FIREWALL_RULE, APPLY_ROUTE, ARRIVE_AT_INSTANCE / ARRIVE_AT_VPN_TUNNEL /
// ARRIVE_AT_INTERCONNECT_ATTACHMENT, APPLY_INGRESS_FIREWALL_RULE, then DELIVER, FORWARD or DROP
// with its cause. One trace per ECMP path; --round-trip adds each path's reply, which the
// connection table of its forward trace lets through (TRACKING_STATE). JSON: the Network
// Management API's ReachabilityDetails {traces: [Trace {endpointInfo, steps: [Step]}]}.

#include <boost/json.hpp>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "config/model.h"
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
}  // namespace svpc::control
