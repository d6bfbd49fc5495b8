#include "cli/cmd_billing.h"

#include "common/text_table.h"

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

namespace svpc::cli {

namespace {

uint64_t Number(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

uint64_t KindBytes(const boost::json::object& project, const char* kind) {
  const boost::json::value* v = project.if_contains(kind);
  return v != nullptr && v->is_object() ? Number(v->as_object(), "bytes") : 0;
}

}  // namespace

int RunBilling(const std::string& counters_file, const std::string& format, std::ostream& out,
               std::ostream& err) {
  if (format != "table" && format != "json") {
    err << "error: --format: table or json\n";
    return 2;
  }
  std::ifstream in(counters_file);
  if (!in) {
    err << "error: cannot read " << counters_file << '\n';
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(text.str(), ec);
  const boost::json::value* billing =
      !ec && doc.is_object() ? doc.as_object().if_contains("billing") : nullptr;
  if (billing == nullptr || !billing->is_object()) {
    err << "error: " << counters_file
        << ": no billing section (a counters.json from svpc replay or svpcd --counters)\n";
    return 2;
  }
  if (format == "json") {
    out << boost::json::serialize(*billing) << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"PROJECT", "EGRESS_PACKETS", "EGRESS_BYTES",
                                                 "TO_INSTANCES", "TO_INTERNET", "VIA_VPN_GATEWAY",
                                                 "VIA_INTERCONNECT"}};
  for (const auto& [name, value] : billing->as_object()) {
    if (!value.is_object()) continue;
    const boost::json::object& p = value.as_object();
    rows.push_back({std::string(name), std::to_string(Number(p, "egress_packets")),
                    std::to_string(Number(p, "egress_bytes")),
                    std::to_string(KindBytes(p, "to_instances")),
                    std::to_string(KindBytes(p, "to_internet")),
                    std::to_string(KindBytes(p, "via_vpn_gateway")),
                    std::to_string(KindBytes(p, "via_interconnect"))});
  }
  PrintTable(rows, out);
  return 0;
}

void AddBillingCommand(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand(
      "billing", "Egress per project as Shared VPC billing attributes it, from a counters file");
  auto file = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("table");
  sub->add_option("COUNTERS_FILE", *file, "counters.json from `svpc replay` or `svpcd --counters`")
      ->required();
  sub->add_option("--format", *format, "table (default) or json");
  sub->callback(
      [file, format, &exit_code] { exit_code = RunBilling(*file, *format, std::cout, std::cerr); });
}

}  // namespace svpc::cli
