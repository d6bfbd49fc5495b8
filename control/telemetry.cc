#include "control/telemetry.h"

#include <rte_telemetry.h>

#include <cctype>
#include <mutex>

namespace svpc::control {
namespace {

std::mutex tables_mutex;
TelemetryTables tables;

using Table = std::vector<std::pair<std::string, uint64_t>> TelemetryTables::*;

// One dict per table: names cut to telemetry's limits, entries beyond its 256 left out.
int Answer(Table table, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(tables_mutex);
  rte_tel_data_start_dict(d);
  size_t n = 0;
  for (const auto& [name, value] : tables.*table) {
    if (++n > RTE_TEL_MAX_DICT_ENTRIES) break;
    // Telemetry takes names of letters, digits, '_' and '/' only: "vm-a.rx" answers as
    // "vm_a_rx", project "svc-a" as "svc_a".
    std::string key = name.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
    for (char& c : key) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
    }
    rte_tel_data_add_dict_u64(d, key.c_str(), value);
  }
  return 0;
}

template <Table table>
int Callback(const char*, const char*, rte_tel_data* d) {
  return Answer(table, d);
}

}  // namespace

bool RegisterTelemetry() {
  struct Command {
    const char* path;
    telemetry_cb fn;
    const char* help;
  };
  static const Command commands[] = {
      {"/svpc/ports", Callback<&TelemetryTables::ports>, "svpc: packets per port (rx, tx)"},
      {"/svpc/verdicts", Callback<&TelemetryTables::verdicts>, "svpc: packets per verdict"},
      {"/svpc/drops", Callback<&TelemetryTables::drops>, "svpc: dropped packets per cause"},
      {"/svpc/conntrack", Callback<&TelemetryTables::conntrack>,
       "svpc: live connections, capacity, workers"},
      {"/svpc/firewall_rules", Callback<&TelemetryTables::rules>,
       "svpc: decisions per VPC firewall rule"},
      {"/svpc/billing", Callback<&TelemetryTables::billing>, "svpc: egress bytes per project"},
  };
  bool ok = true;
  for (const Command& c : commands)
    ok = rte_telemetry_register_cmd(c.path, c.fn, c.help) == 0 && ok;
  return ok;
}

void UpdateTelemetry(TelemetryTables next) {
  std::lock_guard<std::mutex> lock(tables_mutex);
  tables = std::move(next);
}

}  // namespace svpc::control
