#include "control/compiler.h"

#include <rte_hash_crc.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <utility>

#include "config/policy_lookup.h"
#include "config/resource_ref.h"

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

class Interner {
 public:
  uint32_t Id(const std::string& s) { return ids_.emplace(s, ids_.size()).first->second; }
  // Names by id.
  std::vector<std::string> Names() const {
    std::vector<std::string> names(ids_.size());
    for (const auto& [name, id] : ids_) names[id] = name;
    return names;
  }
  std::vector<uint32_t> Ids(const std::vector<std::string>& items) {
    std::vector<uint32_t> out;
    for (const auto& s : items) out.push_back(Id(s));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
};

firewall::Direction ToDirection(Direction direction) {
  return direction == Direction::kEgress ? firewall::Direction::kEgress
                                         : firewall::Direction::kIngress;
}

std::vector<firewall::ProtocolMatch> ToProtocols(const std::vector<ProtocolPorts>& protocols) {
  std::vector<firewall::ProtocolMatch> out;
  for (const ProtocolPorts& pp : protocols) {
    firewall::ProtocolMatch m;
    m.protocol = static_cast<int16_t>(pp.protocol);
    for (const PortRange& range : pp.ports) m.ports.push_back({range.first, range.last});
    out.push_back(std::move(m));
  }
  return out;
}

firewall::Rule ToRule(const Firewall& fw, Interner& tags, Interner& sas) {
  firewall::Rule r;
  r.name = fw.name;
  r.priority = fw.priority;
  r.direction = ToDirection(fw.direction);
  r.action = fw.action == Action::kDeny ? firewall::Action::kDeny : firewall::Action::kAllow;
  r.protocols = ToProtocols(fw.rules);
  r.source_ranges = fw.source_ranges;
  r.destination_ranges = fw.destination_ranges;
  r.source_tags = tags.Ids(fw.source_tags);
  r.target_tags = tags.Ids(fw.target_tags);
  r.source_service_accounts = sas.Ids(fw.source_service_accounts);
  r.target_service_accounts = sas.Ids(fw.target_service_accounts);
  r.log = fw.log;
  return r;
}

// The name verdicts show for a policy, a resource path that is unambiguous next to the verdict's
// network: hierarchical "firewallPolicies/SHORT_NAME" (the numeric ID when there is no short name
// or another hierarchical policy has the same one), network policies relative to their project
// (the network's): "global/firewallPolicies/NAME", "regions/R/firewallPolicies/NAME".
std::string PolicyReportName(const FirewallPolicy& policy, bool short_name_unique) {
  switch (policy.kind) {
    case FirewallPolicyKind::kHierarchical:
      return "firewallPolicies/" +
             (policy.short_name.empty() || !short_name_unique ? policy.name : policy.short_name);
    case FirewallPolicyKind::kGlobal:
      return "global/firewallPolicies/" + policy.name;
    case FirewallPolicyKind::kRegional:
      return "regions/" + policy.region + "/firewallPolicies/" + policy.name;
  }
  return policy.name;
}

firewall::PolicyKind ToPolicyKind(FirewallPolicyKind kind) {
  switch (kind) {
    case FirewallPolicyKind::kHierarchical:
      return firewall::PolicyKind::kHierarchical;
    case FirewallPolicyKind::kGlobal:
      return firewall::PolicyKind::kGlobalNetwork;
    case FirewallPolicyKind::kRegional:
      return firewall::PolicyKind::kRegionalNetwork;
  }
  return firewall::PolicyKind::kGlobalNetwork;
}

firewall::PolicyAction ToPolicyAction(PolicyAction action) {
  switch (action) {
    case PolicyAction::kAllow:
      return firewall::PolicyAction::kAllow;
    case PolicyAction::kDeny:
      return firewall::PolicyAction::kDeny;
    case PolicyAction::kGotoNext:
      return firewall::PolicyAction::kGotoNext;
  }
  return firewall::PolicyAction::kDeny;
}

// Every policy of the configuration, in configuration order (index = position in
// config.firewall_policies), enabled rules only. Service accounts share the VPC rules' interner,
// secure tags the NICs'; targetResources become network indices. False (and `error`) only for a
// target network the snapshot does not have, which validation rules out.
bool CompilePolicies(const Config& config, const std::map<std::string, uint32_t>& network_index,
                     Interner& sas, Interner& secure_tags, dataplane::Snapshot& snap,
                     std::string* error) {
  std::map<std::string, int> short_names;
  for (const FirewallPolicy& policy : config.firewall_policies) {
    if (policy.kind == FirewallPolicyKind::kHierarchical) short_names[policy.short_name]++;
  }
  std::vector<firewall::Policy> policies;
  for (const FirewallPolicy& policy : config.firewall_policies) {
    firewall::Policy out;
    out.name = PolicyReportName(policy, short_names[policy.short_name] == 1);
    out.kind = ToPolicyKind(policy.kind);
    for (const FirewallPolicyRule& rule : policy.rules) {
      if (rule.disabled) continue;
      firewall::PolicyRule r;
      r.priority = rule.priority;
      r.direction = ToDirection(rule.direction);
      r.action = ToPolicyAction(rule.action);
      r.protocols = ToProtocols(rule.protocols);
      r.source_ranges = rule.source_ranges;
      r.destination_ranges = rule.destination_ranges;
      r.source_secure_tags = secure_tags.Ids(rule.source_secure_tags);
      r.target_secure_tags = secure_tags.Ids(rule.target_secure_tags);
      r.target_service_accounts = sas.Ids(rule.target_service_accounts);
      for (const std::string& ref : rule.target_network_refs) {
        auto net = network_index.find(ref);
        if (net == network_index.end()) {
          *error = policy.self_ref + ": rule priority " + std::to_string(rule.priority) +
                   ": targetResources names unknown network " + ref;
          return false;
        }
        r.target_networks.push_back(net->second);
      }
      r.log = rule.log;
      out.rules.push_back(std::move(r));
    }
    policies.push_back(std::move(out));
    snap.policy_refs.push_back(policy.self_ref);
  }
  snap.policies = firewall::PolicySet(std::move(policies));
  return true;
}

// Logging's rule_details.reference for every policy that reaches a NIC of `network`.
void PolicyLogReferences(const Config& config, const Network& network,
                         dataplane::NetworkInfo& info) {
  const auto index_of = [&](const FirewallPolicy& p) {
    return static_cast<uint32_t>(&p - config.firewall_policies.data());
  };
  // The organization or folder -> its policy, the first association winning, as
  // FirewallPoliciesFor decides.
  std::map<std::string, const FirewallPolicy*> by_node;
  for (const FirewallPolicy& policy : config.firewall_policies) {
    for (const FirewallPolicyAssociation& association : policy.associations) {
      if (policy.kind == FirewallPolicyKind::kHierarchical) {
        by_node.emplace(association.attachment_target, &policy);
      } else if (association.attachment_target == network.self_ref) {
        info.policy_log_references.emplace_back(
            index_of(policy), "network:" + network.name + "/firewallPolicy:" + policy.name);
      }
    }
  }
  const std::vector<std::string> ancestry =
      ProjectAncestry(config.shared_vpc.resource_hierarchy, network.project);
  for (size_t tier = 0; tier < ancestry.size(); ++tier) {
    auto policy = by_node.find(ancestry[tier]);
    if (policy == by_node.end()) continue;
    info.policy_log_references.emplace_back(
        index_of(*policy->second),
        std::to_string(tier) + "/firewallPolicy:" + policy->second->name);
  }
}

// True when some policy stage of `chain` has a rule for the NIC: only then can the chain decide
// differently from the VPC rules alone.
bool HasPolicyRules(const firewall::PolicyChain& chain) {
  for (const firewall::Stage& stage : chain.stages()) {
    if (stage.kind != firewall::StageKind::kVpcFirewall && !stage.rules.empty()) return true;
  }
  return false;
}

}  // namespace

std::string LastPathSegment(const std::string& ref) {
  size_t slash = ref.rfind('/');
  return slash == std::string::npos ? ref : ref.substr(slash + 1);
}

MacAddr CloudRouterMac(const Router& router) {
  return GcpMacForIp(router.interfaces.empty() ? 0 : router.interfaces.front().ip);
}

std::unique_ptr<dataplane::Snapshot> CompileSnapshot(const Config& config, std::string* error) {
  using dataplane::EndpointKind;
  auto snap = std::make_unique<dataplane::Snapshot>();
  Interner tags;
  Interner sas;
  Interner secure_tags;
  auto intern_region = [&](const std::string& region) -> uint32_t {
    if (region.empty()) return routing::kNoRegion;
    const uint32_t id = snap->RegionId(region);
    if (id != routing::kNoRegion) return id;
    snap->region_names.push_back(region);
    return static_cast<uint32_t>(snap->region_names.size() - 1);
  };

  std::map<std::string, uint16_t> port_index;
  for (const TestbedPort& port : config.testbed.ports) {
    if (snap->port_names.size() >= dataplane::kMaxPorts) {
      *error = "more than " + std::to_string(dataplane::kMaxPorts) + " testbed ports";
      return nullptr;
    }
    port_index[port.name] = snap->port_names.size();
    snap->port_names.push_back(port.name);
  }

  std::map<std::string, uint32_t> network_index;
  for (const Network& n : config.networks) {
    network_index[n.self_ref] = snap->networks.size();
    dataplane::NetworkInfo info;
    info.ref = n.self_ref;
    info.name = n.name;
    info.project = n.project;
    info.mtu = n.mtu;
    info.conntrack_id = rte_hash_crc(n.self_ref.data(), n.self_ref.size(), 0x5356'5043);
    snap->networks.push_back(std::move(info));
  }
  std::map<std::string, const Subnetwork*> subnet_by_ref;
  for (const Subnetwork& s : config.subnetworks) subnet_by_ref[s.self_ref] = &s;
  if (!CompilePolicies(config, network_index, sas, secure_tags, *snap, error)) return nullptr;
  for (uint32_t n = 0; n < config.networks.size(); ++n) {
    PolicyLogReferences(config, config.networks[n], snap->networks[n]);
  }
  // The policies reaching each NIC (FirewallPoliciesFor), per (network, region), as policy indices.
  std::map<std::pair<uint32_t, std::string>, firewall::NicPolicies> policies_by_place;
  std::vector<const firewall::NicPolicies*> nic_policies;  // per NIC
  const auto policy_index = [&](const FirewallPolicy* p) {
    return p == nullptr ? firewall::kNoPolicy
                        : static_cast<uint32_t>(p - config.firewall_policies.data());
  };

  // NICs, keyed "instance_ref#nic".
  std::map<std::string, uint32_t> nic_index;
  for (const Instance& inst : config.instances) {
    for (const NetworkInterface& nic : inst.nics) {
      auto net = network_index.find(nic.network_ref);
      auto subnet = subnet_by_ref.find(nic.subnetwork_ref);
      if (net == network_index.end() || subnet == subnet_by_ref.end()) {
        *error = inst.self_ref + ": " + nic.name + ": unresolved network or subnetwork";
        return nullptr;
      }
      dataplane::NicInfo info;
      info.instance_ref = inst.self_ref;
      info.nic_name = nic.name;
      info.project = inst.project;
      info.subnetwork_name = subnet->second->name;
      if (subnet->second->flow_logs.enabled) {
        info.flow_log_interval_ns = uint64_t{subnet->second->flow_logs.interval_s} * 1'000'000'000;
        info.flow_log_threshold =
            static_cast<uint64_t>(subnet->second->flow_logs.sampling * 4294967296.0);
      }
      info.network = net->second;
      info.ip = nic.ip;
      for (const AliasRange& a : nic.alias_ranges) info.alias_ranges.push_back(a.range);
      info.can_ip_forward = inst.can_ip_forward;
      info.has_external_ip = nic.has_external_ip;
      info.tags = tags.Ids(inst.tags);
      info.service_accounts = sas.Ids(inst.service_accounts);
      info.secure_tags = secure_tags.Ids(inst.secure_tags);
      const std::string region = RegionOfZone(inst.zone).value_or("");
      info.region = intern_region(region);
      auto [place, added] = policies_by_place.try_emplace({net->second, region});
      if (added) {
        NicFirewallPolicies found =
            FirewallPoliciesFor(config, config.networks[net->second], region);
        firewall::NicPolicies& policies = place->second;
        for (const FirewallPolicy* p : found.hierarchical) {
          policies.hierarchical.push_back(policy_index(p));
        }
        policies.global = policy_index(found.global);
        policies.regional = policy_index(found.regional);
        policies.order = found.order == FirewallPolicyEnforcementOrder::kBeforeClassicFirewall
                             ? firewall::EnforcementOrder::kBeforeClassicFirewall
                             : firewall::EnforcementOrder::kAfterClassicFirewall;
        policies.network = net->second;
      }
      nic_policies.push_back(&place->second);
      info.mac = GcpMacForIp(nic.ip);
      info.gateway_mac = GcpMacForIp(subnet->second->gateway);
      nic_index[inst.self_ref + "#" + nic.name] = snap->nics.size();
      snap->nics.push_back(std::move(info));
    }
  }

  // Testbed endpoints.
  for (const Endpoint& ep : config.testbed.endpoints) {
    dataplane::EndpointInfo info;
    auto port = port_index.find(ep.port);
    if (port == port_index.end()) {
      *error = "testbed endpoint on unknown port " + ep.port;
      return nullptr;
    }
    info.port = port->second;
    info.vlan = ep.vlan.value_or(dataplane::kNoVlan);
    const int32_t index = static_cast<int32_t>(snap->endpoints.size());
    switch (ep.kind) {
      case config::EndpointKind::kInstanceNic: {
        auto nic = nic_index.find(ep.instance_ref + "#" + ep.nic);
        if (nic == nic_index.end() && ep.await_instance) continue;  // not created yet
        if (nic == nic_index.end()) {
          *error = "testbed endpoint names unknown NIC " + ep.instance_ref + " " + ep.nic;
          return nullptr;
        }
        dataplane::NicInfo& n = snap->nics[nic->second];
        info.kind = EndpointKind::kInstanceNic;
        info.nic = static_cast<int32_t>(nic->second);
        info.network = n.network;
        info.mac = ep.mac.value_or(n.mac);
        info.name = n.instance_ref;
        n.mac = info.mac;
        n.endpoint = index;
        break;
      }
      case config::EndpointKind::kVpnTunnel:
      case config::EndpointKind::kInterconnectAttachment:
      case config::EndpointKind::kInternet: {
        auto net = network_index.find(ep.network_ref);
        if (net == network_index.end()) {
          *error = "testbed endpoint on port " + ep.port + ": unknown network " + ep.network_ref;
          return nullptr;
        }
        info.kind = ep.kind == config::EndpointKind::kVpnTunnel ? EndpointKind::kVpnTunnel
                    : ep.kind == config::EndpointKind::kInternet
                        ? EndpointKind::kInternet
                        : EndpointKind::kInterconnectAttachment;
        info.network = net->second;
        info.mac = ep.mac.value_or(MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}});
        info.name = ep.kind == config::EndpointKind::kInternet ? "internet" : ep.link_ref;
        if (info.kind == EndpointKind::kInternet)
          snap->networks[net->second].internet_endpoint = index;
        break;
      }
    }
    snap->endpoints.push_back(std::move(info));
  }

  // Cloud Routers whose BGP goes through the data plane: their port is a TAP whose kernel side
  // holds the router's interface addresses (svpcd configures it). Frames for those addresses
  // arriving on the tunnel or attachment an interface is linked to go to that port, and the
  // kernel's replies go back out the link.
  for (const CloudRouterLink& link : config.testbed.cloud_routers) {
    if (link.port.empty()) continue;
    const Router* router = nullptr;
    for (const Router& r : config.routers) {
      if (r.self_ref == link.router_ref) router = &r;
    }
    auto port = port_index.find(link.port);
    auto net = router != nullptr ? network_index.find(router->network_ref) : network_index.end();
    if (router == nullptr || port == port_index.end() || net == network_index.end()) {
      *error = "cloudRouters: " + link.router_ref + " on port " + link.port +
               ": unknown router, port or network";
      return nullptr;
    }
    dataplane::EndpointInfo info;
    info.kind = EndpointKind::kCloudRouter;
    info.port = port->second;
    info.network = net->second;
    info.mac = CloudRouterMac(*router);
    info.name = router->self_ref;
    const int32_t router_endpoint = static_cast<int32_t>(snap->endpoints.size());
    for (const RouterInterface& itf : router->interfaces) {
      const std::string& linked = !itf.linked_vpn_tunnel.empty()
                                      ? itf.linked_vpn_tunnel
                                      : itf.linked_interconnect_attachment;
      for (uint32_t e = 0; e < snap->endpoints.size() && !linked.empty(); ++e) {
        dataplane::EndpointInfo& ep = snap->endpoints[e];
        if (ep.name != linked || ep.kind == EndpointKind::kCloudRouter) continue;
        ep.router_ip = itf.ip;
        ep.router_endpoint = router_endpoint;
        info.router_links.push_back({itf.ip_range, static_cast<int32_t>(e)});
      }
    }
    snap->endpoints.push_back(std::move(info));
  }

  // Firewall rules per network, in a stable order (by name) so reports are deterministic.
  std::vector<std::vector<const Firewall*>> fw_by_network(snap->networks.size());
  for (const Firewall& fw : config.firewalls) {
    auto net = network_index.find(fw.network_ref);
    if (net != network_index.end() && !fw.disabled) fw_by_network[net->second].push_back(&fw);
  }
  for (uint32_t n = 0; n < snap->networks.size(); ++n) {
    auto& list = fw_by_network[n];
    std::sort(list.begin(), list.end(),
              [](const Firewall* a, const Firewall* b) { return a->name < b->name; });
    std::vector<firewall::Rule> rules;
    for (const Firewall* fw : list) rules.push_back(ToRule(*fw, tags, sas));
    snap->networks[n].firewall = firewall::RuleSet(std::move(rules));
  }
  for (uint32_t i = 0; i < snap->nics.size(); ++i) {
    dataplane::NicInfo& nic = snap->nics[i];
    // No per-NIC VPC rule lists: the classifier answers for the VPC rules (re-checks too), and
    // computing RulesFor per NIC dominated a 10,000-rule reload (bench/README.md).
    const firewall::RuleSet& rules = snap->networks[nic.network].firewall;
    // Policy chains, kept only for a direction some policy rule applies to (the policy path).
    const firewall::NicPolicies& policies = *nic_policies[i];
    if (policies.hierarchical.empty() && policies.global == firewall::kNoPolicy &&
        policies.regional == firewall::kNoPolicy) {
      continue;
    }
    nic.egress_chain = firewall::PolicyChain::Build(
        snap->policies, rules, policies, firewall::Direction::kEgress, nic.PolicyIdentity());
    nic.ingress_chain = firewall::PolicyChain::Build(
        snap->policies, rules, policies, firewall::Direction::kIngress, nic.PolicyIdentity());
    nic.egress_policy_path = HasPolicyRules(nic.egress_chain);
    nic.ingress_policy_path = HasPolicyRules(nic.ingress_chain);
    if (!nic.egress_policy_path) nic.egress_chain = firewall::PolicyChain();
    if (!nic.ingress_policy_path) nic.ingress_chain = firewall::PolicyChain();
  }
  // The fast classifier per network, with every NIC's tags and service accounts compiled into
  // target and source classes.
  for (uint32_t n = 0; n < snap->networks.size(); ++n) {
    std::vector<firewall::Identity> identities;
    std::vector<uint32_t> members;
    for (uint32_t i = 0; i < snap->nics.size(); ++i) {
      if (snap->nics[i].network != n) continue;
      identities.push_back(snap->nics[i].Identity());
      members.push_back(i);
    }
    std::string classifier_error;
    snap->networks[n].classifier =
        firewall::Classifier::Build(snap->networks[n].firewall, identities, &classifier_error);
    if (!snap->networks[n].classifier) {
      *error = snap->networks[n].ref + ": firewall classifier: " + classifier_error;
      return nullptr;
    }
    for (uint32_t k = 0; k < members.size(); ++k) {
      snap->nics[members[k]].target_class = snap->networks[n].classifier->TargetClass(k);
      snap->nics[members[k]].source_class = snap->networks[n].classifier->SourceClass(k);
    }
  }

  // Routes per network. Next hops are named as `gcloud compute routes list` shows them
  // ("ZONE/instances/NAME", "REGION/vpnTunnels/NAME", an IP, ...); subnet routes name their
  // network.
  std::vector<std::vector<routing::Route>> routes(snap->networks.size());
  for (const Subnetwork& s : config.subnetworks) {
    auto net = network_index.find(s.network_ref);
    if (net == network_index.end()) continue;
    routing::Route route{s.name, s.range, 0, {}, routing::NextHopType::kSubnet, 0, true};
    route.kind = routing::RouteKind::kSubnet;
    route.hop_kind = routing::NextHopKind::kNetwork;
    route.next_hop_name = snap->networks[net->second].name;
    routes[net->second].push_back(route);
    for (const SecondaryRange& r : s.secondary_ranges) {
      route.dest = r.range;
      routes[net->second].push_back(route);
    }
  }
  auto find_endpoint = [&](dataplane::EndpointKind kind, const std::string& ref) -> int32_t {
    for (uint32_t i = 0; i < snap->endpoints.size(); ++i) {
      if (snap->endpoints[i].kind == kind && snap->endpoints[i].name == ref) return i;
    }
    return -1;
  };
  // "projects/P/zones/Z/instances/I" -> "Z/instances/I" (gcloud's scope()).
  auto scoped = [](const std::string& ref) {
    size_t at = ref.rfind("projects/", 0) == 0 ? ref.find('/', 9) : std::string::npos;
    std::string rest = at == std::string::npos ? ref : ref.substr(at + 1);
    for (std::string_view scope : {"zones/", "regions/", "global/"}) {
      if (rest.rfind(scope, 0) == 0) return rest.substr(scope.size());
    }
    return rest;
  };
  // The NIC of `network` whose primary address is `ip`, or -1.
  auto nic_with_ip = [&](uint32_t network, Ipv4 ip) -> int32_t {
    for (uint32_t i = 0; i < snap->nics.size(); ++i) {
      if (snap->nics[i].network == network && snap->nics[i].ip == ip) return i;
    }
    return -1;
  };
  for (const Route& r : config.routes) {
    auto net = network_index.find(r.network_ref);
    if (net == network_index.end()) continue;
    routing::Route route{
        r.name, r.dest_range, r.priority, tags.Ids(r.tags), routing::NextHopType::kInternetGateway,
        0,      true};
    route.kind = routing::RouteKind::kStatic;
    const std::string& network_name = snap->networks[net->second].name;
    switch (r.next_hop_kind) {
      case NextHopKind::kGateway:
        route.hop_kind = routing::NextHopKind::kGateway;
        route.next_hop_name = r.next_hop_ref.empty() ? "default-internet-gateway" : r.next_hop_ref;
        break;
      case NextHopKind::kInstance: {
        route.next_hop = routing::NextHopType::kInstance;
        route.hop_kind = routing::NextHopKind::kInstance;
        route.next_hop_name = scoped(r.next_hop_ref);
        route.usable = false;
        route.inactive_reason =
            "instance " + route.next_hop_name + " has no interface in network " + network_name;
        for (uint32_t i = 0; i < snap->nics.size(); ++i) {
          if (snap->nics[i].instance_ref == r.next_hop_ref &&
              snap->nics[i].network == net->second) {
            route.target = i;
            route.usable = true;
            route.inactive_reason.clear();
            break;
          }
        }
        break;
      }
      case NextHopKind::kIp:
      case NextHopKind::kIlb: {
        // nextHopIp resolves to the instance NIC holding that address. nextHopIlb (an internal
        // passthrough load balancer's forwarding rule) is not emulated as a load balancer: given
        // as an address it resolves the same way (a backend NIC holding it); given as a
        // forwarding rule, whose address the configuration does not carry, it is inactive.
        const bool ilb = r.next_hop_kind == NextHopKind::kIlb;
        route.next_hop = routing::NextHopType::kInstance;
        route.hop_kind = ilb ? routing::NextHopKind::kIlb : routing::NextHopKind::kIp;
        const bool by_address = !ilb || r.next_hop_ip != 0;
        route.next_hop_name = by_address ? FormatIpv4(r.next_hop_ip) : scoped(r.next_hop_ref);
        const int32_t nic = by_address ? nic_with_ip(net->second, r.next_hop_ip) : -1;
        route.usable = nic >= 0;
        route.target = nic >= 0 ? static_cast<uint32_t>(nic) : 0;
        if (nic < 0) {
          route.inactive_reason =
              by_address
                  ? "no instance in network " + network_name + " has address " + route.next_hop_name
                  : "forwarding rule " + route.next_hop_name +
                        ": load balancers are not emulated (give nextHopIlb as an address)";
        }
        break;
      }
      case NextHopKind::kVpnTunnel:
      case NextHopKind::kInterconnectAttachment: {
        bool vpn = r.next_hop_kind == NextHopKind::kVpnTunnel;
        route.next_hop =
            vpn ? routing::NextHopType::kVpnTunnel : routing::NextHopType::kInterconnectAttachment;
        route.hop_kind =
            vpn ? routing::NextHopKind::kVpnTunnel : routing::NextHopKind::kInterconnectAttachment;
        route.next_hop_name = scoped(r.next_hop_ref);
        int32_t ep = find_endpoint(
            vpn ? EndpointKind::kVpnTunnel : EndpointKind::kInterconnectAttachment, r.next_hop_ref);
        // A tunnel the testbed does not wire is a tunnel that is down: GCP skips its routes.
        route.usable = ep >= 0;
        route.target = ep >= 0 ? ep : 0;
        if (ep < 0) route.inactive_reason = route.next_hop_name + " is not wired in the testbed";
        break;
      }
    }
    routes[net->second].push_back(std::move(route));
  }
  for (const Router& router : config.routers) intern_region(router.region);
  for (uint32_t n = 0; n < snap->networks.size(); ++n) {
    std::vector<routing::OwnedRange> owned;
    std::vector<routing::Sender> senders;
    for (uint32_t i = 0; i < snap->nics.size(); ++i) {
      const dataplane::NicInfo& nic = snap->nics[i];
      if (nic.network != n) continue;
      owned.push_back({Prefix{nic.ip, 32}, i});
      for (const Prefix& a : nic.alias_ranges) owned.push_back({a, i});
      senders.push_back({nic.tags, nic.region});
    }
    routing::RouteTableOptions options;
    // Dynamic routes: regional (the router's region only) or global (with an inter-region cost).
    for (const Network& network : config.networks) {
      if (network.self_ref == snap->networks[n].ref && network.routing_mode == "GLOBAL") {
        options.mode = routing::RoutingMode::kGlobal;
      }
    }
    std::string build_error;
    snap->networks[n].routes = routing::RouteTable::Build(std::move(routes[n]), std::move(owned),
                                                          senders, options, &build_error);
    if (!snap->networks[n].routes) {
      *error = snap->networks[n].ref + ": " + build_error;
      return nullptr;
    }
  }
  for (dataplane::NicInfo& nic : snap->nics) {
    nic.route_view = snap->networks[nic.network].routes->ViewFor(nic.tags, nic.region);
  }
  if (!snap->BuildClassifier(error)) return nullptr;
  snap->tag_names = tags.Names();
  snap->service_account_names = sas.Names();
  snap->secure_tag_names = secure_tags.Names();
  // Billing accounts: every instance's project, and each VPN tunnel's (the gateway's) project.
  std::map<std::string, uint32_t> billing_index;
  auto billing_project = [&](const std::string& project) {
    auto [it, added] = billing_index.emplace(project, snap->billing_projects.size());
    if (added) snap->billing_projects.push_back(project);
    return it->second;
  };
  for (dataplane::NicInfo& nic : snap->nics) nic.billing_project = billing_project(nic.project);
  for (dataplane::EndpointInfo& e : snap->endpoints) {
    e.egress_kind = e.kind == EndpointKind::kInternet ? dataplane::EgressKind::kToInternet
                    : e.kind == EndpointKind::kInterconnectAttachment
                        ? dataplane::EgressKind::kViaInterconnect
                    : e.kind == EndpointKind::kVpnTunnel ? dataplane::EgressKind::kViaVpnGateway
                                                         : dataplane::EgressKind::kToInstance;
    if (e.kind != EndpointKind::kVpnTunnel) continue;
    // projects/P/regions/R/vpnTunnels/T
    const size_t start = e.name.find('/') + 1;
    e.billing_project = billing_project(e.name.substr(start, e.name.find('/', start) - start));
  }
  snap->AllocateWorkerCounters();
  return snap;
}

}  // namespace svpc::control
