#include "cli/api_client.h"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/text_table.h"
#include "config/config_loader.h"
#include "config/resource_writer.h"

namespace svpc::cli {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

constexpr std::string_view kDefaultApi = "http://127.0.0.1:9180";

struct ClientOptions {
  std::string api;
  std::string token;
  std::string project;
  std::string format;
};

std::string EnvOr(const char* name, std::string_view fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : std::string(fallback);
}

void AddCommon(CLI::App* cmd, ClientOptions& o, bool project = true) {
  cmd->add_option("--api", o.api,
                  "svpcd's API (default $SVPC_API or " + std::string(kDefaultApi) + ")");
  cmd->add_option("--token", o.token, "bearer token (default $SVPC_TOKEN)");
  if (project) cmd->add_option("--project", o.project, "project (default $SVPC_PROJECT or all)");
  cmd->add_option("--format", o.format, "json for the API's JSON; default a table");
}

void Resolve(ClientOptions& o) {
  if (o.api.empty()) o.api = EnvOr("SVPC_API", kDefaultApi);
  if (o.token.empty()) o.token = EnvOr("SVPC_TOKEN", "");
  if (o.project.empty()) o.project = EnvOr("SVPC_PROJECT", "");
}

// Prints the API error the way gcloud does and returns false.
bool Check(const HttpResult& result, std::ostream& err) {
  if (result.status == 0) {
    err << "ERROR: cannot reach svpcd's API: " << result.error << '\n';
    return false;
  }
  if (result.status >= 200 && result.status < 300) return true;
  std::string message = result.body;
  boost::system::error_code ec;
  json::value v = json::parse(result.body, ec);
  if (!ec && v.is_object() && v.get_object().contains("error")) {
    const json::value& e = v.get_object().at("error");
    if (e.is_object() && e.get_object().contains("message") && e.at("message").is_string()) {
      message = std::string(e.at("message").get_string());
    }
  }
  err << "ERROR: (svpc) [" << result.status << "] " << message << '\n';
  return false;
}

std::string Text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

std::string Field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? "" : Text(*v);
}

std::string Last(const std::string& url) { return url.substr(url.rfind('/') + 1); }

// Projects to list: the one asked for, else every project the daemon knows.
bool Projects(const ClientOptions& o, std::vector<std::string>& projects, std::ostream& err) {
  if (!o.project.empty()) {
    projects = {o.project};
    return true;
  }
  HttpResult r = HttpCall(o.api, "GET", "/svpc/v1/status", o.token);
  if (!Check(r, err)) return false;
  json::value v = json::parse(r.body);
  for (const json::value& p : v.at("projects").get_array()) projects.emplace_back(p.get_string());
  return true;
}

// Every item of a list (global collections) or aggregated list (regional, zonal).
bool Collect(const ClientOptions& o, const std::string& collection, bool global, json::array& items,
             std::ostream& err) {
  std::vector<std::string> projects;
  if (!Projects(o, projects, err)) return false;
  for (const std::string& project : projects) {
    std::string path = "/compute/v1/projects/" + project +
                       (global ? "/global/" + collection : "/aggregated/" + collection);
    HttpResult r = HttpCall(o.api, "GET", path, o.token);
    // Listing every project: those the caller may not list are skipped, as gcloud would fail.
    if (o.project.empty() && r.status == 403) continue;
    if (!Check(r, err)) return false;
    json::value v = json::parse(r.body);
    const json::value* list = v.get_object().if_contains("items");
    if (list == nullptr) continue;
    if (global) {
      for (const json::value& item : list->get_array()) items.push_back(item);
    } else {
      for (const auto& [scope, bucket] : list->get_object()) {
        const json::value* inner = bucket.get_object().if_contains(collection);
        if (inner == nullptr) continue;
        for (const json::value& item : inner->get_array()) items.push_back(item);
      }
    }
  }
  return true;
}

using RowFn = std::function<std::vector<std::string>(const json::object&)>;

struct ListSpec {
  std::string command;  // firewall-rules
  std::string collection;
  bool global;
  std::vector<std::string> header;
  RowFn row;
};

int RunList(const ListSpec& spec, ClientOptions o, std::ostream& out, std::ostream& err) {
  Resolve(o);
  json::array items;
  if (!Collect(o, spec.collection, spec.global, items, err)) return 1;
  if (o.format == "json") {
    out << PrettyJson(items);
    return 0;
  }
  if (!o.format.empty()) {
    err << "ERROR: --format " << o.format << ": only json (or the default table)\n";
    return 2;
  }
  if (items.empty()) {
    err << "Listed 0 items.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{spec.header};
  for (const json::value& item : items) rows.push_back(spec.row(item.get_object()));
  PrintTable(rows, out);
  return 0;
}

std::string Join(const json::object& o, std::string_view key, std::string_view sep = ",") {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return "";
  std::string out;
  for (const json::value& item : v->get_array()) {
    if (!out.empty()) out += sep;
    out += Text(item);
  }
  return out;
}

std::string RuleList(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return "";
  std::string out;
  for (const json::value& entry : v->get_array()) {
    const json::object& e = entry.get_object();
    std::string protocol = Field(e, "IPProtocol");
    std::string ports = Join(e, "ports", ",");
    if (ports.empty()) {
      out += (out.empty() ? "" : ",") + protocol;
    } else {
      for (const json::value& port : e.at("ports").get_array()) {
        out += (out.empty() ? "" : ",") + protocol + ":" + Text(port);
      }
    }
  }
  return out;
}

std::vector<ListSpec> Specs() {
  return {
      {"firewall-rules",
       "firewalls",
       true,
       {"NAME", "NETWORK", "DIRECTION", "PRIORITY", "ALLOW", "DENY", "DISABLED"},
       [](const json::object& o) -> std::vector<std::string> {
         return {Field(o, "name"),
                 Last(Field(o, "network")),
                 Field(o, "direction"),
                 Field(o, "priority"),
                 RuleList(o, "allowed"),
                 RuleList(o, "denied"),
                 Field(o, "disabled") == "true" ? "True" : "False"};
       }},
      {"routes-list",
       "routes",
       true,
       {"NAME", "NETWORK", "DEST_RANGE", "NEXT_HOP", "PRIORITY"},
       [](const json::object& o) -> std::vector<std::string> {
         std::string hop;
         for (std::string_view key :
              {"nextHopGateway", "nextHopInstance", "nextHopIp", "nextHopIlb", "nextHopVpnTunnel",
               "nextHopInterconnectAttachment"}) {
           if (o.contains(key)) hop = Field(o, key);
         }
         if (hop.starts_with("https://")) {
           // gcloud prints the path after the project for references.
           size_t at = hop.find("/projects/");
           hop = at == std::string::npos ? hop : hop.substr(at + 10);
           hop = hop.substr(hop.find('/') + 1);
         }
         return {Field(o, "name"), Last(Field(o, "network")), Field(o, "destRange"), hop,
                 Field(o, "priority")};
       }},
      {"instances",
       "instances",
       false,
       {"NAME", "ZONE", "INTERNAL_IP", "EXTERNAL_IP", "STATUS"},
       [](const json::object& o) -> std::vector<std::string> {
         std::string ips;
         std::string external;
         if (const json::value* nics = o.if_contains("networkInterfaces")) {
           for (const json::value& nic : nics->get_array()) {
             ips += (ips.empty() ? "" : ",") + Field(nic.get_object(), "networkIP");
             if (nic.get_object().contains("accessConfigs")) external = "(ephemeral)";
           }
         }
         return {Field(o, "name"), Last(Field(o, "zone")), ips, external, Field(o, "status")};
       }},
      {"networks",
       "networks",
       true,
       {"NAME", "SUBNET_MODE", "BGP_ROUTING_MODE", "MTU"},
       [](const json::object& o) -> std::vector<std::string> {
         const json::value* routing = o.if_contains("routingConfig");
         return {Field(o, "name"), Field(o, "autoCreateSubnetworks") == "true" ? "AUTO" : "CUSTOM",
                 routing ? Field(routing->get_object(), "routingMode") : "", Field(o, "mtu")};
       }},
      {"subnets",
       "subnetworks",
       false,
       {"NAME", "REGION", "NETWORK", "RANGE"},
       [](const json::object& o) -> std::vector<std::string> {
         return {Field(o, "name"), Last(Field(o, "region")), Last(Field(o, "network")),
                 Field(o, "ipCidrRange")};
       }},
      {"addresses",
       "addresses",
       false,
       {"NAME", "ADDRESS/RANGE", "TYPE", "PURPOSE", "REGION", "SUBNET", "STATUS"},
       [](const json::object& o) -> std::vector<std::string> {
         return {Field(o, "name"),    Field(o, "address"),      Field(o, "addressType"),
                 Field(o, "purpose"), Last(Field(o, "region")), Last(Field(o, "subnetwork")),
                 Field(o, "status")};
       }},
      {"routers",
       "routers",
       false,
       {"NAME", "REGION", "NETWORK"},
       [](const json::object& o) -> std::vector<std::string> {
         return {Field(o, "name"), Last(Field(o, "region")), Last(Field(o, "network"))};
       }},
  };
}

int RunStatus(ClientOptions o, std::ostream& out, std::ostream& err) {
  Resolve(o);
  HttpResult r = HttpCall(o.api, "GET", "/svpc/v1/status", o.token);
  if (!Check(r, err)) return 1;
  json::value v = json::parse(r.body);
  if (o.format == "json") {
    out << PrettyJson(v);
    return 0;
  }
  const json::object& s = v.get_object();
  out << "api:          " << o.api << " (as " << Field(s, "principal") << ")\n";
  out << "changes:      " << Field(s, "changesApplied") << " applied through the API\n";
  std::string resources;
  for (const auto& [key, count] : s.at("resources").get_object()) {
    resources += (resources.empty() ? "" : ", ") + Text(count) + " " + std::string(key);
  }
  out << "resources:    " << resources << '\n';
  for (const json::value& host : s.at("hostProjects").get_array()) {
    out << "host project: " << Field(host.get_object(), "projectId") << " <- "
        << Join(host.get_object(), "serviceProjects", ", ") << '\n';
  }
  const json::value& bgp = s.at("bgp");
  if (bgp.is_object() && bgp.get_object().contains("peers")) {
    for (const json::value& peer : bgp.at("peers").get_array()) {
      const json::object& p = peer.get_object();
      out << "bgp peer:     " << Last(Field(p, "router")) << "/" << Field(p, "peer") << " "
          << Field(p, "state") << ", " << Field(p, "prefixesReceived") << " received\n";
    }
  }
  return 0;
}

int RunExport(ClientOptions o, const std::string& config_dir, const std::string& out_dir,
              std::ostream& out, std::ostream& err) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> files;
  if (!config_dir.empty()) {
    config::LoadResult loaded = config::LoadConfig(config_dir);
    if (!loaded.ok()) {
      for (const config::ConfigIssue& issue : loaded.errors) {
        err << config::FormatIssue(issue) << '\n';
      }
      return 1;
    }
    files = ConfigFiles(loaded.config);
  } else {
    Resolve(o);
    HttpResult r = HttpCall(o.api, "GET", "/svpc/v1/config", o.token);
    if (!Check(r, err)) return 1;
    json::value v = json::parse(r.body);
    for (const auto& [rel, text] : v.at("files").get_object()) {
      std::string path(rel);
      if (path.find("..") != std::string::npos || path.starts_with("/")) {
        err << "ERROR: refusing the path " << path << " from the API\n";
        return 1;
      }
      files[path] = std::string(text.get_string());
    }
  }
  std::error_code ec;
  for (const auto& [rel, text] : files) {
    fs::path path = fs::path(out_dir) / rel;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file.flush()) {
      err << "ERROR: cannot write " << path << '\n';
      return 1;
    }
  }
  out << "Exported " << files.size() << " file(s) to " << out_dir << '\n';
  return 0;
}

// `svpc capture --drops -w FILE [--seconds S]`: the engine copies what it drops for S seconds,
// then the file holds those packets as pcapng, each with its drop cause as its comment.
int RunCaptureDrops(ClientOptions o, const std::string& file, double seconds, std::ostream& out,
                    std::ostream& err) {
  Resolve(o);
  if (!Check(HttpCall(o.api, "POST", "/svpc/v1/dropCapture", o.token, ""), err)) return 1;
  const bool tty = isatty(STDERR_FILENO) == 1;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (tty) {
      const double left =
          std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count();
      err << "\rcapturing drops: " << static_cast<int>(left + 0.999) << " s left \x1b[K"
          << std::flush;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (tty) err << "\r\x1b[K" << std::flush;
  HttpResult taken = HttpCall(o.api, "GET", "/svpc/v1/dropCapture", o.token, "");
  if (!Check(taken, err)) return 1;
  std::ofstream f(file, std::ios::binary);
  f << taken.body;
  if (!f) {
    err << "ERROR: cannot write " << file << '\n';
    return 1;
  }
  // Enhanced packet blocks (type 6) are the packets.
  size_t packets = 0;
  for (size_t at = 0; at + 8 <= taken.body.size();) {
    uint32_t type, length;
    std::memcpy(&type, taken.body.data() + at, 4);
    std::memcpy(&length, taken.body.data() + at + 4, 4);
    if (length < 12) break;
    packets += type == 6;
    at += length;
  }
  out << "Captured " << packets << " dropped packet(s) in " << seconds << " s to " << file
      << " (pcapng; the drop cause is each packet's comment)\n";
  return 0;
}

}  // namespace

HttpResult HttpCall(const std::string& base_url, const std::string& method, const std::string& path,
                    const std::string& token, const std::string& body) {
  HttpResult result;
  std::string rest = base_url;
  if (rest.starts_with("http://")) rest = rest.substr(7);
  if (rest.ends_with("/")) rest.pop_back();
  const size_t colon = rest.rfind(':');
  const std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> request(http::string_to_verb(method), path, 11);
    request.set(http::field::host, host);
    request.set(http::field::user_agent, "svpc");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    http::read(stream, buffer, parser);
    result.status = parser.get().result_int();
    result.body = parser.get().body();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    result.status = 0;
    result.error = base_url + ": " + e.what();
  }
  return result;
}

void AddClientCommands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ClientOptions>();
  auto* status = app.add_subcommand("status", "a running svpcd: resources, Shared VPC, BGP (API)");
  AddCommon(status, *options, false);
  status->callback(
      [options, &exit_code] { exit_code = RunStatus(*options, std::cout, std::cerr); });

  auto export_dir = std::make_shared<std::pair<std::string, std::string>>();
  auto* exporter = app.add_subcommand(
      "export", "write the running (or --config) configuration as a configuration directory");
  exporter->add_option("OUT_DIR", export_dir->second, "output directory")->required();
  exporter->add_option("--config", export_dir->first,
                       "export this configuration directory (loaded and validated) instead");
  AddCommon(exporter, *options, false);
  exporter->callback([options, export_dir, &exit_code] {
    exit_code = RunExport(*options, export_dir->first, export_dir->second, std::cout, std::cerr);
  });

  struct CaptureArgs {
    bool drops = false;
    std::string file;
    double seconds = 10;
  };
  auto capture_args = std::make_shared<CaptureArgs>();
  auto* capture = app.add_subcommand(
      "capture", "a running svpcd's dropped packets to pcapng, the cause as each packet's comment");
  capture->add_flag("--drops", capture_args->drops, "capture dropped packets (required)")
      ->required();
  capture->add_option("-w,--write", capture_args->file, "pcapng file to write")->required();
  capture->add_option("--seconds", capture_args->seconds, "how long to capture (default 10)")
      ->check(CLI::Range(0.0, 86400.0));
  AddCommon(capture, *options, false);
  capture->callback([options, capture_args, &exit_code] {
    exit_code =
        RunCaptureDrops(*options, capture_args->file, capture_args->seconds, std::cout, std::cerr);
  });

  for (const ListSpec& spec : Specs()) {
    CLI::App* list = nullptr;
    if (spec.command == "routes-list") {
      // `svpc routes list` arrives here renamed; `svpc routes CONFIG_DIR` stays offline.
      list = app.add_subcommand("routes-list", "routes of a running svpcd (`svpc routes list`)");
      list->group("");
    } else {
      auto* group = app.add_subcommand(spec.command, spec.command + " of a running svpcd (API)");
      group->require_subcommand(1);
      list = group->add_subcommand("list", "list " + spec.command + " (gcloud's columns)");
    }
    AddCommon(list, *options);
    list->callback(
        [options, spec, &exit_code] { exit_code = RunList(spec, *options, std::cout, std::cerr); });
  }
}

}  // namespace svpc::cli
