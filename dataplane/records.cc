#include "dataplane/records.h"

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string_view>

#include "common/ip_protocol.h"

namespace svpc::dataplane {

namespace {

boost::json::object BillingJson(const dataplane::Snapshot& snap) {
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

}  // namespace

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

// "TCP", "ICMP", ... as the log records spell protocols; the number for unnamed ones.
std::string ProtocolUpper(int protocol) {
  const std::optional<std::string_view> name = IpProtocolName(protocol);
  if (!name) return std::to_string(protocol);
  std::string upper(*name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper;
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
    info["ip_protocol"] = ProtocolUpper(m.protocol);
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

}  // namespace svpc::dataplane
