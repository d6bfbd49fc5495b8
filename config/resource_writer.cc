#include "config/resource_writer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/ip_protocol.h"
#include "common/net_types.h"
#include "config/resource_ref.h"

namespace svpc::config {
namespace {

namespace json = boost::json;
using namespace svpc::config;

std::string ProtocolName(int protocol) {
  std::optional<std::string_view> name = IpProtocolName(protocol);
  return name ? std::string(*name) : std::to_string(protocol);
}

json::array PortsJson(const std::vector<PortRange>& ports) {
  json::array out;
  for (const PortRange& range : ports) {
    out.emplace_back(range.first == range.last
                         ? std::to_string(range.first)
                         : std::to_string(range.first) + "-" + std::to_string(range.last));
  }
  return out;
}

json::array StringsJson(const std::vector<std::string>& items) {
  json::array out;
  for (const std::string& item : items) out.emplace_back(item);
  return out;
}

json::array PrefixesJson(const std::vector<Prefix>& prefixes) {
  json::array out;
  for (const Prefix& prefix : prefixes) out.emplace_back(FormatPrefix(prefix));
  return out;
}

std::string RegionLink(const std::string& project, const std::string& region) {
  return SelfLink("projects/" + project + "/regions/" + region);
}

void Pretty(std::string& out, const json::value& value, int indent) {
  auto pad = [&](int n) { out.append(static_cast<size_t>(n) * 2, ' '); };
  if (value.is_object()) {
    const json::object& object = value.get_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t i = 0;
    for (const auto& [key, item] : object) {
      pad(indent + 1);
      out += json::serialize(json::string(key));
      out += ": ";
      Pretty(out, item, indent + 1);
      out += ++i < object.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += "}";
  } else if (value.is_array()) {
    const json::array& array = value.get_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < array.size(); ++i) {
      pad(indent + 1);
      Pretty(out, array[i], indent + 1);
      out += i + 1 < array.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += "]";
  } else {
    out += json::serialize(value);
  }
}

json::object AdvertisementJson(const Advertisement& advertisement) {
  json::object out;
  out["advertiseMode"] = advertisement.custom ? "CUSTOM" : "DEFAULT";
  if (advertisement.custom) {
    json::array groups;
    if (advertisement.all_subnets) groups.emplace_back("ALL_SUBNETS");
    out["advertisedGroups"] = std::move(groups);
    json::array ranges;
    for (const Prefix& prefix : advertisement.ranges) {
      ranges.emplace_back(json::object{{"range", FormatPrefix(prefix)}});
    }
    out["advertisedIpRanges"] = std::move(ranges);
  }
  return out;
}

std::string_view PolicyActionName(PolicyAction action) {
  switch (action) {
    case PolicyAction::kAllow:
      return "allow";
    case PolicyAction::kDeny:
      return "deny";
    case PolicyAction::kGotoNext:
      return "goto_next";
  }
  return "allow";
}

}  // namespace

std::string SelfLink(std::string_view ref) {
  return std::string(kComputeUrlBase) + std::string(ref);
}

std::string ResourceId(std::string_view ref) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (char c : ref) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return std::to_string(hash >> 1);  // GCP ids fit in a signed 64-bit integer
}

json::object NetworkJson(const Network& network, const Config& config) {
  json::object out;
  out["kind"] = "compute#network";
  out["id"] = ResourceId(network.self_ref);
  out["name"] = network.name;
  out["selfLink"] = SelfLink(network.self_ref);
  out["autoCreateSubnetworks"] = network.auto_create_subnetworks;
  out["routingConfig"] = json::object{{"routingMode", network.routing_mode}};
  out["mtu"] = network.mtu;
  out["networkFirewallPolicyEnforcementOrder"] =
      network.firewall_policy_enforcement_order ==
              FirewallPolicyEnforcementOrder::kBeforeClassicFirewall
          ? "BEFORE_CLASSIC_FIREWALL"
          : "AFTER_CLASSIC_FIREWALL";
  std::vector<std::string> links;  // sorted: independent of the order files were read in
  for (const Subnetwork& subnet : config.subnetworks) {
    if (subnet.network_ref == network.self_ref) links.push_back(SelfLink(subnet.self_ref));
  }
  std::sort(links.begin(), links.end());
  out["subnetworks"] = StringsJson(links);
  return out;
}

json::object SubnetworkJson(const Subnetwork& subnet) {
  json::object out;
  out["kind"] = "compute#subnetwork";
  out["id"] = ResourceId(subnet.self_ref);
  out["name"] = subnet.name;
  out["selfLink"] = SelfLink(subnet.self_ref);
  out["region"] = RegionLink(subnet.project, subnet.region);
  out["network"] = SelfLink(subnet.network_ref);
  out["ipCidrRange"] = FormatPrefix(subnet.range);
  out["gatewayAddress"] = FormatIpv4(subnet.gateway);
  json::array secondary;
  for (const SecondaryRange& range : subnet.secondary_ranges) {
    secondary.emplace_back(
        json::object{{"rangeName", range.range_name}, {"ipCidrRange", FormatPrefix(range.range)}});
  }
  if (!secondary.empty()) out["secondaryIpRanges"] = std::move(secondary);
  out["purpose"] = subnet.purpose.empty() ? "PRIVATE" : subnet.purpose;
  if (subnet.flow_logs.enabled) {
    const char* interval = "INTERVAL_5_SEC";
    switch (subnet.flow_logs.interval_s) {
      case 30:
        interval = "INTERVAL_30_SEC";
        break;
      case 60:
        interval = "INTERVAL_1_MIN";
        break;
      case 300:
        interval = "INTERVAL_5_MIN";
        break;
      case 600:
        interval = "INTERVAL_10_MIN";
        break;
      case 900:
        interval = "INTERVAL_15_MIN";
        break;
      default:
        break;
    }
    out["logConfig"] = {{"enable", true},
                        {"aggregationInterval", interval},
                        {"flowSampling", subnet.flow_logs.sampling},
                        {"metadata", "INCLUDE_ALL_METADATA"}};
  }
  return out;
}

json::object InstanceJson(const Instance& instance) {
  json::object out;
  out["kind"] = "compute#instance";
  out["id"] = ResourceId(instance.self_ref);
  out["name"] = instance.name;
  out["selfLink"] = SelfLink(instance.self_ref);
  out["zone"] = SelfLink("projects/" + instance.project + "/zones/" + instance.zone);
  out["status"] = "RUNNING";
  out["canIpForward"] = instance.can_ip_forward;
  json::object tags;
  tags["items"] = StringsJson(instance.tags);
  tags["fingerprint"] = ResourceId("tags:" + json::serialize(tags["items"])).substr(0, 12);
  out["tags"] = std::move(tags);
  json::array accounts;
  for (const std::string& email : instance.service_accounts) {
    accounts.emplace_back(json::object{{"email", email}});
  }
  out["serviceAccounts"] = std::move(accounts);
  if (!instance.secure_tags.empty()) {
    // The model keeps only the tag values; each gets a key of its own (the keys do not matter to
    // firewall policies, which match values).
    json::object tag_map;
    for (size_t i = 0; i < instance.secure_tags.size(); ++i) {
      tag_map["tagKeys/svpc-" + std::to_string(i)] = instance.secure_tags[i];
    }
    out["params"] = json::object{{"resourceManagerTags", std::move(tag_map)}};
  }
  json::array nics;
  for (const NetworkInterface& nic : instance.nics) {
    json::object item;
    item["kind"] = "compute#networkInterface";
    item["name"] = nic.name;
    // Empty before the loader resolves them (an API insert naming only one of them, or asking
    // for an ephemeral address).
    if (!nic.network_ref.empty()) item["network"] = SelfLink(nic.network_ref);
    if (!nic.subnetwork_ref.empty()) item["subnetwork"] = SelfLink(nic.subnetwork_ref);
    if (nic.ip != 0) item["networkIP"] = FormatIpv4(nic.ip);
    json::array aliases;
    for (const AliasRange& alias : nic.alias_ranges) {
      json::object a{{"ipCidrRange", FormatPrefix(alias.range)}};
      if (!alias.subnetwork_range_name.empty()) {
        a["subnetworkRangeName"] = alias.subnetwork_range_name;
      }
      aliases.emplace_back(std::move(a));
    }
    if (!aliases.empty()) item["aliasIpRanges"] = std::move(aliases);
    if (nic.has_external_ip) {
      item["accessConfigs"] = json::array{json::object{
          {"kind", "compute#accessConfig"}, {"type", "ONE_TO_ONE_NAT"}, {"name", "External NAT"}}};
    }
    nics.emplace_back(std::move(item));
  }
  out["networkInterfaces"] = std::move(nics);
  return out;
}

json::object FirewallJson(const Firewall& firewall) {
  json::object out;
  out["kind"] = "compute#firewall";
  out["id"] = ResourceId(firewall.self_ref);
  out["name"] = firewall.name;
  out["selfLink"] = SelfLink(firewall.self_ref);
  out["network"] = SelfLink(firewall.network_ref);
  out["priority"] = firewall.priority;
  out["direction"] = firewall.direction == Direction::kIngress ? "INGRESS" : "EGRESS";
  json::array rules;
  for (const ProtocolPorts& rule : firewall.rules) {
    json::object entry{{"IPProtocol", ProtocolName(rule.protocol)}};
    if (!rule.ports.empty()) entry["ports"] = PortsJson(rule.ports);
    rules.emplace_back(std::move(entry));
  }
  out[firewall.action == Action::kAllow ? "allowed" : "denied"] = std::move(rules);
  if (!firewall.source_ranges.empty()) out["sourceRanges"] = PrefixesJson(firewall.source_ranges);
  if (!firewall.destination_ranges.empty()) {
    out["destinationRanges"] = PrefixesJson(firewall.destination_ranges);
  }
  if (!firewall.source_tags.empty()) out["sourceTags"] = StringsJson(firewall.source_tags);
  if (!firewall.target_tags.empty()) out["targetTags"] = StringsJson(firewall.target_tags);
  if (!firewall.source_service_accounts.empty()) {
    out["sourceServiceAccounts"] = StringsJson(firewall.source_service_accounts);
  }
  if (!firewall.target_service_accounts.empty()) {
    out["targetServiceAccounts"] = StringsJson(firewall.target_service_accounts);
  }
  out["disabled"] = firewall.disabled;
  out["logConfig"] = json::object{{"enable", firewall.log}};
  return out;
}

json::object RouteJson(const Route& route) {
  json::object out;
  out["kind"] = "compute#route";
  out["id"] = ResourceId(route.self_ref);
  out["name"] = route.name;
  out["selfLink"] = SelfLink(route.self_ref);
  out["network"] = SelfLink(route.network_ref);
  out["destRange"] = FormatPrefix(route.dest_range);
  out["priority"] = route.priority;
  if (!route.tags.empty()) out["tags"] = StringsJson(route.tags);
  switch (route.next_hop_kind) {
    case NextHopKind::kGateway:
      out["nextHopGateway"] =
          SelfLink("projects/" + route.project + "/global/gateways/" + route.next_hop_ref);
      break;
    case NextHopKind::kInstance:
      out["nextHopInstance"] = SelfLink(route.next_hop_ref);
      break;
    case NextHopKind::kIp:
      out["nextHopIp"] = FormatIpv4(route.next_hop_ip);
      break;
    case NextHopKind::kIlb:
      out["nextHopIlb"] =
          route.next_hop_ip != 0 ? FormatIpv4(route.next_hop_ip) : SelfLink(route.next_hop_ref);
      break;
    case NextHopKind::kVpnTunnel:
      out["nextHopVpnTunnel"] = SelfLink(route.next_hop_ref);
      break;
    case NextHopKind::kInterconnectAttachment:
      out["nextHopInterconnectAttachment"] = SelfLink(route.next_hop_ref);
      break;
  }
  return out;
}

json::object RouterJson(const Router& router) {
  json::object out;
  out["kind"] = "compute#router";
  out["id"] = ResourceId(router.self_ref);
  out["name"] = router.name;
  out["selfLink"] = SelfLink(router.self_ref);
  out["region"] = RegionLink(router.project, router.region);
  out["network"] = SelfLink(router.network_ref);
  json::object bgp = AdvertisementJson(router.advertisement);
  bgp["asn"] = router.asn;
  bgp["keepaliveInterval"] = router.keepalive_seconds;
  out["bgp"] = std::move(bgp);
  json::array interfaces;
  for (const RouterInterface& itf : router.interfaces) {
    json::object item{{"name", itf.name},
                      {"ipRange", FormatIpv4(itf.ip) + "/" + std::to_string(itf.ip_range.len)}};
    if (!itf.linked_vpn_tunnel.empty()) item["linkedVpnTunnel"] = SelfLink(itf.linked_vpn_tunnel);
    if (!itf.linked_interconnect_attachment.empty()) {
      item["linkedInterconnectAttachment"] = SelfLink(itf.linked_interconnect_attachment);
    }
    interfaces.emplace_back(std::move(item));
  }
  out["interfaces"] = std::move(interfaces);
  json::array peers;
  json::array keys;
  for (const BgpPeer& peer : router.peers) {
    json::object item{{"name", peer.name},
                      {"interfaceName", peer.interface_name},
                      {"ipAddress", FormatIpv4(peer.ip)},
                      {"peerIpAddress", FormatIpv4(peer.peer_ip)},
                      {"peerAsn", peer.peer_asn},
                      {"advertisedRoutePriority", peer.advertised_route_priority},
                      {"enable", peer.enabled ? "TRUE" : "FALSE"}};
    if (peer.advertisement) {
      for (auto& [key, value] : AdvertisementJson(*peer.advertisement)) item[key] = value;
    }
    if (!peer.md5_key_name.empty()) {
      item["md5AuthenticationKeyName"] = peer.md5_key_name;
      keys.emplace_back(json::object{{"name", peer.md5_key_name}, {"key", peer.md5_key}});
    }
    peers.emplace_back(std::move(item));
  }
  out["bgpPeers"] = std::move(peers);
  if (!keys.empty()) out["md5AuthenticationKeys"] = std::move(keys);
  return out;
}

json::object FirewallPolicyJson(const FirewallPolicy& policy) {
  json::object out;
  out["kind"] = "compute#firewallPolicy";
  out["name"] = policy.name;
  out["selfLink"] = SelfLink(policy.self_ref);
  if (policy.kind == FirewallPolicyKind::kHierarchical) {
    out["id"] = policy.name;
    out["parent"] = policy.parent;
    out["shortName"] = policy.short_name;
  } else {
    out["id"] = ResourceId(policy.self_ref);
  }
  if (policy.kind == FirewallPolicyKind::kRegional) {
    out["region"] = RegionLink(policy.project, policy.region);
  }
  json::array associations;
  for (const FirewallPolicyAssociation& association : policy.associations) {
    std::string target = association.attachment_target;
    if (target.starts_with("projects/")) target = SelfLink(target);
    associations.emplace_back(
        json::object{{"name", association.name}, {"attachmentTarget", target}});
  }
  out["associations"] = std::move(associations);
  json::array rules;
  for (const FirewallPolicyRule& rule : policy.rules) {
    json::object item;
    item["kind"] = "compute#firewallPolicyRule";
    item["priority"] = rule.priority;
    item["action"] = std::string(PolicyActionName(rule.action));
    item["direction"] = rule.direction == Direction::kIngress ? "INGRESS" : "EGRESS";
    item["disabled"] = rule.disabled;
    item["enableLogging"] = rule.log;
    json::object match;
    json::array layer4;
    for (const ProtocolPorts& protocol : rule.protocols) {
      json::object entry{{"ipProtocol", ProtocolName(protocol.protocol)}};
      if (!protocol.ports.empty()) entry["ports"] = PortsJson(protocol.ports);
      layer4.emplace_back(std::move(entry));
    }
    match["layer4Configs"] = std::move(layer4);
    if (!rule.source_ranges.empty()) match["srcIpRanges"] = PrefixesJson(rule.source_ranges);
    if (!rule.destination_ranges.empty()) {
      match["destIpRanges"] = PrefixesJson(rule.destination_ranges);
    }
    if (!rule.source_secure_tags.empty()) {
      json::array tags;
      for (const std::string& tag : rule.source_secure_tags) {
        tags.emplace_back(json::object{{"name", tag}});
      }
      match["srcSecureTags"] = std::move(tags);
    }
    item["match"] = std::move(match);
    if (!rule.target_secure_tags.empty()) {
      json::array tags;
      for (const std::string& tag : rule.target_secure_tags) {
        tags.emplace_back(json::object{{"name", tag}});
      }
      item["targetSecureTags"] = std::move(tags);
    }
    if (!rule.target_service_accounts.empty()) {
      item["targetServiceAccounts"] = StringsJson(rule.target_service_accounts);
    }
    if (!rule.target_network_refs.empty()) {
      json::array targets;
      for (const std::string& ref : rule.target_network_refs) targets.emplace_back(SelfLink(ref));
      item["targetResources"] = std::move(targets);
    }
    rules.emplace_back(std::move(item));
  }
  out["rules"] = std::move(rules);
  return out;
}

json::object AddressJson(const Address& address, const Config& config) {
  json::object out;
  out["kind"] = "compute#address";
  out["id"] = ResourceId(address.self_ref);
  out["name"] = address.name;
  out["selfLink"] = SelfLink(address.self_ref);
  out["region"] = RegionLink(address.project, address.region);
  out["address"] = FormatIpv4(address.ip);
  out["addressType"] = "INTERNAL";
  out["purpose"] = "GCE_ENDPOINT";
  out["subnetwork"] = SelfLink(address.subnetwork_ref);
  if (!address.description.empty()) out["description"] = address.description;
  json::array users;
  for (const Instance& instance : config.instances) {
    for (const NetworkInterface& nic : instance.nics) {
      if (nic.ip == address.ip && nic.subnetwork_ref == address.subnetwork_ref) {
        users.emplace_back(SelfLink(instance.self_ref));
      }
    }
  }
  out["status"] = users.empty() ? "RESERVED" : "IN_USE";
  if (!users.empty()) out["users"] = std::move(users);
  return out;
}

json::object SharedVpcJson(const SharedVpc& shared) {
  json::object out;
  json::array hosts;
  for (const HostProject& host : shared.host_projects) {
    json::object item{{"projectId", host.project_id}};
    if (host.share_all) {
      item["shared"] = "ALL";
    } else {
      item["shared"] = StringsJson(host.shared_subnetwork_refs);
    }
    hosts.emplace_back(std::move(item));
  }
  out["hostProjects"] = std::move(hosts);
  json::array services;
  for (const ServiceProject& service : shared.service_projects) {
    services.emplace_back(
        json::object{{"projectId", service.project_id}, {"hostProject", service.host_project}});
  }
  out["serviceProjects"] = std::move(services);
  out["standaloneProjects"] = StringsJson(shared.standalone_projects);
  json::array iam;
  for (const IamPolicy& policy : shared.iam_policies) {
    json::array bindings;
    for (const IamBinding& binding : policy.bindings) {
      bindings.emplace_back(
          json::object{{"role", binding.role}, {"members", StringsJson(binding.members)}});
    }
    iam.emplace_back(
        json::object{{"resource", policy.resource}, {"bindings", std::move(bindings)}});
  }
  out["iamPolicies"] = std::move(iam);
  json::array org;
  for (const std::string& text : shared.org_policies_json) org.emplace_back(json::parse(text));
  out["orgPolicies"] = std::move(org);
  const ResourceHierarchy& hierarchy = shared.resource_hierarchy;
  if (!hierarchy.organization.empty() || !hierarchy.folders.empty() ||
      !hierarchy.projects.empty()) {
    json::object h;
    if (!hierarchy.organization.empty()) h["organization"] = hierarchy.organization;
    json::array folders;
    for (const Folder& folder : hierarchy.folders) {
      folders.emplace_back(json::object{{"name", folder.name}, {"parent", folder.parent}});
    }
    h["folders"] = std::move(folders);
    json::array projects;
    for (const ProjectParent& project : hierarchy.projects) {
      projects.emplace_back(
          json::object{{"projectId", project.project_id}, {"parent", project.parent}});
    }
    h["projects"] = std::move(projects);
    out["resourceHierarchy"] = std::move(h);
  }
  return out;
}

json::object TestbedJson(const Testbed& testbed) {
  json::object out;
  json::array ports;
  for (const TestbedPort& port : testbed.ports) {
    ports.emplace_back(json::object{{"name", port.name}, {"device", port.device}});
  }
  out["ports"] = std::move(ports);
  json::array endpoints;
  for (const Endpoint& endpoint : testbed.endpoints) {
    json::object item{{"port", endpoint.port}};
    if (endpoint.vlan) item["vlan"] = *endpoint.vlan;
    if (endpoint.mac) item["mac"] = FormatMac(*endpoint.mac);
    switch (endpoint.kind) {
      case EndpointKind::kInstanceNic:
        item["instance"] = endpoint.instance_ref;
        item["nic"] = endpoint.nic;
        if (endpoint.await_instance) item["awaitInstance"] = true;
        break;
      case EndpointKind::kVpnTunnel:
        item["vpnTunnel"] = endpoint.link_ref;
        break;
      case EndpointKind::kInterconnectAttachment:
        item["interconnectAttachment"] = endpoint.link_ref;
        break;
      case EndpointKind::kInternet:
        item["internet"] = true;
        break;
    }
    if (endpoint.kind != EndpointKind::kInstanceNic && !endpoint.network_ref.empty()) {
      item["network"] = endpoint.network_ref;
    }
    endpoints.emplace_back(std::move(item));
  }
  out["endpoints"] = std::move(endpoints);
  json::array routers;
  for (const CloudRouterLink& link : testbed.cloud_routers) {
    json::object item{{"router", link.router_ref},
                      {"listenPort", link.listen_port},
                      {"peerPort", link.peer_port},
                      {"maxLearnedPrefixes", link.max_learned_prefixes}};
    if (!link.port.empty()) item["port"] = link.port;
    if (link.keepalive_seconds != 0) item["keepaliveSeconds"] = link.keepalive_seconds;
    routers.emplace_back(std::move(item));
  }
  if (!routers.empty()) out["cloudRouters"] = std::move(routers);
  return out;
}

std::string PrettyJson(const json::value& value) {
  std::string out;
  Pretty(out, value, 0);
  out += '\n';
  return out;
}

std::map<std::string, std::string> ConfigFiles(const Config& config) {
  std::map<std::string, std::string> files;
  auto put = [&](const std::string& ref, const json::object& object) {
    files[ref + ".json"] = PrettyJson(object);
  };
  for (const Network& item : config.networks) put(item.self_ref, NetworkJson(item, config));
  for (const Subnetwork& item : config.subnetworks) put(item.self_ref, SubnetworkJson(item));
  for (const Instance& item : config.instances) put(item.self_ref, InstanceJson(item));
  for (const Firewall& item : config.firewalls) put(item.self_ref, FirewallJson(item));
  for (const Route& item : config.routes) put(item.self_ref, RouteJson(item));
  for (const Router& item : config.routers) put(item.self_ref, RouterJson(item));
  for (const Address& item : config.addresses) put(item.self_ref, AddressJson(item, config));
  for (const FirewallPolicy& item : config.firewall_policies) {
    // Hierarchical policies are not in a project: their reference is locations/global/...
    put(item.self_ref, FirewallPolicyJson(item));
  }
  files["shared-vpc.json"] = PrettyJson(SharedVpcJson(config.shared_vpc));
  files["testbed.json"] = PrettyJson(TestbedJson(config.testbed));
  return files;
}

bool WriteConfigDir(const Config& config, const std::string& dir, std::string* error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& [rel, text] : ConfigFiles(config)) {
    fs::path path = fs::path(dir) / rel;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      *error = "cannot create " + path.parent_path().string() + ": " + ec.message();
      return false;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      *error = "cannot write " + path.string();
      return false;
    }
  }
  return true;
}

}  // namespace svpc::config
