#pragma once
// svpcd: the engine as a daemon on the testbed's ports. The main thread runs a Boost.Asio
// io_context (signals; later the management API and BGP); one worker lcore polls the ports.
//   SIGHUP          re-read CONFIG_DIR, merge the API's changes (STATE_DIR/api-changes.json)
//                   over it, validate, compile, publish atomically (RCU); an invalid
//                   configuration is logged and the running one keeps serving. Port changes
//                   need a restart and are rejected.
//   SIGINT/SIGTERM  stop the worker, close the ports, write the counters file, exit 0.
// Cloud Routers listed in testbed.json's cloudRouters run their BGP sessions on the same
// io_context (control/cloud_router.h); learned routes change the running route tables in place.

#include <string>
#include <vector>

namespace svpc::control {

struct DaemonOptions {
  std::string config_dir;
  std::string log_file;           // empty = stderr only
  std::string counters_file;      // written on stop and every `counters_interval_s`
  std::string firewall_log_file;  // Firewall Rules Logging records (JSON lines); empty = off
  std::string bgp_status_file;    // Cloud Router sessions and routes (JSON), on every change
  std::string flow_log_file;      // VPC Flow Logs records (JSON lines); empty = off
  // The control API (api/README.md): ADDRESS:PORT, empty = off. A non-loopback address is
  // refused unless api_allow_remote.
  std::string api_listen = "127.0.0.1:9180";
  bool api_allow_remote = false;
  // --api given explicitly: not being able to listen stops svpcd. The default address only
  // warns, so a second daemon on the machine (or a busy port) still serves its data plane.
  bool api_explicit = false;
  std::string audit_log_file;  // the API's audit log (JSON lines); empty = none
  // Where the API's changes are kept (api/api_state.h, api-changes.json); empty =
  // CONFIG_DIR/.svpcd-state (the loader skips dot-directories).
  std::string state_dir;
  unsigned counters_interval_s = 5;
  // Worker lcores. The connection table capacity is split equally among them (RSS pins a flow
  // to one worker, whose table alone tracks it).
  uint32_t workers = 1;
  std::vector<std::string> eal_args;
  uint32_t conntrack_capacity = 1'000'000;
  double idle_timeout_s = 600;
  std::string on_rule_change = "continue";
};

int RunDaemon(const DaemonOptions& options);

}  // namespace svpc::control
