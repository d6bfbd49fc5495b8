#include "config/config_loader.h"

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/progress.h"
#include "config/config_validator.h"
#include "config/json_fields.h"
#include "config/layout_files.h"
#include "config/resource_parser.h"
#include "config/resource_ref.h"

namespace svpc::config {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kSharedVpcFile = "shared-vpc.json";
constexpr std::string_view kTestbedFile = "testbed.json";
// The control API's bearer tokens (api/README.md); not a resource.
constexpr std::string_view kTokensFile = "tokens.json";

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

struct JsonSyntaxError {
  size_t line = 0;  // 1-based
  size_t column = 0;
  std::string message;
};

// Parses every JSON value in `text`: one document, or several separated by whitespace (NDJSON).
// Comments and trailing commas are accepted. Returns false at the first syntax error.
bool ParseJsonValues(std::string_view text, std::vector<json::value>& out, JsonSyntaxError& error) {
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  json::stream_parser parser({}, options);
  size_t offset = 0;
  auto skip_space = [&] {
    while (offset < text.size() && (text[offset] == ' ' || text[offset] == '\t' ||
                                    text[offset] == '\n' || text[offset] == '\r')) {
      ++offset;
    }
  };
  skip_space();
  while (offset < text.size()) {
    boost::system::error_code ec;
    offset += parser.write_some(text.data() + offset, text.size() - offset, ec);
    if (!ec && !parser.done()) parser.finish(ec);
    if (ec) {
      error.message = ec.message();
      // Boost.JSON 1.81's write_some can return a bogus count after a syntax error in a comment
      // ("/x"), far beyond the text (found by tests/fuzz/fuzz_config.cc): stay inside the text.
      offset = std::min(offset, text.size());
      error.line = 1 + std::count(text.begin(), text.begin() + offset, '\n');
      size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
      line_start = line_start == std::string_view::npos || offset == 0 ? 0 : line_start + 1;
      error.column = offset - line_start + 1;
      return false;
    }
    out.push_back(parser.release());
    parser.reset();
    skip_space();
  }
  return true;
}

std::optional<ResourceKind> KindFromName(std::string_view kind) {
  if (kind == "compute#network") return ResourceKind::kNetwork;
  if (kind == "compute#subnetwork") return ResourceKind::kSubnetwork;
  if (kind == "compute#instance") return ResourceKind::kInstance;
  if (kind == "compute#firewall") return ResourceKind::kFirewall;
  if (kind == "compute#route") return ResourceKind::kRoute;
  if (kind == "compute#firewallPolicy") return ResourceKind::kFirewallPolicy;
  if (kind == "compute#router") return ResourceKind::kRouter;
  if (kind == "compute#address") return ResourceKind::kAddress;
  return std::nullopt;
}

std::optional<ResourceKind> KindFromAssetType(std::string_view type) {
  if (type == "compute.googleapis.com/Network") return ResourceKind::kNetwork;
  if (type == "compute.googleapis.com/Subnetwork") return ResourceKind::kSubnetwork;
  if (type == "compute.googleapis.com/Instance") return ResourceKind::kInstance;
  if (type == "compute.googleapis.com/Firewall") return ResourceKind::kFirewall;
  if (type == "compute.googleapis.com/Route") return ResourceKind::kRoute;
  if (type == "compute.googleapis.com/FirewallPolicy") return ResourceKind::kFirewallPolicy;
  if (type == "compute.googleapis.com/Router") return ResourceKind::kRouter;
  if (type == "compute.googleapis.com/Address") return ResourceKind::kAddress;
  return std::nullopt;
}

// The kind of a resource without "kind", from the fields only that kind has.
std::optional<ResourceKind> InferKind(const json::object& object) {
  if (object.contains("rules") && (object.contains("associations") || object.contains("parent"))) {
    return ResourceKind::kFirewallPolicy;
  }
  if (object.contains("ipCidrRange")) return ResourceKind::kSubnetwork;
  if (object.contains("networkInterfaces")) return ResourceKind::kInstance;
  if (object.contains("allowed") || object.contains("denied")) return ResourceKind::kFirewall;
  if (object.contains("destRange")) return ResourceKind::kRoute;
  if (object.contains("bgpPeers") || object.contains("bgp")) return ResourceKind::kRouter;
  if (object.contains("addressType")) return ResourceKind::kAddress;
  if (object.contains("autoCreateSubnetworks") || object.contains("subnetworks") ||
      object.contains("IPv4Range")) {
    return ResourceKind::kNetwork;
  }
  return std::nullopt;
}

class Loader {
 public:
  explicit Loader(fs::path dir) : dir_(std::move(dir)) {}

  LoadResult Run();

 private:
  std::vector<std::pair<std::string, fs::path>> ListResourceFiles();
  std::optional<std::string> ReadFile(const fs::path& path, const std::string& rel);
  void LoadResourceFile(const fs::path& path, const std::string& rel);
  void HandleValue(const json::value& value, const ResourceSource& source);
  void HandleObject(const json::object& object, ResourceSource source);
  std::optional<json::value> LoadLayoutFile(std::string_view name);
  void ResolveNicDefaults();
  void AllocateEphemeralIps();

  fs::path dir_;
  Config config_;
  IssueList issues_;
  std::set<std::string> unparsed_refs_;
};

std::vector<std::pair<std::string, fs::path>> Loader::ListResourceFiles() {
  std::vector<std::pair<std::string, fs::path>> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir_, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    std::string name = path.filename().string();
    if (name.starts_with('.')) {  // hidden files and folders (.git, editor backups)
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    std::string ext = path.extension().string();
    if ((ext != ".json" && ext != ".ndjson") || !it->is_regular_file()) continue;
    std::string rel = fs::relative(path, dir_).generic_string();
    if (rel == kSharedVpcFile || rel == kTestbedFile || rel == kTokensFile) continue;
    files.emplace_back(rel, path);
  }
  if (ec) issues_.Error("", "", "", "cannot list " + dir_.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::optional<std::string> Loader::ReadFile(const fs::path& path, const std::string& rel) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    issues_.Error(rel, "", "", "cannot open the file");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    issues_.Error(rel, "", "", "cannot read the file");
    return std::nullopt;
  }
  return text.str();
}

void Loader::LoadResourceFile(const fs::path& path, const std::string& rel) {
  std::optional<std::string> text = ReadFile(path, rel);
  if (!text) return;
  ResourceSource source;
  source.file = rel;
  fs::path rel_path(rel);
  auto part = rel_path.begin();
  if (part != rel_path.end() && *part == "projects" && std::distance(part, rel_path.end()) >= 3) {
    source.path_project = (++part)->string();
  }

  if (rel_path.extension() == ".ndjson") {
    // One value per line; a broken line does not stop the others.
    std::istringstream lines(*text);
    std::string line;
    for (size_t number = 1; std::getline(lines, line); ++number) {
      std::vector<json::value> values;
      JsonSyntaxError error;
      if (!ParseJsonValues(line, values, error)) {
        issues_.Error(
            rel, "line " + std::to_string(number), "",
            "invalid JSON: " + error.message + " (column " + std::to_string(error.column) + ")");
        continue;
      }
      source.label = "line " + std::to_string(number);
      for (const json::value& value : values) HandleValue(value, source);
    }
    return;
  }
  std::vector<json::value> values;
  JsonSyntaxError error;
  if (!ParseJsonValues(*text, values, error)) {
    issues_.Error(rel, "", "",
                  "invalid JSON: " + error.message + " (line " + std::to_string(error.line) +
                      ", column " + std::to_string(error.column) + ")");
    return;
  }
  if (values.empty()) {
    issues_.Warning(rel, "", "", "the file is empty");
    return;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    source.label = values.size() == 1 ? "" : "value " + std::to_string(i + 1);
    HandleValue(values[i], source);
  }
}

void Loader::HandleValue(const json::value& value, const ResourceSource& source) {
  if (value.is_array()) {
    const json::array& items = value.get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      ResourceSource item_source = source;
      item_source.label =
          (source.label.empty() ? "" : source.label + " ") + "[" + std::to_string(i) + "]";
      HandleValue(items[i], item_source);
    }
    return;
  }
  if (!value.is_object()) {
    issues_.Error(source.file, source.label, "",
                  "must be a JSON object (a resource), not " + std::string(JsonKindName(value)));
    return;
  }
  HandleObject(value.get_object(), source);
}

void Loader::HandleObject(const json::object& object, ResourceSource source) {
  std::string label = source.label;
  if (const json::value* name = object.if_contains("name"); name != nullptr && name->is_string()) {
    label = std::string(name->get_string());
  }
  std::optional<ResourceKind> kind;
  const json::object* data = &object;
  if (const json::value* asset_type = object.if_contains("asset_type")) {
    // Cloud Asset Inventory: {name, asset_type, resource: {data: {...}}}.
    if (!asset_type->is_string()) {
      issues_.Error(source.file, label, "asset_type",
                    "must be a string, not " + std::string(JsonKindName(*asset_type)));
      return;
    }
    kind = KindFromAssetType(asset_type->get_string());
    if (!kind) {
      issues_.Warning(source.file, label, "asset_type",
                      "unsupported asset type " + Quote(asset_type->get_string()) + "; ignored");
      return;
    }
    const json::value* resource = object.if_contains("resource");
    const json::value* inner = resource != nullptr && resource->is_object()
                                   ? resource->get_object().if_contains("data")
                                   : nullptr;
    if (inner == nullptr || !inner->is_object()) {
      issues_.Error(source.file, label, "resource.data", "missing: the asset has no resource data");
      return;
    }
    data = &inner->get_object();
    if (const json::value* name = object.if_contains("name");
        name != nullptr && name->is_string()) {
      source.asset_name = std::string(name->get_string());
    }
  } else if (const json::value* kind_value = object.if_contains("kind")) {
    if (!kind_value->is_string()) {
      issues_.Error(source.file, label, "kind",
                    "must be a string, not " + std::string(JsonKindName(*kind_value)));
      return;
    }
    std::string_view kind_name = kind_value->get_string();
    const json::value* items = object.if_contains("items");
    if (kind_name.ends_with("List") && items != nullptr && items->is_array()) {
      // A REST list response: {kind: "compute#subnetworkList", items: [...]}.
      const json::array& list = items->get_array();
      for (size_t i = 0; i < list.size(); ++i) {
        ResourceSource item_source = source;
        item_source.label = "items[" + std::to_string(i) + "]";
        HandleValue(list[i], item_source);
      }
      return;
    }
    kind = KindFromName(kind_name);
    if (!kind) {
      issues_.Warning(source.file, label, "kind",
                      "unsupported resource kind " + Quote(kind_name) + "; ignored");
      return;
    }
  } else {
    kind = InferKind(object);
    if (!kind) {
      issues_.Error(source.file, label, "kind",
                    "cannot tell the resource kind: add \"kind\" (compute#network, "
                    "compute#subnetwork, compute#instance, compute#firewall, compute#route or "
                    "compute#router)");
      return;
    }
  }
  ParsedResource parsed = ParseResource(*kind, *data, source, config_, issues_);
  if (!parsed.added && !parsed.ref.empty()) unparsed_refs_.insert(parsed.ref);
}

std::optional<json::value> Loader::LoadLayoutFile(std::string_view name) {
  fs::path path = dir_ / name;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::string rel(name);
  std::optional<std::string> text = ReadFile(path, rel);
  if (!text) return std::nullopt;
  std::vector<json::value> values;
  JsonSyntaxError error;
  if (!ParseJsonValues(*text, values, error)) {
    issues_.Error(rel, "", "",
                  "invalid JSON: " + error.message + " (line " + std::to_string(error.line) +
                      ", column " + std::to_string(error.column) + ")");
    return std::nullopt;
  }
  if (values.size() != 1) {
    issues_.Error(rel, "", "", "must hold exactly one JSON object");
    return std::nullopt;
  }
  return std::move(values.front());
}

void Loader::ResolveNicDefaults() {
  std::map<std::string, const Subnetwork*> subnets;
  for (const Subnetwork& subnet : config_.subnetworks) subnets.emplace(subnet.self_ref, &subnet);
  for (Instance& instance : config_.instances) {
    std::string region = RegionOfZone(instance.zone).value_or("");
    for (size_t i = 0; i < instance.nics.size(); ++i) {
      NetworkInterface& nic = instance.nics[i];
      std::string field = "networkInterfaces[" + std::to_string(i) + "].subnetwork";
      if (nic.subnetwork_ref.empty() && !nic.network_ref.empty()) {
        std::vector<const Subnetwork*> candidates;
        for (const Subnetwork& subnet : config_.subnetworks) {
          if (subnet.network_ref == nic.network_ref && subnet.region == region) {
            candidates.push_back(&subnet);
          }
        }
        if (candidates.size() == 1) {
          nic.subnetwork_ref = candidates.front()->self_ref;
        } else {
          issues_.Error(instance.origin.file, instance.self_ref, field,
                        "missing, and network " + nic.network_ref +
                            (candidates.empty()
                                 ? " has no subnetwork in region " + region
                                 : " has several subnetworks in region " + region + "; name one"));
        }
      }
      auto subnet = subnets.find(nic.subnetwork_ref);
      if (nic.network_ref.empty() && subnet != subnets.end()) {
        nic.network_ref = subnet->second->network_ref;
      }
    }
  }
}

// Instances without networkIP get the first free address of their subnet's primary range, in load
// order (GCP's ephemeral allocation), skipping the four reserved addresses and every address or
// alias range already used in the network.
void Loader::AllocateEphemeralIps() {
  std::map<std::string, const Subnetwork*> subnets;
  for (const Subnetwork& subnet : config_.subnetworks) subnets.emplace(subnet.self_ref, &subnet);
  std::map<std::string, std::vector<Prefix>> used;    // by network
  for (const Address& address : config_.addresses) {  // static internal addresses are reserved
    auto subnet = subnets.find(address.subnetwork_ref);
    if (subnet != subnets.end())
      used[subnet->second->network_ref].push_back(Prefix{address.ip, 32});
  }
  for (const Instance& instance : config_.instances) {
    for (const NetworkInterface& nic : instance.nics) {
      std::vector<Prefix>& list = used[nic.network_ref];
      if (nic.ip != 0) list.push_back(Prefix{nic.ip, 32});
      for (const AliasRange& alias : nic.alias_ranges) list.push_back(alias.range);
    }
  }
  for (Instance& instance : config_.instances) {
    for (size_t i = 0; i < instance.nics.size(); ++i) {
      NetworkInterface& nic = instance.nics[i];
      auto subnet_it = subnets.find(nic.subnetwork_ref);
      if (nic.ip != 0 || subnet_it == subnets.end()) continue;
      const Subnetwork& subnet = *subnet_it->second;
      std::vector<Prefix> taken{Prefix{subnet.gateway, 32}};
      for (const Prefix& prefix : used[nic.network_ref]) {
        if (prefix.Overlaps(subnet.range)) taken.push_back(prefix);
      }
      std::sort(taken.begin(), taken.end(),
                [](const Prefix& a, const Prefix& b) { return a.First() < b.First(); });
      uint64_t candidate = uint64_t{subnet.range.First()} + 1;
      uint64_t last_usable = subnet.range.Size() >= 4 ? uint64_t{subnet.range.Last()} - 2 : 0;
      for (const Prefix& prefix : taken) {
        if (candidate < prefix.First()) break;
        candidate = std::max<uint64_t>(candidate, uint64_t{prefix.Last()} + 1);
      }
      if (candidate > last_usable) {
        issues_.Error(instance.origin.file, instance.self_ref,
                      "networkInterfaces[" + std::to_string(i) + "].networkIP",
                      "missing, and subnetwork " + subnet.self_ref + " has no free address left");
        continue;
      }
      nic.ip = static_cast<Ipv4>(candidate);
      used[nic.network_ref].push_back(Prefix{nic.ip, 32});
    }
  }
}

LoadResult Loader::Run() {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    issues_.Error(dir_.string(), "", "", "not a directory");
  } else {
    const auto files = ListResourceFiles();
    Progress progress("loading " + dir_.string(), files.size(), "files");
    size_t loaded = 0;
    for (const auto& [rel, path] : files) {
      progress.Update(loaded++);
      try {
        LoadResourceFile(path, rel);
      } catch (const std::exception& e) {
        issues_.Error(rel, "", "", std::string("internal error while loading: ") + e.what());
      }
    }
    if (auto root = LoadLayoutFile(kSharedVpcFile)) {
      ParseSharedVpcFile(*root, std::string(kSharedVpcFile), config_, issues_);
    }
    ResolveNicDefaults();
    AllocateEphemeralIps();
    if (auto root = LoadLayoutFile(kTestbedFile)) {
      ParseTestbedFile(*root, std::string(kTestbedFile), unparsed_refs_, config_, issues_);
    }
    ValidateConfig(config_, unparsed_refs_, issues_);
  }
  LoadResult result;
  if (issues_.errors.empty()) result.config = std::move(config_);
  result.errors = std::move(issues_.errors);
  result.warnings = std::move(issues_.warnings);
  return result;
}

}  // namespace

LoadResult LoadConfig(const std::filesystem::path& dir) {
  try {
    return Loader(dir).Run();
  } catch (const std::exception& e) {
    LoadResult result;
    result.errors.push_back({"", "", "", std::string("internal error: ") + e.what()});
    return result;
  }
}

}  // namespace svpc::config
