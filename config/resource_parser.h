#pragma once
// Turns one Compute Engine REST resource (network, subnetwork, instance, firewall, route) into its
// model.h value. Checks what a single resource can check on its own (types, enums, formats,
// references' shape); rules that involve other resources live in config_validator.h.

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_issue.h"
#include "config/json_fields.h"
#include "config/model.h"

namespace svpc::config {

enum class ResourceKind {
  kNetwork,
  kSubnetwork,
  kInstance,
  kFirewall,
  kRoute,
  kFirewallPolicy,
  kRouter,
  kAddress,  // static internal addresses (compute#address)
};

// Where a resource was read.
struct ResourceSource {
  std::string file;          // relative to the configuration directory
  std::string path_project;  // PROJECT_ID when the file is under projects/PROJECT_ID/, else empty
  std::string label;       // names the resource in issues until its name is known: "[3]", "line 4"
  std::string asset_name;  // Cloud Asset Inventory asset name, or empty
};

struct ParsedResource {
  std::string ref;     // canonical reference when it could be computed, even if the resource failed
  bool added = false;  // appended to the config (it had no errors and is not ignored)
};

// Parses `data` as a resource of `kind` and appends it to `config` if it has no errors. Every
// problem is added to `issues`; never throws for bad input.
ParsedResource ParseResource(ResourceKind kind, const boost::json::object& data,
                             const ResourceSource& source, Config& config, IssueList& issues);

// One protocol entry with its ports: a firewall's allowed[]/denied[] item (`protocol_key`
// "IPProtocol") or a firewall policy rule's match.layer4Configs[] item ("ipProtocol"). Reports
// each problem on `item`; nullopt when the protocol itself is unusable (bad ports are reported
// and left out).
std::optional<ProtocolPorts> ParseProtocolPorts(const JsonFields& item,
                                                std::string_view protocol_key);

// A firewall protocol as GCP spells it (tcp udp icmp esp ah sctp ipip all, any case) or a
// number 0..255; -1 for "all". nullopt when it is neither.
std::optional<int> ParseProtocolName(std::string text);

// A port number 0..65535; sets `out_of_range` when it is a number but too large.
std::optional<uint16_t> ParsePortNumber(std::string_view text, bool& out_of_range);

}  // namespace svpc::config
