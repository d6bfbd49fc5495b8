#include "cli/cmd_validate.h"

#include <iomanip>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "config/config_loader.h"

namespace svpc::cli {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

std::string Plural(size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

}  // namespace

std::string FormatSummary(const Config& config) {
  std::set<std::string> hosts;
  std::set<std::string> services;
  std::set<std::string> standalone;
  for (const HostProject& host : config.shared_vpc.host_projects) hosts.insert(host.project_id);
  for (const ServiceProject& service : config.shared_vpc.service_projects) {
    services.insert(service.project_id);
  }
  auto add_standalone = [&](const std::string& project) {
    if (!project.empty() && !hosts.contains(project) && !services.contains(project)) {
      standalone.insert(project);
    }
  };
  for (const std::string& project : config.shared_vpc.standalone_projects) add_standalone(project);
  for (const Network& r : config.networks) add_standalone(r.project);
  for (const Subnetwork& r : config.subnetworks) add_standalone(r.project);
  for (const Instance& r : config.instances) add_standalone(r.project);
  for (const Firewall& r : config.firewalls) add_standalone(r.project);
  for (const Route& r : config.routes) add_standalone(r.project);

  std::ostringstream out;
  out << "projects: " << hosts.size() + services.size() + standalone.size() << " (" << hosts.size()
      << " host, " << services.size() << " service, " << standalone.size() << " standalone)\n";
  out << "networks: " << config.networks.size() << ", subnetworks: " << config.subnetworks.size()
      << ", instances: " << config.instances.size()
      << ", firewall rules: " << config.firewalls.size() << ", routes: " << config.routes.size()
      << "\n";
  out << "testbed: " << Plural(config.testbed.ports.size(), "port") << ", "
      << Plural(config.testbed.endpoints.size(), "endpoint") << "\n";

  for (const Network& network : config.networks) {
    out << "\nnetwork " << network.self_ref << " ("
        << (network.auto_create_subnetworks ? "auto" : "custom") << " mode, "
        << network.routing_mode << " routing, MTU " << network.mtu << ")\n";
    for (const Subnetwork& subnet : config.subnetworks) {
      if (subnet.network_ref != network.self_ref) continue;
      out << "  subnetwork " << std::left << std::setw(24) << subnet.name << std::setw(19)
          << FormatPrefix(subnet.range) << subnet.region;
      for (const SecondaryRange& secondary : subnet.secondary_ranges) {
        out << "  " << secondary.range_name << "=" << FormatPrefix(secondary.range);
      }
      out << "\n";
    }
    for (const Instance& instance : config.instances) {
      for (const NetworkInterface& nic : instance.nics) {
        if (nic.network_ref != network.self_ref) continue;
        out << "  instance   " << std::left << std::setw(24) << instance.name << std::setw(19)
            << FormatIpv4(nic.ip) << instance.zone << "  " << nic.name << "  project "
            << instance.project << "\n";
      }
    }
  }
  return out.str();
}

int RunValidate(const std::filesystem::path& dir, std::ostream& out, std::ostream& err) {
  LoadResult result = LoadConfig(dir);
  for (const ConfigIssue& issue : result.errors) err << "error: " << FormatIssue(issue) << "\n";
  for (const ConfigIssue& issue : result.warnings) err << "warning: " << FormatIssue(issue) << "\n";
  if (!result.ok()) {
    err << dir.string() << ": " << Plural(result.errors.size(), "error") << ", "
        << Plural(result.warnings.size(), "warning") << "\n";
    return 1;
  }
  out << dir.string() << ": valid (" << Plural(result.warnings.size(), "warning") << ")\n"
      << FormatSummary(result.config);
  return 0;
}

void AddValidateCommand(CLI::App& app, int& exit_code) {
  CLI::App* command =
      app.add_subcommand("validate", "Load and check a configuration directory; print a summary");
  auto dir = std::make_shared<std::string>();
  command->add_option("CONFIG_DIR", *dir, "Configuration directory")->required();
  command->callback([dir, &exit_code] { exit_code = RunValidate(*dir, std::cout, std::cerr); });
}

}  // namespace svpc::cli
