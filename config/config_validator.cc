#include "config/config_validator.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>

#include "config/policy_validator.h"
#include "config/resource_ref.h"

namespace svpc::config {
namespace {

constexpr uint8_t kSmallestPrimaryRangeLen = 29;
constexpr uint32_t kMaxPriority = 65535;
constexpr uint16_t kMaxVlan = 4094;
// The most source (and, separately, destination) ranges one VPC firewall rule may list. GCP caps
// them per rule; 5,000 is our reading of its firewall-rule limits. Unconfirmed: the exact figure
// was not found in the documentation available here. Beyond it a rule is refused.
constexpr size_t kMaxRangesPerFirewallRule = 5000;

// Ranges no subnet may overlap.
const std::array<Prefix, 7>& ForbiddenRanges() {
  static const std::array<Prefix, 7> kRanges = {
      *ParsePrefix("0.0.0.0/8"),          *ParsePrefix("127.0.0.0/8"),
      *ParsePrefix("169.254.0.0/16"),     *ParsePrefix("224.0.0.0/4"),
      *ParsePrefix("255.255.255.255/32"), *ParsePrefix("199.36.153.4/30"),
      *ParsePrefix("199.36.153.8/30")};
  return kRanges;
}

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// A /32 prints as a bare address.
std::string FormatAddress(const Prefix& prefix) {
  return prefix.len == 32 ? FormatIpv4(prefix.addr) : FormatPrefix(prefix);
}

std::string NicField(size_t nic, std::string_view field) {
  return "networkInterfaces[" + std::to_string(nic) + "]." + std::string(field);
}

std::string PortVlan(const std::string& port, std::optional<uint16_t> vlan) {
  return "port " + port + (vlan ? " VLAN " + std::to_string(*vlan) : " untagged");
}

// One range or address in a network, for overlap checks. `order` is the position in the config:
// the later of two overlapping entries is the one reported.
struct Occupant {
  Prefix range;
  size_t order = 0;
  std::string file;
  std::string resource;  // canonical ref
  std::string field;     // JSON path in the resource
  std::string owner;     // how the other side is named in messages
};

// Sorts by start and reports each entry that overlaps an earlier-starting one. CIDR ranges either
// nest or are disjoint, so comparing with the widest range seen so far finds every overlap.
template <typename Report>
void FindOverlaps(std::vector<Occupant>& entries, Report report) {
  std::sort(entries.begin(), entries.end(), [](const Occupant& a, const Occupant& b) {
    return std::tie(a.range.addr, a.range.len, a.order) <
           std::tie(b.range.addr, b.range.len, b.order);
  });
  const Occupant* widest = nullptr;
  for (const Occupant& entry : entries) {
    if (widest != nullptr && entry.range.First() <= widest->range.Last()) {
      if (entry.order > widest->order) {
        report(entry, *widest);
      } else {
        report(*widest, entry);
      }
      continue;
    }
    widest = &entry;
  }
}

class Validator {
 public:
  Validator(const Config& config, const std::set<std::string>& unparsed_refs, IssueList& issues)
      : config_(config), unparsed_(unparsed_refs), issues_(issues) {}

  void Run() {
    Index();
    CheckDuplicates(config_.networks, "network");
    CheckDuplicates(config_.subnetworks, "subnetwork");
    CheckDuplicates(config_.instances, "instance");
    CheckDuplicates(config_.firewalls, "firewall");
    CheckDuplicates(config_.routes, "route");
    CheckDuplicates(config_.routers, "router");
    CheckDuplicates(config_.addresses, "address");
    CheckSharedVpc();
    CheckSubnets();
    CheckInstances();
    CheckFirewalls();
    CheckRoutes();
    CheckRouters();
    CheckAddresses();
    CheckTestbed();
    ValidateFirewallPolicies(config_, unparsed_, issues_);
  }

 private:
  void Index() {
    for (const Network& network : config_.networks) networks_.emplace(network.self_ref, &network);
    for (const Subnetwork& subnet : config_.subnetworks) subnets_.emplace(subnet.self_ref, &subnet);
    for (const Instance& instance : config_.instances) {
      instances_.emplace(instance.self_ref, &instance);
    }
    for (const HostProject& host : config_.shared_vpc.host_projects) {
      if (!host.project_id.empty()) hosts_.emplace(host.project_id, &host);
    }
    for (const ServiceProject& service : config_.shared_vpc.service_projects) {
      if (!service.project_id.empty())
        service_hosts_.emplace(service.project_id, service.host_project);
    }
  }

  // A reference to a resource that is neither loaded nor known to have failed loading.
  template <typename T>
  bool Missing(const std::map<std::string, const T*>& index, const std::string& ref) const {
    return !index.contains(ref) && !unparsed_.contains(ref);
  }

  // Only the first definition of a duplicated resource takes part in the cross-resource checks.
  template <typename T>
  bool IsFirstDefinition(const std::map<std::string, const T*>& index, const T& resource) const {
    auto it = index.find(resource.self_ref);
    return it != index.end() && it->second == &resource;
  }

  template <typename T>
  void CheckDuplicates(const std::vector<T>& resources, std::string_view noun) {
    std::map<std::string, const T*> first;
    for (const T& resource : resources) {
      auto [it, inserted] = first.emplace(resource.self_ref, &resource);
      if (!inserted) {
        issues_.Error(
            resource.origin.file, resource.self_ref, "name",
            "duplicate " + std::string(noun) + ": already defined in " + it->second->origin.file);
      }
    }
  }

  void CheckNetworkExists(const std::string& file, const std::string& ref,
                          const std::string& network_ref) {
    if (!network_ref.empty() && Missing(networks_, network_ref)) {
      issues_.Error(file, ref, "network", "network " + network_ref + " does not exist");
    }
  }

  // GCP keeps a subnetwork, firewall rule, route and Cloud Router in its network's project: a
  // reference to another project's network is refused ("Cross project referencing is not
  // allowed for this resource"), Shared VPC or not. Only instances and addresses may use
  // another project's network, through a shared subnet (CheckSubnetAccess).
  void CheckSameProject(const std::string& file, const std::string& ref, const std::string& project,
                        const std::string& field, const std::string& target) {
    if (target.empty()) return;
    std::optional<ResourcePath> path = ParseResourcePath(target);
    if (!path || path->project == project) return;
    issues_.Error(file, ref, field, CrossProjectReason(target, path->project, project));
  }

  void CheckSharedVpc() {
    const SharedVpc& shared = config_.shared_vpc;
    const std::string& file = shared.origin.file;
    std::set<std::string> hosts_seen;
    for (size_t i = 0; i < shared.host_projects.size(); ++i) {
      const HostProject& host = shared.host_projects[i];
      if (host.project_id.empty()) continue;
      std::string project = "projects/" + host.project_id;
      std::string path = "hostProjects[" + std::to_string(i) + "]";
      if (!hosts_seen.insert(host.project_id).second) {
        issues_.Error(file, project, path + ".projectId", "host project listed twice");
      }
      for (size_t j = 0; j < host.shared_subnetwork_refs.size(); ++j) {
        const std::string& ref = host.shared_subnetwork_refs[j];
        if (ref.empty()) continue;
        std::string field = path + ".shared[" + std::to_string(j) + "]";
        std::optional<ResourcePath> parsed = ParseResourcePath(ref);
        if (parsed && parsed->project != host.project_id) {
          issues_.Error(file, project, field,
                        "subnetwork " + ref + " is not in host project " + host.project_id);
        } else if (Missing(subnets_, ref)) {
          issues_.Error(file, project, field, "subnetwork " + ref + " does not exist");
        }
      }
    }
    std::map<std::string, std::string> attached;  // service project -> first host
    for (size_t i = 0; i < shared.service_projects.size(); ++i) {
      const ServiceProject& service = shared.service_projects[i];
      if (service.project_id.empty()) continue;
      std::string project = "projects/" + service.project_id;
      std::string path = "serviceProjects[" + std::to_string(i) + "]";
      if (hosts_.contains(service.project_id)) {
        issues_.Error(file, project, path + ".projectId",
                      "project " + service.project_id +
                          " is a host project; a project cannot be both host and service");
      }
      if (!service.host_project.empty() && !hosts_.contains(service.host_project)) {
        issues_.Error(file, project, path + ".hostProject",
                      Quote(service.host_project) + " is not a host project (not in hostProjects)");
      }
      auto [it, inserted] = attached.emplace(service.project_id, service.host_project);
      if (!inserted) {
        if (it->second == service.host_project) {
          issues_.Warning(file, project, path + ".projectId", "service project listed twice");
        } else {
          issues_.Error(file, project, path + ".hostProject",
                        "project " + service.project_id + " is already attached to host project " +
                            it->second + "; a service project has exactly one host");
        }
      }
    }
    for (size_t i = 0; i < shared.standalone_projects.size(); ++i) {
      const std::string& id = shared.standalone_projects[i];
      if (id.empty()) continue;
      std::string field = "standaloneProjects[" + std::to_string(i) + "]";
      if (hosts_.contains(id)) {
        issues_.Error(file, "projects/" + id, field,
                      "project " + id + " is also a host project; it cannot be standalone");
      } else if (attached.contains(id)) {
        issues_.Error(file, "projects/" + id, field,
                      "project " + id + " is also a service project; it cannot be standalone");
      }
    }
  }

  void CheckSubnets() {
    size_t order = 0;
    for (const Subnetwork& subnet : config_.subnetworks) {
      const std::string& file = subnet.origin.file;
      const std::string& ref = subnet.self_ref;
      CheckNetworkExists(file, ref, subnet.network_ref);
      CheckSameProject(file, ref, subnet.project, "network", subnet.network_ref);
      if (subnet.range.len > kSmallestPrimaryRangeLen) {
        issues_.Error(
            file, ref, "ipCidrRange",
            FormatPrefix(subnet.range) + " is too small: the smallest primary range is /29");
      }
      CheckForbidden(file, ref, "ipCidrRange", subnet.range);
      if (!subnet.range.Contains(subnet.gateway)) {
        issues_.Error(file, ref, "gatewayAddress",
                      FormatIpv4(subnet.gateway) + " is outside the primary range " +
                          FormatPrefix(subnet.range));
      } else if (subnet.gateway == subnet.range.First() || subnet.gateway == subnet.range.Last()) {
        issues_.Error(file, ref, "gatewayAddress",
                      FormatIpv4(subnet.gateway) + " is the network or broadcast address of " +
                          FormatPrefix(subnet.range));
      }
      std::set<std::string> names;
      for (size_t j = 0; j < subnet.secondary_ranges.size(); ++j) {
        const SecondaryRange& secondary = subnet.secondary_ranges[j];
        std::string path = "secondaryIpRanges[" + std::to_string(j) + "]";
        CheckForbidden(file, ref, path + ".ipCidrRange", secondary.range);
        if (!secondary.range_name.empty() && !names.insert(secondary.range_name).second) {
          issues_.Error(file, ref, path + ".rangeName",
                        "duplicate secondary range name " + Quote(secondary.range_name));
        }
      }
      if (!IsFirstDefinition(subnets_, subnet)) continue;
      auto& ranges = network_ranges_[subnet.network_ref];
      ranges.push_back({subnet.range, order++, file, ref, "ipCidrRange", "ipCidrRange of " + ref});
      for (size_t j = 0; j < subnet.secondary_ranges.size(); ++j) {
        std::string path = "secondaryIpRanges[" + std::to_string(j) + "].ipCidrRange";
        ranges.push_back(
            {subnet.secondary_ranges[j].range, order++, file, ref, path,
             "secondary range " + subnet.secondary_ranges[j].range_name + " of " + ref});
      }
    }
    for (auto& [network, ranges] : network_ranges_) {
      std::vector<Occupant> sorted = ranges;
      FindOverlaps(sorted, [&](const Occupant& later, const Occupant& earlier) {
        issues_.Error(later.file, later.resource, later.field,
                      FormatPrefix(later.range) + " overlaps " + FormatPrefix(earlier.range) +
                          " (" + earlier.owner + ")");
      });
    }
  }

  void CheckForbidden(const std::string& file, const std::string& ref, const std::string& field,
                      const Prefix& range) {
    for (const Prefix& forbidden : ForbiddenRanges()) {
      if (range.Overlaps(forbidden)) {
        issues_.Error(
            file, ref, field,
            FormatPrefix(range) + " overlaps the forbidden range " + FormatPrefix(forbidden));
        return;
      }
    }
  }

  // Whether a resource of `project` (an instance's interface, an address) may use `subnet`: its
  // own project's networks, or a subnet its host project shares with it.
  void CheckSubnetAccess(const std::string& file, const std::string& ref,
                         const std::string& project, const std::string& field,
                         const Subnetwork& subnet) {
    if (subnet.project == project) return;
    auto service = service_hosts_.find(project);
    if (service == service_hosts_.end() || service->second != subnet.project) {
      issues_.Error(file, ref, field,
                    "subnetwork " + subnet.self_ref + " is in project " + subnet.project +
                        ", and project " + project + " is not a service project of " +
                        subnet.project);
      return;
    }
    auto host = hosts_.find(subnet.project);
    if (host == hosts_.end()) return;  // the attachment itself is reported
    const HostProject& shared = *host->second;
    bool listed =
        std::find(shared.shared_subnetwork_refs.begin(), shared.shared_subnetwork_refs.end(),
                  subnet.self_ref) != shared.shared_subnetwork_refs.end();
    if (!shared.share_all && !listed) {
      issues_.Error(
          file, ref, field,
          "subnetwork " + subnet.self_ref + " is not shared by host project " + subnet.project);
    }
  }

  void CheckInstances() {
    std::map<std::string, std::vector<Occupant>> addresses;  // by network
    size_t order = 0;
    for (const Instance& instance : config_.instances) {
      const std::string& file = instance.origin.file;
      const std::string& ref = instance.self_ref;
      std::string region = RegionOfZone(instance.zone).value_or("");
      std::set<std::string> networks_seen;
      bool first_definition = IsFirstDefinition(instances_, instance);
      for (size_t i = 0; i < instance.nics.size(); ++i) {
        const NetworkInterface& nic = instance.nics[i];
        if (!nic.network_ref.empty() && !networks_seen.insert(nic.network_ref).second) {
          issues_.Error(file, ref, NicField(i, "network"),
                        "the instance already has an interface in network " + nic.network_ref);
        }
        if (first_definition && !nic.network_ref.empty()) {
          std::string owner = ref + " " + nic.name;
          if (nic.ip != 0) {
            addresses[nic.network_ref].push_back(
                {Prefix{nic.ip, 32}, order++, file, ref, NicField(i, "networkIP"), owner});
          }
          for (size_t j = 0; j < nic.alias_ranges.size(); ++j) {
            addresses[nic.network_ref].push_back(
                {nic.alias_ranges[j].range, order++, file, ref,
                 NicField(i, "aliasIpRanges[" + std::to_string(j) + "].ipCidrRange"), owner});
          }
        }
        if (nic.subnetwork_ref.empty()) continue;  // reported by the loader
        auto subnet_it = subnets_.find(nic.subnetwork_ref);
        if (subnet_it == subnets_.end()) {
          if (Missing(subnets_, nic.subnetwork_ref)) {
            issues_.Error(file, ref, NicField(i, "subnetwork"),
                          "subnetwork " + nic.subnetwork_ref + " does not exist");
          }
          continue;
        }
        const Subnetwork& subnet = *subnet_it->second;
        if (!nic.network_ref.empty() && nic.network_ref != subnet.network_ref) {
          issues_.Error(file, ref, NicField(i, "network"),
                        "network " + nic.network_ref + " does not match the subnetwork's network " +
                            subnet.network_ref);
        }
        if (region != subnet.region) {
          issues_.Error(file, ref, "zone",
                        "zone " + instance.zone + " is not in region " + subnet.region +
                            " of subnetwork " + subnet.self_ref);
        }
        CheckSubnetAccess(file, ref, instance.project, NicField(i, "subnetwork"), subnet);
        if (nic.ip != 0) {
          if (!subnet.range.Contains(nic.ip)) {
            issues_.Error(file, ref, NicField(i, "networkIP"),
                          FormatIpv4(nic.ip) + " is outside the subnetwork's primary range " +
                              FormatPrefix(subnet.range));
          } else if (IsReservedAddress(subnet, nic.ip)) {
            issues_.Error(file, ref, NicField(i, "networkIP"),
                          FormatIpv4(nic.ip) + " is reserved in " + FormatPrefix(subnet.range) +
                              " (network, gateway, second-to-last and broadcast addresses are "
                              "unusable)");
          }
        }
        for (size_t j = 0; j < nic.alias_ranges.size(); ++j) {
          const AliasRange& alias = nic.alias_ranges[j];
          std::string path = "aliasIpRanges[" + std::to_string(j) + "]";
          if (alias.subnetwork_range_name.empty()) {
            if (!subnet.range.Contains(alias.range)) {
              issues_.Error(file, ref, NicField(i, path + ".ipCidrRange"),
                            FormatAddress(alias.range) +
                                " is outside the subnetwork's primary range " +
                                FormatPrefix(subnet.range));
            }
            continue;
          }
          auto secondary = std::find_if(
              subnet.secondary_ranges.begin(), subnet.secondary_ranges.end(),
              [&](const SecondaryRange& s) { return s.range_name == alias.subnetwork_range_name; });
          if (secondary == subnet.secondary_ranges.end()) {
            issues_.Error(file, ref, NicField(i, path + ".subnetworkRangeName"),
                          "subnetwork " + subnet.self_ref + " has no secondary range named " +
                              Quote(alias.subnetwork_range_name));
          } else if (!secondary->range.Contains(alias.range)) {
            issues_.Error(file, ref, NicField(i, path + ".ipCidrRange"),
                          FormatAddress(alias.range) + " is outside secondary range " +
                              secondary->range_name + " " + FormatPrefix(secondary->range));
          }
        }
      }
    }
    for (auto& [network, entries] : addresses) {
      FindOverlaps(entries, [&](const Occupant& later, const Occupant& earlier) {
        bool both_addresses = later.range.len == 32 && earlier.range.len == 32;
        issues_.Error(later.file, later.resource, later.field,
                      both_addresses
                          ? FormatIpv4(later.range.addr) + " is already used by " + earlier.owner
                          : FormatAddress(later.range) + " overlaps " +
                                FormatAddress(earlier.range) + " used by " + earlier.owner);
      });
    }
  }

  void CheckFirewalls() {
    for (const Firewall& rule : config_.firewalls) {
      const std::string& file = rule.origin.file;
      const std::string& ref = rule.self_ref;
      CheckNetworkExists(file, ref, rule.network_ref);
      CheckSameProject(file, ref, rule.project, "network", rule.network_ref);
      if (rule.priority > kMaxPriority) {
        issues_.Error(file, ref, "priority",
                      "must be 0..65535 (got " + std::to_string(rule.priority) + ")");
      }
      for (auto [field, count] : {std::pair{"sourceRanges", rule.source_ranges.size()},
                                  std::pair{"destinationRanges", rule.destination_ranges.size()}}) {
        if (count > kMaxRangesPerFirewallRule) {
          issues_.Error(file, ref, field,
                        std::to_string(count) + " ranges; a firewall rule has at most " +
                            std::to_string(kMaxRangesPerFirewallRule));
        }
      }
      bool source_tags = !rule.source_tags.empty();
      bool source_accounts = !rule.source_service_accounts.empty();
      bool target_tags = !rule.target_tags.empty();
      bool target_accounts = !rule.target_service_accounts.empty();
      if (source_tags && source_accounts) {
        issues_.Error(file, ref, "sourceServiceAccounts",
                      "sourceTags and sourceServiceAccounts cannot be used together");
      }
      if (target_tags && target_accounts) {
        issues_.Error(file, ref, "targetServiceAccounts",
                      "targetTags and targetServiceAccounts cannot be used together");
      }
      if (source_tags && target_accounts && !target_tags) {
        issues_.Error(file, ref, "targetServiceAccounts",
                      "network tags and service accounts cannot be mixed in one rule "
                      "(sourceTags with targetServiceAccounts)");
      }
      if (source_accounts && target_tags && !target_accounts) {
        issues_.Error(file, ref, "targetTags",
                      "network tags and service accounts cannot be mixed in one rule "
                      "(sourceServiceAccounts with targetTags)");
      }
      if (rule.direction == Direction::kEgress) {
        if (source_tags) {
          issues_.Error(file, ref, "sourceTags",
                        "only INGRESS rules can have source tags or source service accounts");
        }
        if (source_accounts) {
          issues_.Error(file, ref, "sourceServiceAccounts",
                        "only INGRESS rules can have source tags or source service accounts");
        }
      }
    }
  }

  void CheckRoutes() {
    for (const Route& route : config_.routes) {
      const std::string& file = route.origin.file;
      const std::string& ref = route.self_ref;
      CheckNetworkExists(file, ref, route.network_ref);
      CheckSameProject(file, ref, route.project, "network", route.network_ref);
      if (route.priority > kMaxPriority) {
        issues_.Error(file, ref, "priority",
                      "must be 0..65535 (got " + std::to_string(route.priority) + ")");
      }
      auto ranges = network_ranges_.find(route.network_ref);
      if (ranges != network_ranges_.end()) {
        for (const Occupant& range : ranges->second) {
          if (range.range.Contains(route.dest_range)) {
            issues_.Error(file, ref, "destRange",
                          FormatPrefix(route.dest_range) + " is within subnet range " +
                              FormatPrefix(range.range) + " (" + range.owner +
                              "); subnet routes cannot be overridden");
            break;
          }
        }
      }
      switch (route.next_hop_kind) {
        case NextHopKind::kInstance: {
          auto instance = instances_.find(route.next_hop_ref);
          if (instance == instances_.end()) {
            if (Missing(instances_, route.next_hop_ref)) {
              issues_.Error(file, ref, "nextHopInstance",
                            "instance " + route.next_hop_ref + " does not exist");
            }
            break;
          }
          const std::vector<NetworkInterface>& nics = instance->second->nics;
          bool in_network = std::any_of(nics.begin(), nics.end(), [&](const NetworkInterface& n) {
            return n.network_ref == route.network_ref;
          });
          if (!in_network) {
            issues_.Error(file, ref, "nextHopInstance",
                          "instance " + route.next_hop_ref + " has no interface in network " +
                              route.network_ref);
          }
          break;
        }
        case NextHopKind::kIlb:
          issues_.Warning(
              file, ref, "nextHopIlb",
              "load balancing is not emulated: the route goes to the instance holding the "
              "forwarding rule's address (inactive when given as a forwarding rule)");
          break;
        default:
          break;
      }
    }
  }

  // Static internal addresses: inside their subnetwork's primary range, not one of its four
  // reserved addresses, each address reserved once.
  void CheckAddresses() {
    std::map<std::pair<std::string, Ipv4>, const Address*> taken;
    for (const Address& address : config_.addresses) {
      auto subnet_it = subnets_.find(address.subnetwork_ref);
      if (subnet_it == subnets_.end()) {
        if (Missing(subnets_, address.subnetwork_ref)) {
          issues_.Error(address.origin.file, address.self_ref, "subnetwork",
                        "subnetwork " + address.subnetwork_ref + " does not exist");
        }
        continue;
      }
      const Subnetwork& subnet = *subnet_it->second;
      CheckSubnetAccess(address.origin.file, address.self_ref, address.project, "subnetwork",
                        subnet);
      if (subnet.region != address.region) {
        issues_.Error(
            address.origin.file, address.self_ref, "subnetwork",
            "subnetwork " + subnet.self_ref + " is not in the address's region " + address.region);
      }
      if (!subnet.range.Contains(address.ip)) {
        issues_.Error(address.origin.file, address.self_ref, "address",
                      FormatIpv4(address.ip) + " is outside the subnetwork's primary range " +
                          FormatPrefix(subnet.range));
      } else if (IsReservedAddress(subnet, address.ip)) {
        issues_.Error(address.origin.file, address.self_ref, "address",
                      FormatIpv4(address.ip) + " is reserved in " + FormatPrefix(subnet.range));
      }
      auto [it, inserted] = taken.emplace(std::make_pair(subnet.network_ref, address.ip), &address);
      if (!inserted) {
        issues_.Error(address.origin.file, address.self_ref, "address",
                      FormatIpv4(address.ip) + " is already reserved by " + it->second->self_ref);
      }
    }
  }

  void CheckRouters() {
    for (const Router& router : config_.routers) {
      const std::string& file = router.origin.file;
      const std::string& ref = router.self_ref;
      CheckNetworkExists(file, ref, router.network_ref);
      CheckSameProject(file, ref, router.project, "network", router.network_ref);
      std::set<std::string> interface_names;
      for (size_t i = 0; i < router.interfaces.size(); ++i) {
        const RouterInterface& itf = router.interfaces[i];
        const std::string path = "interfaces[" + std::to_string(i) + "]";
        if (!interface_names.insert(itf.name).second) {
          issues_.Error(file, ref, path + ".name", "duplicate interface " + itf.name);
        }
        if (!itf.linked_vpn_tunnel.empty() && !itf.linked_interconnect_attachment.empty()) {
          issues_.Error(file, ref, path,
                        "links both a VPN tunnel and an interconnect attachment; one at most");
        }
      }
      std::set<std::string> peer_names;
      for (size_t i = 0; i < router.peers.size(); ++i) {
        const BgpPeer& peer = router.peers[i];
        const std::string path = "bgpPeers[" + std::to_string(i) + "]";
        if (!peer_names.insert(peer.name).second) {
          issues_.Error(file, ref, path + ".name", "duplicate BGP peer " + peer.name);
        }
        auto itf =
            std::find_if(router.interfaces.begin(), router.interfaces.end(),
                         [&](const RouterInterface& r) { return r.name == peer.interface_name; });
        if (itf == router.interfaces.end()) {
          issues_.Error(
              file, ref, path + ".interfaceName",
              "interface " + peer.interface_name + " is not one of the router's interfaces");
          continue;
        }
        if (itf->ip_range.len > 0 && !itf->ip_range.Contains(peer.peer_ip)) {
          issues_.Error(file, ref, path + ".peerIpAddress",
                        FormatIpv4(peer.peer_ip) + " is not in the interface's range " +
                            FormatPrefix(itf->ip_range));
        }
        if (peer.peer_ip == itf->ip && itf->ip != 0) {
          issues_.Error(file, ref, path + ".peerIpAddress",
                        FormatIpv4(peer.peer_ip) + " is the router's own address on " + itf->name);
        }
        if (peer.ip != 0 && itf->ip != 0 && peer.ip != itf->ip) {
          issues_.Error(
              file, ref, path + ".ipAddress",
              FormatIpv4(peer.ip) + " is not the interface's address " + FormatIpv4(itf->ip));
        }
        if (peer.peer_asn == router.asn && router.asn != 0) {
          issues_.Error(file, ref, path + ".peerAsn",
                        "the peer's ASN equals the router's: Cloud Router speaks eBGP only");
        }
      }
    }
  }

  void CheckTestbed() {
    const Testbed& testbed = config_.testbed;
    const std::string& file = testbed.origin.file;
    std::map<std::string, size_t> ports;
    for (size_t i = 0; i < testbed.ports.size(); ++i) {
      const TestbedPort& port = testbed.ports[i];
      if (port.name.empty()) continue;
      auto [it, inserted] = ports.emplace(port.name, i);
      if (!inserted) {
        issues_.Error(file, "ports[" + std::to_string(i) + "]", "name",
                      "duplicate port name " + Quote(port.name) + " (also ports[" +
                          std::to_string(it->second) + "])");
      }
    }
    using PortVlanKey = std::pair<std::string, int>;
    std::map<PortVlanKey, size_t> instance_links;  // first instance endpoint per (port, vlan)
    std::map<PortVlanKey, size_t> external_links;
    for (size_t i = 0; i < testbed.endpoints.size(); ++i) {
      const Endpoint& endpoint = testbed.endpoints[i];
      if (endpoint.port.empty()) continue;
      PortVlanKey key{endpoint.port, endpoint.vlan.value_or(0)};
      (endpoint.kind == EndpointKind::kInstanceNic ? instance_links : external_links)
          .emplace(key, i);
    }
    std::map<std::pair<std::string, std::string>, size_t> wired_nics;
    std::map<std::tuple<std::string, int, uint64_t>, size_t> macs;
    for (size_t i = 0; i < testbed.endpoints.size(); ++i) {
      const Endpoint& endpoint = testbed.endpoints[i];
      std::string label = "endpoints[" + std::to_string(i) + "]";
      if (endpoint.port.empty()) continue;  // reported by the loader, or a placeholder
      if (!ports.contains(endpoint.port)) {
        issues_.Error(file, label, "port", "no port named " + Quote(endpoint.port) + " in ports");
      }
      if (endpoint.vlan && (*endpoint.vlan == 0 || *endpoint.vlan > kMaxVlan)) {
        issues_.Error(file, label, "vlan",
                      "must be 1..4094 (got " + std::to_string(*endpoint.vlan) + ")");
      }
      if (endpoint.mac && (endpoint.mac->IsMulticast() || endpoint.mac->AsU64() == 0)) {
        issues_.Error(file, label, "mac",
                      FormatMac(*endpoint.mac) + " is not a unicast MAC address");
      }
      PortVlanKey key{endpoint.port, endpoint.vlan.value_or(0)};
      if (endpoint.kind != EndpointKind::kInstanceNic) {
        if (size_t other = external_links.at(key); other != i) {
          issues_.Error(file, label, "port",
                        PortVlan(endpoint.port, endpoint.vlan) +
                            " already carries an external link (endpoints[" +
                            std::to_string(other) + "]); one external link per port and VLAN");
        } else if (auto shared = instance_links.find(key); shared != instance_links.end()) {
          issues_.Error(file, label, "port",
                        PortVlan(endpoint.port, endpoint.vlan) +
                            " also carries instance endpoints (endpoints[" +
                            std::to_string(shared->second) +
                            "]); an external link needs a port and VLAN of its own");
        }
        CheckNetworkExists(file, label, endpoint.network_ref);
        continue;
      }
      if (endpoint.instance_ref.empty()) continue;  // reported by the loader
      auto instance = instances_.find(endpoint.instance_ref);
      if (instance == instances_.end()) {
        if (Missing(instances_, endpoint.instance_ref) && !endpoint.await_instance) {
          issues_.Error(file, label, "instance",
                        "instance " + endpoint.instance_ref + " does not exist");
        }
        continue;
      }
      const std::vector<NetworkInterface>& nics = instance->second->nics;
      auto nic = std::find_if(nics.begin(), nics.end(),
                              [&](const NetworkInterface& n) { return n.name == endpoint.nic; });
      if (nic == nics.end()) {
        issues_.Error(file, label, "nic",
                      "instance " + endpoint.instance_ref + " has no network interface named " +
                          Quote(endpoint.nic));
        continue;
      }
      auto [wired, first_wiring] =
          wired_nics.emplace(std::make_pair(endpoint.instance_ref, endpoint.nic), i);
      if (!first_wiring) {
        issues_.Error(file, label, "nic",
                      endpoint.instance_ref + " " + endpoint.nic +
                          " is already wired by endpoints[" + std::to_string(wired->second) + "]");
      }
      MacAddr mac = endpoint.mac.value_or(GcpMacForIp(nic->ip));
      auto [used, first_use] =
          macs.emplace(std::make_tuple(endpoint.port, key.second, mac.AsU64()), i);
      if (!first_use) {
        issues_.Error(file, label, "mac",
                      "MAC " + FormatMac(mac) + " is already used on " +
                          PortVlan(endpoint.port, endpoint.vlan) + " by endpoints[" +
                          std::to_string(used->second) + "]");
      }
    }
  }

  const Config& config_;
  const std::set<std::string>& unparsed_;
  IssueList& issues_;
  std::map<std::string, const Network*> networks_;
  std::map<std::string, const Subnetwork*> subnets_;
  std::map<std::string, const Instance*> instances_;
  std::map<std::string, const HostProject*> hosts_;
  std::map<std::string, std::string> service_hosts_;  // service project -> first host listed
  std::map<std::string, std::vector<Occupant>> network_ranges_;  // subnet ranges by network
};

}  // namespace

std::string CrossProjectReason(const std::string& target, const std::string& target_project,
                               const std::string& project) {
  return "Cross project referencing is not allowed for this resource: " + target +
         " is in project " + target_project + ", this resource in project " + project +
         " (it must be in its network's project)";
}

bool IsReservedAddress(const Subnetwork& subnet, Ipv4 ip) {
  const Prefix& range = subnet.range;
  return ip == range.First() || ip == subnet.gateway || ip == range.Last() ||
         ip == range.Last() - 1;
}

void ValidateConfig(const Config& config, const std::set<std::string>& unparsed_refs,
                    IssueList& issues) {
  Validator(config, unparsed_refs, issues).Run();
}

}  // namespace svpc::config
