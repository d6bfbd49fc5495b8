#include "config/layout_files.h"

#include <vector>

#include "config/json_fields.h"
#include "config/policy_parser.h"
#include "config/resource_ref.h"

namespace svpc::config {
namespace {

namespace json = boost::json;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string Indexed(std::string_view list, size_t index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

// The label of a list entry in issues: "projects/ID" when the entry names its project.
std::string ProjectLabel(const json::value& entry, std::string_view key, std::string fallback) {
  if (entry.is_object()) {
    const json::value* id = entry.get_object().if_contains(key);
    if (id != nullptr && id->is_string() && !id->get_string().empty()) {
      return "projects/" + std::string(id->get_string());
    }
  }
  return fallback;
}

std::string RequiredString(const JsonFields& f, std::string_view key) {
  std::optional<std::string> value = f.String(key);
  if (!value && !f.Has(key)) f.Error(key, "missing");
  if (value && value->empty()) f.Error(key, "must not be empty");
  return value.value_or("");
}

// Resolves a testbed reference: canonical when it names its project, else matched by name (and
// location, when given) against `candidates`.
RefResult ResolveRef(RefKind kind, std::string_view text,
                     const std::vector<std::string>& candidates) {
  RefResult full = CanonicalRef(kind, text, "", "");
  if (full.ok()) return full;
  std::optional<ResourcePath> path = ParseResourcePath(text);
  if (!path || (!path->scope.empty() &&
                (path->scope != RefScope(kind) || path->collection != RefCollection(kind)))) {
    return full;
  }
  std::vector<std::string> matches;
  for (const std::string& candidate : candidates) {
    std::optional<ResourcePath> other = ParseResourcePath(candidate);
    if (!other || other->collection != RefCollection(kind) || other->name != path->name) continue;
    if (!path->location.empty() && other->location != path->location) continue;
    bool seen = false;
    for (const std::string& match : matches) seen = seen || match == candidate;
    if (!seen) matches.push_back(candidate);
  }
  if (matches.size() == 1) return RefResult{matches.front(), ""};
  if (matches.empty()) {
    return RefResult{"", "no " + std::string(RefNoun(kind)) + " matches " + Quote(text) +
                             " (use a full reference: " + std::string(RefShape(kind)) + ")"};
  }
  return RefResult{"", Quote(text) + " is ambiguous: it matches " + matches[0] + " and " +
                           matches[1] + "; use a full reference"};
}

void ParseHostProjects(const JsonFields& root, const std::string& file, IssueList& issues,
                       SharedVpc& shared) {
  const json::array* hosts = root.Array("hostProjects");
  if (hosts == nullptr) return;
  for (size_t i = 0; i < hosts->size(); ++i) {
    std::string path = Indexed("hostProjects", i);
    HostProject host;
    IssueScope scope(issues, file, ProjectLabel((*hosts)[i], "projectId", path));
    if (!(*hosts)[i].is_object()) {
      scope.Error(path, "must be an object, not " + std::string(JsonKindName((*hosts)[i])));
      shared.host_projects.push_back(host);
      continue;
    }
    JsonFields f((*hosts)[i].get_object(), scope, path);
    host.project_id = RequiredString(f, "projectId");
    const json::value* value = f.Get("shared");
    if (value == nullptr) {
      f.Error("shared", "missing: \"ALL\" or a list of subnetwork references");
    } else if (value->is_string()) {
      if (value->get_string() == "ALL") {
        host.share_all = true;
      } else {
        f.Error("shared", "must be \"ALL\" or a list of subnetwork references, not " +
                              Quote(value->get_string()));
      }
    } else if (value->is_array()) {
      const json::array& refs = value->get_array();
      for (size_t j = 0; j < refs.size(); ++j) {
        std::string key = Indexed("shared", j);
        std::string ref;
        if (!refs[j].is_string()) {
          f.Error(key, "must be a string, not " + std::string(JsonKindName(refs[j])));
        } else {
          RefResult result =
              CanonicalRef(RefKind::kSubnetwork, refs[j].get_string(), host.project_id);
          if (result.ok()) {
            ref = result.ref;
          } else {
            f.Error(key, result.error);
          }
        }
        host.shared_subnetwork_refs.push_back(ref);  // empty when it failed: keeps positions
      }
    } else {
      f.Error("shared", "must be \"ALL\" or a list of subnetwork references, not " +
                            std::string(JsonKindName(*value)));
    }
    shared.host_projects.push_back(std::move(host));
  }
}

void ParseServiceProjects(const JsonFields& root, const std::string& file, IssueList& issues,
                          SharedVpc& shared) {
  const json::array* services = root.Array("serviceProjects");
  if (services == nullptr) return;
  for (size_t i = 0; i < services->size(); ++i) {
    std::string path = Indexed("serviceProjects", i);
    ServiceProject service;
    IssueScope scope(issues, file, ProjectLabel((*services)[i], "projectId", path));
    if (!(*services)[i].is_object()) {
      scope.Error(path, "must be an object, not " + std::string(JsonKindName((*services)[i])));
    } else {
      JsonFields f((*services)[i].get_object(), scope, path);
      service.project_id = RequiredString(f, "projectId");
      service.host_project = RequiredString(f, "hostProject");
    }
    shared.service_projects.push_back(std::move(service));
  }
}

void ParseIamPolicies(const JsonFields& root, SharedVpc& shared) {
  for (auto& [index, item] : root.ObjectList("iamPolicies")) {
    IamPolicy policy;
    policy.resource = RequiredString(item, "resource");
    for (auto& [binding_index, binding_item] : item.ObjectList("bindings")) {
      IamBinding binding;
      binding.role = RequiredString(binding_item, "role");
      binding.members = binding_item.StringList("members");
      policy.bindings.push_back(std::move(binding));
    }
    shared.iam_policies.push_back(std::move(policy));
  }
}

std::optional<uint16_t> ReadVlan(const JsonFields& f) {
  std::optional<int64_t> vlan = f.Int("vlan");
  if (!vlan) return std::nullopt;
  if (*vlan < 0 || *vlan > 0xffff) {
    f.Error("vlan", "must be 1..4094 (got " + std::to_string(*vlan) + ")");
    return std::nullopt;
  }
  return static_cast<uint16_t>(*vlan);
}

// The network an external endpoint belongs to when it does not say: the network of the routes
// whose next hop is the link and of the Cloud Routers with an interface on it, else the only
// network.
std::string InferLinkNetwork(const Config& config, const Endpoint& endpoint) {
  std::vector<std::string> networks;
  auto note = [&](const std::string& network_ref) {
    bool seen = false;
    for (const std::string& network : networks) seen = seen || network == network_ref;
    if (!seen) networks.push_back(network_ref);
  };
  if (!endpoint.link_ref.empty()) {
    for (const Route& route : config.routes) {
      if (route.next_hop_ref == endpoint.link_ref) note(route.network_ref);
    }
    for (const Router& router : config.routers) {
      for (const RouterInterface& itf : router.interfaces) {
        if (itf.linked_vpn_tunnel == endpoint.link_ref ||
            itf.linked_interconnect_attachment == endpoint.link_ref) {
          note(router.network_ref);
        }
      }
    }
  }
  if (networks.size() == 1) return networks.front();
  if (networks.empty() && config.networks.size() == 1) return config.networks.front().self_ref;
  return "";
}

void ParseEndpoint(const JsonFields& f, const std::vector<std::string>& instance_refs,
                   const std::vector<std::string>& network_refs,
                   const std::vector<std::string>& link_refs, Config& config) {
  Endpoint endpoint;
  endpoint.port = RequiredString(f, "port");
  endpoint.vlan = ReadVlan(f);
  if (auto mac_text = f.String("mac")) {
    if (auto mac = ParseMac(*mac_text)) {
      endpoint.mac = *mac;
    } else {
      f.Error("mac", Quote(*mac_text) + " is not a MAC address (aa:bb:cc:dd:ee:ff)");
    }
  }
  std::optional<bool> internet = f.Bool("internet");
  int kinds = f.Has("instance") + f.Has("vpnTunnel") + f.Has("interconnectAttachment") +
              (internet.value_or(false) ? 1 : 0);
  if (kinds != 1) {
    f.Error("",
            "an endpoint needs exactly one of \"instance\", \"vpnTunnel\", "
            "\"interconnectAttachment\" or \"internet\": true");
    return;
  }
  auto resolve = [&](std::string_view key, RefKind kind,
                     const std::vector<std::string>& candidates) -> std::string {
    std::optional<std::string> text = f.String(key);
    if (!text) return "";
    RefResult result = ResolveRef(kind, *text, candidates);
    if (!result.ok()) f.Error(key, result.error);
    return result.ref;
  };
  if (f.Has("instance")) {
    endpoint.kind = EndpointKind::kInstanceNic;
    endpoint.instance_ref = resolve("instance", RefKind::kInstance, instance_refs);
    if (auto nic = f.String("nic")) endpoint.nic = *nic;
    if (auto await_instance = f.Bool("awaitInstance")) endpoint.await_instance = *await_instance;
    if (f.Has("network")) {
      f.Error("network", "only external endpoints take a network; an instance NIC has its own");
    }
  } else {
    if (f.Has("vpnTunnel")) {
      endpoint.kind = EndpointKind::kVpnTunnel;
      endpoint.link_ref = resolve("vpnTunnel", RefKind::kVpnTunnel, link_refs);
    } else if (f.Has("interconnectAttachment")) {
      endpoint.kind = EndpointKind::kInterconnectAttachment;
      endpoint.link_ref =
          resolve("interconnectAttachment", RefKind::kInterconnectAttachment, link_refs);
    } else {
      endpoint.kind = EndpointKind::kInternet;
    }
    if (f.Has("network")) {
      endpoint.network_ref = resolve("network", RefKind::kNetwork, network_refs);
    } else if (endpoint.kind == EndpointKind::kInternet || !endpoint.link_ref.empty()) {
      endpoint.network_ref = InferLinkNetwork(config, endpoint);
      if (endpoint.network_ref.empty()) {
        f.Error("network", "cannot tell which network this link belongs to; add \"network\"");
      }
    }
  }
  config.testbed.endpoints.push_back(std::move(endpoint));
}

}  // namespace

void ParseSharedVpcFile(const json::value& root, const std::string& file, Config& config,
                        IssueList& issues) {
  SharedVpc& shared = config.shared_vpc;
  shared.origin.file = file;
  IssueScope scope(issues, file, "");
  if (!root.is_object()) {
    scope.Error("", "must be a JSON object, not " + std::string(JsonKindName(root)));
    return;
  }
  JsonFields f(root.get_object(), scope);
  ParseHostProjects(f, file, issues, shared);
  ParseServiceProjects(f, file, issues, shared);
  const json::array* standalone = f.Array("standaloneProjects");
  for (size_t i = 0; standalone != nullptr && i < standalone->size(); ++i) {
    const json::value& id = (*standalone)[i];
    if (!id.is_string()) {
      f.Error(Indexed("standaloneProjects", i),
              "must be a string, not " + std::string(JsonKindName(id)));
      shared.standalone_projects.emplace_back();
    } else {
      shared.standalone_projects.emplace_back(id.get_string());
    }
  }
  ParseIamPolicies(f, shared);
  const json::array* org_policies = f.Array("orgPolicies");
  for (size_t i = 0; org_policies != nullptr && i < org_policies->size(); ++i) {
    const json::value& policy = (*org_policies)[i];
    if (!policy.is_object()) {
      f.Error(Indexed("orgPolicies", i),
              "must be an object, not " + std::string(JsonKindName(policy)));
      continue;
    }
    shared.org_policies_json.push_back(json::serialize(policy));
  }
  ParseResourceHierarchy(f, file, issues, shared);
}

void ParseTestbedFile(const json::value& root, const std::string& file,
                      const std::set<std::string>& unparsed_refs, Config& config,
                      IssueList& issues) {
  Testbed& testbed = config.testbed;
  testbed.origin.file = file;
  IssueScope scope(issues, file, "");
  if (!root.is_object()) {
    scope.Error("", "must be a JSON object, not " + std::string(JsonKindName(root)));
    return;
  }
  JsonFields f(root.get_object(), scope);

  const json::array* ports = f.Array("ports");
  for (size_t i = 0; ports != nullptr && i < ports->size(); ++i) {
    IssueScope port_scope(issues, file, Indexed("ports", i));
    TestbedPort port;
    if (!(*ports)[i].is_object()) {
      port_scope.Error("", "must be an object, not " + std::string(JsonKindName((*ports)[i])));
    } else {
      JsonFields port_fields((*ports)[i].get_object(), port_scope);
      port.name = RequiredString(port_fields, "name");
      port.device = RequiredString(port_fields, "device");
    }
    testbed.ports.push_back(std::move(port));
  }

  std::vector<std::string> instance_refs;
  std::vector<std::string> network_refs;
  std::vector<std::string> link_refs;
  for (const Instance& instance : config.instances) instance_refs.push_back(instance.self_ref);
  for (const Network& network : config.networks) network_refs.push_back(network.self_ref);
  for (const Route& route : config.routes) {
    if (route.next_hop_kind == NextHopKind::kVpnTunnel ||
        route.next_hop_kind == NextHopKind::kInterconnectAttachment) {
      link_refs.push_back(route.next_hop_ref);
    }
  }
  for (const Router& router : config.routers) {
    for (const RouterInterface& itf : router.interfaces) {
      if (!itf.linked_vpn_tunnel.empty()) link_refs.push_back(itf.linked_vpn_tunnel);
      if (!itf.linked_interconnect_attachment.empty()) {
        link_refs.push_back(itf.linked_interconnect_attachment);
      }
    }
  }
  for (const std::string& ref : unparsed_refs) {
    if (ref.find("/instances/") != std::string::npos) instance_refs.push_back(ref);
    if (ref.find("/networks/") != std::string::npos) network_refs.push_back(ref);
  }

  const json::array* endpoints = f.Array("endpoints");
  for (size_t i = 0; endpoints != nullptr && i < endpoints->size(); ++i) {
    IssueScope endpoint_scope(issues, file, Indexed("endpoints", i));
    if (!(*endpoints)[i].is_object()) {
      endpoint_scope.Error("",
                           "must be an object, not " + std::string(JsonKindName((*endpoints)[i])));
      testbed.endpoints.emplace_back();
      continue;
    }
    JsonFields endpoint_fields((*endpoints)[i].get_object(), endpoint_scope);
    size_t before = testbed.endpoints.size();
    ParseEndpoint(endpoint_fields, instance_refs, network_refs, link_refs, config);
    if (testbed.endpoints.size() == before) testbed.endpoints.emplace_back();  // keep positions
  }

  // cloudRouters[]: which Cloud Routers run BGP, and how their peers reach them.
  for (auto& [index, entry] : f.ObjectList("cloudRouters")) {
    CloudRouterLink link;
    std::string text = RequiredString(entry, "router");
    if (!text.empty()) {
      const Router* found = nullptr;
      for (const Router& router : config.routers) {
        if (router.self_ref == text || router.name == text ||
            router.self_ref.ends_with("/" + text)) {
          if (found != nullptr && found != &router) {
            entry.Error("router", "\"" + text +
                                      "\" names more than one Cloud Router; use its "
                                      "reference projects/P/regions/R/routers/N");
          }
          found = &router;
        }
      }
      if (found == nullptr) {
        if (!unparsed_refs.contains(text)) {
          entry.Error("router", "no Cloud Router \"" + text + "\" in the configuration");
        }
      } else {
        link.router_ref = found->self_ref;
      }
    }
    if (auto port = entry.String("port")) link.port = *port;
    // Init-capture: clang 14 cannot capture a structured binding directly (C++20 P1091).
    auto read_port = [&, &entry = entry](std::string_view key, uint16_t& out) {
      if (auto value = entry.Int(key)) {
        if (*value < 1 || *value > 65535) {
          entry.Error(key, "must be 1..65535 (got " + std::to_string(*value) + ")");
        } else {
          out = static_cast<uint16_t>(*value);
        }
      }
    };
    read_port("listenPort", link.listen_port);
    read_port("peerPort", link.peer_port);
    if (auto limit = entry.Int("maxLearnedPrefixes")) {
      if (*limit < 0 || *limit > 10'000'000) {
        entry.Error("maxLearnedPrefixes", "must be 0..10000000 (0 = no limit)");
      } else {
        link.max_learned_prefixes = static_cast<uint32_t>(*limit);
      }
    }
    if (auto keepalive = entry.Int("keepaliveSeconds")) {
      // A lab override for tests that cannot wait for a 60 s hold time; GCP's floor is 20.
      if (*keepalive < 1 || *keepalive > 60) {
        entry.Error("keepaliveSeconds", "must be 1..60");
      } else {
        link.keepalive_seconds = static_cast<uint32_t>(*keepalive);
      }
    }
    testbed.cloud_routers.push_back(std::move(link));
  }
}

}  // namespace svpc::config
