#include "bench/side_by_side.h"

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <unordered_set>

#include "bench/frame.h"
#include "bench/testpmd_run.h"
#include "bench/workload.h"
#include "common/progress.h"
#include "config/config_validator.h"
#include "control/compiler.h"
#include "dataplane/snapshot_store.h"
#include "dataplane/worker.h"
#include "firewall/conntrack.h"
#include "pcap/pcap_file.h"

namespace svpc::bench {
namespace {

using dataplane::Burst;
using dataplane::Counters;
using dataplane::kBurstSize;
using dataplane::PacketMeta;
using dataplane::Snapshot;
using dataplane::Verdict;

using Clock = std::chrono::steady_clock;

// Limits of what the synthetic network can hold (workload.cc: on-prem /24s in 100.64.0.0/10).
constexpr uint32_t kMaxStaticRoutes = (1u << 14) + 2;
constexpr uint32_t kMaxDynamicRoutes = 1'000'000;
constexpr uint32_t kMinFlows = 30;
constexpr uint32_t kMaxWorkers = 16;  // every port's file needs packets
constexpr uint32_t kMaxFlows = 4'000'000;
// The mempool cache testpmd uses (DEF_MBUF_CACHE); ours is the same so both sides allocate alike.
constexpr unsigned kMbufCache = 250;
// Mbufs beyond the ones holding the pcaps' frames: bursts in flight, per-lcore caches, slack.
constexpr uint32_t kSpareMbufs = 8192;
// svpcd's table unless the flows need more: conntrack keeps entries at up to 80% load.
constexpr uint32_t kDefaultConntrackCapacity = 1'000'000;
// The on-prem Cloud Router the dynamic routes are learned from (installed as CloudRouters does,
// without a BGP session: svpc-bench figure 5 measures the session).
constexpr const char* kRouterName = "cr-onprem";
constexpr const char* kPeerName = "onprem-peer";
constexpr const char* kTunnelRef = "projects/host-prj/regions/us-east1/vpnTunnels/onprem-tunnel";

uint64_t NowNs() { return static_cast<uint64_t>(rte_get_tsc_cycles() * (1e9 / rte_get_tsc_hz())); }

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string Seconds(double done, double total) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.0f/%.0f s", done, total);
  return text;
}

// `n` lcores on the CPUs this process may run on: `-l 0-(n-1)` when those are ours, else
// --lcores mapping lcore i to our i-th CPU (or the last one when there are fewer).
std::string LcoreArg(uint32_t n) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  bool identity = cpus.size() >= n;
  for (uint32_t i = 0; identity && i < n; ++i) identity = cpus[i] == static_cast<int>(i);
  if (identity) return "-l0-" + std::to_string(n - 1);
  std::string arg = "--lcores=";
  for (uint32_t i = 0; i < n; ++i) {
    const int cpu = cpus.empty() ? 0 : cpus[std::min<size_t>(i, cpus.size() - 1)];
    arg += (i > 0 ? "," : "") + std::to_string(i) + "@" + std::to_string(cpu);
  }
  return arg;
}

bool Leaves(const PacketMeta& meta) {
  return meta.verdict == Verdict::kDeliver || meta.verdict == Verdict::kForward;
}

// One frame in the loop: which flow, which way, and what it is.
enum class Kind : uint8_t { kEstablished, kNew, kDenied };
struct LoopPacket {
  FlowSpec spec;  // as it enters the fabric (the reply direction for half the established)
  Kind kind;
};

struct Mix {
  std::vector<LoopPacket> packets;
  std::vector<FlowSpec> to_open;  // established flows, opening direction
  uint64_t candidates = 0;
};

// Learned on-prem prefixes: /24s from 172.16.0.0 on, MED 100, next hop the VPN tunnel, as
// CloudRouters::OnUpdate installs them into the compiled table.
bool AddDynamicRoutes(Snapshot& snap, uint32_t count, std::string* error) {
  if (count == 0) return true;
  if (snap.networks.empty() || !snap.networks[0].routes) {
    *error = "the compiled network has no route table";
    return false;
  }
  int32_t endpoint = -1;
  for (uint32_t e = 0; e < snap.endpoints.size(); ++e) {
    if (snap.endpoints[e].name == kTunnelRef &&
        snap.endpoints[e].kind == dataplane::EndpointKind::kVpnTunnel) {
      endpoint = static_cast<int32_t>(e);
    }
  }
  if (endpoint < 0) {
    *error = "the VPN tunnel endpoint is missing from the compiled testbed";
    return false;
  }
  std::vector<routing::Route> routes;
  routes.reserve(count);
  const uint32_t region = snap.RegionId("us-east1");
  const Ipv4 base = 172u << 24 | 16u << 16;
  for (uint32_t i = 0; i < count; ++i) {
    routing::Route r;
    r.name = routing::DynamicRouteName(kRouterName, kPeerName);
    r.dest = Prefix{base + (i << 8), 24};
    r.priority = 100;
    r.next_hop = routing::NextHopType::kVpnTunnel;
    r.target = static_cast<uint32_t>(endpoint);
    r.kind = routing::RouteKind::kDynamic;
    r.hop_kind = routing::NextHopKind::kVpnTunnel;
    r.next_hop_name = "169.254.0.2";
    r.router = kRouterName;
    r.peer = kPeerName;
    r.region = region;
    routes.push_back(std::move(r));
  }
  return snap.networks[0].routes->AddRoutes(routes, nullptr, error);
}

// Random flows (workload.h's FlowGenerator), judged by the rules without connection tracking,
// until the loop has `flows` packets: the wanted shares of established, new and denied ones, and
// the same number of packets arriving on every port (with infinite_rx each port delivers a burst
// per poll whatever its file's length, so equal files make every flow come round equally often).
// Chosen in three phases, the least flexible first: denied flows (mostly from on-prem), new ones
// (their opening direction), then established ones (either direction fills the ports), so the
// flexible kinds never take the room the others need. Then shuffled, so kinds are interleaved.
bool ChooseMix(const Workload& w, const Snapshot& snap, rte_mempool* pool,
               const SideBySideOptions& o, Mix& mix, StatusLine& progress, std::string* error) {
  const uint32_t ports = static_cast<uint32_t>(w.port_names.size());
  std::vector<uint32_t> quota(ports, o.flows / ports);
  for (uint32_t p = 0; p < o.flows % ports; ++p) ++quota[p];
  const auto denied_total = static_cast<uint32_t>(std::llround(o.flows * o.denied_share));
  const auto new_total = static_cast<uint32_t>(std::llround(o.flows * o.new_share));
  const uint32_t established_total = o.flows - denied_total - new_total;

  dataplane::Pipeline rules_only(nullptr);
  Counters counters;
  FlowGenerator gen(w, o.seed + 1);
  std::unordered_set<ConnKey, ConnKeyHash> chosen;
  chosen.reserve(o.flows);
  rte_mbuf* pkts[kBurstSize];
  PacketMeta meta[kBurstSize];
  FlowSpec spec[kBurstSize];
  const struct {
    Kind kind;
    uint32_t wanted;
    const char* name;
  } phases[] = {{Kind::kDenied, denied_total, "denied"},
                {Kind::kNew, new_total, "new"},
                {Kind::kEstablished, established_total, "established"}};
  for (const auto& phase : phases) {
    uint32_t left = phase.wanted;
    const uint64_t max_candidates = mix.candidates + uint64_t{phase.wanted} * 60 + 100'000;
    while (left > 0) {
      if (mix.candidates > max_candidates) {
        *error = "the loop still lacks " + std::to_string(left) + " " + phase.name + " of " +
                 std::to_string(phase.wanted) + " flows after " + std::to_string(mix.candidates) +
                 " random flows: the rules " + (phase.kind == Kind::kDenied ? "deny" : "allow") +
                 " too few of them for these shares (each port takes a third of the flows; "
                 "denied flows mostly come from on-prem)";
        return false;
      }
      if (rte_pktmbuf_alloc_bulk(pool, pkts, kBurstSize) != 0) {
        *error = "mbuf pool exhausted while choosing flows";
        return false;
      }
      const uint64_t now = NowNs();
      for (uint16_t i = 0; i < kBurstSize; ++i) {
        spec[i] = gen.Next();
        uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(pkts[i], kMinFrameBytes));
        BuildFrame(p, spec[i], spec[i].protocol == 6 ? firewall::kTcpSyn : 0,
                   static_cast<uint32_t>(mix.candidates + i), kMinFrameBytes);
        meta[i].in_port = spec[i].in_port;
        meta[i].time_ns = now;
      }
      mix.candidates += kBurstSize;
      Burst burst{pkts, meta, kBurstSize};
      rules_only.Process(snap, burst, counters);
      rte_pktmbuf_free_bulk(pkts, kBurstSize);
      for (uint16_t i = 0; i < kBurstSize && left > 0; ++i) {
        const FlowSpec& f = spec[i];
        const bool allowed = Leaves(meta[i]);
        const bool denied = !allowed && meta[i].cause == dataplane::DropCause::kFirewallRule;
        if (phase.kind == Kind::kDenied ? !denied : !allowed) continue;
        const ConnKey key = Canonical(f);
        if (chosen.count(key) != 0) continue;
        FlowSpec packet = f;
        if (phase.kind == Kind::kEstablished) {
          // Either direction of an established connection may be the packet in the loop: the
          // one entering on the port that needs packets most.
          const FlowSpec reply = Reverse(w, f);
          if (quota[reply.in_port] > quota[f.in_port]) packet = reply;
        }
        if (quota[packet.in_port] == 0) continue;
        --quota[packet.in_port];
        mix.packets.push_back({packet, phase.kind});
        if (phase.kind == Kind::kEstablished) mix.to_open.push_back(f);
        chosen.insert(key);
        --left;
      }
      if ((mix.candidates & 0xffff) == 0) {
        progress.Show("choosing flows: " + std::to_string(mix.packets.size()) + "/" +
                      std::to_string(o.flows));
      }
    }
  }
  std::shuffle(mix.packets.begin(), mix.packets.end(), std::mt19937_64(o.seed));
  return true;
}

// Sends each established flow's opening packet through the pipeline with the worker's table, as
// the flow's first packet would have gone through svpcd.
bool OpenFlows(const Snapshot& snap, firewall::ConnTrack* conntrack, uint32_t worker,
               rte_mempool* pool, const std::vector<FlowSpec>& flows, StatusLine& progress,
               std::string* error) {
  dataplane::Pipeline pipeline(conntrack, dataplane::OnRuleChange::kContinue, nullptr, worker);
  Counters counters;
  rte_mbuf* pkts[kBurstSize];
  PacketMeta meta[kBurstSize];
  for (size_t start = 0; start < flows.size(); start += kBurstSize) {
    const auto n = static_cast<uint16_t>(std::min<size_t>(kBurstSize, flows.size() - start));
    if (rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0) {
      *error = "mbuf pool exhausted while opening flows";
      return false;
    }
    const uint64_t now = NowNs();
    for (uint16_t i = 0; i < n; ++i) {
      const FlowSpec& f = flows[start + i];
      uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(pkts[i], kMinFrameBytes));
      BuildFrame(p, f, f.protocol == 6 ? firewall::kTcpSyn : 0, static_cast<uint32_t>(start + i),
                 kMinFrameBytes);
      meta[i].in_port = f.in_port;
      meta[i].time_ns = now;
    }
    Burst burst{pkts, meta, n};
    pipeline.Process(snap, burst, counters);
    rte_pktmbuf_free_bulk(pkts, n);
    for (uint16_t i = 0; i < n; ++i) {
      if (!Leaves(meta[i]) || meta[i].conn < 0) {
        *error = std::string("an allowed flow was not tracked when opened: ") +
                 dataplane::DropCauseName(meta[i].cause);
        return false;
      }
    }
    if ((start & 0xffff) == 0) {
      progress.Show("opening flows: " + std::to_string(start) + "/" + std::to_string(flows.size()));
    }
  }
  return true;
}

// The queue a NIC with symmetric RSS would put this packet on (both directions of a flow on one
// worker): net_pcap has no RSS, so the benchmark fills each queue's file as that NIC would.
uint16_t QueueOf(const FlowSpec& f, uint16_t queues) {
  return queues <= 1 ? 0 : dataplane::RssQueue(f.src, f.dst, f.src_port, f.dst_port, queues);
}

// One pcap per port and queue, in the mix's order: established packets are TCP ACKs (or UDP),
// new and denied ones openings (TCP SYN or UDP).
bool WritePcaps(const Mix& mix, const std::vector<std::vector<std::string>>& paths, uint16_t size,
                std::vector<uint32_t>& counts, std::string* error) {
  std::vector<std::vector<std::unique_ptr<pcap::PcapWriter>>> writers(paths.size());
  std::vector<std::vector<uint32_t>> per_queue(paths.size());
  const auto queues = static_cast<uint16_t>(paths.front().size());
  for (size_t p = 0; p < paths.size(); ++p) {
    for (const std::string& path : paths[p]) {
      writers[p].push_back(pcap::PcapWriter::Open(path, error));
      if (!writers[p].back()) return false;
    }
    per_queue[p].assign(queues, 0);
  }
  counts.assign(paths.size(), 0);
  std::vector<uint8_t> frame(size);
  uint32_t serial = 0;
  for (const LoopPacket& lp : mix.packets) {
    const uint8_t flags = lp.spec.protocol != 6           ? 0
                          : lp.kind == Kind::kEstablished ? 0x10  // ACK
                                                          : firewall::kTcpSyn;
    BuildFrame(frame.data(), lp.spec, flags, serial, size);
    const uint16_t q = QueueOf(lp.spec, queues);
    writers[lp.spec.in_port][q]->Write(uint64_t{serial} * 1000, frame.data(), size);
    ++counts[lp.spec.in_port];
    ++per_queue[lp.spec.in_port][q];
    ++serial;
  }
  for (auto& port : writers) {
    for (auto& w : port) {
      if (!w->Close()) {
        *error = "cannot write the traffic's pcap files";
        return false;
      }
    }
  }
  for (size_t p = 0; p < per_queue.size(); ++p) {
    for (uint16_t q = 0; q < queues; ++q) {
      if (per_queue[p][q] == 0) {
        *error = "no packet for queue " + std::to_string(q) + " of port " + std::to_string(p) +
                 ": too few flows for this many workers";
        return false;
      }
    }
  }
  return true;
}

struct WorkerLaunch {
  dataplane::Worker* worker;
  std::atomic<bool>* stop;
  std::atomic<int> tid{0};
};

int WorkerMain(void* arg) {
  auto* launch = static_cast<WorkerLaunch*>(arg);
  launch->tid.store(static_cast<int>(syscall(SYS_gettid)));
  return launch->worker->Run(*launch->stop);
}

struct PortSample {
  uint64_t rx = 0, tx = 0;
};
std::vector<PortSample> SamplePorts(const dataplane::PortSet& ports) {
  std::vector<PortSample> out(ports.size());
  for (uint16_t p = 0; p < ports.size(); ++p) {
    rte_eth_stats stats{};
    rte_eth_stats_get(ports.dpdk_port(p), &stats);
    out[p] = {stats.ipackets, stats.opackets};
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// `program` as execvp would find it: a path, or a name in PATH.
bool ProgramExists(const std::string& program) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(start, end - start);
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool RunSideBySide(const SideBySideOptions& o, SideBySideResult& r, std::string* error) {
  // ---- Options ---------------------------------------------------------------------------------
  if (o.workers < 1 || o.workers > kMaxWorkers) {
    *error = "--workers must be between 1 and " + std::to_string(kMaxWorkers);
    return false;
  }
  if (o.rules < 3) {
    *error = "--rules must be at least 3 (the baseline rules every network has)";
    return false;
  }
  if (o.routes < 2 || o.routes > kMaxStaticRoutes) {
    *error = "--routes must be between 2 and " + std::to_string(kMaxStaticRoutes) +
             " (the internet and on-prem routes, then on-prem /24s in 100.64.0.0/10)";
    return false;
  }
  if (o.dynamic_routes > kMaxDynamicRoutes) {
    *error = "--dynamic-routes must be at most " + std::to_string(kMaxDynamicRoutes);
    return false;
  }
  if (o.flows < kMinFlows || o.flows > kMaxFlows) {
    *error = "--flows must be between " + std::to_string(kMinFlows) + " and " +
             std::to_string(kMaxFlows);
    return false;
  }
  if (o.new_share < 0 || o.denied_share < 0 || o.new_share + o.denied_share > 1) {
    *error = "--new-share and --denied-share are shares between 0 and 1 with a sum <= 1";
    return false;
  }
  if (o.packet_size < kMinFrameBytes || o.packet_size > kMaxFrameBytes) {
    *error = "--packet-size must be between " + std::to_string(kMinFrameBytes) + " and " +
             std::to_string(kMaxFrameBytes);
    return false;
  }
  if (!(o.seconds > 0) || o.seconds > 3600 || o.warmup_s < 0 || o.warmup_s > 600) {
    *error = "--seconds must be in (0, 3600] and --warmup in [0, 600]";
    return false;
  }
  if (!ProgramExists(o.testpmd)) {
    *error = "cannot find " + o.testpmd + " (Debian: apt-get install dpdk; or --testpmd PATH)";
    return false;
  }
  StatusLine progress(stderr, o.progress);
  r.rules = o.rules;
  r.static_routes = o.routes;
  r.dynamic_routes = o.dynamic_routes;
  r.flows = o.flows;
  r.packet_size = o.packet_size;
  r.workers = o.workers;
  r.load_average_start = LoadAverage();

  // ---- Sizes both sides share --------------------------------------------------------------
  // Data room: headroom plus the frame rounded up to 64 bytes, at least 128 (as svpc-bench).
  const uint32_t data_room =
      RTE_PKTMBUF_HEADROOM + std::max<uint32_t>(128, (o.packet_size + 63) / 64 * 64);
  const uint32_t mbufs = o.flows + kSpareMbufs;
  const uint64_t pool_mib = (uint64_t{mbufs} * (data_room + 192) >> 20) + 1;
  r.conntrack_capacity =
      std::max<uint32_t>(kDefaultConntrackCapacity, static_cast<uint32_t>(o.flows * 1.25));
  // The FIB (64 MiB, twice under RCU), conntrack (~41 bytes an entry, more with fragments), the
  // pool, the rings holding the pcaps' frames, slack.
  const uint64_t engine_mib = 640 + pool_mib + (uint64_t{r.conntrack_capacity} * 64 >> 20) +
                              (uint64_t{o.dynamic_routes} * 64 >> 20);
  const uint64_t testpmd_mib = std::max<uint64_t>(1024, 256 + pool_mib);

  // ---- Where the pcaps go ----------------------------------------------------------------------
  namespace fs = std::filesystem;
  const bool temporary = o.out_dir.empty();
  const fs::path dir = temporary
                           ? fs::temp_directory_path() / ("svpc-bench-" + std::to_string(getpid()))
                           : fs::path(o.out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  struct RemoveDir {
    fs::path dir;
    bool on;
    ~RemoveDir() {
      std::error_code ignored;
      if (on) fs::remove_all(dir, ignored);
    }
  } remove_dir{dir, temporary};

  // ---- EAL: the main lcore waits and samples, worker i runs on lcore i+1 -------------------
  const std::string lcores = LcoreArg(1 + o.workers);
  std::vector<std::string> eal = {"svpc",
                                  lcores,
                                  "--no-huge",
                                  "-m",
                                  std::to_string(engine_mib),
                                  "--no-pci",
                                  "--no-telemetry",
                                  "--log-level=error",
                                  "--file-prefix=svpc-bench-" + std::to_string(getpid())};
  r.eal_args = Join(std::vector<std::string>(eal.begin() + 1, eal.end()));
  {
    std::vector<char*> argv;
    for (std::string& a : eal) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal.size()), argv.data()) < 0) {
      *error = std::string("DPDK EAL initialisation failed (") + rte_strerror(rte_errno) +
               ") with: " + r.eal_args;
      return false;
    }
  }
  r.tsc_hz = static_cast<double>(rte_get_tsc_hz());
  std::vector<std::string> devices;
  {
    // ---- The network ---------------------------------------------------------------------------
    progress.Show("building the configuration");
    WorkloadSpec spec;
    spec.rules = o.rules;
    spec.routes = o.routes;
    spec.seed = o.seed;
    Workload w = MakeWorkload(spec);
    r.ports = static_cast<uint32_t>(w.port_names.size());
    std::vector<std::vector<std::string>> pcaps;
    std::vector<std::string> vdev_names;
    for (size_t p = 0; p < w.port_names.size(); ++p) {
      // One rx_pcap per queue (net_pcap makes a queue of each); no tx_pcap: net_pcap then gives
      // one tx queue per rx queue that frees what is transmitted.
      vdev_names.push_back("net_pcap_svpcb_" + w.port_names[p]);
      std::string device = vdev_names.back();
      pcaps.emplace_back();
      for (uint32_t q = 0; q < o.workers; ++q) {
        const std::string file =
            w.port_names[p] + (o.workers > 1 ? "-q" + std::to_string(q) : "") + ".pcap";
        pcaps.back().push_back((dir / file).string());
        device += ",rx_pcap=" + pcaps.back().back();
      }
      devices.push_back(device + ",infinite_rx=1");
      w.port_devices[p] = devices.back();
      w.config.testbed.ports[p].device = devices.back();
    }
    config::IssueList issues;
    config::ValidateConfig(w.config, {}, issues);
    if (!issues.errors.empty()) {
      *error = "the generated configuration does not validate: " +
               config::FormatIssue(issues.errors.front());
      return false;
    }
    progress.Show("compiling " + std::to_string(o.rules) + " rules, " +
                  std::to_string(o.routes + o.dynamic_routes) + " routes");
    std::unique_ptr<Snapshot> snap = control::CompileSnapshot(w.config, error);
    if (!snap) return false;
    if (!AddDynamicRoutes(*snap, o.dynamic_routes, error)) return false;
    snap->generation = 1;
    dataplane::SnapshotStore store(o.workers);
    store.Publish(std::move(snap));
    const Snapshot& current = *store.Acquire();

    rte_mempool* pool = rte_pktmbuf_pool_create("svpcb_pool", mbufs, kMbufCache, 0,
                                                static_cast<uint16_t>(data_room),
                                                static_cast<int>(rte_socket_id()));
    if (pool == nullptr) {
      *error = std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno);
      return false;
    }
    struct FreePool {
      rte_mempool* pool;
      ~FreePool() { rte_mempool_free(pool); }
    } free_pool{pool};

    // ---- The traffic -------------------------------------------------------------------------
    Mix mix;
    if (!ChooseMix(w, current, pool, o, mix, progress, error)) return false;
    r.flow_candidates = mix.candidates;
    for (const LoopPacket& lp : mix.packets) {
      if (lp.kind == Kind::kEstablished) ++r.established_flows;
      if (lp.kind == Kind::kNew) ++r.new_flows;
      if (lp.kind == Kind::kDenied) ++r.denied_flows;
    }
    progress.Show("writing " + std::to_string(mix.packets.size()) + " frames to " + dir.string());
    if (!WritePcaps(mix, pcaps, static_cast<uint16_t>(o.packet_size), r.packets_per_port, error)) {
      return false;
    }

    // Each worker its own table, the capacity split as svpcd splits it; each flow opened in the
    // table of the worker its queue belongs to.
    firewall::ConnTrack::Config table;
    table.capacity = std::max<uint32_t>(1, r.conntrack_capacity / o.workers);
    std::vector<std::unique_ptr<firewall::ConnTrack>> conntracks;
    std::vector<std::vector<FlowSpec>> to_open(o.workers);
    for (const FlowSpec& f : mix.to_open) {
      to_open[QueueOf(f, static_cast<uint16_t>(o.workers))].push_back(f);
    }
    for (uint32_t i = 0; i < o.workers; ++i) {
      conntracks.push_back(firewall::ConnTrack::Create(table, error));
      if (!conntracks.back()) return false;
      if (!OpenFlows(current, conntracks[i].get(), i, pool, to_open[i], progress, error)) {
        return false;
      }
      r.conntrack_live_start += conntracks[i]->size();
    }
    mix = Mix{};

    // ---- The engine ----------------------------------------------------------------------------
    progress.Show("loading the pcaps into memory (net_pcap infinite_rx)");
    for (size_t p = 0; p < devices.size(); ++p) {
      const std::string args = devices[p].substr(devices[p].find(',') + 1);
      if (rte_vdev_init(vdev_names[p].c_str(), args.c_str()) != 0) {
        *error = "cannot create the DPDK device " + devices[p] + " (is the net_pcap PMD there?)";
        return false;
      }
    }
    struct RemoveVdevs {
      std::vector<std::string> names;
      ~RemoveVdevs() {
        for (const std::string& n : names) rte_vdev_uninit(n.c_str());
      }
    } remove_vdevs{vdev_names};
    dataplane::PortSet ports;
    if (!ports.Open(devices, pool, static_cast<uint16_t>(o.workers), error)) return false;
    // Worker i on the i-th worker lcore, polling queue i of every port.
    std::vector<std::unique_ptr<dataplane::Worker>> workers;
    std::vector<std::unique_ptr<WorkerLaunch>> launches;
    std::vector<unsigned> lcore_ids;
    std::atomic<bool> stop{false};
    struct StopWorkers {
      std::atomic<bool>& stop;
      std::vector<unsigned>& lcores;
      ~StopWorkers() {
        stop.store(true);
        for (unsigned l : lcores) rte_eal_wait_lcore(l);
      }
    } stop_workers{stop, lcore_ids};
    unsigned lcore = rte_get_next_lcore(-1, 1, 0);
    for (uint32_t i = 0; i < o.workers; ++i, lcore = rte_get_next_lcore(lcore, 1, 0)) {
      workers.push_back(std::make_unique<dataplane::Worker>(
          i, store, ports, conntracks[i].get(), dataplane::OnRuleChange::kContinue, nullptr));
      launches.push_back(std::make_unique<WorkerLaunch>(workers.back().get(), &stop));
      if (lcore >= RTE_MAX_LCORE ||
          rte_eal_remote_launch(WorkerMain, launches.back().get(), lcore) != 0) {
        *error = "cannot launch worker " + std::to_string(i);
        return false;
      }
      lcore_ids.push_back(lcore);
    }
    const auto warm_start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - warm_start).count() < o.warmup_s) {
      progress.Show("svpc engine: warming up");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto sum_counters = [&] {
      Counters sum;
      for (const auto& wk : workers) sum.Add(wk->counters());
      return sum;
    };
    auto sum_cpu = [&] {
      double sum = 0;
      for (const auto& l : launches) {
        const double cpu = ThreadCpuSeconds(getpid(), l->tid.load());
        if (cpu < 0) return -1.0;
        sum += cpu;
      }
      return sum;
    };
    const std::vector<PortSample> s0 = SamplePorts(ports);
    const Counters c0 = sum_counters();
    const double cpu0 = sum_cpu();
    const uint64_t tsc0 = rte_get_tsc_cycles();
    const auto t0 = Clock::now();
    for (double done = 0; done < o.seconds;) {
      progress.Show("svpc engine: " + Seconds(done, o.seconds));
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.1, o.seconds - done)));
      done = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    const std::vector<PortSample> s1 = SamplePorts(ports);
    const Counters c1 = sum_counters();
    const double cpu1 = sum_cpu();
    const uint64_t tsc1 = rte_get_tsc_cycles();
    r.seconds = static_cast<double>(tsc1 - tsc0) / r.tsc_hz;
    stop.store(true);
    for (unsigned l : lcore_ids) rte_eal_wait_lcore(l);
    lcore_ids.clear();
    for (const auto& ct : conntracks) r.conntrack_live_end += ct->size();

    for (size_t p = 0; p < s0.size(); ++p) {
      r.packets += s1[p].rx - s0[p].rx;
      r.tx_packets += s1[p].tx - s0[p].tx;
    }
    struct NonZero {
      SideBySideResult& r;
      void Port(const std::string&, uint64_t, uint64_t) {}  // ports are counted above
      void Verdict(const char* name, uint64_t n) {
        if (n > 0) r.verdicts[name] = n;
      }
      void Drop(const char* cause, uint64_t n) {
        if (n > 0) r.drops[cause] = n;
      }
      void Routed(const char*, uint64_t) {}
    };
    dataplane::VisitCounters(dataplane::Difference(c1, c0), {}, NonZero{r});
    if (r.packets == 0) {
      *error = "the engine received no packets";
      return false;
    }
    r.mpps = r.packets / r.seconds / 1e6;
    // Core cycles: every worker's window.
    r.cycles_per_packet = static_cast<double>(tsc1 - tsc0) * o.workers / r.packets;
    if (cpu0 >= 0 && cpu1 >= 0) {
      r.worker_cpu_share = (cpu1 - cpu0) / (r.seconds * o.workers);
      r.cpu_cycles_per_packet = (cpu1 - cpu0) * r.tsc_hz / r.packets;
    }
  }
  // Everything DPDK held is freed (the worker's memory goes back before testpmd needs its own).
  rte_eal_cleanup();

  // ---- dpdk-testpmd on identical devices ---------------------------------------------------
  TestpmdRequest tp;
  tp.program = o.testpmd;
  tp.eal_args = {lcores,
                 "--no-huge",
                 "-m",
                 std::to_string(testpmd_mib),
                 "--no-pci",
                 "--no-telemetry",
                 "--log-level=error",
                 "--file-prefix=svpc-bench-testpmd-" + std::to_string(getpid())};
  for (const std::string& d : devices) tp.eal_args.push_back("--vdev=" + d);
  tp.app_args = {"--forward-mode=io",
                 "--nb-cores=" + std::to_string(o.workers),
                 "--port-topology=chained",
                 "--rxq=" + std::to_string(o.workers),
                 "--txq=" + std::to_string(o.workers),
                 "--burst=" + std::to_string(kBurstSize),
                 "--mbuf-size=" + std::to_string(data_room),
                 "--total-num-mbufs=" + std::to_string(mbufs)};
  tp.warmup_s = o.warmup_s;
  tp.seconds = o.seconds;
  tp.on_tick = [&](double done) { progress.Show("dpdk-testpmd: " + Seconds(done, o.seconds)); };
  progress.Show("dpdk-testpmd: loading the pcaps into memory");
  TestpmdResult t = RunTestpmd(tp);
  r.testpmd_command = t.command;
  progress.Clear();
  if (!t.ok) {
    *error = t.error;
    return false;
  }
  r.testpmd_mpps = t.rx_pps / 1e6;
  r.testpmd_packets = t.rx_packets;
  r.testpmd_seconds = t.window_s;
  if (t.rx_packets > 0 && t.worker_cpu_s > 0) {
    r.testpmd_cpu_cycles_per_packet = t.worker_cpu_s * r.tsc_hz / t.rx_packets;
    r.testpmd_worker_cpu_share = t.worker_cpu_s / (t.window_s * o.workers);
  }
  r.ratio = r.mpps / r.testpmd_mpps;
  if (r.cpu_cycles_per_packet > 0 && r.testpmd_cpu_cycles_per_packet > 0) {
    r.cpu_ratio = r.testpmd_cpu_cycles_per_packet / r.cpu_cycles_per_packet;
  }
  r.load_average_end = LoadAverage();
  return true;
}

}  // namespace svpc::bench
