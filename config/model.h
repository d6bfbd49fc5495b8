#pragma once
// The configuration as loaded and validated: plain values, references already canonicalised.
// Produced by LoadConfig (config_loader.h), consumed by the compiler that builds data-plane
// snapshots. Every resource remembers the file it came from so errors can name it.
//
// Canonical references (what every *_ref field holds after loading):
//   network     projects/P/global/networks/N
//   subnetwork  projects/P/regions/R/subnetworks/S
//   instance    projects/P/zones/Z/instances/I
//   route       projects/P/global/routes/N
//   firewall    projects/P/global/firewalls/N
//   vpnTunnel   projects/P/regions/R/vpnTunnels/T
//   attachment  projects/P/regions/R/interconnectAttachments/A
//   router      projects/P/regions/R/routers/N
//   address     projects/P/regions/R/addresses/N
//   firewall policy (global network)    projects/P/global/firewallPolicies/N
//   firewall policy (regional network)  projects/P/regions/R/firewallPolicies/N
//   firewall policy (hierarchical)      locations/global/firewallPolicies/ID

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"

namespace svpc::config {

struct Origin {
  std::string file;  // path relative to the configuration directory
};

// networkFirewallPolicyEnforcementOrder: where the network firewall policies (global, then
// regional) are evaluated relative to the VPC firewall rules.
enum class FirewallPolicyEnforcementOrder { kAfterClassicFirewall, kBeforeClassicFirewall };

struct Network {
  Origin origin;
  std::string project;
  std::string name;
  std::string self_ref;  // canonical
  bool auto_create_subnetworks = false;
  std::string routing_mode = "REGIONAL";
  uint32_t mtu = 1460;
  FirewallPolicyEnforcementOrder firewall_policy_enforcement_order =
      FirewallPolicyEnforcementOrder::kAfterClassicFirewall;
};

struct SecondaryRange {
  std::string range_name;
  Prefix range;
};

struct Subnetwork {
  Origin origin;
  std::string project;
  std::string region;
  std::string name;
  std::string self_ref;
  std::string network_ref;
  Prefix range;
  Ipv4 gateway = 0;  // gatewayAddress, or the range's second address when absent
  std::vector<SecondaryRange> secondary_ranges;
  std::string purpose;  // empty = PRIVATE
  // VPC Flow Logs (logConfig, or the older enableFlowLogs): GCP's defaults when enabled.
  struct FlowLogs {
    bool enabled = false;
    uint32_t interval_s = 5;  // aggregationInterval INTERVAL_5_SEC
    double sampling = 0.5;    // flowSampling
  } flow_logs;
};

struct AliasRange {
  Prefix range;
  std::string subnetwork_range_name;  // empty = from the primary range
};

struct NetworkInterface {
  std::string name;  // nic0, nic1, ...
  std::string network_ref;
  std::string subnetwork_ref;
  Ipv4 ip = 0;
  std::vector<AliasRange> alias_ranges;
  bool has_external_ip = false;  // an accessConfig is present
};

struct Instance {
  Origin origin;
  std::string project;
  std::string zone;
  std::string name;
  std::string self_ref;
  bool can_ip_forward = false;
  std::vector<std::string> tags;
  std::vector<std::string> service_accounts;  // emails
  std::vector<NetworkInterface> nics;
  // Secure tags: the tag values of params.resourceManagerTags ("tagValues/123"), sorted, unique.
  std::vector<std::string> secure_tags;
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 65535;
};

// One entry of `allowed[]` / `denied[]`. `protocol` is the IANA number, or -1 for "all".
struct ProtocolPorts {
  int protocol = -1;
  std::vector<PortRange> ports;  // empty = every port
};

enum class Direction { kIngress, kEgress };
enum class Action { kAllow, kDeny };

struct Firewall {
  Origin origin;
  std::string project;
  std::string name;
  std::string self_ref;
  std::string network_ref;
  uint32_t priority = 1000;
  Direction direction = Direction::kIngress;
  Action action = Action::kAllow;
  std::vector<ProtocolPorts> rules;  // allowed[] or denied[]
  std::vector<Prefix> source_ranges;
  std::vector<Prefix> destination_ranges;
  std::vector<std::string> source_tags;
  std::vector<std::string> target_tags;
  std::vector<std::string> source_service_accounts;
  std::vector<std::string> target_service_accounts;
  bool disabled = false;
  bool log = false;
};

// Firewall policies (hierarchical at organization/folder level; global and regional network
// firewall policies). Evaluation order and matching: firewall/policy_evaluator.h.
enum class FirewallPolicyKind { kHierarchical, kGlobal, kRegional };
enum class PolicyAction { kAllow, kDeny, kGotoNext };

// One entry of `rules[]`, keyed by its priority (unique within the policy). Fields of `match`
// that are not emulated (FQDNs, geolocations, threat intelligence, address groups) make the
// loader leave the rule out with a warning.
struct FirewallPolicyRule {
  uint32_t priority = 0;  // 0..2147483647
  PolicyAction action = PolicyAction::kAllow;
  Direction direction = Direction::kIngress;
  bool disabled = false;
  bool log = false;                             // enableLogging
  std::vector<ProtocolPorts> protocols;         // match.layer4Configs
  std::vector<Prefix> source_ranges;            // match.srcIpRanges (IPv4 entries)
  std::vector<Prefix> destination_ranges;       // match.destIpRanges (IPv4 entries)
  std::vector<std::string> source_secure_tags;  // match.srcSecureTags[].name, "tagValues/N"
  std::vector<std::string> target_secure_tags;  // targetSecureTags[].name
  std::vector<std::string> target_service_accounts;
  std::vector<std::string> target_network_refs;  // targetResources (hierarchical), canonical
  // Index in the resource's rules[] (rules left out shift the others), for issue paths.
  size_t position = 0;
};

// An association of a policy with where it applies: "organizations/ID" or "folders/ID"
// (hierarchical), or a canonical network reference (network policies).
struct FirewallPolicyAssociation {
  std::string name;
  std::string attachment_target;
};

struct FirewallPolicy {
  Origin origin;
  FirewallPolicyKind kind = FirewallPolicyKind::kGlobal;
  std::string project;     // network policies
  std::string region;      // regional network policies
  std::string name;        // network policies: the name; hierarchical: the numeric ID
  std::string short_name;  // shortName (or displayName); empty for network policies
  std::string self_ref;    // canonical, see the top of this file
  std::string parent;      // hierarchical: "organizations/ID" or "folders/ID"
  std::vector<FirewallPolicyAssociation> associations;
  std::vector<FirewallPolicyRule> rules;  // in file order; disabled rules included
};

enum class NextHopKind { kGateway, kInstance, kIp, kVpnTunnel, kInterconnectAttachment, kIlb };

struct Route {
  Origin origin;
  std::string project;
  std::string name;
  std::string self_ref;
  std::string network_ref;
  Prefix dest_range;
  uint32_t priority = 1000;
  std::vector<std::string> tags;
  NextHopKind next_hop_kind = NextHopKind::kGateway;
  std::string next_hop_ref;  // instance / tunnel / attachment / ILB reference; gateway name
  Ipv4 next_hop_ip = 0;      // for kIp
};

// Cloud Router (compute#router): one BGP speaker of a network in a region.
struct RouterInterface {
  std::string name;
  Ipv4 ip = 0;                    // ipRange's address: the router's side of the link (169.254.x.y)
  Prefix ip_range;                // the link's range (ipRange, host bits cleared)
  std::string linked_vpn_tunnel;  // canonical, or empty
  std::string linked_interconnect_attachment;  // canonical, or empty
};

// A router- or peer-level advertisement choice (bgp.advertiseMode / bgpPeers[].advertiseMode).
struct Advertisement {
  bool custom = false;         // advertiseMode CUSTOM
  bool all_subnets = false;    // advertisedGroups contains ALL_SUBNETS
  std::vector<Prefix> ranges;  // advertisedIpRanges[].range
};

struct BgpPeer {
  std::string name;
  std::string interface_name;
  Ipv4 ip = 0;       // ipAddress: the router's address on the link (defaults to the interface's)
  Ipv4 peer_ip = 0;  // peerIpAddress
  uint32_t peer_asn = 0;
  uint32_t advertised_route_priority = 100;    // MED sent with every route
  std::optional<Advertisement> advertisement;  // absent: the router's
  bool enabled = true;                         // enable: "TRUE" / "FALSE"
  std::string md5_key_name;                    // md5AuthenticationKeyName
  std::string md5_key;                         // the key it names (router md5AuthenticationKeys)
};

struct Router {
  Origin origin;
  std::string project;
  std::string region;
  std::string name;
  std::string self_ref;  // projects/P/regions/R/routers/N
  std::string network_ref;
  uint32_t asn = 0;
  uint32_t keepalive_seconds = 20;  // bgp.keepaliveInterval (20..60)
  Advertisement advertisement;      // bgp.advertiseMode / advertisedGroups / advertisedIpRanges
  std::vector<RouterInterface> interfaces;
  std::vector<BgpPeer> peers;
};

// A static internal address (compute#address, addressType INTERNAL): reserved in a subnetwork's
// primary range, so ephemeral allocation skips it; an instance of any project may name it in
// networkIP (GCP: the address's project must be the instance's; the emulator does not check).
struct Address {
  Origin origin;
  std::string project;
  std::string region;
  std::string name;
  std::string self_ref;  // projects/P/regions/R/addresses/N
  std::string subnetwork_ref;
  Ipv4 ip = 0;
  std::string description;
};

struct HostProject {
  std::string project_id;
  bool share_all = false;
  std::vector<std::string> shared_subnetwork_refs;
};

struct ServiceProject {
  std::string project_id;
  std::string host_project;
};

struct IamBinding {
  std::string role;
  std::vector<std::string> members;
};

struct IamPolicy {
  std::string resource;
  std::vector<IamBinding> bindings;
};

// The Resource Manager hierarchy above the projects (shared-vpc.json `resourceHierarchy`), for
// hierarchical firewall policies. Names are "organizations/ID" and "folders/ID".
struct Folder {
  std::string name;
  std::string parent;  // the organization or another folder
};

struct ProjectParent {
  std::string project_id;
  std::string parent;  // the organization or a folder
};

struct ResourceHierarchy {
  std::string organization;  // empty: no hierarchy given
  std::vector<Folder> folders;
  std::vector<ProjectParent> projects;
};

// Shared VPC layout (shared-vpc.json). IAM and org policies are kept verbatim for a later issue.
struct SharedVpc {
  Origin origin;
  std::vector<HostProject> host_projects;
  std::vector<ServiceProject> service_projects;
  std::vector<std::string> standalone_projects;
  std::vector<IamPolicy> iam_policies;
  std::vector<std::string> org_policies_json;  // each entry serialised as it was read
  ResourceHierarchy resource_hierarchy;
};

struct TestbedPort {
  std::string name;
  std::string device;  // DPDK device string: net_tap0,iface=x / 0000:01:00.0 / net_pcap0,...
};

enum class EndpointKind { kInstanceNic, kVpnTunnel, kInterconnectAttachment, kInternet };

struct Endpoint {
  std::string port;
  std::optional<uint16_t> vlan;
  std::optional<MacAddr> mac;  // instance NICs: absent = GCP's 42:01:<ip> MAC
  EndpointKind kind = EndpointKind::kInstanceNic;
  std::string instance_ref;  // kInstanceNic
  std::string nic = "nic0";  // kInstanceNic
  // kInstanceNic: the instance may not exist yet (it is to be created through the control API);
  // until it does the endpoint carries nothing.
  bool await_instance = false;
  std::string link_ref;     // kVpnTunnel / kInterconnectAttachment
  std::string network_ref;  // network the external link belongs to (resolved by the loader)
};

// How many prefixes a Cloud Router accepts from one peer before it ends the session (with a
// clear log). GCP's quotas count dynamic routes per region and network, not per peer, and vary;
// 5,000 per peer is our choice, overridable per router in testbed.json. Unconfirmed.
inline constexpr uint32_t kDefaultMaxLearnedPrefixes = 5000;

// testbed.json cloudRouters[]: a Cloud Router whose BGP sessions svpcd runs.
struct CloudRouterLink {
  std::string router_ref;  // canonical
  // Empty: the speaker uses the host's own interfaces (the router's interface addresses must be
  // configured on one). Else a port (a TAP) the data plane hands the router's BGP packets to, as
  // GCP does: peers reach it through their VLAN attachment or tunnel endpoint.
  std::string port;
  uint16_t listen_port = 179;
  uint16_t peer_port = 179;
  uint32_t max_learned_prefixes = kDefaultMaxLearnedPrefixes;  // 0: no limit
  uint32_t keepalive_seconds = 0;  // 0: the router's bgp.keepaliveInterval (lab override)
};

struct Testbed {
  Origin origin;
  std::vector<TestbedPort> ports;
  std::vector<Endpoint> endpoints;
  std::vector<CloudRouterLink> cloud_routers;
};

struct Config {
  std::vector<Network> networks;
  std::vector<Subnetwork> subnetworks;
  std::vector<Instance> instances;
  std::vector<Firewall> firewalls;
  std::vector<Route> routes;
  std::vector<FirewallPolicy> firewall_policies;
  std::vector<Router> routers;
  std::vector<Address> addresses;
  SharedVpc shared_vpc;
  Testbed testbed;
};

}  // namespace svpc::config
