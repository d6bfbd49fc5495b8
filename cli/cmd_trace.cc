#include "cli/cmd_trace.h"

#include <rte_eal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/api_client.h"
#include "cli/command_support.h"
#include "control/compiler.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;
using dataplane::Snapshot;
namespace {

using control::TraceCommand;

std::string Str(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "-";
  return boost::json::serialize(v);
}

// One line per step: the state, then what it is about.
void PrintSteps(const boost::json::array& steps, std::ostream& out) {
  int n = 0;
  for (const boost::json::value& value : steps) {
    const boost::json::object& step = value.as_object();
    const std::string state(step.at("state").as_string());
    std::string what;
    if (const auto* i = step.if_contains("instance")) {
      const auto& o = i->as_object();
      what = Str(o.at("uri")) + " " + Str(o.at("interface")) + " " + Str(o.at("internalIp"));
    } else if (const auto* f = step.if_contains("firewall")) {
      const auto& o = f->as_object();
      what = Str(o.at("displayName")) + " (" + Str(o.at("firewallRuleType"));
      if (o.contains("priority")) what += ", priority " + Str(o.at("priority"));
      what += ", " + Str(o.at("action")) + ")";
    } else if (const auto* r = step.if_contains("route")) {
      const auto& o = r->as_object();
      what = Str(o.at("displayName")) + " (" + Str(o.at("routeType")) + ", " +
             Str(o.at("destIpRange")) + ", " + Str(o.at("nextHopType")) + " " +
             Str(o.at("nextHop")) + ", priority " + Str(o.at("priority")) + ")";
    } else if (const auto* d = step.if_contains("drop")) {
      what = Str(d->as_object().at("cause"));
    } else if (const auto* net = step.if_contains("network")) {
      const auto& o = net->as_object();
      what = (o.contains("uri") ? Str(o.at("uri")) + " " : "") + "via " + Str(o.at("via"));
    } else {
      for (const char* key : {"deliver", "forward", "vpnTunnel", "interconnectAttachment"}) {
        if (const auto* x = step.if_contains(key)) {
          const auto& o = x->as_object();
          if (o.contains("target")) what = Str(o.at("target"));
          if (o.contains("resourceUri")) what += " " + Str(o.at("resourceUri"));
          if (o.contains("displayName")) what = Str(o.at("displayName"));
          if (o.contains("port") && !o.at("port").is_null())
            what += " (port " + Str(o.at("port")) + ")";
        }
      }
    }
    out << "  " << ++n << "  " << state
        << std::string(state.size() < 34 ? 34 - state.size() : 1, ' ') << what << '\n';
  }
}

}  // namespace

int PrintTrace(const Config& config, const TraceCommand& command, std::ostream& out,
               std::ostream& err) {
  if (command.format != "json" && command.format != "text") {
    err << "error: --format: text or json\n";
    return 2;
  }
  std::string error;
  std::unique_ptr<Snapshot> snap = CompileSnapshot(config, &error);
  if (!snap) {
    err << "error: " << error << '\n';
    return 1;
  }
  int status = 0;
  boost::json::object report = TraceReport(*snap, command, 0, nullptr, err, &status);
  if (status == 2) return 2;
  if (command.format == "json") {
    out << boost::json::serialize(report) << '\n';
  } else {
    PrintTraceReport(report, out);
  }
  return status;
}

void PrintTraceReport(const boost::json::object& report, std::ostream& out) {
  const boost::json::array& traces = report.at("traces").as_array();
  const size_t forward_count = std::count_if(
      traces.begin(), traces.end(),
      [](const boost::json::value& t) { return !t.as_object().contains("forwardTraceId"); });
  size_t forward_index = 0;
  for (size_t t = 0; t < traces.size(); ++t) {
    const boost::json::object& trace = traces[t].as_object();
    const boost::json::object& info = trace.at("endpointInfo").as_object();
    std::string flow = Str(info.at("sourceIp"));
    if (info.contains("sourcePort")) flow += ":" + Str(info.at("sourcePort"));
    flow += " > " + Str(info.at("destinationIp"));
    if (info.contains("destinationPort")) flow += ":" + Str(info.at("destinationPort"));
    flow += " " + Str(info.at("protocol"));
    if (trace.contains("forwardTraceId")) {
      out << "Return trace of trace " << Str(trace.at("forwardTraceId")) << ": " << flow << '\n';
    } else {
      ++forward_index;
      out << "Trace " << t + 1;
      if (forward_count > 1) {
        out << " (ECMP path " << forward_index << " of " << forward_count << ")";
      }
      out << ": " << flow << '\n';
    }
    PrintSteps(trace.at("steps").as_array(), out);
    if (const auto* live = trace.if_contains("liveConnection")) {
      out << "  live connection tracking: ";
      if (live->is_null()) {
        out << "no entry (the engine tracks no such connection now)\n";
      } else {
        const boost::json::object& o = live->as_object();
        out << Str(o.at("state")) << " on worker " << Str(o.at("worker")) << ", opened by "
            << Str(o.at("initiator")) << ", idle " << std::fixed << std::setprecision(1)
            << o.at("idleSeconds").to_number<double>() << std::defaultfloat << " s\n";
      }
    }
  }
}

// The trace from a running svpcd (GET /svpc/v1/trace).
int RunRemoteTrace(const TraceCommand& command) {
  auto env = [](const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr && *value != '\0' ? value : fallback);
  };
  const std::string api =
      !command.api.empty() ? command.api : env("SVPC_API", "http://127.0.0.1:9180");
  const std::string token = !command.token.empty() ? command.token : env("SVPC_TOKEN", "");
  auto escape = [](const std::string& v) {
    std::string out;
    for (unsigned char c : v) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '/') {
        out += static_cast<char>(c);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof(hex), "%%%02X", c);
        out += hex;
      }
    }
    return out;
  };
  const std::string path = "/svpc/v1/trace?source=" + escape(command.source) +
                           "&destination=" + escape(command.destination) +
                           "&protocol=" + escape(command.protocol) +
                           "&port=" + std::to_string(command.port) +
                           "&sourcePort=" + std::to_string(command.source_port) +
                           (command.round_trip ? "&roundTrip=true" : "");
  cli::HttpResult result = cli::HttpCall(api, "GET", path, token, "");
  if (result.status == 0) {
    std::cerr << "error: cannot reach svpcd's API: " << result.error << '\n';
    return 2;
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(result.body, ec);
  if (result.status != 200 || ec || !doc.is_object() || !doc.as_object().contains("traces")) {
    std::string message = result.body;
    if (!ec && doc.is_object()) {
      if (const auto* e = doc.as_object().if_contains("error")) {
        if (e->is_object() && e->as_object().contains("message")) {
          message = Str(e->as_object().at("message"));
        }
      }
    }
    std::cerr << "error: [" << result.status << "] " << message << '\n';
    return 2;
  }
  if (command.format == "json") {
    std::cout << boost::json::serialize(doc) << '\n';
  } else {
    PrintTraceReport(doc.as_object(), std::cout);
  }
  for (const boost::json::value& t : doc.as_object().at("traces").as_array()) {
    const boost::json::array& steps = t.as_object().at("steps").as_array();
    if (!steps.empty() && steps.back().as_object().at("state") == "DROP" &&
        !t.as_object().contains("forwardTraceId")) {
      return 3;
    }
  }
  return 0;
}

int RunTraceCommand(const TraceCommand& command) {
  if (command.format != "text" && command.format != "json") {
    std::cerr << "error: --format: text or json\n";
    return 2;
  }
  if (command.config_dir.empty()) return RunRemoteTrace(command);
  LoadResult loaded;
  if (!LoadForCommand(command.config_dir, &loaded, std::cerr)) return 1;
  if (!StartEalForCommand("svpc-trace", command.eal_args, loaded.config, std::cerr)) return 2;
  int status = PrintTrace(loaded.config, command, std::cout, std::cerr);
  rte_eal_cleanup();
  return status;
}

void AddTraceCommand(CLI::App& app, int& exit_code, const std::vector<std::string>& eal_args) {
  CLI::App* sub = app.add_subcommand(
      "trace", "Trace one packet through the engine's pipeline, step by step (Connectivity Tests)");
  auto cmd = std::make_shared<TraceCommand>();
  cmd->eal_args = eal_args;
  sub->add_option("CONFIG_DIR", cmd->config_dir,
                  "Configuration directory; without it, the running svpcd (--api)");
  sub->add_option("--source", cmd->source, "Instance (NAME, ZONE/instances/NAME) or IPv4 address")
      ->required();
  sub->add_option("--destination", cmd->destination, "IPv4 address or instance")->required();
  sub->add_option("--protocol", cmd->protocol, "tcp (default), udp, icmp or a protocol number");
  sub->add_option("--port", cmd->port, "Destination port (tcp, udp; default 80)");
  sub->add_option("--source-port", cmd->source_port, "Source port (default 49152)");
  sub->add_flag("--round-trip", cmd->round_trip, "Also trace each path's reply");
  sub->add_option("--format", cmd->format, "text (default) or json");
  sub->add_option("--api", cmd->api,
                  "a running svpcd's API (default $SVPC_API or http://127.0.0.1:9180): trace "
                  "on its live configuration, with live connection tracking");
  sub->add_option("--token", cmd->token, "bearer token for --api (default $SVPC_TOKEN)");
  sub->footer(
      "Exit status: 0 delivered or forwarded, 3 dropped (on some path), 1 configuration "
      "errors, 2 bad arguments. EAL options for experts go after `--`.");
  sub->callback([cmd, &exit_code] { exit_code = RunTraceCommand(*cmd); });
}

}  // namespace svpc::cli
