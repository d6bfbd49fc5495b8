#include "control/trace.h"

#include <rte_eal.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "config/config_loader.h"
#include "control/compiler.h"
#include "control/eal_setup.h"
#include "dataplane/counters.h"
#include "dataplane/pipeline.h"
#include "firewall/conntrack.h"
#include "pcap/craft.h"

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

using dataplane::EndpointKind;
using dataplane::PacketMeta;
using dataplane::Snapshot;

// ECMP groups larger than this are not walked path by path (GCP allows 16 next hops).
constexpr uint32_t kMaxPaths = 64;

// Where a traced packet enters the fabric, and from which address.
struct TraceStart {
  int32_t endpoint = -1;
  int32_t nic = -1;  // an instance NIC, or -1 (a tunnel, an attachment, the internet)
  Ipv4 ip = 0;
};

// Instance NICs matching NAME, ZONE/instances/NAME or a full reference (nic0 preferred).
std::vector<int32_t> NicsOfInstance(const Snapshot& snap, const std::string& text) {
  std::vector<int32_t> found;
  std::set<std::string> instances;
  for (uint32_t n = 0; n < snap.nics.size(); ++n) {
    const std::string& ref = snap.nics[n].instance_ref;
    const std::string suffix = "/" + text;
    const bool by_name =
        text.find('/') == std::string::npos
            ? ref.size() > suffix.size() &&
                  ref.compare(ref.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                  ref.find("/instances/" + text) != std::string::npos
            : ref == text || (ref.size() > suffix.size() &&
                              ref.compare(ref.size() - suffix.size(), suffix.size(), suffix) == 0);
    if (!by_name) continue;
    instances.insert(ref);
    found.push_back(static_cast<int32_t>(n));
  }
  if (instances.size() > 1) return {-2};  // ambiguous
  std::stable_sort(found.begin(), found.end(), [&](int32_t a, int32_t b) {
    return (snap.nics[a].nic_name == "nic0") > (snap.nics[b].nic_name == "nic0");
  });
  return found;
}

// The address a --destination names.
std::optional<Ipv4> DestinationAddress(const Snapshot& snap, const std::string& text,
                                       std::ostream& err) {
  if (std::optional<Ipv4> ip = ParseIpv4(text)) return ip;
  std::vector<int32_t> nics = NicsOfInstance(snap, text);
  if (nics.empty() || nics[0] == -2) {
    err << "error: --destination: " << text
        << (nics.empty() ? " is neither an IPv4 address nor an instance"
                         : " names several instances; give ZONE/instances/NAME")
        << '\n';
    return std::nullopt;
  }
  return snap.nics[nics[0]].ip;
}

// Where a packet from --source enters: an instance's NIC where the testbed wires it, or for an
// address no instance holds, the way back to it (the tunnel or attachment the routes lead to,
// or the internet), as replies would leave.
std::optional<TraceStart> SourceOrigin(const Snapshot& snap, const std::string& text,
                                       std::ostream& err) {
  TraceStart origin;
  if (std::optional<Ipv4> ip = ParseIpv4(text)) {
    origin.ip = *ip;
    for (uint32_t n = 0; n < snap.nics.size(); ++n) {
      if (snap.nics[n].ip != *ip) continue;
      if (origin.nic >= 0 && snap.nics[origin.nic].network != snap.nics[n].network) {
        err << "error: --source: " << text << " is held by instances in several networks ("
            << snap.nics[origin.nic].instance_ref << ", " << snap.nics[n].instance_ref
            << "); give the instance\n";
        return std::nullopt;
      }
      if (origin.nic < 0) origin.nic = static_cast<int32_t>(n);
    }
    for (uint32_t n = 0; n < snap.nics.size() && origin.nic < 0; ++n) {
      if (snap.nics[n].Owns(*ip)) origin.nic = static_cast<int32_t>(n);
    }
    if (origin.nic < 0) {
      for (const dataplane::NetworkInfo& net : snap.networks) {
        if (!net.routes) continue;
        routing::RouteTable::Result hit =
            net.routes->Lookup(routing::RouteTable::kUntaggedView, *ip, 0);
        if (hit.route < 0) continue;
        const routing::Route& route = net.routes->route(hit.route);
        if (route.next_hop == routing::NextHopType::kVpnTunnel ||
            route.next_hop == routing::NextHopType::kInterconnectAttachment) {
          origin.endpoint = static_cast<int32_t>(route.target);
        } else if (route.next_hop == routing::NextHopType::kInternetGateway) {
          origin.endpoint = net.internet_endpoint;
        }
        if (origin.endpoint >= 0) break;
      }
      if (origin.endpoint < 0) {
        err << "error: --source: no instance holds " << text
            << ", and no route leads to it through a tunnel, an attachment or the internet that "
               "the testbed wires\n";
        return std::nullopt;
      }
      return origin;
    }
  } else {
    std::vector<int32_t> nics = NicsOfInstance(snap, text);
    if (nics.empty() || nics[0] == -2) {
      err << "error: --source: " << text
          << (nics.empty() ? " is neither an IPv4 address nor an instance"
                           : " names several instances; give ZONE/instances/NAME")
          << '\n';
      return std::nullopt;
    }
    origin.nic = nics[0];
    origin.ip = snap.nics[origin.nic].ip;
  }
  origin.endpoint = snap.nics[origin.nic].endpoint;
  if (origin.endpoint < 0) {
    err << "error: --source: " << snap.nics[origin.nic].instance_ref << " "
        << snap.nics[origin.nic].nic_name
        << " is not wired in the testbed (testbed.json endpoints); its packets enter nowhere\n";
    return std::nullopt;
  }
  return origin;
}

struct Flow {
  Ipv4 src = 0, dst = 0;
  uint16_t src_port = 0, dst_port = 0;
  std::string protocol;  // tcp, udp, icmp, or a number
  bool reply = false;
};

// The frame for `flow` as it arrives at endpoint `e` (its port, VLAN, and source MAC).
bool CraftFrame(const Snapshot& snap, int32_t e, const Flow& flow, std::vector<uint8_t>* frame,
                std::string* error) {
  const dataplane::EndpointInfo& endpoint = snap.endpoints[e];
  boost::json::object packet;
  packet["port"] = snap.port_names[endpoint.port];
  packet["time"] = 0;
  if (endpoint.vlan != dataplane::kNoVlan) packet["vlan"] = endpoint.vlan;
  if (endpoint.nic >= 0) packet["src_mac"] = FormatMac(endpoint.mac);
  boost::json::object ip{{"src", FormatIpv4(flow.src)}, {"dst", FormatIpv4(flow.dst)}};
  if (flow.protocol == "tcp") {
    packet["tcp"] = {
        {"sport", flow.src_port}, {"dport", flow.dst_port}, {"flags", flow.reply ? "SA" : "S"}};
  } else if (flow.protocol == "udp") {
    packet["udp"] = {{"sport", flow.src_port}, {"dport", flow.dst_port}};
  } else if (flow.protocol == "icmp") {
    packet["icmp"] = {{"type", flow.reply ? 0 : 8}, {"id", 1}, {"seq", 1}};
  } else {
    ip["proto"] = std::stoi(flow.protocol);
  }
  packet["ip"] = std::move(ip);
  boost::json::object doc{{"packets", boost::json::array{packet}}};
  pcap::CraftedTraffic traffic;
  if (!pcap::CraftTraffic(doc, traffic, error)) return false;
  *frame = traffic.begin()->second.at(0).bytes;
  return true;
}

// Runs `frame` (entering at `e`) through `pipeline` on ECMP path `path`.
bool RunPacket(const Snapshot& snap, const dataplane::Pipeline& pipeline, rte_mempool* pool,
               int32_t e, const std::vector<uint8_t>& frame, uint32_t path, PacketMeta* meta) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return false;
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (data == nullptr) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(data, frame.data(), frame.size());
  *meta = PacketMeta{};
  meta->in_port = snap.endpoints[e].port;
  meta->time_ns = 0;
  dataplane::Burst burst{&m, meta, 1};
  dataplane::Counters counters;
  pipeline.ProcessOnPath(snap, burst, counters, path);
  rte_pktmbuf_free(m);
  return true;
}

const char* NextHopType(const routing::Route& r) {
  switch (r.hop_kind) {
    case routing::NextHopKind::kNetwork:
      return "NEXT_HOP_NETWORK";
    case routing::NextHopKind::kGateway:
      return "NEXT_HOP_INTERNET_GATEWAY";
    case routing::NextHopKind::kInstance:
      return "NEXT_HOP_INSTANCE";
    case routing::NextHopKind::kIp:
      return "NEXT_HOP_IP";
    case routing::NextHopKind::kIlb:
      return "NEXT_HOP_ILB";
    case routing::NextHopKind::kVpnTunnel:
      return "NEXT_HOP_VPN_TUNNEL";
    case routing::NextHopKind::kInterconnectAttachment:
      return "NEXT_HOP_INTERCONNECT";
    case routing::NextHopKind::kPeering:
      return "NEXT_HOP_PEERING";
  }
  return "NEXT_HOP_TYPE_UNSPECIFIED";
}

const char* RouteType(const routing::Route& r) {
  switch (r.kind) {
    case routing::RouteKind::kSubnet:
      return "SUBNET";
    case routing::RouteKind::kStatic:
      return "STATIC";
    case routing::RouteKind::kDynamic:
      return "DYNAMIC";
    case routing::RouteKind::kPeering:
      return "PEERING_SUBNET";
  }
  return "ROUTE_TYPE_UNSPECIFIED";
}

std::string HostProject(const std::string& network_ref) {
  // projects/HOST/global/networks/NAME
  const size_t start = network_ref.find('/') + 1;
  return network_ref.substr(start, network_ref.find('/', start) - start);
}

boost::json::array Names(const std::vector<uint32_t>& ids, const std::vector<std::string>& names) {
  boost::json::array out;
  for (uint32_t id : ids) out.emplace_back(id < names.size() ? names[id] : std::to_string(id));
  return out;
}

// One trace's steps, from a packet's decisions, in the order the fabric takes them.
class StepWriter {
 public:
  explicit StepWriter(const Snapshot& snap) : snap_(snap) {}

  boost::json::array Steps(const PacketMeta& m, const TraceStart& origin) {
    steps_ = {};
    const dataplane::NetworkInfo* net = m.network >= 0 ? &snap_.networks[m.network] : nullptr;
    const std::string project = net != nullptr ? HostProject(net->ref) : "";
    // Start.
    if (origin.nic >= 0) {
      const dataplane::NicInfo& nic = snap_.nics[origin.nic];
      Add("START_FROM_INSTANCE",
          "Initial state: packet originating from a Compute Engine instance.", nic.project,
          "instance", Instance(nic));
    } else {
      const dataplane::EndpointInfo& e = snap_.endpoints[origin.endpoint];
      boost::json::object network;
      if (net != nullptr) {
        network = {{"displayName", net->name}, {"uri", net->ref}};
      }
      network["via"] = e.name;
      if (e.kind == EndpointKind::kInternet) {
        Add("START_FROM_INTERNET", "Initial state: packet originating from the internet.", project,
            "network", std::move(network));
      } else {
        Add("START_FROM_PRIVATE_NETWORK",
            "Initial state: packet originating from an on-premises network with internal source "
            "IP, through " +
                e.name + ".",
            project, "network", std::move(network));
      }
    }
    const bool dropped = m.verdict == dataplane::Verdict::kDrop;
    const bool firewall_drop = dropped && m.cause == dataplane::DropCause::kFirewallRule;
    // Egress firewall.
    if (m.egress_rule != dataplane::kNotEvaluated && m.src_nic >= 0) {
      const bool denied = firewall_drop && m.route < 0;
      Add("APPLY_EGRESS_FIREWALL_RULE", "Config checking state: verify egress firewall rule.",
          project, "firewall", Firewall(m, m.egress_rule, m.egress_policy, true, denied), denied);
      if (denied) return Drop(m, project);
    }
    // Route.
    if (m.route >= 0 && net != nullptr) {
      const routing::Route& r = net->routes->route(m.route);
      boost::json::object route{{"routeType", RouteType(r)},  {"nextHopType", NextHopType(r)},
                                {"displayName", r.name},      {"destIpRange", FormatPrefix(r.dest)},
                                {"nextHop", r.next_hop_name}, {"networkUri", net->ref},
                                {"priority", r.priority}};
      if (r.kind != routing::RouteKind::kSubnet && r.kind != routing::RouteKind::kDynamic) {
        route["uri"] = "projects/" + project + "/global/routes/" + r.name;
      }
      if (!r.tags.empty()) route["instanceTags"] = Names(r.tags, snap_.tag_names);
      Add("APPLY_ROUTE", "Config checking state: verify route.", project, "route",
          std::move(route));
    }
    if (dropped && !firewall_drop) return Drop(m, project);
    // Arrival.
    if (m.dst_nic >= 0) {
      const dataplane::NicInfo& nic = snap_.nics[m.dst_nic];
      Add("ARRIVE_AT_INSTANCE", "Forwarding state: arriving at a Compute Engine instance.",
          nic.project, "instance", Instance(nic));
      if (m.ingress_rule != dataplane::kNotEvaluated) {
        Add("APPLY_INGRESS_FIREWALL_RULE", "Config checking state: verify ingress firewall rule.",
            nic.project, "firewall",
            Firewall(m, m.ingress_rule, m.ingress_policy, false, firewall_drop), firewall_drop);
      }
      if (dropped) return Drop(m, nic.project);
      if (m.verdict == dataplane::Verdict::kDeliver) {
        Add("DELIVER", "Final state: packet delivered to the instance.", nic.project, "deliver",
            {{"target", "INSTANCE"}, {"resourceUri", nic.instance_ref}, {"port", Port(m)}});
      } else {
        // A next-hop instance (canIpForward): the fabric hands it the packet to forward.
        Add("FORWARD", "Final state: packet forwarded to the next-hop instance.", nic.project,
            "forward",
            {{"target", "INSTANCE"}, {"resourceUri", nic.instance_ref}, {"port", Port(m)}});
      }
      return std::move(steps_);
    }
    if (dropped) return Drop(m, project);
    if (m.verdict == dataplane::Verdict::kLocal) {
      Add("DELIVER",
          "Final state: packet consumed by the fabric (the metadata server, or the Cloud "
          "Router's BGP).",
          project, "deliver", {{"target", m.control_plane ? "CLOUD_ROUTER" : "METADATA_SERVER"}});
      return std::move(steps_);
    }
    const dataplane::EndpointInfo& out = snap_.endpoints[m.dst_endpoint];
    switch (out.kind) {
      case EndpointKind::kVpnTunnel:
        Add("ARRIVE_AT_VPN_TUNNEL", "Forwarding state: arriving at a Cloud VPN tunnel.", project,
            "vpnTunnel", {{"displayName", out.name}, {"uri", out.name}});
        Add("FORWARD", "Final state: packet forwarded to the on-premises network.", project,
            "forward", {{"target", "VPN_GATEWAY"}, {"resourceUri", out.name}, {"port", Port(m)}});
        break;
      case EndpointKind::kInterconnectAttachment:
        Add("ARRIVE_AT_INTERCONNECT_ATTACHMENT",
            "Forwarding state: arriving at an interconnect attachment.", project,
            "interconnectAttachment", {{"displayName", out.name}, {"uri", out.name}});
        Add("FORWARD", "Final state: packet forwarded to the on-premises network.", project,
            "forward", {{"target", "INTERCONNECT"}, {"resourceUri", out.name}, {"port", Port(m)}});
        break;
      case EndpointKind::kInternet:
        Add("DELIVER", "Final state: packet delivered to the internet.", project, "deliver",
            {{"target", "INTERNET"}, {"port", Port(m)}});
        break;
      default:
        Add("FORWARD", "Final state: packet forwarded.", project, "forward", {{"port", Port(m)}});
        break;
    }
    return std::move(steps_);
  }

 private:
  void Add(const char* state, const std::string& description, const std::string& project,
           const char* info_key, boost::json::object info, bool causes_drop = false) {
    boost::json::object step{{"description", description},
                             {"state", state},
                             {"causesDrop", causes_drop},
                             {"projectId", project}};
    step[info_key] = std::move(info);
    steps_.emplace_back(std::move(step));
  }

  boost::json::array Drop(const PacketMeta& m, const std::string& project) {
    Add("DROP", "Final state: packet dropped.", project, "drop",
        {{"cause", dataplane::DropCauseName(m.cause)}}, true);
    return std::move(steps_);
  }

  boost::json::value Port(const PacketMeta& m) const {
    if (m.out_port >= snap_.port_names.size()) return nullptr;
    return boost::json::string(snap_.port_names[m.out_port]);
  }

  boost::json::object Instance(const dataplane::NicInfo& nic) const {
    const std::string& ref = nic.instance_ref;
    boost::json::object o{{"displayName", ref.substr(ref.rfind('/') + 1)},
                          {"uri", ref},
                          {"interface", nic.nic_name},
                          {"networkUri", snap_.networks[nic.network].ref},
                          {"internalIp", FormatIpv4(nic.ip)},
                          {"networkTags", Names(nic.tags, snap_.tag_names)}};
    if (!nic.service_accounts.empty()) {
      o["serviceAccount"] = snap_.service_account_names[nic.service_accounts[0]];
    }
    return o;
  }

  boost::json::object Firewall(const PacketMeta& m, int32_t rule, uint32_t policy, bool egress,
                               bool denied) const {
    const char* direction = egress ? "EGRESS" : "INGRESS";
    const int32_t network = egress || m.dst_nic < 0 ? m.network : snap_.nics[m.dst_nic].network;
    const dataplane::NetworkInfo& net = snap_.networks[network];
    boost::json::object o{{"direction", direction}, {"networkUri", net.ref}};
    if (policy != firewall::kNoPolicy) {
      const firewall::Policy& p = snap_.policies.policy(policy);
      const firewall::PolicyRule& r = p.rules[rule];
      o["displayName"] = p.name + " priority " + std::to_string(r.priority);
      o["policy"] = p.name;
      o["policyUri"] = snap_.policy_refs[policy];
      o["priority"] = r.priority;
      o["action"] = r.action == firewall::PolicyAction::kDeny ? "DENY" : "ALLOW";
      o["firewallRuleType"] = p.kind == firewall::PolicyKind::kHierarchical
                                  ? "HIERARCHICAL_FIREWALL_POLICY_RULE"
                              : p.kind == firewall::PolicyKind::kGlobalNetwork
                                  ? "NETWORK_FIREWALL_POLICY_RULE"
                                  : "NETWORK_REGIONAL_FIREWALL_POLICY_RULE";
      return o;
    }
    if (rule == dataplane::kTrackingState) {
      o["displayName"] = "TRACKING_STATE";
      o["action"] = "ALLOW";
      o["firewallRuleType"] = "TRACKING_STATE";
      return o;
    }
    if (rule == dataplane::kImplied) {
      o["displayName"] = firewall::ImpliedRuleName(egress ? firewall::Direction::kEgress
                                                          : firewall::Direction::kIngress);
      o["action"] = denied ? "DENY" : "ALLOW";
      o["priority"] = 65535;
      o["firewallRuleType"] = "IMPLIED_VPC_FIREWALL_RULE";
      return o;
    }
    const firewall::Rule& r = net.firewall.rule(rule);
    o["displayName"] = r.name;
    o["uri"] = "projects/" + HostProject(net.ref) + "/global/firewalls/" + r.name;
    o["action"] = r.action == firewall::Action::kDeny ? "DENY" : "ALLOW";
    o["priority"] = r.priority;
    if (!r.target_tags.empty()) o["targetTags"] = Names(r.target_tags, snap_.tag_names);
    if (!r.target_service_accounts.empty()) {
      o["targetServiceAccounts"] = Names(r.target_service_accounts, snap_.service_account_names);
    }
    o["firewallRuleType"] = "VPC_FIREWALL_RULE";
    return o;
  }

  const Snapshot& snap_;
  boost::json::array steps_;
};

}  // namespace

boost::json::object TraceReport(const Snapshot& snap_ref, const TraceCommand& command,
                                uint32_t worker, const LiveStateFn& live_state, std::ostream& err,
                                int* status_out) {
  const Snapshot* snap = &snap_ref;
  *status_out = 2;
  if (command.protocol != "tcp" && command.protocol != "udp" && command.protocol != "icmp") {
    const bool number = !command.protocol.empty() && command.protocol.size() <= 3 &&
                        command.protocol.find_first_not_of("0123456789") == std::string::npos &&
                        std::stoi(command.protocol) <= 255;
    if (!number) {
      err << "error: --protocol: tcp, udp, icmp or an IP protocol number (0-255)\n";
      return {};
    }
  }
  std::string error;
  std::optional<TraceStart> origin = SourceOrigin(*snap, command.source, err);
  if (!origin) return {};
  std::optional<Ipv4> destination = DestinationAddress(*snap, command.destination, err);
  if (!destination) return {};

  const bool ports = command.protocol == "tcp" || command.protocol == "udp";
  Flow forward{origin->ip,
               *destination,
               ports ? command.source_port : uint16_t{0},
               ports ? command.port : uint16_t{0},
               command.protocol,
               false};
  std::vector<uint8_t> frame;
  if (!CraftFrame(*snap, origin->endpoint, forward, &frame, &error)) {
    err << "error: " << error << '\n';
    return {};
  }
  static int serial = 0;
  rte_mempool* pool = rte_pktmbuf_pool_create(("svpc_trace" + std::to_string(serial++)).c_str(), 63,
                                              0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (pool == nullptr) {
    err << "error: cannot allocate an mbuf pool\n";
    return {};
  }

  // Each ECMP path with its own connection table: path i forces hash i, and a group of n
  // members picks member i % n, so the paths repeat from i = n on.
  boost::json::array traces;
  StepWriter writer(*snap);
  std::set<int32_t> routes_seen;
  bool any_drop = false;
  int status = 0;
  for (uint32_t path = 0; path < kMaxPaths; ++path) {
    firewall::ConnTrack::Config table;
    table.capacity = 16;
    std::unique_ptr<firewall::ConnTrack> conntrack = firewall::ConnTrack::Create(table, &error);
    if (!conntrack) {
      err << "error: " << error << '\n';
      status = 2;
      break;
    }
    dataplane::Pipeline pipeline(conntrack.get(), dataplane::OnRuleChange::kContinue, nullptr,
                                 worker);
    PacketMeta meta;
    if (!RunPacket(*snap, pipeline, pool, origin->endpoint, frame, path, &meta)) {
      err << "error: out of mbufs\n";
      status = 2;
      break;
    }
    if (path > 0 && (meta.route < 0 || routes_seen.count(meta.route) > 0)) break;
    routes_seen.insert(meta.route);
    const int forward_id = static_cast<int>(traces.size()) + 1;
    boost::json::object endpoint_info{
        {"sourceIp", FormatIpv4(forward.src)},
        {"destinationIp", FormatIpv4(forward.dst)},
        {"protocol", command.protocol == "tcp"    ? "TCP"
                     : command.protocol == "udp"  ? "UDP"
                     : command.protocol == "icmp" ? "ICMP"
                                                  : command.protocol}};
    if (ports) {
      endpoint_info["sourcePort"] = forward.src_port;
      endpoint_info["destinationPort"] = forward.dst_port;
    }
    if (meta.network >= 0) endpoint_info["sourceNetworkUri"] = snap->networks[meta.network].ref;
    const bool dropped = meta.verdict == dataplane::Verdict::kDrop;
    any_drop = any_drop || dropped;
    boost::json::object trace{{"endpointInfo", endpoint_info},
                              {"steps", writer.Steps(meta, *origin)}};
    // Against a running engine: the flow's entry in the workers' connection tables.
    if (live_state && meta.network >= 0 && meta.l3 == dataplane::L3Kind::kIpv4) {
      uint16_t sport = meta.has_ports ? meta.src_port : 0;
      uint16_t dport = meta.has_ports ? meta.dst_port : 0;
      if (meta.protocol == 1) sport = dport = meta.icmp_id;
      trace["liveConnection"] =
          live_state(firewall::FlowTuple{snap->networks[meta.network].conntrack_id, meta.src,
                                         meta.dst, sport, dport, meta.protocol});
    }
    traces.push_back(std::move(trace));
    // The reply, from where the packet arrived, through the same connection table.
    if (command.round_trip && !dropped && meta.verdict != dataplane::Verdict::kLocal &&
        meta.dst_endpoint >= 0) {
      TraceStart back;
      back.endpoint = meta.dst_endpoint;
      back.nic = snap->endpoints[meta.dst_endpoint].nic;
      back.ip = forward.dst;
      Flow reply{forward.dst,      forward.src,      forward.dst_port,
                 forward.src_port, forward.protocol, true};
      std::vector<uint8_t> reply_frame;
      if (!CraftFrame(*snap, back.endpoint, reply, &reply_frame, &error)) {
        err << "error: " << error << '\n';
        status = 2;
        break;
      }
      PacketMeta reply_meta;
      if (!RunPacket(*snap, pipeline, pool, back.endpoint, reply_frame, path, &reply_meta)) {
        err << "error: out of mbufs\n";
        status = 2;
        break;
      }
      boost::json::object reply_info{{"sourceIp", FormatIpv4(reply.src)},
                                     {"destinationIp", FormatIpv4(reply.dst)},
                                     {"protocol", endpoint_info.at("protocol")}};
      if (ports) {
        reply_info["sourcePort"] = reply.src_port;
        reply_info["destinationPort"] = reply.dst_port;
      }
      traces.push_back(boost::json::object{{"endpointInfo", reply_info},
                                           {"steps", writer.Steps(reply_meta, back)},
                                           {"forwardTraceId", forward_id}});
    }
    if (meta.route < 0) break;  // no route, no ECMP
  }
  rte_mempool_free(pool);
  if (status != 0) return {};
  *status_out = any_drop ? 3 : 0;
  return boost::json::object{{"traces", traces}};
}

}  // namespace svpc::control
