#include "pcap/replay.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/progress.h"
#include "dataplane/pipeline.h"
#include "pcap/pcap_file.h"

namespace svpc::pcap {
namespace {

using dataplane::PacketMeta;
using dataplane::Snapshot;

// Room for jumbo frames; larger ones are recorded as malformed without entering the pipeline.
constexpr uint16_t kMbufDataRoom = 9216 + RTE_PKTMBUF_HEADROOM;
constexpr uint32_t kPoolSize = 4095;
// VPC Flow Logs: flows aggregated at once, records in flight, slots examined per burst.
constexpr uint32_t kFlowLogFlows = 65536;
constexpr uint32_t kFlowLogRing = 65536;
constexpr uint32_t kFlowLogSweep = 256;

struct Queued {
  uint64_t ts_ns;
  uint32_t input;  // argument index
  uint32_t index;  // 1-based position in its file
  uint16_t port;   // snapshot port index
  std::vector<uint8_t> bytes;
};

const char* ProtocolName(uint8_t p) {
  switch (p) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 132:
      return "sctp";
    default:
      return nullptr;
  }
}

std::string FlowText(const PacketMeta& m) {
  if (m.l3 == dataplane::L3Kind::kArp) {
    return (m.arp_op == 1 ? "arp who-has " : "arp reply ") + FormatIpv4(m.dst) + " tell " +
           FormatIpv4(m.src);
  }
  if (m.l3 != dataplane::L3Kind::kIpv4) return "(not parsed)";
  const char* proto = ProtocolName(m.protocol);
  std::string p = proto ? proto : "proto " + std::to_string(m.protocol);
  if (m.has_ports) {
    return FormatIpv4(m.src) + ":" + std::to_string(m.src_port) + " > " + FormatIpv4(m.dst) + ":" +
           std::to_string(m.dst_port) + " " + p;
  }
  return FormatIpv4(m.src) + " > " + FormatIpv4(m.dst) + " " + p;
}

// How verdicts and counters name a firewall policy rule: the policy's report name and the rule's
// priority (unique within its policy), e.g. "global/firewallPolicies/net-fw priority 1000".
std::string PolicyRuleName(const Snapshot& snap, uint32_t policy, int32_t rule) {
  const firewall::Policy& p = snap.policies.policy(policy);
  return p.name + " priority " + std::to_string(p.rules[rule].priority);
}

class RecordNames {
 public:
  explicit RecordNames(const Snapshot& snap) : snap_(snap) {}

  boost::json::value Network(const PacketMeta& m) const {
    if (m.network < 0) return nullptr;
    return boost::json::string(snap_.networks[m.network].ref);
  }
  boost::json::value Instance(int32_t nic) const {
    if (nic < 0) return nullptr;
    return boost::json::string(snap_.nics[nic].instance_ref);
  }
  boost::json::value Rule(const PacketMeta& m, int32_t rule, uint32_t policy, bool egress) const {
    if (rule == dataplane::kNotEvaluated) return nullptr;
    if (policy != firewall::kNoPolicy)
      return boost::json::string(PolicyRuleName(snap_, policy, rule));
    if (rule == dataplane::kTrackingState) return boost::json::string("TRACKING_STATE");
    if (rule == dataplane::kImplied) {
      return boost::json::string(firewall::ImpliedRuleName(egress ? firewall::Direction::kEgress
                                                                  : firewall::Direction::kIngress));
    }
    // Ingress rules belong to the receiving NIC's network; in one VPC that is m.network.
    int32_t net = egress || m.dst_nic < 0 ? m.network : snap_.nics[m.dst_nic].network;
    return boost::json::string(snap_.networks[net].firewall.rule(rule).name);
  }
  boost::json::value Route(const PacketMeta& m) const {
    if (m.route < 0) return nullptr;
    return boost::json::string(snap_.networks[m.network].routes->route(m.route).name);
  }
  boost::json::value Port(uint16_t port) const {
    if (port == dataplane::kNoPort || port >= snap_.port_names.size()) return nullptr;
    return boost::json::string(snap_.port_names[port]);
  }

 private:
  const Snapshot& snap_;
};

std::string Text(const boost::json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string("-");
}

}  // namespace

bool RunReplay(const Snapshot& snap, const std::vector<ReplayInput>& inputs,
               const std::string& out_dir, const ReplayOptions& options, ReplaySummary* summary,
               std::string* error) {
  namespace fs = std::filesystem;
  std::map<std::string, uint16_t> port_index;
  for (uint16_t i = 0; i < snap.port_names.size(); ++i) port_index[snap.port_names[i]] = i;

  std::vector<Queued> queue;
  for (uint32_t in = 0; in < inputs.size(); ++in) {
    auto port = port_index.find(inputs[in].port);
    if (port == port_index.end()) {
      *error = "--pcap " + inputs[in].port + "=" + inputs[in].path + ": no testbed port named '" +
               inputs[in].port + "'";
      return false;
    }
    std::string read_error;
    std::vector<Packet> packets = ReadAll(inputs[in].path, &read_error);
    if (!read_error.empty()) {
      *error = read_error;
      return false;
    }
    for (uint32_t i = 0; i < packets.size(); ++i) {
      queue.push_back(
          Queued{packets[i].ts_ns, in, i + 1, port->second, std::move(packets[i].bytes)});
    }
  }
  // Inputs were appended in argument order and file order, so a stable sort by time alone
  // gives the documented tie-breaking.
  std::stable_sort(queue.begin(), queue.end(),
                   [](const Queued& a, const Queued& b) { return a.ts_ns < b.ts_ns; });

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    *error = "cannot create " + out_dir + ": " + ec.message();
    return false;
  }
  std::vector<std::unique_ptr<PcapWriter>> writers;
  for (const std::string& name : snap.port_names) {
    std::string path = (fs::path(out_dir) / (name + ".pcap")).string();
    auto writer = PcapWriter::Open(path, error);
    if (!writer) return false;
    summary->output_files.push_back(path);
    writers.push_back(std::move(writer));
  }
  std::string verdicts_path = (fs::path(out_dir) / "verdicts.jsonl").string();
  std::ofstream verdicts(verdicts_path);
  if (!verdicts) {
    *error = "cannot write " + verdicts_path;
    return false;
  }

  static uint32_t pool_serial = 0;
  std::string pool_name = "svpc_replay_" + std::to_string(pool_serial++);
  rte_mempool* pool =
      rte_pktmbuf_pool_create(pool_name.c_str(), kPoolSize, 0, 0, kMbufDataRoom, SOCKET_ID_ANY);
  if (pool == nullptr) {
    *error = "cannot allocate the replay mbuf pool";
    return false;
  }

  // The engine's state during the replay: one worker's connection table, clocked by the
  // packet timestamps.
  std::unique_ptr<firewall::ConnTrack> conntrack =
      firewall::ConnTrack::Create(options.conntrack, error);
  if (!conntrack) {
    rte_mempool_free(pool);
    return false;
  }
  std::unique_ptr<dataplane::FirewallLog> firewall_log =
      dataplane::FirewallLog::Create(65536, error);
  if (!firewall_log) {
    rte_mempool_free(pool);
    return false;
  }
  std::string firewall_path = (fs::path(out_dir) / "firewall.jsonl").string();
  std::ofstream firewall_records(firewall_path);
  if (!firewall_records) {
    *error = "cannot write " + firewall_path;
    rte_mempool_free(pool);
    return false;
  }
  dataplane::LogEvent events[256];
  auto drain_log = [&] {
    for (uint32_t n; (n = firewall_log->Drain(events, 256)) > 0;) {
      for (uint32_t i = 0; i < n; ++i) {
        firewall_records << FirewallLogRecordJson(snap, events[i]) << '\n';
      }
    }
  };
  // VPC Flow Logs: flows.jsonl, records in the order their intervals end.
  std::unique_ptr<dataplane::FlowLog> flow_log =
      dataplane::FlowLog::Create(kFlowLogFlows, kFlowLogRing, error);
  if (!flow_log) {
    rte_mempool_free(pool);
    return false;
  }
  std::string flows_path = (fs::path(out_dir) / "flows.jsonl").string();
  std::ofstream flow_records(flows_path);
  if (!flow_records) {
    *error = "cannot write " + flows_path;
    rte_mempool_free(pool);
    return false;
  }
  dataplane::FlowRecord flow_batch[256];
  auto drain_flows = [&] {
    for (uint32_t n; (n = flow_log->Drain(flow_batch, 256)) > 0;) {
      for (uint32_t i = 0; i < n; ++i) {
        flow_records << FlowLogRecordJson(snap, flow_batch[i]) << '\n';
      }
    }
  };
  dataplane::Pipeline pipeline(conntrack.get(), options.on_rule_change, firewall_log.get());
  pipeline.set_flow_log(flow_log.get());
  RecordNames names(snap);
  std::map<std::string, size_t> flow_rows;
  rte_mbuf* pkts[dataplane::kBurstSize];
  PacketMeta meta[dataplane::kBurstSize];
  const Queued* items[dataplane::kBurstSize];

  auto record = [&](const Queued& q, const PacketMeta& m, const rte_mbuf* out) {
    boost::json::object o;
    o["in_port"] = snap.port_names[q.port];
    o["packet"] = q.index;
    o["time_ns"] = q.ts_ns;
    o["verdict"] = dataplane::VerdictName(m.verdict);
    o["cause"] = m.verdict == dataplane::Verdict::kDrop
                     ? boost::json::value(dataplane::DropCauseName(m.cause))
                     : boost::json::value(nullptr);
    o["network"] = names.Network(m);
    o["src_instance"] = names.Instance(m.src_nic);
    o["dst_instance"] = names.Instance(m.dst_nic);
    o["egress_rule"] = names.Rule(m, m.egress_rule, m.egress_policy, true);
    o["ingress_rule"] = names.Rule(m, m.ingress_rule, m.ingress_policy, false);
    o["route"] = names.Route(m);
    o["out_port"] = m.verdict == dataplane::Verdict::kDrop ? boost::json::value(nullptr)
                                                           : names.Port(m.out_port);
    o["flow"] = FlowText(m);
    verdicts << boost::json::serialize(o) << '\n';

    if (out != nullptr) {
      writers[m.out_port]->Write(q.ts_ns, rte_pktmbuf_mtod(out, const uint8_t*),
                                 rte_pktmbuf_data_len(out));
      summary->counters.port_tx[m.out_port]++;
    }
    FlowRow row{FlowText(m),      snap.port_names[q.port], Text(o["verdict"]),
                Text(o["cause"]), Text(o["egress_rule"]),  Text(o["ingress_rule"]),
                Text(o["route"]), Text(o["out_port"]),     0};
    std::string key = row.flow + "|" + row.in_port + "|" + row.verdict + "|" + row.cause + "|" +
                      row.egress_rule + "|" + row.ingress_rule + "|" + row.route + "|" +
                      row.out_port;
    auto [it, inserted] = flow_rows.emplace(key, summary->flows.size());
    if (inserted) summary->flows.push_back(row);
    summary->flows[it->second].packets++;
    summary->packets++;
  };

  Progress progress("replay", queue.size(), "packets");
  size_t next = 0;
  while (next < queue.size()) {
    progress.Update(next);
    uint16_t n = 0;
    const uint16_t port = queue[next].port;
    while (next < queue.size() && n < dataplane::kBurstSize && queue[next].port == port) {
      const Queued& q = queue[next++];
      if (q.bytes.size() > kMbufDataRoom - RTE_PKTMBUF_HEADROOM) {
        PacketMeta oversized;
        oversized.in_port = q.port;
        oversized.Drop(dataplane::DropCause::kMalformedPacket);
        // Keep processing order: flush the burst gathered so far first.
        if (n > 0) {
          --next;
          break;
        }
        summary->counters.port_rx[q.port]++;
        summary->counters.verdicts[static_cast<int>(dataplane::Verdict::kDrop)]++;
        summary->counters.drops[static_cast<int>(dataplane::DropCause::kMalformedPacket)]++;
        record(q, oversized, nullptr);
        continue;
      }
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      if (m == nullptr) {
        *error = "replay mbuf pool exhausted";
        rte_mempool_free(pool);
        return false;
      }
      // A zero-length frame has nothing to copy (memcpy from an empty vector's null data() is
      // undefined behaviour: UBSan, scripts/test-sanitized.sh).
      if (!q.bytes.empty()) {
        std::memcpy(rte_pktmbuf_append(m, q.bytes.size()), q.bytes.data(), q.bytes.size());
      }
      pkts[n] = m;
      items[n] = &q;
      meta[n] = PacketMeta{};
      meta[n].in_port = q.port;
      meta[n].time_ns = q.ts_ns;
      ++n;
    }
    if (n == 0) continue;
    dataplane::Burst burst{pkts, meta, n};
    pipeline.Process(snap, burst, summary->counters);
    for (uint16_t i = 0; i < n; ++i) {
      bool sent =
          meta[i].verdict != dataplane::Verdict::kDrop && meta[i].out_port != dataplane::kNoPort;
      record(*items[i], meta[i], sent ? pkts[i] : nullptr);
      rte_pktmbuf_free(pkts[i]);
    }
    drain_log();
    // Intervals the packet clock has passed end now, as a daemon's idle sweeps end them.
    flow_log->Expire(meta[n - 1].time_ns, kFlowLogSweep);
    drain_flows();
  }
  flow_log->FlushAll();  // the intervals still open when the capture ends
  drain_flows();
  if (flow_log->lost() > 0) {
    std::fprintf(stderr, "warning: %llu flow log record(s) lost (table or ring full)\n",
                 static_cast<unsigned long long>(flow_log->lost()));
  }
  flow_records.close();
  if (!flow_records) {
    *error = "cannot write " + flows_path;
    rte_mempool_free(pool);
    return false;
  }
  rte_mempool_free(pool);
  firewall_records.close();
  if (!firewall_records) {
    *error = "cannot write " + firewall_path;
    return false;
  }

  for (auto& w : writers) {
    if (!w->Close()) {
      *error = w->error();
      return false;
    }
  }
  verdicts.close();

  std::string counters_path = (fs::path(out_dir) / "counters.json").string();
  std::ofstream counters_file(counters_path);
  counters_file << CountersJson(summary->counters, snap) << '\n';
  if (!counters_file) {
    *error = "cannot write " + counters_path;
    return false;
  }
  summary->output_files.push_back(verdicts_path);
  summary->output_files.push_back(firewall_path);
  summary->output_files.push_back(counters_path);
  return true;
}

static boost::json::object BillingJson(const dataplane::Snapshot& snap) {
  static constexpr const char* kKinds[dataplane::kEgressKindCount] = {
      "to_instances", "to_internet", "via_vpn_gateway", "via_interconnect"};
  boost::json::object billing;
  for (uint32_t p = 0; p < snap.billing_projects.size(); ++p) {
    boost::json::object project;
    uint64_t packets = 0, bytes = 0;
    for (uint32_t k = 0; k < dataplane::kEgressKindCount; ++k) {
      const dataplane::BillingCell c = snap.BillingTotal(p, static_cast<dataplane::EgressKind>(k));
      project[kKinds[k]] = {{"packets", c.packets}, {"bytes", c.bytes}};
      packets += c.packets;
      bytes += c.bytes;
    }
    project["egress_packets"] = packets;
    project["egress_bytes"] = bytes;
    billing[snap.billing_projects[p]] = std::move(project);
  }
  return billing;
}

std::string CountersJson(const dataplane::Counters& c, const dataplane::Snapshot& snap) {
  const std::vector<std::string>& port_names = snap.port_names;
  boost::json::object counters;
  struct JsonCounters {
    boost::json::object ports, verdicts, drops, routed;
    uint64_t packets = 0;
    void Port(const std::string& name, uint64_t rx, uint64_t tx) {
      ports[name] = {{"rx", rx}, {"tx", tx}};
    }
    void Verdict(const char* name, uint64_t n) {
      verdicts[name] = n;
      packets += n;
    }
    void Drop(const char* cause, uint64_t n) { drops[cause] = n; }
    void Routed(const char* kind, uint64_t n) { routed[kind] = n; }
  } j;
  dataplane::VisitCounters(c, port_names, j);
  counters["ports"] = std::move(j.ports);
  counters["packets"] = j.packets;
  counters["verdicts"] = std::move(j.verdicts);
  counters["drops"] = std::move(j.drops);
  counters["routed"] = std::move(j.routed);
  boost::json::object rules;
  for (const dataplane::NetworkInfo& net : snap.networks) {
    for (uint32_t r = 0; r < net.firewall.size(); ++r) {
      rules["network:" + net.name + "/firewall:" + net.firewall.rule(r).name] =
          snap.RuleHits(net.rule_hit_base + r);
    }
  }
  counters["firewall_rules"] = rules;
  boost::json::object policy_rules;
  for (uint32_t p = 0; p < snap.policies.size(); ++p) {
    const firewall::Policy& policy = snap.policies.policy(p);
    for (uint32_t r = 0; r < policy.rules.size(); ++r) {
      policy_rules[snap.policy_refs[p] + " priority " + std::to_string(policy.rules[r].priority)] =
          snap.RuleHits(snap.policy_rule_hit_base[p] + r);
    }
  }
  counters["firewall_policy_rules"] = policy_rules;
  counters["billing"] = BillingJson(snap);
  return boost::json::serialize(counters);
}

namespace {

const char* ProtocolUpper(int protocol) {
  switch (protocol) {
    case -1:
      return "ALL";
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 132:
      return "SCTP";
    case 50:
      return "ESP";
    case 51:
      return "AH";
    case 4:
      return "IPIP";
    default:
      return nullptr;
  }
}

// projects/P/zones/Z/instances/I -> {project_id, vm_name, region, zone}
boost::json::object InstanceDetails(const dataplane::NicInfo& nic) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= nic.instance_ref.size()) {
    size_t slash = nic.instance_ref.find('/', start);
    if (slash == std::string::npos) slash = nic.instance_ref.size();
    parts.push_back(nic.instance_ref.substr(start, slash - start));
    start = slash + 1;
  }
  boost::json::object o;
  if (parts.size() == 6) {
    const std::string& zone = parts[3];
    o["project_id"] = parts[1];
    o["vm_name"] = parts[5];
    o["region"] = zone.substr(0, zone.rfind('-'));
    o["zone"] = zone;
  }
  return o;
}

boost::json::object VpcDetails(const dataplane::Snapshot& snap, const dataplane::NicInfo& nic) {
  const dataplane::NetworkInfo& net = snap.networks[nic.network];
  return {{"project_id", net.project},
          {"vpc_name", net.name},
          {"subnetwork_name", nic.subnetwork_name}};
}

boost::json::array Names(const std::vector<uint32_t>& ids, const std::vector<std::string>& names) {
  boost::json::array out;
  for (uint32_t id : ids) out.emplace_back(id < names.size() ? names[id] : std::string("?"));
  return out;
}

std::string Rfc3339(uint64_t ns) {
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%09lluZ",
                static_cast<unsigned long long>(ns % 1'000'000'000));
  return std::string(buf) + frac;
}

boost::json::array IpPortInfo(const std::vector<firewall::ProtocolMatch>& protocols) {
  boost::json::array ip_port_info;
  for (const firewall::ProtocolMatch& m : protocols) {
    boost::json::object info;
    const char* name = ProtocolUpper(m.protocol);
    info["ip_protocol"] = name != nullptr ? std::string(name) : std::to_string(m.protocol);
    if (!m.ports.empty()) {
      boost::json::array ranges;
      for (const firewall::PortRange& r : m.ports) {
        ranges.emplace_back(r.first == r.last
                                ? std::to_string(r.first)
                                : std::to_string(r.first) + "-" + std::to_string(r.last));
      }
      info["port_range"] = ranges;
    }
    ip_port_info.push_back(info);
  }
  return ip_port_info;
}

boost::json::array Ranges(const std::vector<Prefix>& ranges) {
  boost::json::array out;
  for (const Prefix& p : ranges) out.emplace_back(FormatPrefix(p));
  return out;
}

// rule_details of a VPC firewall rule (the legacy record: tags and service accounts too).
boost::json::object VpcRuleDetails(const dataplane::Snapshot& snap,
                                   const dataplane::NetworkInfo& net, const firewall::Rule& rule) {
  const bool egress = rule.direction == firewall::Direction::kEgress;
  return {
      {"reference", "network:" + net.name + "/firewall:" + rule.name},
      {"priority", rule.priority},
      {"action", rule.action == firewall::Action::kAllow ? "ALLOW" : "DENY"},
      {"direction", egress ? "EGRESS" : "INGRESS"},
      {"ip_port_info", IpPortInfo(rule.protocols)},
      {"source_range", Ranges(rule.source_ranges)},
      {"destination_range", Ranges(rule.destination_ranges)},
      {"source_tag", Names(rule.source_tags, snap.tag_names)},
      {"target_tag", Names(rule.target_tags, snap.tag_names)},
      {"source_service_account", Names(rule.source_service_accounts, snap.service_account_names)},
      {"target_service_account", Names(rule.target_service_accounts, snap.service_account_names)}};
}

// rule_details of a firewall policy rule: GCP's policy record carries no legacy fields (network
// tags, service accounts). The reference is the compiler's (NetworkInfo::policy_log_references).
boost::json::object PolicyRuleDetails(const dataplane::NetworkInfo& net,
                                      const dataplane::Snapshot& snap, uint32_t policy,
                                      const firewall::PolicyRule& rule) {
  std::string reference = "firewallPolicy:" + snap.policy_refs[policy];
  for (const auto& [p, ref] : net.policy_log_references) {
    if (p == policy) reference = ref;
  }
  const bool egress = rule.direction == firewall::Direction::kEgress;
  return {{"reference", reference},
          {"priority", rule.priority},
          {"action", rule.action == firewall::PolicyAction::kAllow ? "ALLOW" : "DENY"},
          {"direction", egress ? "EGRESS" : "INGRESS"},
          {"ip_port_info", IpPortInfo(rule.protocols)},
          {"source_range", Ranges(rule.source_ranges)},
          {"destination_range", Ranges(rule.destination_ranges)}};
}

}  // namespace

std::string FirewallLogRecordJson(const dataplane::Snapshot& snap, const dataplane::LogEvent& e) {
  const dataplane::NetworkInfo& net = snap.networks[e.network];
  boost::json::object payload;
  payload["connection"] = {{"src_ip", FormatIpv4(e.src)},
                           {"src_port", e.src_port},
                           {"dest_ip", FormatIpv4(e.dst)},
                           {"dest_port", e.dst_port},
                           {"protocol", e.protocol}};
  payload["disposition"] = e.allowed ? "ALLOWED" : "DENIED";
  payload["rule_details"] =
      e.policy == firewall::kNoPolicy
          ? VpcRuleDetails(snap, net, net.firewall.rule(e.rule))
          : PolicyRuleDetails(net, snap, e.policy, snap.policies.policy(e.policy).rules[e.rule]);
  if (e.nic >= 0) {
    payload["instance"] = InstanceDetails(snap.nics[e.nic]);
    payload["vpc"] = VpcDetails(snap, snap.nics[e.nic]);
  }
  if (e.remote_nic >= 0) {
    payload["remote_instance"] = InstanceDetails(snap.nics[e.remote_nic]);
    payload["remote_vpc"] = VpcDetails(snap, snap.nics[e.remote_nic]);
  }
  boost::json::object entry;
  entry["logName"] = "projects/" + net.project + "/logs/compute.googleapis.com%2Ffirewall";
  entry["timestamp"] = Rfc3339(e.time_ns);
  entry["jsonPayload"] = payload;
  return boost::json::serialize(entry);
}

std::string FlowLogRecordJson(const dataplane::Snapshot& snap, const dataplane::FlowRecord& r) {
  const dataplane::NetworkInfo& net = snap.networks[r.network];
  const bool src_report = r.reporter == dataplane::FlowReporter::kSrc;
  const int32_t src_nic = src_report ? r.nic : r.remote_nic;
  const int32_t dst_nic = src_report ? r.remote_nic : r.nic;
  boost::json::object payload;
  payload["connection"] = {{"src_ip", FormatIpv4(r.src)},
                           {"src_port", r.src_port},
                           {"dest_ip", FormatIpv4(r.dst)},
                           {"dest_port", r.dst_port},
                           {"protocol", r.protocol}};
  payload["reporter"] = src_report ? "SRC" : "DEST";
  // Cloud Logging writes int64 fields as strings.
  payload["bytes_sent"] = std::to_string(r.bytes);
  payload["packets_sent"] = std::to_string(r.packets);
  payload["start_time"] = Rfc3339(r.start_ns);
  payload["end_time"] = Rfc3339(r.end_ns);
  if (src_nic >= 0) {
    payload["src_instance"] = InstanceDetails(snap.nics[src_nic]);
    payload["src_vpc"] = VpcDetails(snap, snap.nics[src_nic]);
  }
  if (dst_nic >= 0) {
    payload["dest_instance"] = InstanceDetails(snap.nics[dst_nic]);
    payload["dest_vpc"] = VpcDetails(snap, snap.nics[dst_nic]);
  }
  boost::json::object entry;
  // Flow logs of a shared subnet land in the host project's logs (where the subnet lives;
  // kFlowLogsInHostProject, unconfirmed for Shared VPC).
  entry["logName"] = "projects/" + net.project + "/logs/compute.googleapis.com%2Fvpc_flows";
  entry["timestamp"] = Rfc3339(r.end_ns);
  entry["jsonPayload"] = payload;
  return boost::json::serialize(entry);
}

std::string FormatFlowTable(const ReplaySummary& summary) {
  const std::vector<std::string> header = {
      "FLOW", "IN", "PKTS", "VERDICT", "CAUSE", "EGRESS RULE", "ROUTE", "INGRESS RULE", "OUT"};
  std::vector<std::vector<std::string>> rows = {header};
  for (const FlowRow& f : summary.flows) {
    rows.push_back({f.flow, f.in_port, std::to_string(f.packets), f.verdict, f.cause, f.egress_rule,
                    f.route, f.ingress_rule, f.out_port});
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::ostringstream out;
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) {
      out << r[c];
      if (c + 1 < r.size()) out << std::string(width[c] - r[c].size() + 2, ' ');
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace svpc::pcap
