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
#include "dataplane/records.h"
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
        firewall_records << dataplane::FirewallLogRecordJson(snap, events[i]) << '\n';
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
        flow_records << dataplane::FlowLogRecordJson(snap, flow_batch[i]) << '\n';
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
  counters_file << dataplane::CountersJson(summary->counters, snap) << '\n';
  if (!counters_file) {
    *error = "cannot write " + counters_path;
    return false;
  }
  summary->output_files.push_back(verdicts_path);
  summary->output_files.push_back(firewall_path);
  summary->output_files.push_back(counters_path);
  return true;
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