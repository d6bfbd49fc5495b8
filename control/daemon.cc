#include "control/daemon.h"

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "api/compute_api.h"
#include "api/http_server.h"
#include "control/cloud_router.h"
#include "control/compiler.h"
#include "control/config_loader.h"
#include "control/eal_setup.h"
#include "control/engine_options.h"
#include "dataplane/ports.h"
#include "dataplane/snapshot_store.h"
#include "dataplane/worker.h"
#include "pcap/replay.h"

namespace svpc::control {
namespace {

constexpr uint32_t kMbufsPerPort = 4096;
constexpr uint32_t kFirewallLogRing = 65536;

struct WorkerLaunch {
  dataplane::Worker* worker;
  std::atomic<bool>* stop;
};

int WorkerMain(void* arg) {
  auto* launch = static_cast<WorkerLaunch*>(arg);
  return launch->worker->Run(*launch->stop);
}

bool SamePorts(const Testbed& a, const Testbed& b) {
  if (a.ports.size() != b.ports.size()) return false;
  for (size_t i = 0; i < a.ports.size(); ++i) {
    if (a.ports[i].name != b.ports[i].name || a.ports[i].device != b.ports[i].device) return false;
  }
  return true;
}

void LogIssues(const LoadResult& loaded) {
  for (const ConfigIssue& w : loaded.warnings) spdlog::warn("config: {}", FormatIssue(w));
  for (const ConfigIssue& e : loaded.errors) spdlog::error("config: {}", FormatIssue(e));
}

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& options) : options_(options) {}

  int Run() {
    if (!ParseEngineOptions(options_.conntrack_capacity, options_.idle_timeout_s,
                            options_.on_rule_change, conntrack_config_, on_rule_change_)) {
      return 2;
    }
    LoadResult loaded = LoadConfig(options_.config_dir);
    LogIssues(loaded);
    if (!loaded.errors.empty()) {
      spdlog::error("{} configuration error(s) in {}; not starting", loaded.errors.size(),
                    options_.config_dir);
      return 1;
    }
    if (loaded.config.testbed.ports.empty()) {
      spdlog::error("testbed.json lists no ports; nothing to serve");
      return 1;
    }
    testbed_ = loaded.config.testbed;
    std::vector<std::string> devices;
    for (const TestbedPort& p : testbed_.ports) devices.push_back(p.device);

    EalRequest eal;
    eal.program = "svpcd";
    eal.devices = devices;
    eal.user_args = options_.eal_args;
    eal.networks = static_cast<uint32_t>(loaded.config.networks.size());
    eal.lcores = 2;
    std::string error;
    if (!InitEal(eal, &error)) {
      spdlog::error("{}", error);
      return 2;
    }
    int status = Serve(loaded.config, devices);
    rte_eal_cleanup();
    return status;
  }

 private:
  int Serve(const Config& config, const std::vector<std::string>& devices) {
    std::string error;
    unsigned worker_lcore = rte_get_next_lcore(-1, 1, 0);
    if (worker_lcore >= RTE_MAX_LCORE) {
      spdlog::error("svpcd needs two lcores (main + one worker); EAL gave {}", rte_lcore_count());
      return 2;
    }
    rte_mempool* pool = rte_pktmbuf_pool_create("svpcd_mbufs", kMbufsPerPort * devices.size() - 1,
                                                256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (pool == nullptr) {
      spdlog::error("cannot allocate the mbuf pool");
      return 2;
    }
    store_ = std::make_unique<dataplane::SnapshotStore>(1);
    auto snap = CompileSnapshot(config, &error);
    if (!snap) {
      spdlog::error("compiling the configuration: {}", error);
      return 2;
    }
    snap->generation = ++generation_;
    AttachRcu(*snap);
    store_->Publish(std::move(snap));
    if (!ports_.Open(devices, pool, &error)) {
      spdlog::error("{}", error);
      return 2;
    }
    ConfigureRouterInterfaces(config);
    conntrack_ = firewall::ConnTrack::Create(conntrack_config_, &error);
    if (!conntrack_) {
      spdlog::error("{}", error);
      return 2;
    }
    if (!options_.firewall_log_file.empty()) {
      firewall_log_ = dataplane::FirewallLog::Create(kFirewallLogRing, &error);
      firewall_records_.open(options_.firewall_log_file, std::ios::app);
      if (!firewall_log_ || !firewall_records_) {
        spdlog::error("cannot log firewall records to {}: {}", options_.firewall_log_file,
                      error.empty() ? "cannot open the file" : error);
        return 2;
      }
    }
    worker_ = std::make_unique<dataplane::Worker>(0, *store_, ports_, conntrack_.get(),
                                                  on_rule_change_, firewall_log_.get());
    WorkerLaunch launch{worker_.get(), &stop_};
    rte_eal_remote_launch(WorkerMain, &launch, worker_lcore);
    spdlog::info("svpcd: serving {} port(s) on lcore {}, configuration generation {}",
                 devices.size(), worker_lcore, generation_);

    boost::asio::io_context io;
    routers_ = std::make_unique<CloudRouters>(io, [this] { return store_->MutableCurrent(); });
    routers_->set_on_change([this] { bgp_changed_ = true; });
    if (!routers_->Apply(config, &error)) spdlog::error("Cloud Router: {}", error);
    WriteBgpStatus();
    config_ = config;
    std::unique_ptr<api::ComputeApi> compute_api;
    std::unique_ptr<api::HttpServer> http_server;
    int exit_status = 0;
    if (!StartApi(io, compute_api, http_server)) {
      exit_status = 2;
      io.stop();  // run() returns at once: the normal shutdown below releases everything
    }
    boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
    boost::asio::signal_set reload_signal(io, SIGHUP);
    boost::asio::steady_timer counters_timer(io);
    stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("svpcd: signal {}, stopping", signal);
      io.stop();
    });
    std::function<void()> arm_reload = [&] {
      reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        Reload();
        arm_reload();
      });
    };
    arm_reload();
    std::function<void()> arm_counters = [&] {
      if (options_.counters_file.empty()) return;
      counters_timer.expires_after(std::chrono::seconds(options_.counters_interval_s));
      counters_timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;
        WriteCounters();
        arm_counters();
      });
    };
    arm_counters();
    boost::asio::steady_timer health_timer(io);
    std::function<void()> arm_health = [&] {
      health_timer.expires_after(std::chrono::milliseconds(200));
      health_timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;
        ReportTableFull();
        WriteFirewallRecords();
        if (bgp_changed_ || ++health_ticks_ % 25 == 0) WriteBgpStatus();  // uptimes, each 5 s
        arm_health();
      });
    };
    arm_health();
    io.run();

    if (http_server) http_server->Stop();
    if (!staging_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(staging_dir_, ec);
    }
    routers_->Stop();
    WriteBgpStatus();
    stop_.store(true);
    rte_eal_mp_wait_lcore();
    WriteFirewallRecords();
    if (stale_log_events_ > 0) {
      spdlog::warn(
          "{} firewall log event(s) were produced under a replaced configuration and "
          "not written",
          stale_log_events_);
    }
    if (firewall_log_ && firewall_log_->dropped() > 0) {
      spdlog::warn("{} firewall log event(s) dropped: the log ring was full",
                   firewall_log_->dropped());
    }
    WriteCounters();
    ports_.Close();
    worker_.reset();
    conntrack_.reset();
    firewall_log_.reset();  // DPDK objects go before rte_eal_cleanup
    routers_.reset();
    store_.reset();
    rte_mempool_free(pool);
    spdlog::info("svpcd: stopped cleanly");
    spdlog::default_logger()->flush();
    return exit_status;
  }

  void Reload() {
    spdlog::info("svpcd: SIGHUP, reloading {}", options_.config_dir);
    LoadResult loaded = LoadConfig(options_.config_dir);
    LogIssues(loaded);
    if (!loaded.errors.empty()) {
      spdlog::error("reload rejected: {} error(s); generation {} keeps serving",
                    loaded.errors.size(), generation_);
      return;
    }
    std::string error;
    if (!ApplyConfig(std::move(loaded.config), &error)) {
      spdlog::error("reload rejected: {}; generation {} keeps serving", error, generation_);
    }
  }

  // The one way a new configuration (loaded and validated) goes live, for SIGHUP reloads and the
  // API's mutations alike: compile, add the BGP-learned routes, publish (RCU), reconfigure the
  // Cloud Routers. False with `error` leaves the running configuration serving.
  bool ApplyConfig(Config config, std::string* error) {
    if (!SamePorts(config.testbed, testbed_)) {
      *error = "testbed ports changed (restart svpcd to change ports)";
      return false;
    }
    auto snap = CompileSnapshot(config, error);
    if (!snap) return false;
    // Routes learned by BGP are not in the files: the new tables get them before traffic does.
    if (!routers_->InstallLearned(*snap, error)) {
      *error = "installing learned routes: " + *error;
      return false;
    }
    snap->generation = ++generation_;
    WriteFirewallRecords();
    CarryRuleHits(*store_->Acquire(), *snap);
    AttachRcu(*snap);
    store_->Publish(std::move(snap));
    spdlog::info("svpcd: configuration generation {} published", generation_);
    config_ = std::move(config);
    std::string router_error;
    if (!routers_->Apply(config_, &router_error)) spdlog::error("Cloud Router: {}", router_error);
    return true;
  }

  // The control API on the io_context (api/README.md). False when it cannot listen.
  bool StartApi(boost::asio::io_context& io, std::unique_ptr<api::ComputeApi>& compute_api,
                std::unique_ptr<api::HttpServer>& http_server) {
    if (options_.api_listen.empty()) return true;
    api::HttpServerOptions http;
    const size_t colon = options_.api_listen.rfind(':');
    http.address = options_.api_listen.substr(0, colon);
    http.port = static_cast<uint16_t>(std::atoi(options_.api_listen.c_str() + colon + 1));
    http.error_body = [](int status, const std::string& message) {
      return api::ComputeApi::Error(status, message, status == 400 ? "badRequest" : "backendError");
    };
    api::ApiHooks hooks;
    hooks.config = [this]() -> const Config& { return config_; };
    hooks.apply = [this](Config config, std::string* error) {
      return ApplyConfig(std::move(config), error);
    };
    hooks.bgp_status_json = [this] { return BgpStatusJson(routers_->Report()); };
    api::ApiOptions api_options;
    api_options.config_dir = options_.config_dir;
    api_options.audit_log = options_.audit_log_file;
    char stage[] = "/tmp/svpcd-api.XXXXXX";
    if (mkdtemp(stage) == nullptr) {
      spdlog::error("API: cannot create a staging directory in /tmp");
      return false;
    }
    staging_dir_ = stage;
    api_options.staging_dir = staging_dir_;
    compute_api = std::make_unique<api::ComputeApi>(std::move(hooks), std::move(api_options));
    std::string error;
    api::ComputeApi* handler = compute_api.get();
    http_server = api::HttpServer::Start(
        io, http, [handler](const api::HttpRequest& request) { return handler->Handle(request); },
        &error);
    if (!http_server) {
      if (!options_.api_explicit) {
        spdlog::warn("API: {}; serving without the API (give --api ADDRESS:PORT to require it)",
                     error);
        compute_api.reset();
        return true;
      }
      spdlog::error("API: {}", error);
      return false;
    }
    spdlog::info("svpcd: API on http://{}:{}/compute/v1/", http.address, http_server->port());
    return true;
  }

  // Firewall Rules Logging: drains the worker's events and writes GCP's records. Events whose
  // snapshot generation is no longer current are counted, not written (their rule indices
  // refer to the old rules); Reload drains just before publishing to keep these rare.
  void WriteFirewallRecords() {
    if (!firewall_log_) return;
    const dataplane::Snapshot* snap = store_->Acquire();
    dataplane::LogEvent events[256];
    for (uint32_t n; (n = firewall_log_->Drain(events, 256)) > 0;) {
      for (uint32_t i = 0; i < n; ++i) {
        if (events[i].generation != snap->generation) {
          ++stale_log_events_;
          continue;
        }
        firewall_records_ << pcap::FirewallLogRecordJson(*snap, events[i]) << '\n';
      }
    }
    firewall_records_.flush();
  }

  // Per-rule hit counters survive a reload for rules that keep their network and name, and for
  // policy rules that keep their policy and priority (the few decisions made between this copy
  // and the swap are lost).
  static void CarryRuleHits(const dataplane::Snapshot& old_snap, dataplane::Snapshot& new_snap) {
    std::map<std::pair<std::string, std::string>, uint64_t> hits;
    for (const dataplane::NetworkInfo& net : old_snap.networks) {
      for (uint32_t r = 0; r < net.firewall.size(); ++r) {
        hits[{net.ref, net.firewall.rule(r).name}] = old_snap.rule_hits[net.rule_hit_base + r];
      }
    }
    for (const dataplane::NetworkInfo& net : new_snap.networks) {
      for (uint32_t r = 0; r < net.firewall.size(); ++r) {
        auto it = hits.find({net.ref, net.firewall.rule(r).name});
        if (it != hits.end()) new_snap.rule_hits[net.rule_hit_base + r] = it->second;
      }
    }
    // Firewall policy rules: by policy reference and priority.
    std::map<std::pair<std::string, uint32_t>, uint64_t> policy_hits;
    for (uint32_t p = 0; p < old_snap.policies.size(); ++p) {
      const firewall::Policy& policy = old_snap.policies.policy(p);
      for (uint32_t r = 0; r < policy.rules.size(); ++r) {
        policy_hits[{old_snap.policy_refs[p], policy.rules[r].priority}] =
            old_snap.rule_hits[old_snap.policy_rule_hit_base[p] + r];
      }
    }
    for (uint32_t p = 0; p < new_snap.policies.size(); ++p) {
      const firewall::Policy& policy = new_snap.policies.policy(p);
      for (uint32_t r = 0; r < policy.rules.size(); ++r) {
        auto it = policy_hits.find({new_snap.policy_refs[p], policy.rules[r].priority});
        if (it != policy_hits.end()) {
          new_snap.rule_hits[new_snap.policy_rule_hit_base[p] + r] = it->second;
        }
      }
    }
  }

  // The connection table being full is an operator problem: say so, at most every 10 s.
  void ReportTableFull() {
    uint64_t dropped =
        worker_->counters().drops[static_cast<int>(dataplane::DropCause::kConntrackTableFull)];
    auto now = std::chrono::steady_clock::now();
    if (dropped == table_full_reported_ || now - table_full_logged_at_ < std::chrono::seconds(10)) {
      return;
    }
    spdlog::warn(
        "connection table full ({} entries): {} new connection(s) dropped since the last report "
        "(CONNTRACK_TABLE_FULL); established connections keep working. Raise "
        "--conntrack-capacity or lower --conntrack-idle-timeout",
        conntrack_->capacity(), dropped - table_full_reported_);
    table_full_reported_ = dropped;
    table_full_logged_at_ = now;
  }

  // Cloud Routers whose BGP goes through the data plane: the kernel side of their TAP port
  // gets the router's MAC and interface addresses, so the speaker can bind to them and the
  // kernel's TCP carries the sessions the engine hands over.
  static void ConfigureRouterInterfaces(const Config& config) {
    for (const CloudRouterLink& link : config.testbed.cloud_routers) {
      if (link.port.empty()) continue;
      std::string iface;
      for (const TestbedPort& port : config.testbed.ports) {
        if (port.name != link.port) continue;
        const size_t at = port.device.find("iface=");
        if (at != std::string::npos) {
          iface = port.device.substr(at + 6, port.device.find(',', at) - at - 6);
        }
      }
      const Router* router = nullptr;
      for (const Router& r : config.routers) {
        if (r.self_ref == link.router_ref) router = &r;
      }
      if (iface.empty() || router == nullptr) {
        spdlog::error(
            "Cloud Router {}: port {} is not a net_tap port with iface=NAME; its BGP "
            "cannot go through the data plane",
            link.router_ref, link.port);
        continue;
      }
      const MacAddr mac = CloudRouterMac(*router);
      std::vector<std::string> commands = {"ip link set dev " + iface + " address " +
                                           FormatMac(mac)};
      for (const RouterInterface& itf : router->interfaces) {
        commands.push_back("ip addr replace " + FormatIpv4(itf.ip) + "/" +
                           std::to_string(itf.ip_range.len) + " dev " + iface);
      }
      commands.push_back("ip link set dev " + iface + " up");
      for (const std::string& command : commands) {
        if (std::system((command + " 2>/dev/null").c_str()) != 0) {
          spdlog::error("Cloud Router {}: `{}` failed", router->name, command);
        }
      }
      spdlog::info("Cloud Router {}: BGP through the data plane on {} ({})", router->name,
                   link.port, iface);
    }
  }

  // Route tables change in place (BGP) while the worker reads them: under the store's RCU.
  void AttachRcu(dataplane::Snapshot& snap) {
    for (dataplane::NetworkInfo& net : snap.networks) {
      if (net.routes) net.routes->AttachRcu(store_->qsbr());
    }
  }

  void WriteBgpStatus() {
    bgp_changed_ = false;
    if (options_.bgp_status_file.empty() || !routers_) return;
    std::string tmp = options_.bgp_status_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << BgpStatusJson(routers_->Report()) << '\n';
    }
    std::rename(tmp.c_str(), options_.bgp_status_file.c_str());
  }

  void WriteCounters() {
    if (options_.counters_file.empty() || !worker_) return;
    const dataplane::Snapshot* snap = store_->Acquire();
    std::string tmp = options_.counters_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << pcap::CountersJson(worker_->counters(), *snap) << '\n';
    }
    std::rename(tmp.c_str(), options_.counters_file.c_str());
  }

  const DaemonOptions& options_;
  Testbed testbed_;
  dataplane::PortSet ports_;
  std::unique_ptr<dataplane::SnapshotStore> store_;
  std::unique_ptr<dataplane::Worker> worker_;
  firewall::ConnTrack::Config conntrack_config_;
  dataplane::OnRuleChange on_rule_change_ = dataplane::OnRuleChange::kContinue;
  std::unique_ptr<firewall::ConnTrack> conntrack_;
  std::unique_ptr<dataplane::FirewallLog> firewall_log_;
  std::ofstream firewall_records_;
  uint64_t stale_log_events_ = 0;
  uint64_t table_full_reported_ = 0;
  std::chrono::steady_clock::time_point table_full_logged_at_{};
  std::atomic<bool> stop_{false};
  uint64_t generation_ = 0;
  std::unique_ptr<CloudRouters> routers_;
  bool bgp_changed_ = false;
  uint64_t health_ticks_ = 0;
  Config config_;  // the configuration serving now (the API reads and changes it)
  std::string staging_dir_;
};

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
  if (!options.log_file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.log_file));
  }
  auto logger = std::make_shared<spdlog::logger>("svpcd", sinks.begin(), sinks.end());
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  Daemon daemon(options);
  return daemon.Run();
}

}  // namespace svpc::control
