#include "config/resource_parser.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

#include "common/ip_protocol.h"
#include "config/json_fields.h"
#include "config/policy_parser.h"
#include "config/resource_ref.h"

namespace svpc::config {
namespace {

namespace json = boost::json;

constexpr uint32_t kMinMtu = 1300;
constexpr uint32_t kMaxMtu = 8896;

RefKind RefKindOf(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kNetwork:
      return RefKind::kNetwork;
    case ResourceKind::kSubnetwork:
      return RefKind::kSubnetwork;
    case ResourceKind::kInstance:
      return RefKind::kInstance;
    case ResourceKind::kFirewall:
      return RefKind::kFirewall;
    case ResourceKind::kRoute:
      return RefKind::kRoute;
    case ResourceKind::kRouter:
      return RefKind::kRouter;
    case ResourceKind::kAddress:
      return RefKind::kAddress;
    case ResourceKind::kFirewallPolicy:  // parsed by policy_parser.h
      break;
  }
  return RefKind::kNetwork;
}

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Where a resource lives and what it is called.
struct Identity {
  std::string project;
  std::string location;  // region or zone; empty for global resources
  std::string name;
  std::string ref;
};

// Checks a selfLink-like URL; returns the path when it names a resource of `kind` in a project.
std::optional<ResourcePath> ParseSelfLink(const JsonFields& f, std::string_view field,
                                          std::string_view text, RefKind kind) {
  std::optional<ResourcePath> path = ParseResourcePath(text);
  if (!path || path->project.empty() || path->scope != RefScope(kind) ||
      path->collection != RefCollection(kind)) {
    std::string shape = "https://www.googleapis.com/compute/v1/projects/PROJECT/" +
                        std::string(RefScope(kind)) +
                        (RefScope(kind) == "global" ? "" : "/LOCATION") + "/" +
                        std::string(RefCollection(kind)) + "/NAME";
    f.Error(field, Quote(text) + " is not a " + std::string(RefNoun(kind)) + " URL (expected " +
                       shape + ")");
    return std::nullopt;
  }
  return path;
}

// Finds the project, location and name of a resource from its selfLink (or Cloud Asset name),
// else from the directory and the region/zone field. Returns false (with issues) when one is
// missing.
bool ResolveIdentity(ResourceKind kind, const JsonFields& f, const ResourceSource& source,
                     Identity& id) {
  RefKind ref_kind = RefKindOf(kind);
  bool global = RefScope(ref_kind) == "global";
  std::string_view location_field = RefScope(ref_kind) == "regions" ? "region" : "zone";
  bool ok = true;

  std::optional<ResourcePath> link;
  std::string link_field;
  if (auto self_link = f.String("selfLink")) {
    link_field = "selfLink";
    link = ParseSelfLink(f, link_field, *self_link, ref_kind);
    if (!link) ok = false;
  } else if (f.Has("selfLink")) {
    ok = false;  // wrong type, reported
  } else if (!source.asset_name.empty()) {
    link_field = "asset name";
    link = ParseSelfLink(f, link_field, source.asset_name, ref_kind);
    if (!link) ok = false;
  }

  std::optional<std::string> name = f.String("name");
  if (f.Has("name") && !name) ok = false;
  if (link) {
    id.project = link->project;
    if (!source.path_project.empty() && source.path_project != link->project) {
      f.Warning(link_field, "names project " + Quote(link->project) +
                                " but the file is under projects/" + source.path_project +
                                "/; using " + Quote(link->project));
    }
    if (!name) {
      name = link->name;
    } else if (*name != link->name) {
      f.Error("name",
              Quote(*name) + " does not match the name in " + link_field + " " + Quote(link->name));
      ok = false;
    }
  } else if (link_field.empty()) {
    id.project = source.path_project;
  }

  if (!global) {
    std::optional<std::string> location_text = f.String(location_field);
    std::string location = location_text ? LastUrlSegment(*location_text) : "";
    if (link) {
      if (!location.empty() && location != link->location) {
        f.Error(location_field, Quote(location) + " does not match the " +
                                    std::string(location_field) + " in " + link_field + " " +
                                    Quote(link->location));
        ok = false;
      }
      location = link->location;
    }
    if (location.empty()) {
      bool type_error = f.Has(location_field) && !location_text;
      if (!type_error && ok) f.Error(location_field, "missing");
      ok = false;
    }
    id.location = location;
  }

  if (!name) {
    bool link_failed = !link_field.empty() && !link;
    if (!f.Has("name") && !link_failed) f.Error("name", "missing");
    ok = false;
  } else if (!IsValidResourceName(*name)) {
    f.Error("name", Quote(*name) +
                        " is not a valid name (lowercase letters, digits and hyphens, starting "
                        "with a letter, at most 63 characters)");
    ok = false;
  } else {
    id.name = *name;
    f.scope().set_resource(*name);
  }
  if (id.project.empty()) {
    if (link_field.empty()) {
      f.Error("selfLink",
              "missing: cannot tell the project (add a selfLink or put the file under "
              "projects/PROJECT_ID/)");
    }
    ok = false;
  }
  if (ok) {
    id.ref = MakeRef(ref_kind, id.project, id.location, id.name);
    f.scope().set_resource(id.ref);
  }
  return ok;
}

std::optional<std::string> ReadRef(const JsonFields& f, std::string_view key, RefKind kind,
                                   std::string_view project, std::string_view location = {}) {
  std::optional<std::string> text = f.String(key);
  if (!text) return std::nullopt;
  RefResult result = CanonicalRef(kind, *text, project, location);
  if (!result.ok()) {
    f.Error(key, result.error);
    return std::nullopt;
  }
  return result.ref;
}

// A CIDR range. Host bits set: an error, or (lenient) a warning and the bits are cleared.
std::optional<Prefix> ParseCidrText(const JsonFields& f, std::string_view key,
                                    std::string_view text, bool lenient) {
  if (auto prefix = ParsePrefix(text)) return prefix;
  if (auto loose = ParsePrefix(text, /*allow_host_bits=*/true)) {
    std::string fixed = FormatPrefix(*loose);
    if (lenient) {
      f.Warning(key, Quote(text) + " has host bits set; using " + fixed);
      return loose;
    }
    f.Error(key, Quote(text) + " has host bits set (did you mean " + fixed + "?)");
    return std::nullopt;
  }
  f.Error(key, Quote(text) + " is not a valid IPv4 CIDR range");
  return std::nullopt;
}

std::optional<Prefix> ReadCidr(const JsonFields& f, std::string_view key, bool required) {
  std::optional<std::string> text = f.String(key);
  if (!text) {
    if (required && !f.Has(key)) f.Error(key, "missing");
    return std::nullopt;
  }
  return ParseCidrText(f, key, *text, /*lenient=*/false);
}

std::vector<Prefix> ReadCidrList(const JsonFields& f, std::string_view key) {
  std::vector<Prefix> out;
  const json::array* array = f.Array(key);
  if (array == nullptr) return out;
  for (size_t i = 0; i < array->size(); ++i) {
    std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    const json::value& item = (*array)[i];
    if (!item.is_string()) {
      f.Error(item_key, "must be a string, not " + std::string(JsonKindName(item)));
      continue;
    }
    if (auto prefix = ParseCidrText(f, item_key, item.get_string(), /*lenient=*/true)) {
      out.push_back(*prefix);
    }
  }
  return out;
}

std::optional<uint32_t> ReadPriority(const JsonFields& f) {
  std::optional<int64_t> value = f.Int("priority");
  if (!value) return std::nullopt;
  if (*value < 0 || *value > UINT32_MAX) {
    f.Error("priority", "must be 0..65535 (got " + std::to_string(*value) + ")");
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

template <typename T>
bool ReadEnum(const JsonFields& f, std::string_view key,
              std::initializer_list<std::pair<std::string_view, T>> values, T& out) {
  std::optional<std::string> text = f.String(key);
  if (!text) return !f.Has(key);
  for (const auto& [name, value] : values) {
    if (*text == name) {
      out = value;
      return true;
    }
  }
  std::string allowed;
  for (const auto& [name, value] : values) {
    allowed += allowed.empty() ? "" : ", ";
    allowed += name;
  }
  f.Error(key, "unknown value " + Quote(*text) + " (expected " + allowed + ")");
  return false;
}

void ParseNetwork(const JsonFields& f, Identity id, const ResourceSource& source, Config& config) {
  Network network;
  network.origin.file = source.file;
  network.project = id.project;
  network.name = id.name;
  network.self_ref = id.ref;
  if (f.Has("IPv4Range")) {
    f.Error("IPv4Range", "legacy networks are not supported (they cannot be shared)");
  }
  if (auto value = f.Bool("autoCreateSubnetworks")) network.auto_create_subnetworks = *value;
  if (auto routing = f.Object("routingConfig")) {
    ReadEnum<std::string>(*routing, "routingMode", {{"REGIONAL", "REGIONAL"}, {"GLOBAL", "GLOBAL"}},
                          network.routing_mode);
  }
  if (auto mtu = f.Int("mtu")) {
    if (*mtu < kMinMtu || *mtu > kMaxMtu) {
      f.Error("mtu", "must be " + std::to_string(kMinMtu) + ".." + std::to_string(kMaxMtu) +
                         " (got " + std::to_string(*mtu) + ")");
    } else {
      network.mtu = static_cast<uint32_t>(*mtu);
    }
  }
  ParseNetworkPolicyFields(f, network);
  if (!f.scope().failed()) config.networks.push_back(std::move(network));
}

void ParseSubnetwork(const JsonFields& f, Identity id, const ResourceSource& source,
                     Config& config) {
  Subnetwork subnet;
  subnet.origin.file = source.file;
  subnet.project = id.project;
  subnet.region = id.location;
  subnet.name = id.name;
  subnet.self_ref = id.ref;
  if (auto network = ReadRef(f, "network", RefKind::kNetwork, id.project)) {
    subnet.network_ref = *network;
  } else if (!f.Has("network")) {
    f.Error("network", "missing");
  }
  std::optional<Prefix> range = ReadCidr(f, "ipCidrRange", /*required=*/true);
  if (range) subnet.range = *range;
  if (auto gateway = f.String("gatewayAddress")) {
    if (auto ip = ParseIpv4(*gateway)) {
      subnet.gateway = *ip;
    } else {
      f.Error("gatewayAddress", Quote(*gateway) + " is not a valid IPv4 address");
    }
  } else if (range) {
    subnet.gateway = range->First() + 1;
  }
  for (auto& [index, item] : f.ObjectList("secondaryIpRanges")) {
    SecondaryRange secondary;
    if (auto name = item.String("rangeName")) {
      secondary.range_name = *name;
    } else if (!item.Has("rangeName")) {
      item.Error("rangeName", "missing");
    }
    if (auto prefix = ReadCidr(item, "ipCidrRange", /*required=*/true)) secondary.range = *prefix;
    subnet.secondary_ranges.push_back(std::move(secondary));
  }
  std::string purpose;
  if (ReadEnum<std::string>(f, "purpose",
                            {{"PRIVATE", ""},
                             {"PRIVATE_RFC_1918", "PRIVATE_RFC_1918"},
                             {"PRIVATE_SERVICE_CONNECT", "PRIVATE_SERVICE_CONNECT"},
                             {"REGIONAL_MANAGED_PROXY", "REGIONAL_MANAGED_PROXY"},
                             {"GLOBAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY"},
                             {"INTERNAL_HTTPS_LOAD_BALANCER", "INTERNAL_HTTPS_LOAD_BALANCER"},
                             {"PRIVATE_NAT", "PRIVATE_NAT"},
                             {"PEER_MIGRATION", "PEER_MIGRATION"}},
                            purpose)) {
    subnet.purpose = purpose;
  }
  // VPC Flow Logs: logConfig {enable, aggregationInterval, flowSampling, metadata}, or the
  // older top-level enableFlowLogs.
  if (auto legacy = f.Bool("enableFlowLogs")) subnet.flow_logs.enabled = *legacy;
  if (auto log = f.Object("logConfig")) {
    if (auto enable = log->Bool("enable")) subnet.flow_logs.enabled = *enable;
    uint32_t interval = 5;
    if (ReadEnum<uint32_t>(*log, "aggregationInterval",
                           {{"INTERVAL_5_SEC", 5},
                            {"INTERVAL_30_SEC", 30},
                            {"INTERVAL_1_MIN", 60},
                            {"INTERVAL_5_MIN", 300},
                            {"INTERVAL_10_MIN", 600},
                            {"INTERVAL_15_MIN", 900}},
                           interval)) {
      subnet.flow_logs.interval_s = interval;
    }
    if (const boost::json::value* v = log->Get("flowSampling")) {
      if (!v->is_number()) {
        log->Error("flowSampling", "must be a number between 0 and 1");
      } else {
        const double sampling = v->to_number<double>();
        if (sampling < 0 || sampling > 1) {
          log->Error("flowSampling", "must be between 0 and 1");
        } else {
          subnet.flow_logs.sampling = sampling;
        }
      }
    }
  }
  if (!f.scope().failed()) config.subnetworks.push_back(std::move(subnet));
}

void ParseInstance(const JsonFields& f, Identity id, const ResourceSource& source, Config& config) {
  Instance instance;
  instance.origin.file = source.file;
  instance.project = id.project;
  instance.zone = id.location;
  instance.name = id.name;
  instance.self_ref = id.ref;
  std::optional<std::string> region = RegionOfZone(id.location);
  if (id.location.empty()) {
    region = "REGION";  // already reported
  } else if (!region) {
    f.Error("zone", Quote(id.location) + " is not a zone name (REGION-LETTER, e.g. us-west1-a)");
    region = "REGION";
  }
  if (auto value = f.Bool("canIpForward")) instance.can_ip_forward = *value;
  if (auto tags = f.Object("tags")) instance.tags = tags->StringList("items");
  ParseInstanceSecureTags(f, instance);
  for (auto& [index, account] : f.ObjectList("serviceAccounts")) {
    if (auto email = account.String("email")) {
      instance.service_accounts.push_back(*email);
    } else if (!account.Has("email")) {
      account.Error("email", "missing");
    }
  }
  auto nics = f.ObjectList("networkInterfaces");
  if (nics.empty() && !f.scope().failed()) {
    f.Error("networkInterfaces", "missing: an instance needs at least one network interface");
  }
  for (auto& [index, item] : nics) {
    NetworkInterface nic;
    nic.name = "nic" + std::to_string(index);
    if (auto name = item.String("name")) nic.name = *name;
    if (auto network = ReadRef(item, "network", RefKind::kNetwork, id.project)) {
      nic.network_ref = *network;
    }
    if (auto subnet = ReadRef(item, "subnetwork", RefKind::kSubnetwork, id.project, *region)) {
      nic.subnetwork_ref = *subnet;
    }
    if (!item.Has("network") && !item.Has("subnetwork")) {
      item.Error("subnetwork", "missing: a network interface needs a subnetwork or a network");
    }
    if (auto ip_text = item.String("networkIP")) {
      std::optional<Ipv4> ip = ParseIpv4(*ip_text);
      if (!ip) {
        item.Error("networkIP", Quote(*ip_text) + " is not a valid IPv4 address");
      } else if (*ip == 0) {
        item.Error("networkIP", "0.0.0.0 is not a usable address");
      } else {
        nic.ip = *ip;
      }
    }
    for (auto& [alias_index, alias_item] : item.ObjectList("aliasIpRanges")) {
      AliasRange alias;
      if (auto name = alias_item.String("subnetworkRangeName")) alias.subnetwork_range_name = *name;
      std::optional<std::string> text = alias_item.String("ipCidrRange");
      if (!text) {
        if (!alias_item.Has("ipCidrRange")) alias_item.Error("ipCidrRange", "missing");
        continue;
      }
      if (text->starts_with('/')) {
        alias_item.Error("ipCidrRange", Quote(*text) +
                                            " must be a full CIDR range (ADDRESS/LENGTH); a bare "
                                            "netmask asks GCP to allocate, which the emulator "
                                            "does not do");
        continue;
      }
      if (auto prefix = ParseCidrText(alias_item, "ipCidrRange", *text, /*lenient=*/false)) {
        alias.range = *prefix;
        nic.alias_ranges.push_back(std::move(alias));
      }
    }
    if (const json::array* access = item.Array("accessConfigs")) {
      nic.has_external_ip = !access->empty();
    }
    instance.nics.push_back(std::move(nic));
  }
  if (!f.scope().failed()) config.instances.push_back(std::move(instance));
}

void ParseRuleEntries(const JsonFields& f, std::string_view key, Firewall& firewall) {
  auto entries = f.ObjectList(key);
  const json::array* array = f.Array(key);
  if (array != nullptr && array->empty()) f.Error(key, "must not be empty");
  for (auto& [index, item] : entries) {
    std::optional<ProtocolPorts> rule = ParseProtocolPorts(item, "IPProtocol");
    if (!rule) continue;
    firewall.rules.push_back(std::move(*rule));
  }
}

void ParseFirewall(const JsonFields& f, Identity id, const ResourceSource& source, Config& config) {
  Firewall firewall;
  firewall.origin.file = source.file;
  firewall.project = id.project;
  firewall.name = id.name;
  firewall.self_ref = id.ref;
  if (auto network = ReadRef(f, "network", RefKind::kNetwork, id.project)) {
    firewall.network_ref = *network;
  } else if (!f.Has("network")) {
    firewall.network_ref = MakeRef(RefKind::kNetwork, id.project, "", "default");
  }
  if (auto priority = ReadPriority(f)) firewall.priority = *priority;
  ReadEnum<Direction>(f, "direction",
                      {{"INGRESS", Direction::kIngress}, {"EGRESS", Direction::kEgress}},
                      firewall.direction);
  bool has_allowed = f.Has("allowed");
  bool has_denied = f.Has("denied");
  if (has_allowed && has_denied) {
    f.Error("denied", "a rule has either allowed or denied, not both");
  } else if (!has_allowed && !has_denied) {
    f.Error("allowed", "missing: a rule needs allowed or denied");
  } else {
    firewall.action = has_allowed ? Action::kAllow : Action::kDeny;
    ParseRuleEntries(f, has_allowed ? "allowed" : "denied", firewall);
  }
  firewall.source_ranges = ReadCidrList(f, "sourceRanges");
  firewall.destination_ranges = ReadCidrList(f, "destinationRanges");
  firewall.source_tags = f.StringList("sourceTags");
  firewall.target_tags = f.StringList("targetTags");
  firewall.source_service_accounts = f.StringList("sourceServiceAccounts");
  firewall.target_service_accounts = f.StringList("targetServiceAccounts");
  if (auto disabled = f.Bool("disabled")) firewall.disabled = *disabled;
  if (auto log = f.Object("logConfig")) {
    if (auto enable = log->Bool("enable")) firewall.log = *enable;
  }
  if (!f.scope().failed()) config.firewalls.push_back(std::move(firewall));
}

// Returns true when the route was parsed (false: ignored with a warning).
bool ParseRoute(const JsonFields& f, Identity id, const ResourceSource& source, Config& config) {
  if (f.Has("nextHopNetwork")) {
    f.Warning("nextHopNetwork", "subnet routes are derived from the subnetworks; route ignored");
    return false;
  }
  if (f.Has("nextHopPeering")) {
    f.Warning("nextHopPeering", "peering routes are not emulated; route ignored");
    return false;
  }
  Route route;
  route.origin.file = source.file;
  route.project = id.project;
  route.name = id.name;
  route.self_ref = id.ref;
  if (auto network = ReadRef(f, "network", RefKind::kNetwork, id.project)) {
    route.network_ref = *network;
  } else if (!f.Has("network")) {
    f.Error("network", "missing");
  }
  if (auto dest = ReadCidr(f, "destRange", /*required=*/true)) route.dest_range = *dest;
  if (auto priority = ReadPriority(f)) route.priority = *priority;
  route.tags = f.StringList("tags");

  static constexpr std::array<std::string_view, 6> kNextHops = {
      "nextHopGateway", "nextHopInstance",  "nextHopIp",
      "nextHopIlb",     "nextHopVpnTunnel", "nextHopInterconnectAttachment"};
  std::vector<std::string_view> present;
  for (std::string_view key : kNextHops) {
    if (f.Has(key)) present.push_back(key);
  }
  if (present.empty()) {
    f.Error("nextHop",
            "missing: a route needs exactly one of nextHopGateway, nextHopInstance, nextHopIp, "
            "nextHopIlb, nextHopVpnTunnel, nextHopInterconnectAttachment");
  } else if (present.size() > 1) {
    std::string names;
    for (std::string_view key : present) names += (names.empty() ? "" : ", ") + std::string(key);
    f.Error("nextHop", "a route has exactly one next hop, found " + names);
  } else {
    std::string_view key = present.front();
    if (key == "nextHopGateway") {
      route.next_hop_kind = NextHopKind::kGateway;
      if (auto ref = ReadRef(f, key, RefKind::kGateway, id.project)) {
        if (RefName(*ref) != "default-internet-gateway") {
          f.Error(key, Quote(RefName(*ref)) +
                           " is not a gateway; the only gateway is default-internet-gateway");
        } else {
          route.next_hop_ref = RefName(*ref);
        }
      }
    } else if (key == "nextHopInstance") {
      route.next_hop_kind = NextHopKind::kInstance;
      if (auto ref = ReadRef(f, key, RefKind::kInstance, id.project)) route.next_hop_ref = *ref;
    } else if (key == "nextHopIp") {
      route.next_hop_kind = NextHopKind::kIp;
      if (auto text = f.String(key)) {
        if (auto ip = ParseIpv4(*text)) {
          route.next_hop_ip = *ip;
        } else {
          f.Error(key, Quote(*text) + " is not a valid IPv4 address");
        }
      }
    } else if (key == "nextHopIlb") {
      route.next_hop_kind = NextHopKind::kIlb;
      if (auto text = f.String(key)) {
        if (auto ip = ParseIpv4(*text)) {
          route.next_hop_ip = *ip;
          route.next_hop_ref = *text;
        } else if (auto ref = ReadRef(f, key, RefKind::kForwardingRule, id.project)) {
          route.next_hop_ref = *ref;
        }
      }
    } else if (key == "nextHopVpnTunnel") {
      route.next_hop_kind = NextHopKind::kVpnTunnel;
      if (auto ref = ReadRef(f, key, RefKind::kVpnTunnel, id.project)) route.next_hop_ref = *ref;
    } else {
      route.next_hop_kind = NextHopKind::kInterconnectAttachment;
      if (auto ref = ReadRef(f, key, RefKind::kInterconnectAttachment, id.project)) {
        route.next_hop_ref = *ref;
      }
    }
  }
  if (!f.scope().failed()) config.routes.push_back(std::move(route));
  return true;
}

// bgp / bgpPeers[] advertisement fields: advertiseMode DEFAULT | CUSTOM, advertisedGroups
// [ALL_SUBNETS], advertisedIpRanges[{range}].
Advertisement ReadAdvertisement(const JsonFields& f) {
  Advertisement a;
  if (auto mode = f.String("advertiseMode")) {
    if (*mode == "CUSTOM") {
      a.custom = true;
    } else if (*mode != "DEFAULT") {
      f.Error("advertiseMode", Quote(*mode) + " is not DEFAULT or CUSTOM");
    }
  }
  for (const std::string& group : f.StringList("advertisedGroups")) {
    if (group == "ALL_SUBNETS") {
      a.all_subnets = true;
    } else {
      f.Error("advertisedGroups", Quote(group) + " is not an advertised group (ALL_SUBNETS)");
    }
  }
  for (auto& [index, range] : f.ObjectList("advertisedIpRanges")) {
    if (auto prefix = ReadCidr(range, "range", /*required=*/true)) a.ranges.push_back(*prefix);
  }
  if (!a.custom && (a.all_subnets || !a.ranges.empty())) {
    f.Error("advertiseMode", "advertisedGroups and advertisedIpRanges need advertiseMode CUSTOM");
  }
  return a;
}

// A Cloud Router ASN: private 16-bit (64512-65534), private 32-bit (4200000000-4294967294), or
// 16550 (Partner Interconnect).
bool IsCloudRouterAsn(int64_t asn) {
  return (asn >= 64512 && asn <= 65534) || (asn >= 4200000000LL && asn <= 4294967294LL) ||
         asn == 16550;
}

void ParseRouter(const JsonFields& f, Identity id, const ResourceSource& source, Config& config) {
  Router router;
  router.origin.file = source.file;
  router.project = id.project;
  router.region = id.location;
  router.name = id.name;
  router.self_ref = id.ref;
  if (auto network = ReadRef(f, "network", RefKind::kNetwork, id.project)) {
    router.network_ref = *network;
  } else if (!f.Has("network")) {
    f.Error("network", "missing");
  }
  std::vector<std::pair<std::string, std::string>> md5_keys;  // name, key
  for (auto& [index, key] : f.ObjectList("md5AuthenticationKeys")) {
    auto name = key.String("name");
    auto value = key.String("key");
    if (!name) key.Error("name", "missing");
    if (!value) key.Error("key", "missing");
    if (name && value) md5_keys.emplace_back(*name, *value);
  }
  if (auto bgp = f.Object("bgp")) {
    if (auto asn = bgp->Int("asn")) {
      if (!IsCloudRouterAsn(*asn)) {
        bgp->Error("asn", std::to_string(*asn) +
                              " is not a Cloud Router ASN (64512-65534, 4200000000-4294967294 or "
                              "16550)");
      } else {
        router.asn = static_cast<uint32_t>(*asn);
      }
    } else if (!bgp->Has("asn")) {
      bgp->Error("asn", "missing");
    }
    if (auto keepalive = bgp->Int("keepaliveInterval")) {
      if (*keepalive < 20 || *keepalive > 60) {
        bgp->Error("keepaliveInterval", std::to_string(*keepalive) + " is outside 20..60 seconds");
      } else {
        router.keepalive_seconds = static_cast<uint32_t>(*keepalive);
      }
    }
    router.advertisement = ReadAdvertisement(*bgp);
  } else if (!f.Has("bgp")) {
    f.Error("bgp", "missing: a Cloud Router needs bgp.asn");
  }
  for (auto& [index, itf] : f.ObjectList("interfaces")) {
    RouterInterface ri;
    if (auto name = itf.String("name")) {
      ri.name = *name;
    } else if (!itf.Has("name")) {
      itf.Error("name", "missing");
    }
    if (auto text = itf.String("ipRange")) {
      auto range = ParsePrefix(*text, /*allow_host_bits=*/true);
      auto address = ParseIpv4(text->substr(0, text->find('/')));
      if (range && address && text->find('/') != std::string::npos) {
        ri.ip = *address;
        ri.ip_range = *range;
      } else {
        itf.Error("ipRange", Quote(*text) + " is not ADDRESS/LENGTH (e.g. 169.254.0.1/29)");
      }
    }
    if (itf.Has("linkedVpnTunnel")) {
      if (auto ref =
              ReadRef(itf, "linkedVpnTunnel", RefKind::kVpnTunnel, id.project, id.location)) {
        ri.linked_vpn_tunnel = *ref;
      }
    }
    if (itf.Has("linkedInterconnectAttachment")) {
      if (auto ref = ReadRef(itf, "linkedInterconnectAttachment", RefKind::kInterconnectAttachment,
                             id.project, id.location)) {
        ri.linked_interconnect_attachment = *ref;
      }
    }
    router.interfaces.push_back(std::move(ri));
  }
  for (auto& [index, pf] : f.ObjectList("bgpPeers")) {
    BgpPeer peer;
    if (auto name = pf.String("name")) {
      peer.name = *name;
    } else if (!pf.Has("name")) {
      pf.Error("name", "missing");
    }
    if (auto itf = pf.String("interfaceName")) {
      peer.interface_name = *itf;
    } else if (!pf.Has("interfaceName")) {
      pf.Error("interfaceName", "missing");
    }
    for (std::string_view key : {"ipAddress", "peerIpAddress"}) {
      if (auto text = pf.String(key)) {
        if (auto ip = ParseIpv4(*text)) {
          (key == "ipAddress" ? peer.ip : peer.peer_ip) = *ip;
        } else {
          pf.Error(key, Quote(*text) + " is not a valid IPv4 address");
        }
      } else if (key == "peerIpAddress" && !pf.Has(key)) {
        pf.Error(key, "missing");
      }
    }
    if (auto asn = pf.Int("peerAsn")) {
      if (*asn < 1 || *asn > 4294967295LL) {
        pf.Error("peerAsn", std::to_string(*asn) + " is not an ASN (1..4294967295)");
      } else {
        peer.peer_asn = static_cast<uint32_t>(*asn);
      }
    } else if (!pf.Has("peerAsn")) {
      pf.Error("peerAsn", "missing");
    }
    if (auto priority = pf.Int("advertisedRoutePriority")) {
      if (*priority < 0 || *priority > 65535) {
        pf.Error("advertisedRoutePriority", std::to_string(*priority) + " is outside 0..65535");
      } else {
        peer.advertised_route_priority = static_cast<uint32_t>(*priority);
      }
    }
    if (pf.Has("advertiseMode")) peer.advertisement = ReadAdvertisement(pf);
    if (auto enable = pf.String("enable")) {
      if (*enable == "FALSE") {
        peer.enabled = false;
      } else if (*enable != "TRUE") {
        pf.Error("enable", Quote(*enable) + " is not TRUE or FALSE");
      }
    }
    if (auto key_name = pf.String("md5AuthenticationKeyName")) {
      peer.md5_key_name = *key_name;
      bool found = false;
      for (const auto& [name, key] : md5_keys) {
        if (name == *key_name) {
          peer.md5_key = key;
          found = true;
        }
      }
      if (!found) {
        pf.Error("md5AuthenticationKeyName",
                 Quote(*key_name) + " is not one of the router's md5AuthenticationKeys");
      }
    }
    if (pf.Has("bfd")) {
      pf.Warning("bfd", "BFD is not emulated: the session relies on the BGP hold timer");
    }
    router.peers.push_back(std::move(peer));
  }
  if (!f.scope().failed()) config.routers.push_back(std::move(router));
}

}  // namespace

// Only static internal addresses: external ones and the purposes that reserve ranges for
// load balancers or peering are not emulated.
void ParseAddress(const JsonFields& f, Identity id, const ResourceSource& source, Config& config) {
  Address address;
  address.origin.file = source.file;
  address.project = id.project;
  address.region = id.location;
  address.name = id.name;
  address.self_ref = id.ref;
  if (auto type = f.String("addressType"); !type || *type != "INTERNAL") {
    if (!f.Has("addressType") || type) {
      f.Error("addressType", "only INTERNAL addresses are emulated (set addressType INTERNAL)");
    }
  }
  if (auto purpose = f.String("purpose"); purpose && *purpose != "GCE_ENDPOINT") {
    f.Error("purpose", Quote(*purpose) + " is not emulated (only GCE_ENDPOINT)");
  }
  if (auto subnet = ReadRef(f, "subnetwork", RefKind::kSubnetwork, id.project, id.location)) {
    address.subnetwork_ref = *subnet;
  } else if (!f.Has("subnetwork")) {
    f.Error("subnetwork", "missing: an internal address is reserved in a subnetwork");
  }
  if (auto text = f.String("address")) {
    if (auto ip = ParseIpv4(*text)) {
      address.ip = *ip;
    } else {
      f.Error("address", Quote(*text) + " is not a valid IPv4 address");
    }
  } else if (!f.Has("address")) {
    f.Error("address", "missing (the API allocates one; a configuration file names it)");
  }
  if (auto description = f.String("description")) address.description = *description;
  if (!f.scope().failed()) config.addresses.push_back(std::move(address));
}

std::optional<ProtocolPorts> ParseProtocolPorts(const JsonFields& item,
                                                std::string_view protocol_key) {
  ProtocolPorts entry;
  const json::value* protocol = item.Get(protocol_key);
  if (protocol == nullptr) {
    item.Error(protocol_key, "missing");
    return std::nullopt;
  }
  std::string text;
  if (protocol->is_string()) {
    text = protocol->get_string();
  } else if (protocol->is_int64() || protocol->is_uint64()) {
    text = json::serialize(*protocol);
  } else {
    item.Error(protocol_key, "must be a string, not " + std::string(JsonKindName(*protocol)));
    return std::nullopt;
  }
  std::optional<int> number = ParseProtocolName(text);
  if (!number) {
    item.Error(protocol_key, "unknown protocol " + Quote(text) +
                                 " (expected tcp, udp, icmp, esp, ah, sctp, ipip, all or a "
                                 "number 0..255)");
    return std::nullopt;
  }
  entry.protocol = *number;
  std::vector<std::string> ports = item.StringList("ports");
  bool ports_allowed = IpProtocolHasPorts(*number);
  if (!ports.empty() && !ports_allowed) {
    item.Error("ports",
               "ports are only allowed with tcp, udp and sctp (protocol is " + Quote(text) + ")");
    ports.clear();
  }
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string port_key = "ports[" + std::to_string(i) + "]";
    std::string_view port = ports[i];
    size_t dash = port.find('-');
    std::string_view first_text = port.substr(0, dash);
    std::string_view last_text = dash == std::string_view::npos ? port : port.substr(dash + 1);
    bool out_of_range = false;
    std::optional<uint16_t> first = ParsePortNumber(first_text, out_of_range);
    std::optional<uint16_t> last = ParsePortNumber(last_text, out_of_range);
    if (out_of_range) {
      item.Error(port_key, Quote(port) + ": ports must be 0..65535");
    } else if (!first || !last) {
      item.Error(port_key, Quote(port) + " is not a port or port range (\"22\", \"1000-2000\")");
    } else if (*first > *last) {
      item.Error(port_key, Quote(port) + " is an empty range (first port above last)");
    } else {
      entry.ports.push_back(PortRange{*first, *last});
    }
  }
  return entry;
}

std::optional<int> ParseProtocolName(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const auto& [name, number] : kIpProtocolNames) {
    if (text == name) return number;
  }
  uint32_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size() && number <= 255) {
    return static_cast<int>(number);
  }
  return std::nullopt;
}

std::optional<uint16_t> ParsePortNumber(std::string_view text, bool& out_of_range) {
  uint32_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ptr != text.data() + text.size() || ec == std::errc::invalid_argument) {
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || number > 65535) {
    out_of_range = true;
    return std::nullopt;
  }
  return static_cast<uint16_t>(number);
}

ParsedResource ParseResource(ResourceKind kind, const json::object& data,
                             const ResourceSource& source, Config& config, IssueList& issues) {
  if (kind == ResourceKind::kFirewallPolicy) {
    return ParseFirewallPolicy(data, source, config, issues);  // policy_parser.h
  }
  std::string label = source.label;
  if (const json::value* name = data.if_contains("name"); name != nullptr && name->is_string()) {
    label = std::string(name->get_string());
  }
  IssueScope scope(issues, source.file, label);
  JsonFields f(data, scope);
  Identity id;
  bool identified = ResolveIdentity(kind, f, source, id);
  ParsedResource result;
  result.ref = id.ref;
  // The body is parsed even when the identity is incomplete, so its problems are reported too;
  // placeholders keep references from failing for the same cause twice.
  if (id.project.empty()) id.project = "PROJECT";
  switch (kind) {
    case ResourceKind::kNetwork:
      ParseNetwork(f, id, source, config);
      break;
    case ResourceKind::kSubnetwork:
      ParseSubnetwork(f, id, source, config);
      break;
    case ResourceKind::kInstance:
      ParseInstance(f, id, source, config);
      break;
    case ResourceKind::kFirewall:
      ParseFirewall(f, id, source, config);
      break;
    case ResourceKind::kRoute:
      if (!ParseRoute(f, id, source, config)) return result;
      break;
    case ResourceKind::kRouter:
      ParseRouter(f, id, source, config);
      break;
    case ResourceKind::kAddress:
      ParseAddress(f, id, source, config);
      break;
    case ResourceKind::kFirewallPolicy:  // handled above
      break;
  }
  result.added = identified && !scope.failed();
  return result;
}

}  // namespace svpc::config
