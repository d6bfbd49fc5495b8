#include "cli/cmd_netns_plan.h"

#include <iostream>
#include <map>

#include "config/config_loader.h"
#include "control/compiler.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;
namespace {

// "net_tap0,iface=svpc-vm-a,mac=..." -> "svpc-vm-a"; empty when the device is not a TAP.
std::string TapInterface(const std::string& device) {
  if (device.rfind("net_tap", 0) != 0) return "";
  size_t at = device.find("iface=");
  if (at == std::string::npos) return "";
  size_t end = device.find(',', at);
  return device.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

}  // namespace

int RunNetnsPlan(const std::string& config_dir, std::ostream& out, std::ostream& err) {
  LoadResult loaded = LoadConfig(config_dir);
  if (!loaded.ok()) {
    for (const ConfigIssue& e : loaded.errors) err << "error: " << FormatIssue(e) << '\n';
    return 1;
  }
  const Config& config = loaded.config;
  std::map<std::string, std::string> iface_of_port;
  for (const TestbedPort& p : config.testbed.ports) iface_of_port[p.name] = TapInterface(p.device);
  std::map<std::string, const Subnetwork*> subnets;
  for (const Subnetwork& s : config.subnetworks) subnets[s.self_ref] = &s;
  std::map<std::string, uint32_t> mtu;
  for (const Network& n : config.networks) mtu[n.self_ref] = n.mtu;
  for (const Endpoint& ep : config.testbed.endpoints) {
    if (ep.kind != EndpointKind::kInstanceNic) continue;
    const std::string& iface = iface_of_port[ep.port];
    if (iface.empty()) continue;
    for (const Instance& inst : config.instances) {
      if (inst.self_ref != ep.instance_ref) continue;
      for (const NetworkInterface& nic : inst.nics) {
        if (nic.name != ep.nic) continue;
        const Subnetwork* subnet = subnets.at(nic.subnetwork_ref);
        out << iface << ' ' << "svpc-" << inst.project << '-' << inst.name << ' '
            << FormatIpv4(nic.ip) << ' ' << FormatIpv4(subnet->gateway) << ' '
            << FormatMac(ep.mac.value_or(GcpMacForIp(nic.ip))) << ' ' << mtu[nic.network_ref] << ' '
            << (ep.vlan ? std::to_string(*ep.vlan) : "-") << '\n';
      }
    }
  }
  return 0;
}

void AddNetnsPlanCommand(CLI::App& app, int& exit_code) {
  CLI::App* command = app.add_subcommand(
      "netns-plan", "Print how scripts/tap-netns.sh wires each TAP-connected instance NIC");
  auto dir = std::make_shared<std::string>();
  command->add_option("CONFIG_DIR", *dir, "Configuration directory")->required();
  command->callback([dir, &exit_code] { exit_code = RunNetnsPlan(*dir, std::cout, std::cerr); });
}

}  // namespace svpc::cli
