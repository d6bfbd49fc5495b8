#pragma once
// The benchmark's configuration: a realistic Shared VPC built in memory as a config::Config
// (what LoadConfig would produce), and the flows that run over it.
//
// Topology (fixed, whatever the rule count): host project `host-prj` with one network
// `shared-vpc`, four service projects, four /22 subnets in two regions, `instances_per_subnet`
// instances per subnet (1-3 of 40 network tags, one of 20 service accounts), a VPN tunnel to
// on-prem 192.168.0.0/16 and a default route to the internet, plus on-prem /24s
// (WorkloadSpec::routes). Testbed: three ports, `west` and `east` (every instance of the region,
// untagged, told apart by MAC) and `onprem` (the tunnel). Firewall: three rules a real network has
// (allow internal at 65534, IAP SSH, health checks) plus random realistic VPC rules over the same
// addresses, tags and service accounts.

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "config/model.h"

namespace svpc::bench {

inline constexpr uint16_t kPortWest = 0;
inline constexpr uint16_t kPortEast = 1;
inline constexpr uint16_t kPortOnprem = 2;
inline constexpr uint16_t kPortCount = 3;
// The on-prem router's MAC on the `onprem` port.
inline constexpr MacAddr kOnpremRouterMac{{0x02, 0x42, 0xc0, 0xa8, 0x00, 0x01}};

struct WorkloadSpec {
  uint32_t rules = 1000;  // total VPC firewall rules, baseline rules included
  uint32_t instances_per_subnet = 100;
  uint64_t seed = 1;
  // Static routes in all, the two every network has (internet, on-prem /16) included; the
  // others are on-prem /24s in 100.64.0.0/10 through the tunnel, as a hybrid network has.
  uint32_t routes = 10'000;
};

// An instance NIC as the traffic generator sees it.
struct Host {
  Ipv4 ip = 0;
  MacAddr mac;
  MacAddr gateway_mac;  // what the instance addresses its frames to
  uint16_t port = 0;    // testbed port index
  std::string ref;      // projects/P/zones/Z/instances/I
  std::vector<std::string> tags;
};

struct Workload {
  config::Config config;
  std::vector<Host> hosts;
  // Testbed port names and the ethdev names the bench creates for them.
  std::vector<std::string> port_names;
  std::vector<std::string> port_devices;
};

// The ethdev name rte_eth_from_rings gives a port created as `name`.
std::string RingDeviceName(const std::string& name);

Workload MakeWorkload(const WorkloadSpec& spec);

// The random VPC rules only (for building a second rule set over the same topology).
std::vector<config::Firewall> RandomFirewalls(const Workload& w, uint32_t count, uint64_t seed);

// One packet's five-tuple and where it enters the fabric.
struct FlowSpec {
  uint16_t in_port = 0;
  MacAddr src_mac;
  MacAddr dst_mac;
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t protocol = 6;
};

// The reply direction of `f` (the responder's port and MACs).
FlowSpec Reverse(const Workload& w, const FlowSpec& f);

// A connection as conntrack keys it (both directions the same), for sets of distinct flows.
struct ConnKey {
  uint64_t addresses;
  uint64_t ports;
  bool operator==(const ConnKey&) const = default;
};
struct ConnKeyHash {
  size_t operator()(const ConnKey& k) const {
    return std::hash<uint64_t>()(k.addresses * 0x9e3779b97f4a7c15ull ^ k.ports);
  }
};
inline ConnKey Canonical(const FlowSpec& f) {
  const bool src_low = f.src < f.dst || (f.src == f.dst && f.src_port <= f.dst_port);
  const Ipv4 lo = src_low ? f.src : f.dst;
  const Ipv4 hi = src_low ? f.dst : f.src;
  const uint16_t plo = src_low ? f.src_port : f.dst_port;
  const uint16_t phi = src_low ? f.dst_port : f.src_port;
  return ConnKey{uint64_t{lo} << 32 | hi, uint64_t{plo} << 24 | uint64_t{phi} << 8 | f.protocol};
}

// Random traffic: 85% instance to instance, 10% instance to on-prem, 5% on-prem to instance;
// 90% TCP to service ports, 10% UDP; ephemeral source ports.
class FlowGenerator {
 public:
  FlowGenerator(const Workload& w, uint64_t seed) : w_(w), rng_(seed) {}
  FlowSpec Next();

 private:
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  const Workload& w_;
  std::mt19937_64 rng_;
};

}  // namespace svpc::bench
