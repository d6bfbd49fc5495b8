#pragma once
// svpcd's tables in DPDK telemetry, so `dpdk-telemetry.py -f FILE_PREFIX` shows them:
//   /svpc/ports       "PORT.rx" / "PORT.tx" packets per testbed port
//   /svpc/verdicts    packets per verdict;  /svpc/drops  packets per drop cause
//   /svpc/conntrack   live connections, capacity, workers
//   /svpc/firewall_rules  hits per VPC firewall rule ("network:NET/firewall:NAME", at most 256)
//   /svpc/billing     egress bytes per project
// Telemetry accepts names of letters, digits, '_' and '/': other characters answer as '_'
// ("vm-a.rx" -> "vm_a_rx"). Telemetry callbacks run on DPDK's telemetry thread, which may not read
// snapshots (RCU): the control thread publishes a copy with Update() (svpcd: every 200 ms) and the
// callbacks read it under a mutex.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace svpc::control {

struct TelemetryTables {
  std::vector<std::pair<std::string, uint64_t>> ports, verdicts, drops, conntrack, rules, billing;
};

// Registers the commands (once per process, after rte_eal_init). False when DPDK refuses.
bool RegisterTelemetry();
// Replaces the tables the commands answer with.
void UpdateTelemetry(TelemetryTables tables);

}  // namespace svpc::control
