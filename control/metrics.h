#pragma once
// svpcd's metrics in the Prometheus text format (served at /metrics by the API server):
// `svpc_` prefix, counters ending in `_total`, base units (packets, bytes, entries).
//   svpc_port_received_packets_total{port}      svpc_port_transmitted_packets_total{port}
//   svpc_packets_total{verdict}                  svpc_dropped_packets_total{cause}
//   svpc_routed_packets_total{kind}              (subnet, static, dynamic, peering)
//   svpc_firewall_rule_hits_total{network,rule}
//   svpc_firewall_policy_rule_hits_total{policy,priority} svpc_conntrack_entries,
//   svpc_conntrack_capacity_entries, svpc_workers (gauges) svpc_bgp_session_up{router,peer} (1
//   Established, else 0), svpc_bgp_learned_prefixes{router,peer}
//   svpc_billing_egress_packets_total{project,kind}, svpc_billing_egress_bytes_total{project,kind}
//   svpc_configuration_generation (gauge)

#include <cstdint>
#include <string>
#include <vector>

#include "control/cloud_router.h"
#include "dataplane/counters.h"
#include "dataplane/snapshot.h"

namespace svpc::control {

struct MetricsInput {
  const dataplane::Counters* counters = nullptr;  // every worker's, added up
  const dataplane::Snapshot* snap = nullptr;      // the current one (read on the control thread)
  uint64_t conntrack_entries = 0;
  uint64_t conntrack_capacity = 0;
  uint32_t workers = 1;
  std::vector<PeerReport> bgp;
};

std::string PrometheusText(const MetricsInput& in);

}  // namespace svpc::control
