#include "cli/cmd_bench.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace svpc::cli {

using namespace svpc::bench;

namespace {

std::string Fixed(double v, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, v);
  return text;
}

std::string Count(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

}  // namespace

void PrintBenchJson(const SideBySideResult& r, std::ostream& out) {
  // Written field by field so numbers read as people write them (Boost.JSON prints every double
  // in exponent form); strings go through Boost.JSON for escaping.
  std::vector<std::pair<std::string, std::string>> fields;
  auto num = [&](const char* key, double v, int digits) {
    fields.emplace_back(key, Fixed(v, digits));
  };
  auto count = [&](const char* key, uint64_t v) { fields.emplace_back(key, std::to_string(v)); };
  auto text = [&](const char* key, const std::string& v) {
    fields.emplace_back(key, boost::json::serialize(boost::json::value(v)));
  };
  auto counts = [&](const char* key, const std::map<std::string, uint64_t>& m) {
    std::string o = "{";
    for (const auto& [name, n] : m) {
      o += (o.size() > 1 ? "," : "") + boost::json::serialize(boost::json::value(name)) + ":" +
           std::to_string(n);
    }
    fields.emplace_back(key, o + "}");
  };
  num("mpps", r.mpps, 4);
  num("cycles_per_packet", r.cycles_per_packet, 1);
  num("testpmd_mpps", r.testpmd_mpps, 4);
  num("ratio", r.ratio, 4);
  count("rules", r.rules);
  count("routes", uint64_t{r.static_routes} + r.dynamic_routes);
  count("static_routes", r.static_routes);
  count("dynamic_routes", r.dynamic_routes);
  count("flows", r.flows);
  count("established_flows", r.established_flows);
  count("new_flows", r.new_flows);
  count("denied_flows", r.denied_flows);
  count("packet_size", r.packet_size);
  count("workers", r.workers);
  count("ports", r.ports);
  num("seconds", r.seconds, 3);
  count("packets", r.packets);
  count("tx_packets", r.tx_packets);
  uint64_t dropped = 0;
  for (const auto& [cause, n] : r.drops) dropped += n;
  counts("drops", r.drops);
  count("dropped", dropped);
  counts("verdicts", r.verdicts);
  num("cpu_cycles_per_packet", r.cpu_cycles_per_packet, 1);
  num("worker_cpu_share", r.worker_cpu_share, 3);
  count("testpmd_packets", r.testpmd_packets);
  num("testpmd_seconds", r.testpmd_seconds, 3);
  num("testpmd_cpu_cycles_per_packet", r.testpmd_cpu_cycles_per_packet, 1);
  num("testpmd_worker_cpu_share", r.testpmd_worker_cpu_share, 3);
  num("cpu_ratio", r.cpu_ratio, 4);
  std::string per_port = "[";
  for (uint32_t n : r.packets_per_port) {
    per_port += (per_port.size() > 1 ? "," : "") + std::to_string(n);
  }
  fields.emplace_back("pcap_packets_per_port", per_port + "]");
  count("flow_candidates", r.flow_candidates);
  count("conntrack_capacity", r.conntrack_capacity);
  count("conntrack_live_start", r.conntrack_live_start);
  count("conntrack_live_end", r.conntrack_live_end);
  num("tsc_hz", r.tsc_hz, 0);
  text("load_average_start", r.load_average_start);
  text("load_average_end", r.load_average_end);
  text("eal_args", r.eal_args);
  text("testpmd_command", r.testpmd_command);
  out << "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    out << (i > 0 ? "," : "") << '"' << fields[i].first << "\":" << fields[i].second;
  }
  out << "}\n";
}

void PrintBenchReport(const SideBySideResult& r, std::ostream& out) {
  out << "Shared VPC: " << Count(r.rules) << " firewall rules, " << Count(r.static_routes)
      << " static + " << Count(r.dynamic_routes) << " dynamic routes, 400 instances, " << r.ports
      << " ports\n"
      << "Traffic:    " << Count(r.flows) << " flows (" << Count(r.established_flows)
      << " established, " << Count(r.new_flows) << " new, " << Count(r.denied_flows) << " denied), "
      << r.packet_size << "-byte frames, one packet per flow per pass\n"
      << "Workers:    " << r.workers << " (EAL " << r.eal_args << ")\n\n";
  // Two columns: the engine's value left-aligned in 14 characters, then testpmd's.
  auto row = [&out](const char* label, const std::string& svpc, const std::string& testpmd) {
    out << "  " << label << std::string(20 - std::min<size_t>(19, std::strlen(label)), ' ') << svpc
        << std::string(14 - std::min<size_t>(13, svpc.size()), ' ') << testpmd << "\n";
  };
  out << "                      svpc engine   dpdk-testpmd io\n";
  row("Mpps", Fixed(r.mpps, 3), Fixed(r.testpmd_mpps, 3));
  row("cycles/packet (CPU)", Fixed(r.cpu_cycles_per_packet, 1),
      Fixed(r.testpmd_cpu_cycles_per_packet, 1));
  row("worker CPU share", Fixed(r.worker_cpu_share, 2), Fixed(r.testpmd_worker_cpu_share, 2));
  row("packets measured", Count(r.packets), Count(r.testpmd_packets));
  out << "\n";
  out << "ratio svpc/testpmd:  " << Fixed(r.ratio, 3) << " (packets/s), " << Fixed(r.cpu_ratio, 3)
      << " (CPU cycles per packet)\n";
  out << "cycles/packet (TSC): " << Fixed(r.cycles_per_packet, 1) << " over " << Fixed(r.seconds, 2)
      << " s\n";
  out << "drops by cause:     ";
  if (r.drops.empty()) out << " none";
  for (const auto& [cause, n] : r.drops) out << " " << cause << " " << Count(n);
  out << "\nconntrack:           " << Count(r.conntrack_live_start) << " live before, "
      << Count(r.conntrack_live_end) << " after (capacity " << Count(r.conntrack_capacity) << ")\n";
  out << "load average:        " << r.load_average_start << " -> " << r.load_average_end << "\n";
}

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<SideBySideOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "the engine on one worker core next to dpdk-testpmd io forwarding, same synthetic Shared "
      "VPC traffic, same virtual devices (net_pcap infinite_rx), one run");
  SideBySideOptions& o = *options;
  cmd->add_option("--rules", o.rules, "VPC firewall rules (3 baseline rules included)")
      ->capture_default_str();
  cmd->add_option("--routes", o.routes, "static routes (internet and on-prem included)")
      ->capture_default_str();
  cmd->add_option("--dynamic-routes", o.dynamic_routes,
                  "routes learned from the on-prem Cloud Router, on top of --routes")
      ->capture_default_str();
  cmd->add_option("--flows", o.flows, "distinct connections in the loop, one packet each")
      ->capture_default_str();
  cmd->add_option("--new-share", o.new_share,
                  "share of flows not opened beforehand (new once per run: see bench/README.md)")
      ->capture_default_str();
  cmd->add_option("--denied-share", o.denied_share, "share of flows the rules deny")
      ->capture_default_str();
  cmd->add_option("--packet-size", o.packet_size,
                  "frame bytes without FCS (64-1474: the network's 1,460-byte MTU)")
      ->capture_default_str();
  cmd->add_option("--seconds", o.seconds, "measured seconds per side")->capture_default_str();
  cmd->add_option("--warmup", o.warmup_s, "seconds per side before measuring")
      ->capture_default_str();
  cmd->add_option("--workers", o.workers, "engine worker cores (this engine: 1)")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "random configuration and traffic")->capture_default_str();
  cmd->add_option("--testpmd", o.testpmd, "dpdk-testpmd program")->capture_default_str();
  cmd->add_option("--out", o.out_dir, "keep the pcaps in this directory (default: temporary)");
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->callback([options, json, &exit_code] {
    options->progress = isatty(STDERR_FILENO) != 0;
    SideBySideResult result;
    std::string error;
    if (!RunSideBySide(*options, result, &error)) {
      std::cerr << "svpc bench: " << error << "\n";
      exit_code = 1;
      return;
    }
    if (*json) {
      PrintBenchJson(result, std::cout);
    } else {
      PrintBenchReport(result, std::cout);
    }
  });
}

}  // namespace svpc::cli
