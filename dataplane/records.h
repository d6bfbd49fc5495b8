#pragma once
// The records the engine's runs write, in one place for svpcd (its --counters-file, firewall and
// flow log files) and `svpc replay` (counters.json, firewall.jsonl, flows.jsonl): neither borrows
// the other's formats. Each takes the snapshot the counters or events were produced with.

#include <string>

#include "dataplane/counters.h"
#include "dataplane/firewall_log.h"
#include "dataplane/flow_log.h"
#include "dataplane/snapshot.h"

namespace svpc::dataplane {

// counters.json: {"packets", "ports": {NAME: {rx, tx}}, "verdicts": {...}, "drops": {CAUSE: n},
// "firewall_rules": {"network:NET/firewall:NAME": decisions}}. TX_FAILED drops happen after
// the pipeline's verdict (a full queue), so they are not in "verdicts".
std::string CountersJson(const Counters& counters, const Snapshot& snap);

// One Firewall Rules Logging record as `gcloud logging read --format=json` shows an entry:
// {"logName", "timestamp", "jsonPayload": {connection, disposition, rule_details, instance, vpc,
// remote_instance, remote_vpc}}. `snap` must be the snapshot the event was produced with.
std::string FirewallLogRecordJson(const Snapshot& snap, const LogEvent& event);

// One VPC Flow Logs record as `gcloud logging read --format=json` shows it: logName
// .../compute.googleapis.com%2Fvpc_flows, timestamp, jsonPayload {connection, reporter SRC|DEST,
// bytes_sent, packets_sent, start_time, end_time, src_instance, dest_instance (project_id,
// vm_name, region, zone), src_vpc, dest_vpc (project_id, vpc_name, subnetwork_name)}.
std::string FlowLogRecordJson(const Snapshot& snap, const FlowRecord& r);

}  // namespace svpc::dataplane
