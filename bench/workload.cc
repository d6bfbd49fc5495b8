#include "bench/workload.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "dataplane/snapshot.h"

namespace svpc::bench {
namespace {

constexpr const char* kHostProject = "host-prj";
constexpr const char* kNetworkRef = "projects/host-prj/global/networks/shared-vpc";
constexpr const char* kTunnelRef = "projects/host-prj/regions/us-east1/vpnTunnels/onprem-tunnel";
constexpr const char* kOrigin = "svpc-bench (generated in memory)";

struct SubnetPlan {
  const char* name;
  const char* region;
  const char* zone;
  const char* service_project;
  Ipv4 base;  // a /22
  uint16_t port;
};

constexpr Ipv4 Addr(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

constexpr SubnetPlan kSubnets[] = {
    {"web-usw1", "us-west1", "us-west1-a", "svc-web", Addr(10, 10, 0, 0), kPortWest},
    {"app-usw1", "us-west1", "us-west1-b", "svc-app", Addr(10, 10, 4, 0), kPortWest},
    {"db-use1", "us-east1", "us-east1-b", "svc-data", Addr(10, 20, 0, 0), kPortEast},
    {"batch-use1", "us-east1", "us-east1-c", "svc-batch", Addr(10, 20, 4, 0), kPortEast},
};
constexpr uint8_t kSubnetLen = 22;

// 40 network tags; the first ones are on most instances (skewed draws).
constexpr const char* kTags[] = {
    "web",  "app",        "db",      "ssh",     "internal", "http-server", "https-server",
    "api",  "cache",      "backend", "mon",     "logging",  "batch",       "queue",
    "grpc", "frontend",   "redis",   "mysql",   "postgres", "kafka",       "zk",
    "etcd", "mongo",      "elastic", "metrics", "prom",     "bastion",     "admin",
    "ci",   "build",      "dev",     "stage",   "prod",     "pci",         "dns",
    "ntp",  "lb-backend", "jump",    "vpn-gw",  "nat"};
constexpr uint32_t kTagCount = std::size(kTags);
constexpr uint32_t kServiceAccountCount = 20;
constexpr const char* kServiceProjects[] = {"svc-web", "svc-app", "svc-data", "svc-batch"};

constexpr uint16_t kWellKnownPorts[] = {22,   80,   443,  3306, 5432, 6379,  8080, 8443,
                                        9090, 3389, 9092, 2379, 9200, 27017, 53};
// What instances actually talk on (TCP), and UDP services.
constexpr uint16_t kServicePorts[] = {443, 443, 443, 80, 8080, 5432, 3306, 6379, 22, 9090, 9092};
constexpr uint16_t kUdpServicePorts[] = {53, 8125, 123, 514};

std::string ServiceAccount(uint32_t i) {
  return "sa-" + std::to_string(i) + "@" + kServiceProjects[i % 4] + ".iam.gserviceaccount.com";
}

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t percent) { return Below(100) < percent; }
  // Skewed towards small ids: a few tags (web, app, db, ssh) are on most instances.
  uint32_t Skewed(uint32_t n) { return std::min(Below(n), Below(n)); }
  uint64_t Raw() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

Prefix Masked(Ipv4 addr, uint8_t len) { return Prefix{addr & Prefix::MaskOf(len), len}; }

// Prefixes over this configuration's address plan: the internal ranges (whole 10/8, the
// regions, subnets, /24s, small blocks and single instances), on-prem blocks, Google's health
// check and IAP ranges, other public blocks.
Prefix RandomPrefix(Random& r, const Workload& w) {
  uint32_t kind = r.Below(100);
  if (kind < 50) {
    const SubnetPlan& s = kSubnets[r.Below(std::size(kSubnets))];
    switch (r.Below(8)) {
      case 0:
        return Masked(Addr(10, 0, 0, 0), 8);
      case 1:
        return Masked(s.base, 16);
      case 2:
        return Masked(s.base, kSubnetLen);
      case 3:
      case 4:
        return Masked(s.base + (r.Below(4) << 8), 24);
      case 5:
        return Masked(s.base + r.Below(1024), static_cast<uint8_t>(26 + r.Below(3)));
      default:
        return Prefix{w.hosts[r.Below(static_cast<uint32_t>(w.hosts.size()))].ip, 32};
    }
  }
  if (kind < 75) {
    switch (r.Below(4)) {
      case 0:
        return Masked(Addr(192, 168, 0, 0), 16);
      case 1:
      case 2:
        return Masked(Addr(192, 168, r.Below(200), 0), 24);
      default:
        return Prefix{Addr(192, 168, r.Below(200), 1 + r.Below(250)), 32};
    }
  }
  switch (r.Below(4)) {
    case 0:
      return Masked(Addr(35, 191, 0, 0), 16);
    case 1:
      return Masked(Addr(130, 211, 0, 0), 22);
    case 2:
      return Masked(Addr(35, 235, 240, 0), 20);
    default: {
      Ipv4 a = Addr(20 + r.Below(180), r.Below(256), r.Below(256), r.Below(256));
      if ((a >> 24) == 127 || (a >> 24) == 100) a ^= 1u << 30;
      return Masked(a, static_cast<uint8_t>(20 + r.Below(13)));
    }
  }
}

std::vector<config::PortRange> RandomPorts(Random& r) {
  std::vector<config::PortRange> out;
  uint32_t count = 1 + r.Below(3);
  for (uint32_t i = 0; i < count; ++i) {
    if (r.Chance(70)) {
      uint16_t p = kWellKnownPorts[r.Below(std::size(kWellKnownPorts))];
      out.push_back({p, p});
    } else {
      uint16_t first = static_cast<uint16_t>(1024 + r.Below(60000));
      out.push_back(
          {first, static_cast<uint16_t>(std::min<uint32_t>(65535, first + r.Below(1000)))});
    }
  }
  return out;
}

config::Firewall NewFirewall(const std::string& name) {
  config::Firewall fw;
  fw.origin.file = kOrigin;
  fw.project = kHostProject;
  fw.name = name;
  fw.self_ref = std::string("projects/") + kHostProject + "/global/firewalls/" + name;
  fw.network_ref = kNetworkRef;
  return fw;
}

// A random rule shaped like real ones (the distribution of firewall/classifier_bench.cc):
// 79% ingress (80% allow; sources: 70% ranges, 20% tags or service accounts, 10% 0.0.0.0/0 to
// one or two well-known TCP ports),
// 21% egress (60% deny, destination ranges); 60% tagged targets, 10% service accounts, 30% all
// instances; TCP/UDP with well-known or ranged ports, 20% all protocols or ICMP.
config::Firewall RandomFirewall(Random& r, const Workload& w, uint32_t serial) {
  char name[32];
  std::snprintf(name, sizeof(name), "fw-%05u", serial);
  config::Firewall fw = NewFirewall(name);
  static const uint32_t kPriorities[] = {100, 500, 900, 1000, 1000, 1000, 1000, 1100, 2000, 65534};
  fw.priority = r.Chance(80) ? kPriorities[r.Below(std::size(kPriorities))] : r.Below(65535);
  uint32_t kind = r.Below(100);
  if (kind < 20) {
    fw.rules = {config::ProtocolPorts{r.Chance(70) ? -1 : 1, {}}};
  } else {
    fw.rules = {config::ProtocolPorts{6, RandomPorts(r)}};
    if (r.Chance(25)) fw.rules.push_back(config::ProtocolPorts{17, RandomPorts(r)});
  }
  // Targets first: GCP forbids mixing tags and service accounts in one rule.
  uint32_t target = r.Below(100);
  enum class Targets { kAll, kTags, kAccounts } targets = Targets::kAll;
  if (target < 60) {
    targets = Targets::kTags;
    fw.target_tags = {kTags[r.Skewed(kTagCount)]};
    if (r.Chance(20)) fw.target_tags.push_back(kTags[r.Skewed(kTagCount)]);
    std::sort(fw.target_tags.begin(), fw.target_tags.end());
    fw.target_tags.erase(std::unique(fw.target_tags.begin(), fw.target_tags.end()),
                         fw.target_tags.end());
  } else if (target < 70) {
    targets = Targets::kAccounts;
    fw.target_service_accounts = {ServiceAccount(r.Skewed(kServiceAccountCount))};
  }
  if (kind < 70 || r.Chance(30)) {
    fw.direction = config::Direction::kIngress;
    fw.action = r.Chance(80) ? config::Action::kAllow : config::Action::kDeny;
    uint32_t source = r.Below(100);
    bool by_account = targets == Targets::kAccounts || (targets == Targets::kAll && r.Chance(40));
    // "Any source" rules open a well-known port or two to the world (public web, say), never
    // every protocol or a port range.
    if (source >= 90) {
      fw.rules = {config::ProtocolPorts{6, {}}};
      for (uint32_t i = 0, n = 1 + r.Below(2); i < n; ++i) {
        const uint16_t p = kWellKnownPorts[r.Below(std::size(kWellKnownPorts))];
        fw.rules.front().ports.push_back({p, p});
      }
    }
    if (source < 70) {
      uint32_t count = 1 + r.Below(3);
      for (uint32_t i = 0; i < count; ++i) fw.source_ranges.push_back(RandomPrefix(r, w));
    } else if (source < 90) {
      if (by_account) {
        fw.source_service_accounts = {ServiceAccount(r.Skewed(kServiceAccountCount))};
      } else {
        fw.source_tags = {kTags[r.Skewed(kTagCount)]};
      }
    } else {
      fw.source_ranges = {Prefix{0, 0}};
    }
    if (r.Chance(10)) fw.destination_ranges = {RandomPrefix(r, w)};
  } else {
    fw.direction = config::Direction::kEgress;
    fw.action = r.Chance(60) ? config::Action::kDeny : config::Action::kAllow;
    uint32_t count = 1 + r.Below(4);
    for (uint32_t i = 0; i < count; ++i) fw.destination_ranges.push_back(RandomPrefix(r, w));
  }
  return fw;
}

// Rules nearly every real network has.
std::vector<config::Firewall> BaselineFirewalls() {
  std::vector<config::Firewall> out;
  config::Firewall internal = NewFirewall("allow-internal");
  internal.priority = 65534;
  internal.rules = {config::ProtocolPorts{-1, {}}};
  internal.source_ranges = {Prefix{Addr(10, 0, 0, 0), 8}};
  out.push_back(internal);
  config::Firewall iap = NewFirewall("allow-ssh-from-iap");
  iap.rules = {config::ProtocolPorts{6, {{22, 22}}}};
  iap.source_ranges = {Prefix{Addr(35, 235, 240, 0), 20}};
  out.push_back(iap);
  config::Firewall health = NewFirewall("allow-health-checks");
  health.rules = {config::ProtocolPorts{6, {{80, 80}, {443, 443}, {8080, 8080}}}};
  health.source_ranges = {Prefix{Addr(35, 191, 0, 0), 16}, Prefix{Addr(130, 211, 0, 0), 22}};
  health.target_tags = {"lb-backend", "web"};
  out.push_back(health);
  return out;
}

}  // namespace

std::string RingDeviceName(const std::string& name) { return "net_ring_" + name; }

std::vector<config::Firewall> RandomFirewalls(const Workload& w, uint32_t count, uint64_t seed) {
  Random r(seed * 0x9e3779b97f4a7c15ull + 7);
  std::vector<config::Firewall> out;
  for (uint32_t i = 0; i < count; ++i) out.push_back(RandomFirewall(r, w, i));
  return out;
}

Workload MakeWorkload(const WorkloadSpec& spec) {
  Workload w;
  Random r(spec.seed);
  config::Config& c = w.config;

  config::Network net;
  net.origin.file = kOrigin;
  net.project = kHostProject;
  net.name = "shared-vpc";
  net.self_ref = kNetworkRef;
  c.networks.push_back(net);

  c.shared_vpc.origin.file = kOrigin;
  c.shared_vpc.host_projects.push_back(config::HostProject{kHostProject, true, {}});
  for (const char* p : kServiceProjects) {
    c.shared_vpc.service_projects.push_back(config::ServiceProject{p, kHostProject});
  }

  const char* kPortNames[kPortCount] = {"west", "east", "onprem"};
  c.testbed.origin.file = kOrigin;
  for (const char* name : kPortNames) {
    std::string device = RingDeviceName(std::string("svpcb_") + name);
    w.port_names.push_back(name);
    w.port_devices.push_back(device);
    c.testbed.ports.push_back(config::TestbedPort{name, device});
  }

  for (const SubnetPlan& plan : kSubnets) {
    config::Subnetwork s;
    s.origin.file = kOrigin;
    s.project = kHostProject;
    s.region = plan.region;
    s.name = plan.name;
    s.self_ref = std::string("projects/") + kHostProject + "/regions/" + plan.region +
                 "/subnetworks/" + plan.name;
    s.network_ref = kNetworkRef;
    s.range = Prefix{plan.base, kSubnetLen};
    s.gateway = plan.base + 1;
    c.subnetworks.push_back(s);

    const uint32_t count = std::min<uint32_t>(spec.instances_per_subnet, 1000);
    for (uint32_t i = 0; i < count; ++i) {
      config::Instance inst;
      inst.origin.file = kOrigin;
      inst.project = plan.service_project;
      inst.zone = plan.zone;
      char name[48];
      std::snprintf(name, sizeof(name), "%s-vm-%03u", plan.name, i);
      inst.name = name;
      inst.self_ref = "projects/" + inst.project + "/zones/" + inst.zone + "/instances/" + name;
      uint32_t tag_count = 1 + r.Below(3);
      for (uint32_t t = 0; t < tag_count; ++t) inst.tags.push_back(kTags[r.Skewed(kTagCount)]);
      std::sort(inst.tags.begin(), inst.tags.end());
      inst.tags.erase(std::unique(inst.tags.begin(), inst.tags.end()), inst.tags.end());
      inst.service_accounts = {ServiceAccount(r.Skewed(kServiceAccountCount))};
      config::NetworkInterface nic;
      nic.name = "nic0";
      nic.network_ref = kNetworkRef;
      nic.subnetwork_ref = s.self_ref;
      nic.ip = plan.base + 2 + i;  // .0 network, .1 gateway are reserved
      inst.nics.push_back(nic);
      c.instances.push_back(inst);

      config::Endpoint ep;
      ep.port = kPortNames[plan.port];
      ep.kind = config::EndpointKind::kInstanceNic;
      ep.instance_ref = inst.self_ref;
      c.testbed.endpoints.push_back(ep);

      Host h;
      h.ip = nic.ip;
      h.mac = GcpMacForIp(nic.ip);
      h.gateway_mac = GcpMacForIp(s.gateway);
      h.port = plan.port;
      h.ref = inst.self_ref;
      h.tags = inst.tags;
      w.hosts.push_back(h);
    }
  }

  config::Endpoint vpn;
  vpn.port = kPortNames[kPortOnprem];
  vpn.kind = config::EndpointKind::kVpnTunnel;
  vpn.link_ref = kTunnelRef;
  vpn.network_ref = kNetworkRef;
  vpn.mac = kOnpremRouterMac;
  c.testbed.endpoints.push_back(vpn);

  config::Route internet;
  internet.origin.file = kOrigin;
  internet.project = kHostProject;
  internet.name = "default-route-internet";
  internet.self_ref = std::string("projects/") + kHostProject + "/global/routes/" + internet.name;
  internet.network_ref = kNetworkRef;
  internet.dest_range = Prefix{0, 0};
  internet.next_hop_kind = config::NextHopKind::kGateway;
  internet.next_hop_ref = "default-internet-gateway";
  c.routes.push_back(internet);
  config::Route onprem = internet;
  onprem.name = "to-onprem";
  onprem.self_ref = std::string("projects/") + kHostProject + "/global/routes/" + onprem.name;
  onprem.dest_range = Prefix{Addr(192, 168, 0, 0), 16};
  onprem.next_hop_kind = config::NextHopKind::kVpnTunnel;
  onprem.next_hop_ref = kTunnelRef;
  c.routes.push_back(onprem);
  for (uint32_t i = 0; i + 2 < spec.routes && i < (1u << 14); ++i) {
    config::Route office = onprem;
    office.name = "onprem-office-" + std::to_string(i);
    office.self_ref = std::string("projects/") + kHostProject + "/global/routes/" + office.name;
    office.dest_range = Prefix{Addr(100, 64, 0, 0) + (i << 8), 24};
    c.routes.push_back(office);
  }

  c.firewalls = BaselineFirewalls();
  const uint32_t random_rules =
      spec.rules > c.firewalls.size() ? spec.rules - static_cast<uint32_t>(c.firewalls.size()) : 0;
  for (config::Firewall& fw : RandomFirewalls(w, random_rules, spec.seed)) {
    c.firewalls.push_back(std::move(fw));
  }
  return w;
}

namespace {
const Host* FindHost(const Workload& w, Ipv4 ip) {
  for (const Host& h : w.hosts) {
    if (h.ip == ip) return &h;
  }
  return nullptr;
}
}  // namespace

FlowSpec Reverse(const Workload& w, const FlowSpec& f) {
  FlowSpec r = f;
  std::swap(r.src, r.dst);
  std::swap(r.src_port, r.dst_port);
  if (const Host* h = FindHost(w, r.src)) {
    r.in_port = h->port;
    r.src_mac = h->mac;
    r.dst_mac = h->gateway_mac;
  } else {
    r.in_port = kPortOnprem;
    r.src_mac = kOnpremRouterMac;
    r.dst_mac = dataplane::kExternalFabricMac;
  }
  return r;
}

FlowSpec FlowGenerator::Next() {
  const uint32_t hosts = static_cast<uint32_t>(w_.hosts.size());
  FlowSpec f;
  const bool udp = Below(10) == 0;
  f.protocol = udp ? 17 : 6;
  f.dst_port = udp ? kUdpServicePorts[Below(std::size(kUdpServicePorts))]
                   : kServicePorts[Below(std::size(kServicePorts))];
  f.src_port = static_cast<uint16_t>(32768 + Below(28232));  // Linux's ephemeral range
  const Ipv4 onprem = Addr(192, 168, Below(200), 1 + Below(250));
  const uint32_t kind = Below(100);
  const Host& a = w_.hosts[Below(hosts)];
  if (kind < 5) {  // on-prem client to an instance
    f.in_port = kPortOnprem;
    f.src_mac = kOnpremRouterMac;
    f.dst_mac = dataplane::kExternalFabricMac;
    f.src = onprem;
    f.dst = a.ip;
    return f;
  }
  f.in_port = a.port;
  f.src_mac = a.mac;
  f.dst_mac = a.gateway_mac;
  f.src = a.ip;
  if (kind < 15) {  // an instance to on-prem
    f.dst = onprem;
    return f;
  }
  const Host* b = &w_.hosts[Below(hosts)];
  while (b->ip == a.ip) b = &w_.hosts[Below(hosts)];
  f.dst = b->ip;
  return f;
}

}  // namespace svpc::bench
