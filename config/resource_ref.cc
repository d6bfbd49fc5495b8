#include "config/resource_ref.h"

#include <vector>

namespace svpc::config {
namespace {

std::vector<std::string_view> Split(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

// Removes "https://host/", "//host/" and a following "compute/VERSION/".
std::string_view StripUrlPrefix(std::string_view text) {
  for (std::string_view scheme : {"https://", "http://", "//"}) {
    if (text.starts_with(scheme)) {
      text.remove_prefix(scheme.size());
      size_t slash = text.find('/');
      text = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
      break;
    }
  }
  if (text.starts_with("compute/")) {
    size_t slash = text.find('/', 8);
    if (slash != std::string_view::npos) text = text.substr(slash + 1);
  }
  return text;
}

std::string_view RefShape(RefKind kind) {
  switch (kind) {
    case RefKind::kNetwork:
      return "projects/PROJECT/global/networks/NAME";
    case RefKind::kSubnetwork:
      return "projects/PROJECT/regions/REGION/subnetworks/NAME";
    case RefKind::kInstance:
      return "projects/PROJECT/zones/ZONE/instances/NAME";
    case RefKind::kRoute:
      return "projects/PROJECT/global/routes/NAME";
    case RefKind::kFirewall:
      return "projects/PROJECT/global/firewalls/NAME";
    case RefKind::kVpnTunnel:
      return "projects/PROJECT/regions/REGION/vpnTunnels/NAME";
    case RefKind::kInterconnectAttachment:
      return "projects/PROJECT/regions/REGION/interconnectAttachments/NAME";
    case RefKind::kForwardingRule:
      return "projects/PROJECT/regions/REGION/forwardingRules/NAME";
    case RefKind::kGateway:
      return "projects/PROJECT/global/gateways/NAME";
    case RefKind::kRouter:
      return "projects/PROJECT/regions/REGION/routers/NAME";
    case RefKind::kAddress:
      return "projects/PROJECT/regions/REGION/addresses/NAME";
  }
  return "";
}

std::optional<ResourcePath> ParseResourcePath(std::string_view text) {
  text = StripUrlPrefix(text);
  if (text.empty()) return std::nullopt;
  std::vector<std::string_view> parts = Split(text);
  for (std::string_view part : parts) {
    if (part.empty()) return std::nullopt;
  }
  ResourcePath path;
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "projects") {
    path.project = parts[1];
    i = 2;
    if (parts.size() == 2) return std::nullopt;
  }
  size_t rest = parts.size() - i;
  if (rest == 1 && path.project.empty()) {
    path.name = parts[i];
    return path;
  }
  if (rest == 3 && parts[i] == "global") {
    path.scope = parts[i];
  } else if (rest == 4 && (parts[i] == "regions" || parts[i] == "zones")) {
    path.scope = parts[i];
    path.location = parts[i + 1];
  } else {
    return std::nullopt;
  }
  path.collection = parts[parts.size() - 2];
  path.name = parts.back();
  return path;
}

std::string_view RefNoun(RefKind kind) {
  switch (kind) {
    case RefKind::kNetwork:
      return "network";
    case RefKind::kSubnetwork:
      return "subnetwork";
    case RefKind::kInstance:
      return "instance";
    case RefKind::kRoute:
      return "route";
    case RefKind::kFirewall:
      return "firewall";
    case RefKind::kVpnTunnel:
      return "VPN tunnel";
    case RefKind::kInterconnectAttachment:
      return "interconnect attachment";
    case RefKind::kForwardingRule:
      return "forwarding rule";
    case RefKind::kGateway:
      return "gateway";
    case RefKind::kRouter:
      return "Cloud Router";
    case RefKind::kAddress:
      return "address";
  }
  return "";
}

std::string_view RefCollection(RefKind kind) {
  switch (kind) {
    case RefKind::kNetwork:
      return "networks";
    case RefKind::kSubnetwork:
      return "subnetworks";
    case RefKind::kInstance:
      return "instances";
    case RefKind::kRoute:
      return "routes";
    case RefKind::kFirewall:
      return "firewalls";
    case RefKind::kVpnTunnel:
      return "vpnTunnels";
    case RefKind::kInterconnectAttachment:
      return "interconnectAttachments";
    case RefKind::kForwardingRule:
      return "forwardingRules";
    case RefKind::kGateway:
      return "gateways";
    case RefKind::kRouter:
      return "routers";
    case RefKind::kAddress:
      return "addresses";
  }
  return "";
}

std::string_view RefScope(RefKind kind) {
  switch (kind) {
    case RefKind::kInstance:
      return "zones";
    case RefKind::kSubnetwork:
    case RefKind::kVpnTunnel:
    case RefKind::kInterconnectAttachment:
    case RefKind::kForwardingRule:
    case RefKind::kRouter:
    case RefKind::kAddress:
      return "regions";
    default:
      return "global";
  }
}

std::string MakeRef(RefKind kind, std::string_view project, std::string_view location,
                    std::string_view name) {
  std::string ref = "projects/";
  ref.append(project);
  ref += '/';
  ref.append(RefScope(kind));
  if (RefScope(kind) != "global") {
    ref += '/';
    ref.append(location);
  }
  ref += '/';
  ref.append(RefCollection(kind));
  ref += '/';
  ref.append(name);
  return ref;
}

RefResult CanonicalRef(RefKind kind, std::string_view text, std::string_view project,
                       std::string_view location) {
  auto invalid = [&] {
    return RefResult{"", "\"" + std::string(text) + "\" is not a valid " +
                             std::string(RefNoun(kind)) + " reference (expected a URL or " +
                             std::string(RefShape(kind)) + ")"};
  };
  std::optional<ResourcePath> path = ParseResourcePath(text);
  if (!path) return invalid();
  bool global = RefScope(kind) == "global";
  if (path->scope.empty()) {
    if (!global && location.empty()) return invalid();
    path->location = global ? "" : std::string(location);
  } else if (path->scope != RefScope(kind) || path->collection != RefCollection(kind)) {
    return invalid();
  }
  if (path->project.empty()) path->project = project;
  if (path->project.empty()) return invalid();
  return RefResult{MakeRef(kind, path->project, path->location, path->name), ""};
}

std::string LastUrlSegment(std::string_view text) {
  while (text.ends_with('/')) text.remove_suffix(1);
  size_t slash = text.rfind('/');
  return std::string(slash == std::string_view::npos ? text : text.substr(slash + 1));
}

std::optional<std::string> RegionOfZone(std::string_view zone) {
  size_t dash = zone.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == zone.size()) return std::nullopt;
  return std::string(zone.substr(0, dash));
}

std::string RefName(std::string_view ref) { return LastUrlSegment(ref); }

bool IsValidResourceName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name.front() < 'a' || name.front() > 'z') return false;
  if (name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace svpc::config
