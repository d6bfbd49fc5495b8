#include "config/policy_parser.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

#include "config/resource_parser.h"
#include "config/resource_ref.h"

namespace svpc::config {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxPolicyPriority = 2147483647;
constexpr std::string_view kHierarchicalPrefix = "locations/global/firewallPolicies/";
constexpr std::string_view kTagValuePrefix = "tagValues/";
constexpr std::string_view kTagKeyPrefix = "tagKeys/";

// Fields of `match` (and of the rule) the emulator does not evaluate: a rule using one is left
// out with a warning.
constexpr std::array<std::string_view, 13> kNotEmulatedMatchFields = {"srcAddressGroups",
                                                                      "destAddressGroups",
                                                                      "srcFqdns",
                                                                      "destFqdns",
                                                                      "srcRegionCodes",
                                                                      "destRegionCodes",
                                                                      "srcThreatIntelligences",
                                                                      "destThreatIntelligences",
                                                                      "srcNetworks",
                                                                      "srcNetworkScope",
                                                                      "destNetworkScope",
                                                                      "srcNetworkType",
                                                                      "destNetworkType"};

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string Indexed(std::string_view list, size_t index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "organizations/ID" or "folders/ID" (ID a number).
bool IsHierarchyNode(std::string_view text) {
  for (std::string_view prefix : {"organizations/", "folders/"}) {
    if (text.starts_with(prefix)) return AllDigits(text.substr(prefix.size()));
  }
  return false;
}

struct PolicyIdentity {
  FirewallPolicyKind kind = FirewallPolicyKind::kGlobal;
  std::string project;
  std::string region;
  std::string name;
};

// A firewall policy URL or path: locations/global/firewallPolicies/ID,
// projects/P/global/firewallPolicies/N or projects/P/regions/R/firewallPolicies/N.
std::optional<PolicyIdentity> ParsePolicyLink(std::string_view text) {
  std::string_view path = StripUrlPrefix(text);
  if (path.starts_with(kHierarchicalPrefix)) {
    std::string_view id = path.substr(kHierarchicalPrefix.size());
    if (id.empty() || id.find('/') != std::string_view::npos) return std::nullopt;
    return PolicyIdentity{FirewallPolicyKind::kHierarchical, "", "", std::string(id)};
  }
  std::optional<ResourcePath> parsed = ParseResourcePath(path);
  if (!parsed || parsed->project.empty() || parsed->collection != "firewallPolicies") {
    return std::nullopt;
  }
  if (parsed->scope == "global") {
    return PolicyIdentity{FirewallPolicyKind::kGlobal, parsed->project, "", parsed->name};
  }
  if (parsed->scope == "regions") {
    return PolicyIdentity{FirewallPolicyKind::kRegional, parsed->project, parsed->location,
                          parsed->name};
  }
  return std::nullopt;
}

std::string PolicyRef(const PolicyIdentity& id) {
  switch (id.kind) {
    case FirewallPolicyKind::kHierarchical:
      return std::string(kHierarchicalPrefix) + id.name;
    case FirewallPolicyKind::kGlobal:
      return "projects/" + id.project + "/global/firewallPolicies/" + id.name;
    case FirewallPolicyKind::kRegional:
      return "projects/" + id.project + "/regions/" + id.region + "/firewallPolicies/" + id.name;
  }
  return "";
}

// Project, region, name and kind from selfLink (or the asset name), else from `parent`, the
// directory and `region`. Returns false (with issues) when something is missing or contradicts.
bool ResolvePolicyIdentity(const JsonFields& f, const ResourceSource& source, PolicyIdentity& id) {
  bool ok = true;
  std::optional<PolicyIdentity> link;
  std::string link_field;
  auto parse_link = [&](std::string_view field, std::string_view text) {
    link_field = std::string(field);
    link = ParsePolicyLink(text);
    if (!link) {
      f.Error(field, Quote(text) +
                         " is not a firewall policy URL (expected "
                         "https://www.googleapis.com/compute/v1/projects/PROJECT/global/"
                         "firewallPolicies/NAME, .../projects/PROJECT/regions/REGION/"
                         "firewallPolicies/NAME or .../locations/global/firewallPolicies/ID)");
      ok = false;
    }
  };
  if (auto self_link = f.String("selfLink")) {
    parse_link("selfLink", *self_link);
  } else if (f.Has("selfLink")) {
    ok = false;  // wrong type, reported
  } else if (!source.asset_name.empty()) {
    parse_link("asset name", source.asset_name);
  }

  std::optional<std::string> parent = f.String("parent");
  if (f.Has("parent") && !parent) ok = false;
  std::optional<std::string> region_text = f.String("region");
  if (f.Has("region") && !region_text) ok = false;
  std::string region = region_text ? LastUrlSegment(*region_text) : "";
  std::optional<std::string> name = f.String("name");
  if (f.Has("name") && !name) ok = false;

  if (link) {
    id = *link;
    if (!source.path_project.empty() && !id.project.empty() && source.path_project != id.project) {
      f.Warning(link_field, "names project " + Quote(id.project) +
                                " but the file is under projects/" + source.path_project +
                                "/; using " + Quote(id.project));
    }
    if (name && *name != id.name) {
      f.Error("name",
              Quote(*name) + " does not match the name in " + link_field + " " + Quote(id.name));
      ok = false;
    }
    if (!region.empty() && region != id.region) {
      f.Error("region", id.region.empty()
                            ? Quote(region) + ", but " + link_field + " names a global policy"
                            : Quote(region) + " does not match the region in " + link_field + " " +
                                  Quote(id.region));
      ok = false;
    }
  } else if (link_field.empty()) {
    if (parent) {
      id.kind = FirewallPolicyKind::kHierarchical;
      if (!region.empty()) {
        f.Error("region", "a hierarchical firewall policy (it has a parent) has no region");
        ok = false;
      }
    } else {
      id.kind = region.empty() ? FirewallPolicyKind::kGlobal : FirewallPolicyKind::kRegional;
      id.project = source.path_project;
      id.region = region;
      if (id.project.empty()) {
        f.Error("selfLink",
                "missing: cannot tell the project (add a selfLink, put the file under "
                "projects/PROJECT_ID/, or give a hierarchical policy its parent)");
        ok = false;
      }
    }
    if (name) {
      id.name = *name;
    } else if (!f.Has("name")) {
      f.Error("name", "missing");
      ok = false;
    }
  } else {
    ok = false;  // the link was reported
  }

  if (parent && id.kind != FirewallPolicyKind::kHierarchical) {
    f.Error("parent",
            "only hierarchical firewall policies have a parent; this is a network "
            "firewall policy");
    ok = false;
  }
  if (!id.name.empty()) {
    bool valid = id.kind == FirewallPolicyKind::kHierarchical
                     ? AllDigits(id.name) || IsValidResourceName(id.name)
                     : IsValidResourceName(id.name);
    if (!valid) {
      f.Error("name", Quote(id.name) +
                          " is not a valid name (lowercase letters, digits and hyphens, starting "
                          "with a letter, at most 63 characters; a hierarchical policy's name "
                          "may be its numeric ID)");
      ok = false;
    }
  }
  if (ok) f.scope().set_resource(PolicyRef(id));
  return ok;
}

// match.layer4Configs: the firewall's allowed[] entries, spelled ipProtocol.
void ParseLayer4Configs(const JsonFields& match, FirewallPolicyRule& rule) {
  const json::array* array = match.Array("layer4Configs");
  if ((array == nullptr && !match.Has("layer4Configs")) || (array != nullptr && array->empty())) {
    match.Error("layer4Configs",
                "missing: a rule needs at least one layer4Configs entry ({\"ipProtocol\": "
                "\"all\"} matches every protocol)");
    return;
  }
  for (auto& [index, item] : match.ObjectList("layer4Configs")) {
    std::optional<ProtocolPorts> entry = ParseProtocolPorts(item, "ipProtocol");
    if (!entry) continue;
    rule.protocols.push_back(std::move(*entry));
  }
}

// srcIpRanges / destIpRanges. IPv6 entries are skipped (not emulated); `given` tells whether the
// list had any entry at all.
std::vector<Prefix> ReadRanges(const JsonFields& f, std::string_view key, bool& given) {
  std::vector<Prefix> out;
  const json::array* array = f.Array(key);
  given = array != nullptr && !array->empty();
  if (array == nullptr) return out;
  for (size_t i = 0; i < array->size(); ++i) {
    std::string item_key = Indexed(key, i);
    const json::value& item = (*array)[i];
    if (!item.is_string()) {
      f.Error(item_key, "must be a string, not " + std::string(JsonKindName(item)));
      continue;
    }
    std::string_view text = item.get_string();
    if (text.find(':') != std::string_view::npos) continue;  // IPv6: never matches IPv4 packets
    if (auto prefix = ParsePrefix(text)) {
      out.push_back(*prefix);
    } else if (auto loose = ParsePrefix(text, /*allow_host_bits=*/true)) {
      f.Warning(item_key, Quote(text) + " has host bits set; using " + FormatPrefix(*loose));
      out.push_back(*loose);
    } else {
      f.Error(item_key, Quote(text) + " is not a valid IPv4 CIDR range");
    }
  }
  return out;
}

// srcSecureTags / targetSecureTags: [{name: "tagValues/ID", state}]. INEFFECTIVE tags are
// skipped (GCP ignores them); `given` tells whether the list had any entry.
std::vector<std::string> ReadSecureTags(const JsonFields& f, std::string_view key, bool& given) {
  std::vector<std::string> out;
  const json::array* array = f.Array(key);
  given = array != nullptr && !array->empty();
  for (auto& [index, item] : f.ObjectList(key)) {
    std::optional<std::string> name = item.String("name");
    if (!name) {
      if (!item.Has("name")) item.Error("name", "missing");
      continue;
    }
    if (!name->starts_with(kTagValuePrefix) || name->size() == kTagValuePrefix.size()) {
      item.Error("name", Quote(*name) + " is not a secure tag value (tagValues/ID)");
      continue;
    }
    if (item.String("state").value_or("") == "INEFFECTIVE") continue;
    out.push_back(*name);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// True when `value` says something (a non-empty list, string or object; true).
bool IsSet(const json::value& value) {
  if (value.is_array()) return !value.get_array().empty();
  if (value.is_string()) return !value.get_string().empty();
  if (value.is_object()) return !value.get_object().empty();
  if (value.is_bool()) return value.get_bool();
  return !value.is_null();
}

// Parses rules[index]; returns nullopt when the rule failed (errors) or is left out (warning).
std::optional<FirewallPolicyRule> ParseRule(const JsonFields& r, size_t index,
                                            FirewallPolicyKind kind) {
  FirewallPolicyRule rule;
  rule.position = index;
  bool failed = false;
  bool ignored = false;
  std::string priority_text = "?";
  if (auto priority = r.Int("priority")) {
    if (*priority < 0 || *priority > kMaxPolicyPriority) {
      r.Error("priority", "must be 0..2147483647 (got " + std::to_string(*priority) + ")");
      failed = true;
    } else {
      rule.priority = static_cast<uint32_t>(*priority);
      priority_text = std::to_string(*priority);
    }
  } else {
    if (!r.Has("priority")) r.Error("priority", "missing");
    failed = true;
  }
  auto ignore = [&](std::string_view key, const std::string& what) {
    r.Warning(key, what + "; rule ignored (priority " + priority_text + ")");
    ignored = true;
  };

  if (auto action = r.String("action")) {
    if (*action == "allow") {
      rule.action = PolicyAction::kAllow;
    } else if (*action == "deny") {
      rule.action = PolicyAction::kDeny;
    } else if (*action == "goto_next") {
      rule.action = PolicyAction::kGotoNext;
    } else if (*action == "apply_security_profile_group") {
      ignore("action", "apply_security_profile_group is not emulated");
    } else {
      r.Error("action", "unknown value " + Quote(*action) +
                            " (expected allow, deny, goto_next, apply_security_profile_group)");
      failed = true;
    }
  } else {
    if (!r.Has("action")) r.Error("action", "missing");
    failed = true;
  }
  if (auto direction = r.String("direction")) {
    if (*direction == "INGRESS") {
      rule.direction = Direction::kIngress;
    } else if (*direction == "EGRESS") {
      rule.direction = Direction::kEgress;
    } else {
      r.Error("direction", "unknown value " + Quote(*direction) + " (expected INGRESS, EGRESS)");
      failed = true;
    }
  }
  if (auto disabled = r.Bool("disabled")) rule.disabled = *disabled;
  if (auto log = r.Bool("enableLogging")) rule.log = *log;

  bool src_ranges_given = false;
  bool dest_ranges_given = false;
  bool src_tags_given = false;
  bool target_tags_given = false;
  if (auto match = r.Object("match")) {
    ParseLayer4Configs(*match, rule);
    rule.source_ranges = ReadRanges(*match, "srcIpRanges", src_ranges_given);
    rule.destination_ranges = ReadRanges(*match, "destIpRanges", dest_ranges_given);
    rule.source_secure_tags = ReadSecureTags(*match, "srcSecureTags", src_tags_given);
    for (std::string_view key : kNotEmulatedMatchFields) {
      const json::value* value = match->Get(key);
      if (value != nullptr && IsSet(*value)) {
        ignore("match." + std::string(key), std::string(key) + " is not emulated");
      }
    }
    if (src_tags_given && rule.direction == Direction::kEgress) {
      match->Error("srcSecureTags", "only INGRESS rules can have source secure tags");
      failed = true;
    }
    if (!ignored && src_ranges_given && rule.source_ranges.empty() &&
        rule.source_secure_tags.empty()) {
      ignore("match.srcIpRanges", "only IPv6 source ranges, and IPv6 is not emulated");
    }
    if (!ignored && dest_ranges_given && rule.destination_ranges.empty()) {
      ignore("match.destIpRanges", "only IPv6 destination ranges, and IPv6 is not emulated");
    }
    if (!ignored && src_tags_given && rule.source_secure_tags.empty() && !src_ranges_given) {
      ignore("match.srcSecureTags",
             "every source secure tag is INEFFECTIVE and there are no srcIpRanges");
    }
  } else {
    if (!r.Has("match")) r.Error("match", "missing");
    failed = true;
  }

  rule.target_secure_tags = ReadSecureTags(r, "targetSecureTags", target_tags_given);
  rule.target_service_accounts = r.StringList("targetServiceAccounts");
  if (target_tags_given && !rule.target_service_accounts.empty()) {
    r.Error("targetSecureTags",
            "targetSecureTags and targetServiceAccounts cannot be used together");
    failed = true;
  }
  if (!ignored && target_tags_given && rule.target_secure_tags.empty()) {
    ignore("targetSecureTags", "every target secure tag is INEFFECTIVE");
  }
  if (const json::value* forwarding = r.Get("targetForwardingRules");
      forwarding != nullptr && IsSet(*forwarding)) {
    ignore("targetForwardingRules", "targetForwardingRules is not emulated");
  }
  if (const json::array* targets = r.Array("targetResources"); targets != nullptr) {
    if (kind != FirewallPolicyKind::kHierarchical && !targets->empty()) {
      r.Error("targetResources",
              "only the rules of hierarchical firewall policies take targetResources");
      failed = true;
    }
    for (size_t i = 0; kind == FirewallPolicyKind::kHierarchical && i < targets->size(); ++i) {
      std::string key = Indexed("targetResources", i);
      const json::value& item = (*targets)[i];
      if (!item.is_string()) {
        r.Error(key, "must be a string, not " + std::string(JsonKindName(item)));
        failed = true;
        continue;
      }
      RefResult ref = CanonicalRef(RefKind::kNetwork, item.get_string(), "");
      if (!ref.ok()) {
        r.Error(key, ref.error);
        failed = true;
        continue;
      }
      rule.target_network_refs.push_back(ref.ref);
    }
  }
  if (failed || ignored) return std::nullopt;
  return rule;
}

// The rule's priority as written, without reporting anything (ParseRule reports).
std::optional<int64_t> RawPriority(const JsonFields& r) {
  const json::value* value = r.Get("priority");
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64() && value->get_uint64() <= static_cast<uint64_t>(kMaxPolicyPriority)) {
    return static_cast<int64_t>(value->get_uint64());
  }
  if (value->is_string()) {
    std::string_view text = value->get_string();
    int64_t number = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size()) return number;
  }
  return std::nullopt;
}

void ParseAssociations(const JsonFields& f, FirewallPolicy& policy) {
  for (auto& [index, item] : f.ObjectList("associations")) {
    FirewallPolicyAssociation association;
    if (auto name = item.String("name")) association.name = *name;
    std::optional<std::string> target = item.String("attachmentTarget");
    if (!target) {
      if (!item.Has("attachmentTarget")) item.Error("attachmentTarget", "missing");
      continue;
    }
    if (policy.kind == FirewallPolicyKind::kHierarchical) {
      std::string node(StripUrlPrefix(*target));
      if (!IsHierarchyNode(node)) {
        item.Error("attachmentTarget",
                   Quote(*target) +
                       " is not an organization or folder (organizations/ID or folders/ID); a "
                       "hierarchical policy is associated with organizations and folders");
        continue;
      }
      association.attachment_target = node;
    } else {
      RefResult ref = CanonicalRef(RefKind::kNetwork, *target, policy.project);
      if (!ref.ok()) {
        item.Error("attachmentTarget", ref.error);
        continue;
      }
      association.attachment_target = ref.ref;
    }
    policy.associations.push_back(std::move(association));
  }
}

}  // namespace

ParsedResource ParseFirewallPolicy(const json::object& data, const ResourceSource& source,
                                   Config& config, IssueList& issues) {
  std::string label = source.label;
  if (const json::value* name = data.if_contains("name"); name != nullptr && name->is_string()) {
    label = std::string(name->get_string());
  }
  IssueScope scope(issues, source.file, label);
  JsonFields f(data, scope);
  PolicyIdentity id;
  bool identified = ResolvePolicyIdentity(f, source, id);
  ParsedResource result;
  if (identified) result.ref = PolicyRef(id);

  FirewallPolicy policy;
  policy.origin.file = source.file;
  policy.kind = id.kind;
  policy.project = id.project;
  policy.region = id.region;
  policy.name = id.name;
  policy.self_ref = result.ref;
  if (auto short_name = f.String("shortName")) {
    policy.short_name = *short_name;
  } else if (auto display_name = f.String("displayName")) {
    policy.short_name = *display_name;
  }
  if (auto parent = f.String("parent")) {
    std::string node(StripUrlPrefix(*parent));
    if (IsHierarchyNode(node)) {
      policy.parent = node;
    } else {
      f.Error("parent", Quote(*parent) +
                            " is not an organization or folder (organizations/ID or folders/ID)");
    }
  }
  ParseAssociations(f, policy);

  std::map<uint32_t, size_t> priorities;  // priority -> first rule index using it
  for (auto& [index, item] : f.ObjectList("rules")) {
    std::optional<FirewallPolicyRule> rule = ParseRule(item, index, policy.kind);
    // Priorities are unique within a policy, rules left out included.
    if (std::optional<int64_t> number = RawPriority(item);
        number && *number >= 0 && *number <= kMaxPolicyPriority) {
      auto [it, inserted] = priorities.emplace(static_cast<uint32_t>(*number), index);
      if (!inserted) {
        item.Error("priority", "priority " + std::to_string(*number) + " is already used by " +
                                   Indexed("rules", it->second) +
                                   "; priorities are unique within a policy");
      }
    }
    if (rule) policy.rules.push_back(std::move(*rule));
  }
  result.added = identified && !scope.failed();
  if (result.added) config.firewall_policies.push_back(std::move(policy));
  return result;
}

void ParseNetworkPolicyFields(const JsonFields& f, Network& network) {
  std::optional<std::string> order = f.String("networkFirewallPolicyEnforcementOrder");
  if (!order) return;
  if (*order == "AFTER_CLASSIC_FIREWALL") {
    network.firewall_policy_enforcement_order =
        FirewallPolicyEnforcementOrder::kAfterClassicFirewall;
  } else if (*order == "BEFORE_CLASSIC_FIREWALL") {
    network.firewall_policy_enforcement_order =
        FirewallPolicyEnforcementOrder::kBeforeClassicFirewall;
  } else {
    f.Error("networkFirewallPolicyEnforcementOrder",
            "unknown value " + Quote(*order) +
                " (expected AFTER_CLASSIC_FIREWALL, BEFORE_CLASSIC_FIREWALL)");
  }
}

void ParseInstanceSecureTags(const JsonFields& f, Instance& instance) {
  std::optional<JsonFields> params = f.Object("params");
  if (!params) return;
  std::optional<JsonFields> tags = params->Object("resourceManagerTags");
  if (!tags) return;
  const json::value* object = params->Get("resourceManagerTags");
  for (const auto& [key_view, value] : object->get_object()) {
    std::string_view key(key_view.data(), key_view.size());
    if (value.is_null()) continue;
    if (!value.is_string()) {
      tags->Error(key, "must be a string, not " + std::string(JsonKindName(value)));
      continue;
    }
    std::string_view text = value.get_string();
    if (!key.starts_with(kTagKeyPrefix) || key.size() == kTagKeyPrefix.size()) {
      tags->Error(key, Quote(key) + " is not a tag key (tagKeys/ID)");
      continue;
    }
    if (!text.starts_with(kTagValuePrefix) || text.size() == kTagValuePrefix.size()) {
      tags->Error(key, Quote(text) + " is not a tag value (tagValues/ID)");
      continue;
    }
    instance.secure_tags.emplace_back(text);
  }
  std::sort(instance.secure_tags.begin(), instance.secure_tags.end());
  instance.secure_tags.erase(std::unique(instance.secure_tags.begin(), instance.secure_tags.end()),
                             instance.secure_tags.end());
}

void ParseResourceHierarchy(const JsonFields& root, const std::string& file, IssueList& issues,
                            SharedVpc& shared) {
  std::optional<JsonFields> hierarchy = root.Object("resourceHierarchy");
  if (!hierarchy) return;
  ResourceHierarchy& out = shared.resource_hierarchy;
  if (auto organization = hierarchy->String("organization")) {
    if (organization->starts_with("organizations/") && IsHierarchyNode(*organization)) {
      out.organization = *organization;
    } else {
      hierarchy->Error("organization",
                       Quote(*organization) + " is not an organization (organizations/ID)");
    }
  }
  auto read_parent = [](const JsonFields& f) -> std::string {
    std::optional<std::string> parent = f.String("parent");
    if (!parent) {
      if (!f.Has("parent")) f.Error("parent", "missing");
      return "";
    }
    if (!IsHierarchyNode(*parent)) {
      f.Error("parent", Quote(*parent) +
                            " is not an organization or folder (organizations/ID or folders/ID)");
      return "";
    }
    return *parent;
  };
  auto label_of = [](const json::value& entry, std::string_view key, std::string_view prefix,
                     std::string fallback) {
    if (entry.is_object()) {
      const json::value* id = entry.get_object().if_contains(key);
      if (id != nullptr && id->is_string() && !id->get_string().empty()) {
        return std::string(prefix) + std::string(id->get_string());
      }
    }
    return fallback;
  };
  const json::array* folders = hierarchy->Array("folders");
  for (size_t i = 0; folders != nullptr && i < folders->size(); ++i) {
    std::string path = "resourceHierarchy." + Indexed("folders", i);
    IssueScope scope(issues, file, label_of((*folders)[i], "name", "", path));
    Folder folder;
    if (!(*folders)[i].is_object()) {
      scope.Error(path, "must be an object, not " + std::string(JsonKindName((*folders)[i])));
    } else {
      JsonFields f((*folders)[i].get_object(), scope, path);
      if (auto name = f.String("name")) {
        if (name->starts_with("folders/") && IsHierarchyNode(*name)) {
          folder.name = *name;
        } else {
          f.Error("name", Quote(*name) + " is not a folder (folders/ID)");
        }
      } else if (!f.Has("name")) {
        f.Error("name", "missing");
      }
      folder.parent = read_parent(f);
    }
    out.folders.push_back(std::move(folder));
  }
  const json::array* projects = hierarchy->Array("projects");
  for (size_t i = 0; projects != nullptr && i < projects->size(); ++i) {
    std::string path = "resourceHierarchy." + Indexed("projects", i);
    IssueScope scope(issues, file, label_of((*projects)[i], "projectId", "projects/", path));
    ProjectParent project;
    if (!(*projects)[i].is_object()) {
      scope.Error(path, "must be an object, not " + std::string(JsonKindName((*projects)[i])));
    } else {
      JsonFields f((*projects)[i].get_object(), scope, path);
      if (auto id = f.String("projectId")) {
        if (id->empty()) {
          f.Error("projectId", "must not be empty");
        } else {
          project.project_id = *id;
        }
      } else if (!f.Has("projectId")) {
        f.Error("projectId", "missing");
      }
      project.parent = read_parent(f);
    }
    out.projects.push_back(std::move(project));
  }
}

}  // namespace svpc::config
