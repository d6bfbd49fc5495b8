#include "cli/cmd_routes.h"

#include <rte_eal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/command_support.h"
#include "config/config_loader.h"
#include "control/compiler.h"
#include "control/eal_setup.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;
namespace {

const char* RouteType(routing::RouteKind kind) {
  switch (kind) {
    case routing::RouteKind::kSubnet:
      return "SUBNET";
    case routing::RouteKind::kStatic:
      return "STATIC";
    case routing::RouteKind::kDynamic:
      return "BGP";
    case routing::RouteKind::kPeering:
      return "PEERING";
  }
  return "STATIC";
}

// The Compute Engine API field that names the next hop.
const char* NextHopField(routing::NextHopKind kind) {
  switch (kind) {
    case routing::NextHopKind::kNetwork:
      return "nextHopNetwork";
    case routing::NextHopKind::kGateway:
      return "nextHopGateway";
    case routing::NextHopKind::kInstance:
      return "nextHopInstance";
    case routing::NextHopKind::kIp:
      return "nextHopIp";
    case routing::NextHopKind::kIlb:
      return "nextHopIlb";
    case routing::NextHopKind::kVpnTunnel:
      return "nextHopVpnTunnel";
    case routing::NextHopKind::kInterconnectAttachment:
      return "nextHopInterconnectAttachment";
    case routing::NextHopKind::kPeering:
      return "nextHopPeering";
  }
  return "nextHop";
}

struct Row {
  std::string name, network, dest, next_hop, priority, tags, status;
};

void PrintTable(const std::vector<Row>& rows, std::ostream& out) {
  const std::vector<std::string Row::*> columns = {&Row::name,     &Row::network,  &Row::dest,
                                                   &Row::next_hop, &Row::priority, &Row::tags,
                                                   &Row::status};
  const Row header{"NAME", "NETWORK", "DEST_RANGE", "NEXT_HOP", "PRIORITY", "TAGS", "STATUS"};
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    width[c] = (header.*columns[c]).size();
    for (const Row& row : rows) width[c] = std::max(width[c], (row.*columns[c]).size());
  }
  auto print = [&](const Row& row) {
    std::string line;
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string& cell = row.*columns[c];
      line += cell;
      if (c + 1 < columns.size()) line += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print(header);
  for (const Row& row : rows) print(row);
}

}  // namespace

int PrintRoutes(const Config& config, const RoutesCommand& command, std::ostream& out,
                std::ostream& err) {
  const bool json = command.format == "json";
  if (!json && command.format != "table") {
    err << "error: --format: 'table' or 'json', got '" << command.format << "'\n";
    return 2;
  }
  std::string error;
  std::unique_ptr<dataplane::Snapshot> snap = CompileSnapshot(config, &error);
  if (!snap) {
    err << "error: compiling the configuration: " << error << '\n';
    return 1;
  }
  // The senders to report for: every network (its view 0 sees every route), or the NICs of one
  // instance, each in its network with its view.
  struct Scope {
    uint32_t network;
    int32_t nic;  // -1: the whole network
  };
  std::vector<Scope> scopes;
  if (command.instance.empty()) {
    for (uint32_t n = 0; n < snap->networks.size(); ++n) scopes.push_back({n, -1});
  } else {
    std::vector<std::string> matched;
    for (uint32_t i = 0; i < snap->nics.size(); ++i) {
      const std::string& ref = snap->nics[i].instance_ref;
      if (ref == command.instance || ref.ends_with("/" + command.instance) ||
          ref.ends_with("/instances/" + command.instance)) {
        scopes.push_back({snap->nics[i].network, static_cast<int32_t>(i)});
        if (std::find(matched.begin(), matched.end(), ref) == matched.end()) matched.push_back(ref);
      }
    }
    if (matched.empty()) {
      err << "error: --instance: no instance " << command.instance << " in the configuration\n";
      return 2;
    }
    if (matched.size() > 1) {
      err << "error: --instance: " << command.instance << " names " << matched.size()
          << " instances (" << matched[0] << ", " << matched[1]
          << (matched.size() > 2 ? ", ..." : "") << "); give ZONE/instances/NAME or the full "
          << "reference\n";
      return 2;
    }
  }

  boost::json::array items;
  std::vector<Row> rows;
  for (const Scope& scope : scopes) {
    const dataplane::NetworkInfo& net = snap->networks[scope.network];
    const routing::RouteTable& table = *net.routes;
    const dataplane::NicInfo* nic = scope.nic >= 0 ? &snap->nics[scope.nic] : nullptr;
    if (nic != nullptr && !json) {
      std::string tags;
      for (uint32_t t : nic->tags) tags += (tags.empty() ? "" : ",") + snap->tag_names[t];
      const std::string region =
          nic->region < snap->region_names.size() ? snap->region_names[nic->region] : "-";
      out << "instance " << nic->instance_ref << " " << nic->nic_name << ": network " << net.name
          << ", region " << region << ", tags " << (tags.empty() ? "-" : tags)
          << "; the routes that apply to it, with the priority it sees\n";
    }
    for (int32_t id : table.RouteIds()) {
      const routing::Route& r = table.route(id);
      uint32_t priority = r.priority;
      if (nic != nullptr) {
        std::optional<uint32_t> seen = table.PriorityFor(id, nic->route_view);
        if (!seen) continue;
        priority = *seen;
      }
      const std::string reason = table.InactiveReason(id);
      std::vector<std::string> tag_names;
      for (uint32_t t : r.tags) {
        tag_names.push_back(t < snap->tag_names.size() ? snap->tag_names[t] : std::to_string(t));
      }
      if (json) {
        boost::json::object o;
        o["kind"] = "compute#route";
        o["name"] = r.name;
        o["network"] = net.ref;
        o["destRange"] = FormatPrefix(r.dest);
        o["priority"] = priority;
        if (!tag_names.empty()) {
          boost::json::array tags;
          for (const std::string& t : tag_names) tags.emplace_back(t);
          o["tags"] = std::move(tags);
        }
        o["routeType"] = RouteType(r.kind);
        o[NextHopField(r.hop_kind)] = r.next_hop_name;
        if (r.kind == routing::RouteKind::kDynamic) {
          o["router"] = r.router;
          o["bgpPeer"] = r.peer;
        }
        o["routeStatus"] = reason.empty() ? "ACTIVE" : "INACTIVE";
        if (!reason.empty()) o["inactiveReason"] = reason;
        if (nic != nullptr) o["instance"] = nic->instance_ref;
        items.emplace_back(std::move(o));
      } else {
        std::string tags;
        for (const std::string& t : tag_names) tags += (tags.empty() ? "" : ",") + t;
        rows.push_back(Row{r.name, net.name, FormatPrefix(r.dest), r.next_hop_name,
                           std::to_string(priority), tags.empty() ? "-" : tags,
                           reason.empty() ? "ACTIVE" : "INACTIVE: " + reason});
      }
    }
    if (nic != nullptr && !json) {
      PrintTable(rows, out);
      rows.clear();
    }
  }
  if (json) {
    out << boost::json::serialize(items) << '\n';
  } else if (command.instance.empty()) {
    PrintTable(rows, out);
  }
  return 0;
}

int RunRoutesCommand(const RoutesCommand& command) {
  LoadResult loaded;
  if (!LoadForCommand(command.config_dir, &loaded, std::cerr)) return 1;
  if (!StartEalForCommand("svpc-routes", command.eal_args, loaded.config, std::cerr)) return 2;
  int status = PrintRoutes(loaded.config, command, std::cout, std::cerr);
  rte_eal_cleanup();
  return status;
}

void AddRoutesCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args) {
  CLI::App* sub = app.add_subcommand(
      "routes", "Print each network's effective routes (or those applying to one instance)");
  auto cmd = std::make_shared<RoutesCommand>();
  cmd->eal_args = eal_args;
  sub->add_option("CONFIG_DIR", cmd->config_dir, "Configuration directory")->required();
  sub->add_option("--instance", cmd->instance,
                  "Only the routes applying to this instance (NAME, ZONE/instances/NAME or its "
                  "reference), with the priority it sees");
  sub->add_option("--format", cmd->format, "table (default) or json");
  sub->footer("EAL options for experts go after `--`.");
  sub->callback([cmd, &exit_code] { exit_code = RunRoutesCommand(*cmd); });
}

}  // namespace svpc::cli
