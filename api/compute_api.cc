#include "api/compute_api.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <set>
#include <sstream>

#include "common/net_types.h"
#include "config/config_loader.h"
#include "config/resource_parser.h"
#include "config/resource_ref.h"
#include "config/resource_writer.h"

namespace svpc::api {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace svpc::config;

namespace {

constexpr std::string_view kPrefix = "/compute/v1/";

// HTTP status for an org policy constraint violation. GCP answers these with
// "Constraint constraints/... violated" in a 412/400 depending on the method; 412 with reason
// conditionNotMet is our choice. Unconfirmed.
constexpr int kOrgPolicyStatus = 412;

struct ApiError {
  int code;
  std::string message;
  std::string reason;
};

[[noreturn]] void Fail(int code, std::string message, std::string reason) {
  throw ApiError{code, std::move(message), std::move(reason)};
}
[[noreturn]] void NotFound(const std::string& ref) {
  Fail(404, "The resource '" + ref + "' was not found", "notFound");
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// RFC 3986 percent-decoding of one path segment or query value ("allow%2Dinternal" ->
// "allow-internal"); nullopt for a malformed escape. A decoded '/' or NUL is refused too: no
// resource name holds one, and a decoded '/' would change which path the request names.
std::optional<std::string> PercentDecode(std::string_view text, bool allow_slash = false) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = hex(text[i + 1]);
    int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    char c = static_cast<char>(hi * 16 + lo);
    if ((c == '/' && !allow_slash) || c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

std::string QueryParam(std::string_view query, std::string_view key) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    std::string_view item = query.substr(pos, end - pos);
    if (item.starts_with(std::string(key) + "=")) {
      std::optional<std::string> value = PercentDecode(item.substr(key.size() + 1), true);
      if (!value)
        Fail(400, "Invalid percent-encoding in query parameter '" + std::string(key) + "'",
             "invalid");
      return *value;
    }
    pos = end + 1;
  }
  return "";
}

std::string Now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms.count()));
  return out;
}

json::object ParseBody(const std::string& body) {
  if (body.empty()) return {};
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) Fail(400, "Invalid JSON payload received. " + ec.message(), "parseError");
  if (!value.is_object())
    Fail(400, "Invalid JSON payload received. Expected an object", "parseError");
  return std::move(value.get_object());
}

std::string StringField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

template <typename T>
const T* FindRef(const std::vector<T>& items, const std::string& ref) {
  for (const T& item : items) {
    if (item.self_ref == ref) return &item;
  }
  return nullptr;
}

template <typename T>
bool EraseRef(std::vector<T>& items, const std::string& ref) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.self_ref == ref; });
  if (it == items.end()) return false;
  items.erase(it);
  return true;
}

json::object ProjectJson(const Config& config, const std::string& project) {
  bool host = false;
  for (const HostProject& h : config.shared_vpc.host_projects)
    host = host || h.project_id == project;
  return json::object{{"kind", "compute#project"},
                      {"id", ResourceId("projects/" + project)},
                      {"name", project},
                      {"selfLink", SelfLink("projects/" + project)},
                      {"xpnProjectStatus", host ? "HOST" : "UNSPECIFIED_XPN_PROJECT_STATUS"}};
}

// The first free address of the subnet's primary range as GCP hands out ephemeral and static
// internal addresses: never the network, gateway, second-to-last or broadcast address, nor one
// an instance, alias range or reserved address of the network holds.
std::optional<Ipv4> FirstFreeAddress(const Config& config, const Subnetwork& subnet) {
  std::vector<Prefix> taken{Prefix{subnet.gateway, 32}};
  for (const Instance& instance : config.instances) {
    for (const NetworkInterface& nic : instance.nics) {
      if (nic.network_ref != subnet.network_ref) continue;
      if (nic.ip != 0) taken.push_back(Prefix{nic.ip, 32});
      for (const AliasRange& alias : nic.alias_ranges) taken.push_back(alias.range);
    }
  }
  for (const Address& address : config.addresses) {
    if (address.subnetwork_ref == subnet.self_ref) taken.push_back(Prefix{address.ip, 32});
  }
  std::sort(taken.begin(), taken.end(),
            [](const Prefix& a, const Prefix& b) { return a.First() < b.First(); });
  uint64_t candidate = uint64_t{subnet.range.First()} + 1;
  const uint64_t last_usable = subnet.range.Size() >= 4 ? uint64_t{subnet.range.Last()} - 2 : 0;
  for (const Prefix& prefix : taken) {
    if (!prefix.Overlaps(subnet.range) || candidate < prefix.First()) continue;
    candidate = std::max<uint64_t>(candidate, uint64_t{prefix.Last()} + 1);
  }
  if (candidate > last_usable) return std::nullopt;
  return static_cast<Ipv4>(candidate);
}

// The collections served as plain resources.
struct Collection {
  std::string_view name;   // URL segment
  std::string_view scope;  // global / regions / zones
  ResourceKind kind;
  std::string_view list_kind;
  std::string_view permission;  // compute.<permission>.get ...
};

constexpr Collection kCollections[] = {
    {"networks", "global", ResourceKind::kNetwork, "compute#networkList", "networks"},
    {"subnetworks", "regions", ResourceKind::kSubnetwork, "compute#subnetworkList", "subnetworks"},
    {"firewalls", "global", ResourceKind::kFirewall, "compute#firewallList", "firewalls"},
    {"routes", "global", ResourceKind::kRoute, "compute#routeList", "routes"},
    {"routers", "regions", ResourceKind::kRouter, "compute#routerList", "routers"},
    {"addresses", "regions", ResourceKind::kAddress, "compute#addressList", "addresses"},
    {"instances", "zones", ResourceKind::kInstance, "compute#instanceList", "instances"},
    {"firewallPolicies", "global", ResourceKind::kFirewallPolicy, "compute#firewallPolicyList",
     "firewallPolicies"},
};

// Every resource of `collection` in `project` and location, as REST JSON, by canonical ref.
std::vector<std::pair<std::string, json::object>> ListResources(const Config& config,
                                                                const Collection& c,
                                                                const std::string& project,
                                                                const std::string& location) {
  std::vector<std::pair<std::string, json::object>> out;
  auto keep = [&](const std::string& p, const std::string& loc) {
    return p == project && (location.empty() || loc == location);
  };
  switch (c.kind) {
    case ResourceKind::kNetwork:
      for (const Network& n : config.networks) {
        if (keep(n.project, "")) out.emplace_back(n.self_ref, NetworkJson(n, config));
      }
      break;
    case ResourceKind::kSubnetwork:
      for (const Subnetwork& s : config.subnetworks) {
        if (keep(s.project, s.region)) out.emplace_back(s.self_ref, SubnetworkJson(s));
      }
      break;
    case ResourceKind::kFirewall:
      for (const Firewall& f : config.firewalls) {
        if (keep(f.project, "")) out.emplace_back(f.self_ref, FirewallJson(f));
      }
      break;
    case ResourceKind::kRoute:
      for (const Route& r : config.routes) {
        if (keep(r.project, "")) out.emplace_back(r.self_ref, RouteJson(r));
      }
      break;
    case ResourceKind::kRouter:
      for (const Router& r : config.routers) {
        if (keep(r.project, r.region)) out.emplace_back(r.self_ref, RouterJson(r));
      }
      break;
    case ResourceKind::kAddress:
      for (const Address& a : config.addresses) {
        if (keep(a.project, a.region)) out.emplace_back(a.self_ref, AddressJson(a, config));
      }
      break;
    case ResourceKind::kInstance:
      for (const Instance& i : config.instances) {
        if (keep(i.project, i.zone)) out.emplace_back(i.self_ref, InstanceJson(i));
      }
      break;
    case ResourceKind::kFirewallPolicy:
      for (const FirewallPolicy& p : config.firewall_policies) {
        if (p.kind == FirewallPolicyKind::kGlobal && keep(p.project, "")) {
          out.emplace_back(p.self_ref, FirewallPolicyJson(p));
        }
      }
      break;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

bool EraseResource(Config& config, ResourceKind kind, const std::string& ref) {
  switch (kind) {
    case ResourceKind::kNetwork:
      return EraseRef(config.networks, ref);
    case ResourceKind::kSubnetwork:
      return EraseRef(config.subnetworks, ref);
    case ResourceKind::kFirewall:
      return EraseRef(config.firewalls, ref);
    case ResourceKind::kRoute:
      return EraseRef(config.routes, ref);
    case ResourceKind::kRouter:
      return EraseRef(config.routers, ref);
    case ResourceKind::kAddress:
      return EraseRef(config.addresses, ref);
    case ResourceKind::kInstance:
      return EraseRef(config.instances, ref);
    case ResourceKind::kFirewallPolicy:
      return EraseRef(config.firewall_policies, ref);
  }
  return false;
}

// The first resource that still refers to network or subnetwork `ref` (GCP refuses to delete
// a network or subnetwork in use), or nullopt.
std::optional<std::string> UserOf(const Config& config, ResourceKind kind, const std::string& ref) {
  if (kind == ResourceKind::kNetwork) {
    for (const Subnetwork& s : config.subnetworks) {
      if (s.network_ref == ref) return s.self_ref;
    }
    for (const Firewall& f : config.firewalls) {
      if (f.network_ref == ref) return f.self_ref;
    }
    for (const Route& r : config.routes) {
      if (r.network_ref == ref) return r.self_ref;
    }
    for (const Router& r : config.routers) {
      if (r.network_ref == ref) return r.self_ref;
    }
  }
  if (kind == ResourceKind::kNetwork || kind == ResourceKind::kSubnetwork) {
    for (const Instance& i : config.instances) {
      for (const NetworkInterface& nic : i.nics) {
        if (nic.network_ref == ref || nic.subnetwork_ref == ref) return i.self_ref;
      }
    }
  }
  if (kind == ResourceKind::kSubnetwork) {
    for (const Address& a : config.addresses) {
      if (a.subnetwork_ref == ref) return a.self_ref;
    }
  }
  return std::nullopt;
}

// The projects `svpc status` lists: those holding a resource, and the Shared VPC's hosts and
// service projects.
std::set<std::string> StatusProjects(const Config& config) {
  std::set<std::string> projects;
  auto add = [&](const auto& items) {
    for (const auto& item : items) projects.insert(item.project);
  };
  add(config.networks);
  add(config.subnetworks);
  add(config.instances);
  add(config.firewalls);
  add(config.routes);
  add(config.routers);
  add(config.addresses);
  for (const HostProject& h : config.shared_vpc.host_projects) projects.insert(h.project_id);
  for (const ServiceProject& p : config.shared_vpc.service_projects) projects.insert(p.project_id);
  return projects;
}

// A project the configuration knows: one `svpc status` lists, or one named by a network firewall
// policy, shared-vpc.json's standalone projects, hierarchy or IAM bindings.
bool KnownProject(const Config& config, const std::string& project) {
  if (StatusProjects(config).contains(project)) return true;
  for (const FirewallPolicy& p : config.firewall_policies) {
    if (p.project == project) return true;
  }
  const SharedVpc& shared = config.shared_vpc;
  for (const std::string& p : shared.standalone_projects) {
    if (p == project) return true;
  }
  for (const ProjectParent& p : shared.resource_hierarchy.projects) {
    if (p.project_id == project) return true;
  }
  for (const IamPolicy& p : shared.iam_policies) {
    if (p.resource == "projects/" + project) return true;
  }
  return false;
}

std::string IssuesText(const std::vector<ConfigIssue>& issues) {
  std::string text;
  for (const ConfigIssue& issue : issues) {
    if (!text.empty()) text += "; ";
    text += issue.resource.empty() ? "" : issue.resource + ": ";
    // "network: network X does not exist" says the field twice: the reason alone names it.
    const bool reason_names_field =
        !issue.field.empty() && issue.reason.starts_with(issue.field + " ");
    text += issue.field.empty() || reason_names_field ? "" : issue.field + ": ";
    text += issue.reason;
  }
  return text;
}

}  // namespace

struct ComputeApi::Call {
  Principal principal;
  bool authenticated = false;
  std::string method;    // v1.compute.firewalls.insert
  std::string resource;  // canonical reference of the target
  std::string denied_permission;
  // Why authentication failed (audit "reason"): "no Authorization header", "not a Bearer
  // token", "unknown token".
  std::string auth_failure;
  std::string error_message;  // the error answered, for the audit record
};

ComputeApi::ComputeApi(ApiHooks hooks, ApiOptions options)
    : hooks_(std::move(hooks)), options_(std::move(options)) {
  if (!options_.audit_log.empty()) audit_.open(options_.audit_log, std::ios::app);
}

HttpResponse ComputeApi::Error(int code, const std::string& message, const std::string& reason) {
  static const std::map<int, std::string> statuses = {
      {400, "INVALID_ARGUMENT"},    {401, "UNAUTHENTICATED"},  {403, "PERMISSION_DENIED"},
      {404, "NOT_FOUND"},           {405, "INVALID_ARGUMENT"}, {409, "ALREADY_EXISTS"},
      {412, "FAILED_PRECONDITION"}, {500, "INTERNAL"},         {503, "UNAVAILABLE"}};
  auto status = statuses.find(code);
  json::object error{
      {"code", code},
      {"message", message},
      {"errors",
       json::array{json::object{{"message", message}, {"domain", "global"}, {"reason", reason}}}}};
  if (status != statuses.end()) error["status"] = status->second;
  return HttpResponse{code, json::serialize(json::object{{"error", std::move(error)}})};
}

void ComputeApi::LoadTokens() {
  fs::path path = fs::path(options_.config_dir) / "tokens.json";
  std::error_code ec;
  auto mtime = fs::last_write_time(path, ec);
  if (ec) {
    tokens_.clear();  // no file: nobody gets in
    tokens_loaded_ = false;
    return;
  }
  if (tokens_loaded_ && mtime == tokens_mtime_) return;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code jec;
  json::value root = json::parse(text.str(), jec);
  std::map<std::string, Principal> tokens;
  if (!jec && root.is_object()) {
    for (const auto& [token, value] : root.get_object()) {
      Principal principal;
      if (value.is_string()) {
        principal.member = value.get_string();
      } else if (value.is_object()) {
        principal.member = StringField(value.get_object(), "principal");
        if (const json::value* groups = value.get_object().if_contains("groups");
            groups != nullptr && groups->is_array()) {
          for (const json::value& g : groups->get_array()) {
            if (g.is_string()) principal.groups.emplace_back(g.get_string());
          }
        }
      }
      if (!principal.member.empty() && !token.empty()) tokens[std::string(token)] = principal;
    }
  }
  tokens_ = std::move(tokens);
  tokens_mtime_ = mtime;
  tokens_loaded_ = true;
}

bool ComputeApi::Authenticate(Call& call, const std::string& authorization) {
  LoadTokens();
  // The scheme is case-insensitive (RFC 9110 section 11.1): "bearer" and "BEARER" are Bearer.
  constexpr std::string_view kBearer = "bearer ";
  auto is_bearer = [&] {
    if (authorization.size() < kBearer.size()) return false;
    for (size_t i = 0; i < kBearer.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(authorization[i])) != kBearer[i]) return false;
    }
    return true;
  };
  if (authorization.empty()) {
    call.auth_failure = "no Authorization header";
    Fail(401,
         "Request is missing required authentication credential. Expected OAuth 2 access token, "
         "login cookie or other valid authentication credential.",
         "required");
  }
  if (!is_bearer()) {
    call.auth_failure = "not a Bearer token";
    Fail(401, "Request had invalid authentication credentials. Expected a Bearer token.",
         "authError");
  }
  auto it = tokens_.find(authorization.substr(kBearer.size()));
  if (it == tokens_.end()) {
    call.auth_failure = "unknown token";
    Fail(401,
         "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
         "cookie or other valid authentication credential.",
         "authError");
  }
  call.principal = it->second;
  call.authenticated = true;
  return true;
}

void ComputeApi::Require(Call& call, const std::string& permission, const std::string& resource) {
  if (HasPermission(hooks_.config(), call.principal, permission, resource)) return;
  call.denied_permission = permission;
  Fail(403, "Required '" + permission + "' permission for '" + resource + "'", "forbidden");
}

void ComputeApi::Audit(const Call& call, int status) {
  if (!audit_.is_open()) return;
  json::object record{
      {"time", Now()},
      {"principal", call.authenticated ? json::value(call.principal.member) : json::value(nullptr)},
      {"method", call.method},
      {"resource", call.resource},
      // IAM's decision; `status` says how the request ended.
      {"allowed", call.authenticated && call.denied_permission.empty()},
      {"status", status}};
  if (!call.denied_permission.empty()) record["missingPermission"] = call.denied_permission;
  if (!call.auth_failure.empty()) record["reason"] = call.auth_failure;
  if (status >= 300 && !call.error_message.empty()) record["message"] = call.error_message;
  audit_ << json::serialize(record) << '\n';
  audit_.flush();
}

void ComputeApi::Commit(const Config& candidate) {
  // The reload path: a configuration directory, loaded and validated by LoadConfig.
  fs::path stage = fs::path(options_.staging_dir) / ("candidate-" + std::to_string(++commits_));
  std::error_code ec;
  fs::remove_all(stage, ec);
  std::string error;
  if (!WriteConfigDir(candidate, stage.string(), &error)) Fail(500, error, "backendError");
  LoadResult loaded = LoadConfig(stage);
  fs::remove_all(stage, ec);
  if (!loaded.ok()) Fail(400, "Invalid resource: " + IssuesText(loaded.errors), "invalid");
  int status = 400;
  if (!hooks_.apply(std::move(loaded.config), &error, &status)) {
    if (status == 500) Fail(500, "The change could not be made durable: " + error, "backendError");
    if (status == 503) Fail(503, "The engine is busy: " + error, "backendError");
    Fail(400, "The configuration cannot be compiled: " + error, "invalid");
  }
  if (hooks_.applied) applied_ = hooks_.applied();
}

json::object ComputeApi::Operation(const Call& call, const std::string& type,
                                   const std::string& target_ref, const std::string& scope_ref) {
  const std::string time = Now();
  const std::string name = "operation-" +
                           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()) +
                           "-" + std::to_string(++operation_counter_);
  // scope_ref: projects/P/global, projects/P/regions/R or projects/P/zones/Z.
  const std::string ref = scope_ref + "/operations/" + name;
  json::object op{{"kind", "compute#operation"},
                  {"id", ResourceId(ref)},
                  {"name", name},
                  {"operationType", type},
                  {"targetLink", SelfLink(target_ref)},
                  {"targetId", ResourceId(target_ref)},
                  {"status", "DONE"},
                  {"user", call.principal.member.substr(call.principal.member.find(':') + 1)},
                  {"progress", 100},
                  {"insertTime", time},
                  {"startTime", time},
                  {"endTime", time},
                  {"selfLink", SelfLink(ref)}};
  std::vector<std::string> parts = SplitPath(scope_ref);
  if (parts.size() == 4 && parts[2] == "regions") op["region"] = SelfLink(scope_ref);
  if (parts.size() == 4 && parts[2] == "zones") op["zone"] = SelfLink(scope_ref);
  operations_.emplace_back(ref, op);
  if (operations_.size() > kOperationsKept) operations_.pop_front();
  return op;
}

HttpResponse ComputeApi::Handle(const HttpRequest& request) {
  Call call;
  std::string path = request.target.substr(0, request.target.find('?'));
  call.method = request.method + " " + path;
  // Until the handler names its target, the audit record names what the request asked for.
  call.resource = path.starts_with(kPrefix) ? path.substr(kPrefix.size()) : path;
  int status = 200;
  HttpResponse response;
  applied_ = nullptr;
  try {
    response = Dispatch(call, request);
    status = response.status;
    // A published change answers once the workers have it (the server waits, not the thread).
    response.ready = std::move(applied_);
  } catch (const ApiError& e) {
    response = Error(e.code, e.message, e.reason);
    status = e.code;
    call.error_message = e.message;
  } catch (const std::exception& e) {
    // A bug or an input shape not foreseen: nothing was published (only Commit publishes, last).
    response = Error(500, std::string("Internal error: ") + e.what(), "backendError");
    status = 500;
    call.error_message = std::string("Internal error: ") + e.what();
  }
  Audit(call, status);
  return response;
}

HttpResponse ComputeApi::Dispatch(Call& call, const HttpRequest& request) {
  const std::string& method = request.method;
  const size_t query_at = request.target.find('?');
  const std::string path = request.target.substr(0, query_at);
  const std::string query =
      query_at == std::string::npos ? "" : request.target.substr(query_at + 1);
  const bool svpc_path = path.starts_with("/svpc/v1/");
  const bool metrics_path = path == "/metrics";
  if (!path.starts_with(kPrefix) && !svpc_path && !metrics_path) {
    Fail(404, "Not found: " + path + " (the API is under /compute/v1/)", "notFound");
  }
  Authenticate(call, request.authorization);
  const Config& config = hooks_.config();
  auto ok = [](const json::value& v) { return HttpResponse{200, json::serialize(v)}; };

  if (metrics_path) {
    // Prometheus scrape (any authenticated caller: give the scraper a token, e.g.
    // `authorization: {credentials: TOKEN}` in its scrape config).
    call.method = "svpc.metrics";
    call.resource = "projects/-";
    if (method != "GET" || !hooks_.metrics_text) Fail(404, "Not found: " + path, "notFound");
    return HttpResponse{200, hooks_.metrics_text(), "text/plain; version=0.0.4; charset=utf-8"};
  }
  if (path == "/svpc/v1/trace" && hooks_.trace) {
    // Not GCP: `svpc trace --api`, a Connectivity Tests trace on the live configuration with the
    // flow's live connection-tracking state.
    call.method = "svpc.trace";
    call.resource = "projects/-";
    Require(call, "compute.projects.get", "projects/-");
    if (method != "GET") Fail(405, "Method not allowed: " + method, "badRequest");
    std::map<std::string, std::string> params;
    for (size_t at = 0; at < query.size();) {
      size_t end = query.find('&', at);
      if (end == std::string::npos) end = query.size();
      const std::string pair = query.substr(at, end - at);
      const size_t eq = pair.find('=');
      if (eq == std::string::npos) continue;
      std::optional<std::string> value = PercentDecode(pair.substr(eq + 1), true);
      if (!value)
        Fail(400, "Invalid percent-encoding in query parameter '" + pair.substr(0, eq) + "'",
             "invalid");
      params[pair.substr(0, eq)] = *value;
      at = end + 1;
    }
    int trace_status = 200;
    std::string body = hooks_.trace(params, &trace_status);
    if (trace_status != 200) Fail(trace_status, body, "invalid");
    return HttpResponse{200, std::move(body)};
  }
  if (path == "/svpc/v1/dropCapture" && hooks_.drop_capture_start) {
    // Not GCP: POST starts copying dropped packets, GET takes them as pcapng (and stops).
    // Dropped packets may be any project's: the caller needs compute.projects.get as for export.
    call.method = method == "POST" ? "svpc.dropCapture.start" : "svpc.dropCapture.take";
    call.resource = "projects/-";
    Require(call, "compute.projects.get", "projects/-");
    if (method == "POST") {
      hooks_.drop_capture_start();
      return ok(json::object{{"capturing", true}});
    }
    if (method == "GET") {
      return HttpResponse{200, hooks_.drop_capture_take(), "application/vnd.tcpdump.pcap"};
    }
    Fail(405, "Method not allowed: " + method, "badRequest");
  }
  if (svpc_path) {
    // Not GCP: the whole configuration as files, for `svpc export`.
    if (path == "/svpc/v1/config" && method == "GET") {
      call.method = "svpc.config.export";
      call.resource = "projects/-";
      Require(call, "compute.projects.get", "projects/-");
      json::object files;
      for (const auto& [rel, text] : ConfigFiles(config)) files[rel] = text;
      return ok(json::object{{"files", std::move(files)}});
    }
    if (path == "/svpc/v1/status" && method == "GET") {
      // Not GCP: what `svpc status` prints. Everyone authenticated may read it.
      call.method = "svpc.status";
      const std::set<std::string> projects = StatusProjects(config);
      json::array project_list;
      for (const std::string& p : projects) project_list.emplace_back(p);
      json::array hosts;
      for (const HostProject& h : config.shared_vpc.host_projects) {
        json::array services;
        for (const ServiceProject& p : config.shared_vpc.service_projects) {
          if (p.host_project == h.project_id) services.emplace_back(p.project_id);
        }
        hosts.emplace_back(
            json::object{{"projectId", h.project_id}, {"serviceProjects", std::move(services)}});
      }
      json::object counts{{"networks", config.networks.size()},
                          {"subnetworks", config.subnetworks.size()},
                          {"instances", config.instances.size()},
                          {"firewalls", config.firewalls.size()},
                          {"routes", config.routes.size()},
                          {"routers", config.routers.size()},
                          {"addresses", config.addresses.size()},
                          {"firewallPolicies", config.firewall_policies.size()}};
      json::value bgp;
      if (hooks_.bgp_status_json) {
        boost::system::error_code ec;
        bgp = json::parse(hooks_.bgp_status_json(), ec);
      }
      return ok(json::object{{"principal", call.principal.member},
                             {"changesApplied", commits_},
                             {"projects", std::move(project_list)},
                             {"hostProjects", std::move(hosts)},
                             {"resources", std::move(counts)},
                             {"bgp", std::move(bgp)}});
    }
    Fail(404, "Not found: " + path, "notFound");
  }

  std::vector<std::string> parts = SplitPath(std::string_view(path).substr(kPrefix.size()));
  for (std::string& part : parts) {
    std::optional<std::string> decoded = PercentDecode(part);
    if (!decoded) Fail(400, "Invalid percent-encoding in the request path: " + part, "invalid");
    part = std::move(*decoded);
  }
  if (parts.size() >= 3 && parts[0] == "locations" && parts[1] == "global" &&
      parts[2] == "firewallPolicies") {
    // Hierarchical firewall policies (read only): list by ?parentId=, get by id.
    call.method =
        parts.size() == 3 ? "v1.compute.firewallPolicies.list" : "v1.compute.firewallPolicies.get";
    if (method != "GET") Fail(405, "Only get and list for hierarchical policies", "badRequest");
    if (parts.size() == 4) {
      std::string ref = "locations/global/firewallPolicies/" + parts[3];
      call.resource = ref;
      const FirewallPolicy* policy = FindRef(config.firewall_policies, ref);
      if (policy == nullptr) NotFound(ref);
      Require(call, "compute.firewallPolicies.get", policy->parent);
      return ok(FirewallPolicyJson(*policy));
    }
    std::string parent = QueryParam(query, "parentId");
    parent = parent.starts_with("organizations%2F") ? "organizations/" + parent.substr(16)
             : parent.starts_with("folders%2F")     ? "folders/" + parent.substr(10)
                                                    : parent;
    call.resource = parent;
    Require(call, "compute.firewallPolicies.list", parent);
    json::array items;
    for (const FirewallPolicy& p : config.firewall_policies) {
      if (p.kind == FirewallPolicyKind::kHierarchical && p.parent == parent) {
        items.emplace_back(FirewallPolicyJson(p));
      }
    }
    return ok(json::object{{"kind", "compute#firewallPolicyList"}, {"items", std::move(items)}});
  }
  if (parts.size() < 2 || parts[0] != "projects") Fail(404, "Not found: " + path, "notFound");
  const std::string project = parts[1];
  const std::string project_ref = "projects/" + project;

  // projects.get and the Shared VPC methods: /projects/P[/METHOD].
  if (parts.size() <= 3 && (parts.size() == 2 || parts[2] != "global") &&
      (parts.size() == 2 || parts[2] != "aggregated")) {
    const std::string verb = parts.size() == 3 ? parts[2] : "get";
    call.method = "v1.compute.projects." + verb;
    call.resource = project_ref;
    if (verb == "get" && method == "GET") {
      Require(call, "compute.projects.get", project_ref);
      return ok(ProjectJson(config, project));
    }
    if (verb == "getXpnHost" && method == "GET") {
      Require(call, "compute.projects.get", project_ref);
      for (const ServiceProject& s : config.shared_vpc.service_projects) {
        if (s.project_id == project) return ok(ProjectJson(config, s.host_project));
      }
      return ok(json::object{});
    }
    if (verb == "getXpnResources" && method == "GET") {
      Require(call, "compute.projects.get", project_ref);
      json::array resources;
      for (const ServiceProject& s : config.shared_vpc.service_projects) {
        if (s.host_project == project) {
          resources.emplace_back(json::object{{"id", s.project_id}, {"type", "PROJECT"}});
        }
      }
      return ok(json::object{{"kind", "compute#projectsGetXpnResources"},
                             {"resources", std::move(resources)}});
    }
    if (verb == "listXpnHosts" && method == "POST") {
      ParseBody(request.body);
      Require(call, "compute.projects.get", project_ref);
      json::array items;
      for (const HostProject& h : config.shared_vpc.host_projects) {
        items.emplace_back(ProjectJson(config, h.project_id));
      }
      return ok(json::object{{"kind", "compute#xpnHostList"},
                             {"id", project_ref + "/listXpnHosts"},
                             {"items", std::move(items)},
                             {"selfLink", SelfLink(project_ref + "/listXpnHosts")}});
    }
    if (method != "POST") Fail(405, "Method " + method + " not allowed on " + path, "badRequest");
    Config candidate = config;
    SharedVpc& shared = candidate.shared_vpc;
    auto is_host = [&](const std::string& id) {
      for (const HostProject& h : shared.host_projects) {
        if (h.project_id == id) return true;
      }
      return false;
    };
    auto service_of = [&](const std::string& id) -> ServiceProject* {
      for (ServiceProject& s : shared.service_projects) {
        if (s.project_id == id) return &s;
      }
      return nullptr;
    };
    auto drop_standalone = [&](const std::string& id) {
      std::erase(shared.standalone_projects, id);
    };
    if (verb == "enableXpnHost" || verb == "disableXpnHost") {
      ParseBody(request.body);
      Require(call, "compute.organizations." + verb, project_ref);
      if (verb == "enableXpnHost") {
        if (service_of(project) != nullptr) {
          Fail(400, "Project '" + project + "' is a service project; a project cannot be both",
               "invalid");
        }
        if (!is_host(project)) {
          shared.host_projects.push_back(HostProject{project, true, {}});
          drop_standalone(project);
        }
      } else {
        for (const ServiceProject& s : shared.service_projects) {
          if (s.host_project == project) {
            Fail(400,
                 "Cannot disable Shared VPC host project '" + project + "': service project '" +
                     s.project_id + "' is still attached",
                 "resourceInUseByAnotherResource");
          }
        }
        std::erase_if(shared.host_projects,
                      [&](const HostProject& h) { return h.project_id == project; });
      }
      Commit(candidate);
      return ok(Operation(call, verb, project_ref, project_ref + "/global"));
    }
    if (verb == "enableXpnResource" || verb == "disableXpnResource") {
      json::object body = ParseBody(request.body);
      const json::value* resource = body.if_contains("xpnResource");
      std::string service;
      if (resource != nullptr && resource->is_object()) {
        service = StringField(resource->get_object(), "id");
        std::string type = StringField(resource->get_object(), "type");
        if (!type.empty() && type != "PROJECT") {
          Fail(400, "Invalid value for field 'xpnResource.type': '" + type + "'", "invalid");
        }
      }
      if (service.empty()) {
        Fail(400, "Required field 'xpnResource.id' not specified", "required");
      }
      call.resource = project_ref + " <- projects/" + service;
      // A Shared VPC Admin needs the role where both projects are (GCP: "for both folders").
      Require(call, "compute.organizations." + verb, project_ref);
      Require(call, "compute.organizations." + verb, "projects/" + service);
      if (verb == "enableXpnResource") {
        if (!is_host(project)) {
          Fail(400, "Project '" + project + "' is not a Shared VPC host project", "invalid");
        }
        if (is_host(service)) {
          Fail(400, "Project '" + service + "' is a host project and cannot be attached",
               "invalid");
        }
        if (ServiceProject* existing = service_of(service)) {
          if (existing->host_project != project) {
            Fail(400,
                 "Project '" + service + "' is already attached to host project '" +
                     existing->host_project + "'",
                 "invalid");
          }
        } else {
          if (auto why = OrgPolicyDenies(config, kRestrictHostProjects, service, project_ref)) {
            Fail(kOrgPolicyStatus,
                 "Constraint constraints/" + std::string(kRestrictHostProjects) +
                     " violated for project '" + service + "': " + *why,
                 "conditionNotMet");
          }
          shared.service_projects.push_back(ServiceProject{service, project});
          drop_standalone(service);
        }
      } else {
        ServiceProject* existing = service_of(service);
        if (existing == nullptr || existing->host_project != project) {
          Fail(400, "Project '" + service + "' is not attached to host project '" + project + "'",
               "invalid");
        }
        std::erase_if(shared.service_projects,
                      [&](const ServiceProject& s) { return s.project_id == service; });
      }
      Commit(candidate);
      return ok(Operation(call, verb, project_ref, project_ref + "/global"));
    }
    Fail(404, "Unknown method projects." + verb, "notFound");
  }

  // aggregatedList: projects/P/aggregated/COLLECTION, items by "regions/R" / "zones/Z".
  if (parts.size() == 4 && parts[2] == "aggregated" && method == "GET") {
    const Collection* c = nullptr;
    for (const Collection& candidate : kCollections) {
      if (candidate.name == parts[3] && candidate.scope != "global") c = &candidate;
    }
    if (c == nullptr) Fail(404, "Not found: " + path, "notFound");
    call.method = "v1.compute." + std::string(c->name) + ".aggregatedList";
    call.resource = project_ref + "/aggregated/" + parts[3];
    Require(call, "compute." + std::string(c->permission) + ".list", project_ref);
    if (!KnownProject(config, project)) NotFound(project_ref);
    json::object items;
    for (auto& [ref, object] : ListResources(config, *c, project, "")) {
      std::vector<std::string> ref_parts = SplitPath(ref);  // projects P scope LOC coll NAME
      std::string key = ref_parts[2] + "/" + ref_parts[3];
      json::value& bucket = items[key];
      if (!bucket.is_object()) bucket = json::object{{std::string(c->name), json::array{}}};
      bucket.get_object()[c->name].get_array().emplace_back(std::move(object));
    }
    std::string list_kind(c->list_kind);
    list_kind.replace(list_kind.size() - 4, 4, "AggregatedList");
    return ok(json::object{{"kind", list_kind},
                           {"id", call.resource},
                           {"items", std::move(items)},
                           {"selfLink", SelfLink(call.resource)}});
  }

  // projects/P/{global|regions/R|zones/Z}/COLLECTION[/NAME[/VERB]]
  size_t i = 2;
  std::string scope = parts[i];
  std::string location;
  if (scope == "regions" || scope == "zones") {
    if (parts.size() < 5) Fail(404, "Not found: " + path, "notFound");
    location = parts[i + 1];
    i += 2;
  } else if (scope == "global") {
    i += 1;
  } else {
    Fail(404, "Not found: " + path, "notFound");
  }
  if (i >= parts.size()) Fail(404, "Not found: " + path, "notFound");
  const std::string scope_ref =
      project_ref + (location.empty() ? "/global" : "/" + scope + "/" + location);
  const std::string collection_name = parts[i];
  const std::string name = i + 1 < parts.size() ? parts[i + 1] : "";
  const std::string verb = i + 2 < parts.size() ? parts[i + 2] : "";
  if (i + 3 < parts.size()) Fail(404, "Not found: " + path, "notFound");

  if (collection_name == "operations") {
    call.method = "v1.compute.operations.get";
    call.resource = scope_ref + "/operations/" + name;
    Require(call, "compute.projects.get", project_ref);  // GCP: compute.*Operations.get
    for (const auto& [ref, op] : operations_) {
      if (ref == call.resource) {
        if (verb == "wait" || verb.empty()) return ok(op);
      }
    }
    NotFound(call.resource);
  }

  const Collection* c = nullptr;
  for (const Collection& candidate : kCollections) {
    if (candidate.name == collection_name && candidate.scope == scope) c = &candidate;
  }
  if (c == nullptr) Fail(404, "Not found: " + path, "notFound");
  const std::string perm = "compute." + std::string(c->permission) + ".";
  const std::string api_method = "v1.compute." + std::string(c->name) + ".";
  RefKind ref_kind = RefKind::kNetwork;
  switch (c->kind) {
    case ResourceKind::kNetwork:
      ref_kind = RefKind::kNetwork;
      break;
    case ResourceKind::kSubnetwork:
      ref_kind = RefKind::kSubnetwork;
      break;
    case ResourceKind::kFirewall:
      ref_kind = RefKind::kFirewall;
      break;
    case ResourceKind::kRoute:
      ref_kind = RefKind::kRoute;
      break;
    case ResourceKind::kRouter:
      ref_kind = RefKind::kRouter;
      break;
    case ResourceKind::kAddress:
      ref_kind = RefKind::kAddress;
      break;
    case ResourceKind::kInstance:
      ref_kind = RefKind::kInstance;
      break;
    case ResourceKind::kFirewallPolicy:
      break;
  }
  auto ref_of = [&](const std::string& n) {
    return c->kind == ResourceKind::kFirewallPolicy ? project_ref + "/global/firewallPolicies/" + n
                                                    : MakeRef(ref_kind, project, location, n);
  };
  auto find_json = [&](const std::string& ref) -> std::optional<json::object> {
    for (auto& [r, object] : ListResources(config, *c, project, location)) {
      if (r == ref) return object;
    }
    return std::nullopt;
  };

  // LIST
  if (name.empty() && method == "GET") {
    call.method = api_method + "list";
    call.resource = scope_ref + "/" + collection_name;
    Require(call, perm + "list", project_ref);
    if (!KnownProject(config, project)) NotFound(project_ref);
    json::array items;
    for (auto& [ref, object] : ListResources(config, *c, project, location)) {
      items.emplace_back(std::move(object));
    }
    return ok(json::object{{"kind", c->list_kind},
                           {"id", call.resource},
                           {"items", std::move(items)},
                           {"selfLink", SelfLink(call.resource)}});
  }

  const std::string create_perm =
      c->kind == ResourceKind::kAddress ? perm + "createInternal" : perm + "create";
  const std::string delete_perm =
      c->kind == ResourceKind::kAddress ? perm + "deleteInternal" : perm + "delete";

  // INSERT (and PATCH/PUT, which re-insert the merged resource)
  auto insert = [&](json::object body, const std::string& existing_ref,
                    const std::string& op_type) -> HttpResponse {
    body.erase("selfLink");
    body.erase("id");
    body.erase("kind");
    body.erase("creationTimestamp");
    if (c->scope == "regions") {
      std::string region = StringField(body, "region");
      if (!region.empty() && LastUrlSegment(region) != location) {
        Fail(400, "Invalid value for field 'resource.region': '" + region + "'", "invalid");
      }
      body["region"] = location;
    }
    if (c->scope == "zones") {
      std::string zone = StringField(body, "zone");
      if (!zone.empty() && LastUrlSegment(zone) != location) {
        Fail(400, "Invalid value for field 'resource.zone': '" + zone + "'", "invalid");
      }
      body["zone"] = location;
    }
    const json::value* name_value = body.if_contains("name");
    if (name_value == nullptr || name_value->is_null()) {
      Fail(400, "Required field 'resource.name' not specified", "required");
    }
    if (!name_value->is_string()) {
      Fail(400,
           "Invalid value for field 'resource.name': " + json::serialize(*name_value) +
               ". Must be a string",
           "invalid");
    }
    const std::string target = ref_of(std::string(name_value->get_string()));
    call.resource = target;
    if (!existing_ref.empty() && target != existing_ref) {
      Fail(400, "Invalid value for field 'resource.name': a resource cannot be renamed", "invalid");
    }
    if (c->kind == ResourceKind::kAddress && !body.contains("addressType")) {
      body["addressType"] = "INTERNAL";
    }
    // Permission first: a caller without it learns nothing about what exists.
    if (existing_ref.empty()) {
      Require(call, create_perm, target);
    } else {
      Require(call, perm + (op_type == "setTags" ? "setTags" : "update"), target);
    }
    Config candidate = config;
    if (!existing_ref.empty()) {
      EraseResource(candidate, c->kind, existing_ref);
    } else if (find_json(target)) {
      Fail(409, "The resource '" + target + "' already exists", "alreadyExists");
    }
    // Addresses without one get the subnet's first free address (as GCP allocates).
    std::string address_subnet;
    if (c->kind == ResourceKind::kAddress) {
      RefResult subnet =
          CanonicalRef(RefKind::kSubnetwork, StringField(body, "subnetwork"), project, location);
      if (!subnet.ok())
        Fail(400, "Invalid value for field 'resource.subnetwork': " + subnet.error, "invalid");
      address_subnet = subnet.ref;
      const Subnetwork* s = FindRef(candidate.subnetworks, subnet.ref);
      if (s == nullptr) NotFound(subnet.ref);
      if (!body.contains("address")) {
        std::optional<Ipv4> ip = FirstFreeAddress(candidate, *s);
        if (!ip) Fail(400, "No free address left in " + subnet.ref, "ipSpaceExhausted");
        body["address"] = FormatIpv4(*ip);
      }
    }
    ResourceSource source;
    source.file = "api";
    source.path_project = project;
    IssueList issues;
    const size_t before_instances = candidate.instances.size();
    ParsedResource parsed = ParseResource(c->kind, body, source, candidate, issues);
    if (!issues.errors.empty() || !parsed.added) {
      Fail(400, "Invalid resource: " + IssuesText(issues.errors), "invalid");
    }
    // A firewall rule changes its network's policy: GCP asks compute.networks.updatePolicy on
    // the network, wherever the rule is filed. A rule naming another project's network is then
    // refused here (403) unless the caller may change that network, and by validation (400) if
    // it may: rules live in their network's project.
    if (c->kind == ResourceKind::kFirewall) {
      if (const Firewall* rule = FindRef(candidate.firewalls, target)) {
        if (!rule->network_ref.empty()) {
          Require(call, "compute.networks.updatePolicy", rule->network_ref);
        }
      }
    }
    // Using a subnet (instances, addresses) needs compute.subnetworks.use on it and, for a
    // shared one, the service project's restrictSharedVpcSubnetworks must allow it.
    std::vector<std::string> used_subnets;
    if (!address_subnet.empty()) used_subnets.push_back(address_subnet);
    if (c->kind == ResourceKind::kInstance && candidate.instances.size() > before_instances) {
      Instance& instance = candidate.instances.back();
      const std::string region = RegionOfZone(instance.zone).value_or("");
      for (NetworkInterface& nic : instance.nics) {
        if (nic.subnetwork_ref.empty()) {  // network only: its one subnet in the region
          for (const Subnetwork& s : candidate.subnetworks) {
            if (s.network_ref == nic.network_ref && s.region == region) {
              nic.subnetwork_ref = s.self_ref;
            }
          }
        }
        if (!nic.subnetwork_ref.empty()) used_subnets.push_back(nic.subnetwork_ref);
      }
    }
    if (existing_ref.empty()) {
      for (const std::string& subnet : used_subnets) {
        if (FindRef(candidate.subnetworks, subnet) == nullptr) NotFound(subnet);
        Require(call, "compute.subnetworks.use", subnet);
        if (!subnet.starts_with(project_ref + "/")) {
          if (auto why = OrgPolicyDenies(config, kRestrictSubnetworks, project, subnet)) {
            Fail(kOrgPolicyStatus,
                 "Constraint constraints/" + std::string(kRestrictSubnetworks) +
                     " violated for project '" + project + "': " + *why,
                 "conditionNotMet");
          }
        }
      }
    }
    Commit(candidate);
    return ok(Operation(call, op_type, target, scope_ref));
  };

  if (name.empty() && method == "POST") {
    call.method = api_method + "insert";
    return insert(ParseBody(request.body), "", "insert");
  }
  if (name.empty()) Fail(405, "Method " + method + " not allowed on " + path, "badRequest");

  const std::string ref = ref_of(name);
  call.resource = ref;
  // GET
  if (verb.empty() && method == "GET") {
    call.method = api_method + "get";
    std::optional<json::object> object = find_json(ref);
    Require(call, perm + "get", ref);
    if (!object) NotFound(ref);
    return ok(*object);
  }
  // DELETE
  if (verb.empty() && method == "DELETE") {
    call.method = api_method + "delete";
    Require(call, delete_perm, ref);
    if (!find_json(ref)) NotFound(ref);
    if (c->kind == ResourceKind::kFirewall) {
      const Firewall* rule = FindRef(config.firewalls, ref);
      if (rule != nullptr && !rule->network_ref.empty()) {
        Require(call, "compute.networks.updatePolicy", rule->network_ref);
      }
    }
    if (std::optional<std::string> user = UserOf(config, c->kind, ref)) {
      Fail(400,
           "The " + std::string(c->permission.substr(0, c->permission.size() - 1)) + " resource '" +
               ref + "' is already being used by '" + *user + "'",
           "resourceInUseByAnotherResource");
    }
    Config candidate = config;
    EraseResource(candidate, c->kind, ref);
    if (c->kind == ResourceKind::kSubnetwork) {
      // The subnet's IAM policy goes with it.
      std::erase_if(candidate.shared_vpc.iam_policies,
                    [&](const IamPolicy& p) { return p.resource == ref; });
    }
    Commit(candidate);
    return ok(Operation(call, "delete", ref, scope_ref));
  }
  // PATCH / PUT (update)
  if (verb.empty() && (method == "PATCH" || method == "PUT")) {
    call.method = api_method + (method == "PATCH" ? "patch" : "update");
    std::optional<json::object> existing = find_json(ref);
    if (!existing) {
      Require(call, perm + "update", ref);
      NotFound(ref);
    }
    json::object body = ParseBody(request.body);
    json::object merged = method == "PATCH" ? *existing : json::object{};
    if (method == "PATCH" && (body.contains("allowed") || body.contains("denied"))) {
      merged.erase("allowed");
      merged.erase("denied");
    }
    for (auto& [key, value] : body) merged[key] = value;
    if (!merged.contains("name")) merged["name"] = name;
    return insert(std::move(merged), ref, method == "PATCH" ? "patch" : "update");
  }
  // Custom methods
  if (c->kind == ResourceKind::kInstance && verb == "setTags" && method == "POST") {
    call.method = api_method + "setTags";
    Require(call, perm + "setTags", ref);
    std::optional<json::object> existing = find_json(ref);
    if (!existing) NotFound(ref);
    json::object body = ParseBody(request.body);
    const json::value* items = body.if_contains("items");
    if (items != nullptr && !items->is_array()) {
      Fail(400, "Invalid value for field 'items': must be a list", "invalid");
    }
    (*existing)["tags"] = json::object{{"items", items ? *items : json::array{}}};
    return insert(std::move(*existing), ref, "setTags");
  }
  if (c->kind == ResourceKind::kSubnetwork && (verb == "getIamPolicy" || verb == "setIamPolicy")) {
    call.method = api_method + verb;
    Require(call, perm + verb, ref);
    if (!find_json(ref)) NotFound(ref);
    auto policy_json = [&](const Config& cfg) {
      json::array bindings;
      for (const IamPolicy& p : cfg.shared_vpc.iam_policies) {
        if (p.resource != ref) continue;
        for (const IamBinding& b : p.bindings) {
          json::array members;
          for (const std::string& m : b.members) members.emplace_back(m);
          bindings.emplace_back(json::object{{"role", b.role}, {"members", std::move(members)}});
        }
      }
      std::string etag = ResourceId(json::serialize(bindings)).substr(0, 12);
      return json::object{{"version", 1}, {"etag", etag}, {"bindings", std::move(bindings)}};
    };
    if (verb == "getIamPolicy") {
      if (method != "GET") Fail(405, "getIamPolicy is a GET", "badRequest");
      return ok(policy_json(config));
    }
    if (method != "POST") Fail(405, "setIamPolicy is a POST", "badRequest");
    json::object body = ParseBody(request.body);
    const json::value* policy = body.if_contains("policy");
    if (policy == nullptr || !policy->is_object()) {
      Fail(400, "Required field 'policy' not specified", "required");
    }
    std::string etag = StringField(policy->get_object(), "etag");
    if (!etag.empty() && etag != policy_json(config)["etag"].get_string()) {
      Fail(409, "There were concurrent policy changes (etag mismatch)", "conflict");
    }
    IamPolicy replacement;
    replacement.resource = ref;
    if (const json::value* bindings = policy->get_object().if_contains("bindings")) {
      if (!bindings->is_array()) Fail(400, "Invalid value for field 'policy.bindings'", "invalid");
      for (const json::value& b : bindings->get_array()) {
        if (!b.is_object()) Fail(400, "Invalid value for field 'policy.bindings'", "invalid");
        IamBinding binding;
        binding.role = StringField(b.get_object(), "role");
        if (binding.role.empty())
          Fail(400, "Required field 'binding.role' not specified", "required");
        if (const json::value* members = b.get_object().if_contains("members");
            members != nullptr && members->is_array()) {
          for (const json::value& m : members->get_array()) {
            if (!m.is_string()) Fail(400, "Invalid value for field 'binding.members'", "invalid");
            binding.members.emplace_back(m.get_string());
          }
        }
        replacement.bindings.push_back(std::move(binding));
      }
    }
    Config candidate = config;
    std::erase_if(candidate.shared_vpc.iam_policies,
                  [&](const IamPolicy& p) { return p.resource == ref; });
    if (!replacement.bindings.empty()) candidate.shared_vpc.iam_policies.push_back(replacement);
    Commit(candidate);
    return ok(policy_json(hooks_.config()));
  }
  if (c->kind == ResourceKind::kRouter && verb == "getRouterStatus" && method == "GET") {
    call.method = api_method + "getRouterStatus";
    Require(call, perm + "get", ref);
    const Router* router = FindRef(config.routers, ref);
    if (router == nullptr) NotFound(ref);
    json::array peers;
    json::array best;
    boost::system::error_code ec;
    json::value status =
        hooks_.bgp_status_json ? json::parse(hooks_.bgp_status_json(), ec) : json::value();
    const json::array* reports = nullptr;
    if (!ec && status.is_object()) {
      if (const json::value* p = status.get_object().if_contains("peers"); p && p->is_array()) {
        reports = &p->get_array();
      }
    }
    for (const BgpPeer& peer : router->peers) {
      json::object item{{"name", peer.name},
                        {"ipAddress", FormatIpv4(peer.ip)},
                        {"peerIpAddress", FormatIpv4(peer.peer_ip)},
                        {"status", "DOWN"},
                        {"state", "Idle"},
                        {"numLearnedRoutes", 0},
                        {"enableIpv4", true}};
      if (!peer.enabled) item["statusReason"] = "PEER_DISABLED";
      for (size_t r = 0; reports != nullptr && r < reports->size(); ++r) {
        if (!(*reports)[r].is_object()) continue;
        const json::object& report = (*reports)[r].get_object();
        if (StringField(report, "router") != ref || StringField(report, "peer") != peer.name) {
          continue;
        }
        std::string state = StringField(report, "state");
        item["state"] = state;
        item["status"] = state == "Established" ? "UP" : "DOWN";
        if (const json::value* up = report.if_contains("uptimeSeconds"); up && up->is_number()) {
          item["uptimeSeconds"] = std::to_string(up->to_number<int64_t>());
        }
        json::array advertised;
        if (const json::value* a = report.if_contains("advertisedRoutes"); a && a->is_array()) {
          for (const json::value& route : a->get_array()) {
            if (!route.is_object()) continue;
            advertised.emplace_back(json::object{
                {"kind", "compute#route"},
                {"destRange", StringField(route.get_object(), "destRange")},
                {"priority", route.get_object().contains("med") ? route.get_object().at("med")
                                                                : json::value(0)},
                {"nextHopIp", FormatIpv4(peer.ip)}});
          }
        }
        item["advertisedRoutes"] = std::move(advertised);
        int64_t learned = 0;
        if (const json::value* l = report.if_contains("learnedRoutes"); l && l->is_array()) {
          for (const json::value& route : l->get_array()) {
            if (!route.is_object()) continue;
            ++learned;
            const json::object& r = route.get_object();
            best.emplace_back(
                json::object{{"kind", "compute#route"},
                             {"destRange", StringField(r, "destRange")},
                             {"nextHopIp", StringField(r, "nextHopIp")},
                             {"priority", r.contains("med") ? r.at("med") : json::value(0)},
                             {"network", SelfLink(router->network_ref)},
                             {"routeType", "BGP"}});
          }
        }
        item["numLearnedRoutes"] = learned;
      }
      peers.emplace_back(std::move(item));
    }
    json::array best_for_router = best;
    return ok(
        json::object{{"kind", "compute#routerStatusResponse"},
                     {"result", json::object{{"network", SelfLink(router->network_ref)},
                                             {"bestRoutes", std::move(best)},
                                             {"bestRoutesForRouter", std::move(best_for_router)},
                                             {"bgpPeerStatus", std::move(peers)}}}});
  }
  Fail(404, "Unknown method " + method + " " + path, "notFound");
}

}  // namespace svpc::api
