#include "cli/cmd_bgp.h"

#include "common/text_table.h"

#include <boost/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace svpc::cli {

namespace {

namespace json = boost::json;

std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

std::string Uptime(const json::object& o) {
  const json::value* v = o.if_contains("uptimeSeconds");
  if (v == nullptr || !v->is_number() || v->to_number<uint64_t>() == 0) return "-";
  const uint64_t s = v->to_number<uint64_t>();
  char text[32];
  std::snprintf(text, sizeof(text), "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                static_cast<unsigned long long>(s / 60 % 60),
                static_cast<unsigned long long>(s % 60));
  return text;
}

}  // namespace

int RunBgp(const std::string& status_file, const std::string& format, bool routes,
           std::ostream& out, std::ostream& err) {
  std::ifstream in(status_file);
  if (!in) {
    err << "svpc bgp: cannot read " << status_file << " (start svpcd with --bgp-status "
        << status_file << ")\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value root = json::parse(text.str(), ec);
  if (ec || !root.is_object() || !root.as_object().contains("peers") ||
      !root.as_object().at("peers").is_array()) {
    err << "svpc bgp: " << status_file << " is not svpcd's BGP status\n";
    return 2;
  }
  if (format == "json") {
    out << json::serialize(root) << '\n';
    return 0;
  }
  if (!format.empty() && format != "table") {
    err << "svpc bgp: --format must be table or json\n";
    return 2;
  }
  const json::array& peers = root.as_object().at("peers").as_array();
  std::vector<std::vector<std::string>> rows{{"ROUTER", "REGION", "PEER", "PEER_IP", "PEER_ASN",
                                              "STATE", "UPTIME", "RECEIVED", "ADVERTISED",
                                              "LAST_ERROR"}};
  std::vector<std::vector<std::string>> route_rows{
      {"ROUTER", "PEER", "DEST_RANGE", "NEXT_HOP", "MED", "AS_PATH"}};
  for (const json::value& v : peers) {
    if (!v.is_object()) continue;
    const json::object& p = v.as_object();
    std::string router = Text(p, "router");
    router = router.substr(router.rfind('/') + 1);
    rows.push_back({router, Text(p, "region"), Text(p, "peer"), Text(p, "peerIpAddress"),
                    Text(p, "peerAsn"), Text(p, "state"), Uptime(p), Text(p, "prefixesReceived"),
                    Text(p, "prefixesAdvertised"), Text(p, "lastError")});
    const json::value* learned = p.if_contains("learnedRoutes");
    if (!routes || learned == nullptr || !learned->is_array()) continue;
    for (const json::value& r : learned->as_array()) {
      if (!r.is_object()) continue;
      const json::object& route = r.as_object();
      std::string path;
      if (const json::value* a = route.if_contains("asPath"); a != nullptr && a->is_array()) {
        for (const json::value& asn : a->as_array()) {
          path += (path.empty() ? "" : " ") + json::serialize(asn);
        }
      }
      route_rows.push_back({router, Text(p, "peer"), Text(route, "destRange"),
                            Text(route, "nextHopIp"), Text(route, "med"), path});
    }
  }
  PrintTable(rows, out);
  if (routes) {
    out << '\n';
    PrintTable(route_rows, out);
  }
  return 0;
}

void AddBgpCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "bgp", "Cloud Router BGP sessions of a running svpcd (the file of svpcd --bgp-status)");
  auto file = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>();
  auto routes = std::make_shared<bool>(false);
  cmd->add_option("STATUS_FILE", *file, "svpcd's --bgp-status file")->required();
  cmd->add_option("--format", *format, "table (default) or json");
  cmd->add_flag("--routes", *routes, "also list the learned routes");
  cmd->callback([&exit_code, file, format, routes] {
    exit_code = RunBgp(*file, *format, *routes, std::cout, std::cerr);
  });
}

}  // namespace svpc::cli
