#include "control/daemon.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "api/compute_api.h"
#include "api/http_server.h"
#include "config/api_changes.h"
#include "config/config_loader.h"
#include "config/resource_writer.h"
#include "control/cloud_router.h"
#include "control/compiler.h"
#include "control/eal_setup.h"
#include "control/engine_options.h"
#include "control/metrics.h"
#include "control/telemetry.h"
#include "control/trace.h"
#include "dataplane/ports.h"
#include "dataplane/records.h"
#include "dataplane/snapshot_store.h"
#include "dataplane/worker.h"
#include "pcap/pcapng.h"

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

constexpr uint32_t kMbufsPerPort = 4096;
constexpr uint32_t kFirewallLogRing = 65536;
// VPC Flow Logs per worker: flows aggregated at once, records in flight between drains (200 ms).
constexpr uint32_t kFlowLogFlows = 262144;
constexpr uint32_t kFlowLogRing = 65536;
// `svpc capture --drops`: dropped packets held per worker between a start and a take.
constexpr uint32_t kDropCaptureRing = 8192;
// API writes refused (503) while this many replaced snapshots wait for a worker to leave them: a
// worker that reports no quiescent state must not make every write keep a whole snapshot.
constexpr size_t kMaxRetiredSnapshots = 4;

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

std::string IssuesText(const std::vector<ConfigIssue>& issues) {
  std::string text;
  for (const ConfigIssue& issue : issues) text += (text.empty() ? "" : "; ") + FormatIssue(issue);
  return text;
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
    if (!OpenState()) return 2;
    MergedConfig merged;
    std::string merge_error;
    if (!MergeApiChanges(loaded.config, &merged, &merge_error)) {
      spdlog::error("{}; not starting (the API's changes are the entries of {})", merge_error,
                    state_->file().string());
      return 2;
    }
    FinishMerge(merged);
    loaded.config = std::move(merged.config);
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
    eal.lcores = options_.workers + 1;
    eal.telemetry = true;
    std::string error;
    if (!InitEal(eal, &error)) {
      spdlog::error("{}", error);
      return 2;
    }
    int status = Serve(loaded.config, devices);
    // Serve's error paths return with DPDK objects still held (the snapshot's FIBs, connection
    // tables, open ports): freeing them after rte_eal_cleanup crashed svpcd on a failed start.
    ports_.Close();
    workers_.clear();
    conntracks_.clear();
    firewall_logs_.clear();
    routers_.reset();
    store_.reset();
    rte_eal_cleanup();
    return status;
  }

 private:
  int Serve(const Config& config, const std::vector<std::string>& devices) {
    std::string error;
    const uint32_t workers = options_.workers == 0 ? 1 : options_.workers;
    std::vector<unsigned> worker_lcores;
    for (unsigned lcore = rte_get_next_lcore(-1, 1, 0);
         lcore < RTE_MAX_LCORE && worker_lcores.size() < workers;
         lcore = rte_get_next_lcore(lcore, 1, 0)) {
      worker_lcores.push_back(lcore);
    }
    if (worker_lcores.size() < workers) {
      spdlog::error("svpcd needs {} lcores (main + {} worker(s)); EAL gave {}", workers + 1,
                    workers, rte_lcore_count());
      return 2;
    }
    rte_mempool* pool =
        rte_pktmbuf_pool_create("svpcd_mbufs", kMbufsPerPort * devices.size() * workers - 1, 256, 0,
                                RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (pool == nullptr) {
      spdlog::error("cannot allocate the mbuf pool");
      return 2;
    }
    store_ = std::make_unique<dataplane::SnapshotStore>(workers);
    auto snap = CompileSnapshot(config, &error);
    if (!snap) {
      spdlog::error("compiling the configuration: {}", error);
      return 2;
    }
    snap->AllocateWorkerCounters(workers);
    snap->generation = ++generation_;
    AttachRcu(*snap);
    store_->Publish(std::move(snap));
    if (!ports_.Open(devices, pool, static_cast<uint16_t>(workers), &error)) {
      spdlog::error("{}", error);
      return 2;
    }
    if (workers > 1) {
      for (uint16_t p = 0; p < ports_.size(); ++p) {
        if (ports_.hashes(p)) continue;
        spdlog::warn(
            "port {} ({}): the device does not hash packets over its queues (no RSS); each "
            "queue delivers what fills it, so both directions of a flow must arrive on the same "
            "queue index for the connection tracking of one worker to see them",
            testbed_.ports[p].name, devices[p]);
      }
    }
    ConfigureRouterInterfaces(config);
    // Live capture: dpdk-dumpcap (a secondary process, --file-prefix of this one) asks the
    // packet capture framework to copy any port's traffic; it needs shared (huge)pages.
    if (rte_pdump_init() != 0) {
      spdlog::warn("packet capture (dpdk-dumpcap) unavailable: rte_pdump_init failed");
    } else if (rte_eal_has_hugepages() == 0) {
      spdlog::info(
          "no hugepages: dpdk-dumpcap and dpdk-telemetry.py cannot attach (reserve hugepages, "
          "scripts/nic-setup.sh hugepages N, for live capture)");
    }
    if (!RegisterTelemetry()) spdlog::warn("DPDK telemetry: cannot register /svpc commands");
    // The configured capacity is the whole engine's: each worker tracks its share.
    firewall::ConnTrack::Config per_worker = conntrack_config_;
    per_worker.capacity = std::max<uint32_t>(1, conntrack_config_.capacity / workers);
    for (uint32_t w = 0; w < workers; ++w) {
      conntracks_.push_back(firewall::ConnTrack::Create(per_worker, &error));
      if (!conntracks_.back()) {
        spdlog::error("{}", error);
        return 2;
      }
    }
    if (!options_.firewall_log_file.empty()) {
      firewall_records_.open(options_.firewall_log_file, std::ios::app);
      for (uint32_t w = 0; w < workers; ++w) {
        firewall_logs_.push_back(dataplane::FirewallLog::Create(kFirewallLogRing, &error));
        if (!firewall_logs_.back() || !firewall_records_) {
          spdlog::error("cannot log firewall records to {}: {}", options_.firewall_log_file,
                        error.empty() ? "cannot open the file" : error);
          return 2;
        }
      }
    }
    if (!options_.flow_log_file.empty()) {
      flow_records_.open(options_.flow_log_file, std::ios::app);
      for (uint32_t w = 0; w < workers; ++w) {
        flow_logs_.push_back(dataplane::FlowLog::Create(kFlowLogFlows, kFlowLogRing, &error));
        if (!flow_logs_.back() || !flow_records_) {
          spdlog::error("cannot write flow logs to {}: {}", options_.flow_log_file,
                        error.empty() ? "cannot open the file" : error);
          return 2;
        }
      }
    }
    for (uint32_t w = 0; w < workers; ++w) {
      drop_captures_.push_back(dataplane::DropCapture::Create(kDropCaptureRing, &error));
      if (!drop_captures_.back()) {
        spdlog::error("{}", error);
        return 2;
      }
    }
    std::vector<WorkerLaunch> launches(workers);
    for (uint32_t w = 0; w < workers; ++w) {
      workers_.push_back(std::make_unique<dataplane::Worker>(
          w, *store_, ports_, conntracks_[w].get(), on_rule_change_,
          firewall_logs_.empty() ? nullptr : firewall_logs_[w].get()));
      if (!flow_logs_.empty()) workers_[w]->set_flow_log(flow_logs_[w].get());
      workers_[w]->set_drop_capture(drop_captures_[w].get());
      launches[w] = WorkerLaunch{workers_[w].get(), &stop_};
      rte_eal_remote_launch(WorkerMain, &launches[w], worker_lcores[w]);
    }
    std::string lcores;
    for (unsigned lcore : worker_lcores)
      lcores += (lcores.empty() ? "" : ",") + std::to_string(lcore);
    spdlog::info(
        "svpcd: serving {} port(s) with {} worker(s) on lcore(s) {}, configuration "
        "generation {}",
        devices.size(), workers, lcores, generation_);

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
        store_->Reclaim();                         // snapshots replaced by ApplyConfig
        if (health_ticks_ % 5 == 0) CheckPorts();  // each second
        WriteFirewallRecords();
        PublishTelemetry();
        WriteFlowRecords();
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
    // The workers have stopped: the intervals still open are written now.
    for (const auto& log : flow_logs_) log->FlushAll();
    WriteFlowRecords();
    uint64_t log_dropped = 0;
    for (const auto& log : firewall_logs_) log_dropped += log->dropped();
    if (log_dropped > 0) {
      spdlog::warn("{} firewall log event(s) dropped: the log ring was full", log_dropped);
    }
    WriteCounters();
    rte_pdump_uninit();
    ports_.Close();
    workers_.clear();
    conntracks_.clear();
    firewall_logs_.clear();  // DPDK objects go before rte_eal_cleanup
    flow_logs_.clear();
    drop_captures_.clear();
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
    MergedConfig merged;
    if (!MergeApiChanges(loaded.config, &merged, &error)) {
      spdlog::error("reload rejected: {}; generation {} keeps serving", error, generation_);
      return;
    }
    if (!ApplyConfig(std::move(merged.config), &error)) {
      spdlog::error("reload rejected: {}; generation {} keeps serving", error, generation_);
      return;
    }
    FinishMerge(merged);
  }

  // The API's state (api/api_state.h). False only when api-changes.json is unreadable: svpcd
  // does not start on a configuration missing changes it acknowledged. A directory that cannot
  // be written leaves the API read-only (mutations answer 500).
  bool OpenState() {
    const std::string dir =
        options_.state_dir.empty()
            ? (std::filesystem::path(options_.config_dir) / ".svpcd-state").string()
            : options_.state_dir;
    state_ = std::make_unique<config::ApiState>(dir);
    std::string error;
    switch (state_->Open(&error)) {
      case config::ApiState::OpenStatus::kOk:
        state_usable_ = true;
        return true;
      case config::ApiState::OpenStatus::kUnusable:
        state_error_ = error;
        spdlog::error(
            "API state: {}; API changes could not survive a reload or restart, so the API "
            "refuses them (500) and serves reads only (give --state-dir DIR)",
            error);
        return true;
      case config::ApiState::OpenStatus::kCorrupt:
        spdlog::error("API state: {}; not starting (its entries are API changes not in {})", error,
                      options_.config_dir);
        return false;
    }
    return false;
  }

  struct MergedConfig {
    Config config;
    config::MergeResult merge;
    bool state_changed = false;
  };

  // The configuration to serve: CONFIG_DIR's (`dir_config`, loaded and valid) with the API's
  // changes merged over it (config::Merge) and loaded again. False with `error` when that does not
  // validate (the errors are logged).
  bool MergeApiChanges(const Config& dir_config, MergedConfig* out, std::string* error) {
    out->config = dir_config;
    if (!state_ || state_->changes().empty()) return true;
    out->merge = config::Merge(state_->changes(), config::ConfigFiles(dir_config));
    out->state_changed = out->merge.changes != state_->changes();
    if (out->merge.reapplied == 0) return true;  // nothing differs from the directory's files
    // Under the state directory (not /tmp): a kill -9 mid-merge leaves nothing behind for good.
    const std::string stage = (state_->dir() / "merge").string();
    std::error_code ec;
    std::filesystem::remove_all(stage, ec);
    if (!std::filesystem::create_directories(stage, ec)) {
      *error = "cannot create " + stage + " to merge the API's changes: " + ec.message();
      return false;
    }
    for (const auto& [rel, text] : out->merge.files) {
      const std::filesystem::path path = std::filesystem::path(stage) / rel;
      std::filesystem::create_directories(path.parent_path(), ec);
      std::ofstream file(path, std::ios::binary | std::ios::trunc);
      file << text;
      if (!file.flush()) {
        *error = "cannot write " + path.string();
        std::filesystem::remove_all(stage, ec);
        return false;
      }
    }
    LoadResult loaded = LoadConfig(stage);
    std::filesystem::remove_all(stage, ec);
    if (!loaded.errors.empty()) {
      for (const ConfigIssue& e : loaded.errors) spdlog::error("config: {}", FormatIssue(e));
      *error = fmt::format("{} error(s) in {} with the API changes of {} re-applied: {}",
                           loaded.errors.size(), options_.config_dir, state_->file().string(),
                           IssuesText(loaded.errors));
      return false;
    }
    out->config = std::move(loaded.config);
    return true;
  }

  // After the merged configuration serves: conflicts saved and logged, the overlay persisted.
  void FinishMerge(const MergedConfig& merged) {
    if (!state_) return;
    const config::MergeResult& m = merged.merge;
    std::vector<std::string> written;
    std::string error;
    if (!state_->SaveConflicts(m.conflicts, &written, &error)) {
      spdlog::error("API state: saving conflicting API changes: {}", error);
    }
    for (size_t i = 0; i < m.conflicts.size(); ++i) {
      spdlog::error(
          "API change conflict: {} was changed by the API and edited in {} since; the "
          "directory's version serves, the API's version is in {}",
          m.conflicts[i].path, options_.config_dir,
          i < written.size() ? written[i] : "(nowhere: it could not be written)");
    }
    if (merged.state_changed && !state_->Save(m.changes, &error)) {
      spdlog::error("API state: cannot update {}: {}", state_->file().string(), error);
    }
    spdlog::info("svpcd: {} API change(s) re-applied from {} ({} already in {}, {} conflict(s))",
                 m.reapplied, state_->file().string(), m.already, options_.config_dir,
                 m.conflicts.size());
  }

  // The one way a new configuration (loaded and validated) goes live, for SIGHUP reloads and the
  // API's mutations alike: compile, add the BGP-learned routes, publish (RCU, without waiting for
  // the grace period: store_->Settled(publish_token_) says when it is over), reconfigure the
  // Cloud Routers. False with `error` leaves the running configuration serving.
  // `before_publish` (the API's persistence) runs after the compile, before anything is published;
  // its false cancels the change.
  bool ApplyConfig(Config config, std::string* error,
                   const std::function<bool(const Config&, std::string*)>& before_publish = {}) {
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
    if (before_publish && !before_publish(config, error)) return false;
    snap->AllocateWorkerCounters(static_cast<uint32_t>(workers_.size()));
    snap->generation = ++generation_;
    WriteFirewallRecords();
    CarryRuleHits(*store_->Acquire(), *snap);
    AttachRcu(*snap);
    // Not waiting here for the workers to leave the old snapshot: a worker descheduled (or
    // stopped) would stall the io_context and with it every API connection. The API's answer
    // waits for publish_token_ (hooks.applied); the old snapshot is freed once no worker reads
    // it (Reclaim).
    publish_token_ = store_->Install(std::move(snap));
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
    // An API change is persisted (api-changes.json) between its compile and its publication:
    // DONE means it survives a reload, a restart and a crash.
    hooks.apply = [this](Config config, std::string* error, int* status) {
      if (!state_usable_) {
        *status = 500;
        *error = "the state directory is unusable: " + state_error_;
        return false;
      }
      store_->Reclaim();
      if (store_->retired() >= kMaxRetiredSnapshots) {
        *status = 503;
        *error = fmt::format(
            "a worker has not yet left the {} configurations replaced last (no quiescent state "
            "reported); try again later",
            store_->retired());
        return false;
      }
      bool persist_failed = false;
      const bool ok =
          ApplyConfig(std::move(config), error, [&](const Config& next, std::string* e) {
            config::ApiChanges changes = config::WithWrite(
                state_->changes(), config::ConfigFiles(config_), config::ConfigFiles(next));
            if (state_->Save(changes, e)) return true;
            persist_failed = true;
            return false;
          });
      if (!ok && persist_failed) {
        *status = 500;
        spdlog::error("API: change refused: it could not be made durable: {}", *error);
      }
      return ok;
    };
    hooks.applied = [this] {
      return std::function<bool()>(
          [this, token = publish_token_] { return store_->Settled(token); });
    };
    hooks.bgp_status_json = [this] { return BgpStatusJson(routers_->Report()); };
    hooks.drop_capture_start = [this] {
      for (const auto& c : drop_captures_) {
        dataplane::DropRecord stale[64];
        while (c->Drain(stale, 64) > 0) {
        }
        c->Start();
      }
      // Workers stamp packets with TSC time; pcapng wants the wall clock.
      const uint64_t tsc_ns =
          static_cast<uint64_t>(rte_get_tsc_cycles() * (1e9 / rte_get_tsc_hz()));
      const uint64_t wall_ns =
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
      drop_clock_offset_ns_ = wall_ns - tsc_ns;
    };
    hooks.drop_capture_take = [this] {
      std::vector<pcap::PcapngPacket> packets;
      std::vector<dataplane::DropRecord> batch(64);
      for (const auto& c : drop_captures_) {
        c->Stop();
        for (uint32_t n; (n = c->Drain(batch.data(), 64)) > 0;) {
          for (uint32_t i = 0; i < n; ++i) {
            const dataplane::DropRecord& r = batch[i];
            packets.push_back(
                pcap::PcapngPacket{r.port, r.time_ns + drop_clock_offset_ns_, r.length,
                                   std::string(reinterpret_cast<const char*>(r.bytes), r.captured),
                                   std::string("DROP ") + dataplane::DropCauseName(r.cause)});
          }
        }
      }
      std::stable_sort(packets.begin(), packets.end(),
                       [](const auto& a, const auto& b) { return a.time_ns < b.time_ns; });
      return pcap::PcapngFile(store_->Acquire()->port_names, dataplane::DropRecord::kSnapLength,
                              packets);
    };
    hooks.trace = [this](const std::map<std::string, std::string>& params, int* status) {
      TraceCommand command;
      auto get = [&](const char* key) {
        auto it = params.find(key);
        return it == params.end() ? std::string() : it->second;
      };
      command.source = get("source");
      command.destination = get("destination");
      if (!get("protocol").empty()) command.protocol = get("protocol");
      const std::string port = get("port"), source_port = get("sourcePort");
      if ((!port.empty() && port.find_first_not_of("0123456789") != std::string::npos) ||
          (!source_port.empty() &&
           source_port.find_first_not_of("0123456789") != std::string::npos) ||
          port.size() > 5 || source_port.size() > 5 || command.source.empty() ||
          command.destination.empty()) {
        *status = 400;
        return std::string(
            "trace: source and destination are required; port and sourcePort "
            "are numbers");
      }
      if (!port.empty()) command.port = static_cast<uint16_t>(std::stoul(port));
      if (!source_port.empty())
        command.source_port = static_cast<uint16_t>(std::stoul(source_port));
      command.round_trip = get("roundTrip") == "true";
      const uint64_t now_ns =
          static_cast<uint64_t>(rte_get_tsc_cycles() * (1e9 / rte_get_tsc_hz()));
      // A diagnostic read of the workers' tables while they run: the entry may change as it is
      // read (a word-sized race the report tolerates), never a stale pointer.
      LiveStateFn live = [this, now_ns](const firewall::FlowTuple& flow) -> boost::json::value {
        for (uint32_t w = 0; w < conntracks_.size(); ++w) {
          const int32_t handle = conntracks_[w]->Peek(flow, now_ns);
          if (handle < 0) continue;
          const firewall::ConnEntry& e = conntracks_[w]->entry(handle);
          static constexpr const char* kStates[] = {"TRACKED", "OPENING", "ESTABLISHED", "CLOSING",
                                                    "CLOSED"};
          const auto state = static_cast<size_t>(e.tcp);
          return boost::json::object{
              {"worker", w},
              {"state", state < std::size(kStates) ? kStates[state] : "TRACKED"},
              {"initiator", FormatIpv4(e.src) + ":" + std::to_string(e.src_port)},
              {"idleSeconds", e.last_seen_ns < now_ns ? (now_ns - e.last_seen_ns) / 1e9 : 0.0}};
        }
        return nullptr;
      };
      std::ostringstream err;
      int trace_status = 0;
      boost::json::object report =
          TraceReport(*store_->Acquire(), command, dataplane::Snapshot::kScratchWorker, live, err,
                      &trace_status);
      if (trace_status == 2) {
        *status = 400;
        std::string message = err.str();
        if (message.starts_with("error: ")) message = message.substr(7);
        while (!message.empty() && message.back() == '\n') message.pop_back();
        return message;
      }
      *status = 200;
      return boost::json::serialize(report);
    };
    hooks.metrics_text = [this] {
      const dataplane::Counters sum = SumCounters();
      MetricsInput in;
      in.counters = &sum;
      in.snap = store_->Acquire();
      for (const auto& w : workers_) in.conntrack_entries += w->live_connections();
      in.conntrack_capacity = conntrack_config_.capacity;
      in.workers = static_cast<uint32_t>(workers_.size());
      in.bgp = routers_->Report();
      return PrometheusText(in);
    };
    api::ApiOptions api_options;
    api_options.config_dir = options_.config_dir;
    api_options.audit_log = options_.audit_log_file;
    // Candidates are staged under the state directory, so what a kill -9 leaves behind is
    // cleared at the next start instead of piling up in /tmp; /tmp when the state is unusable.
    std::error_code stage_ec;
    if (state_usable_) {
      staging_dir_ = (state_->dir() / "staging").string();
      std::filesystem::remove_all(staging_dir_, stage_ec);
      std::filesystem::create_directories(staging_dir_, stage_ec);
    }
    if (!state_usable_ || stage_ec) {
      char stage[] = "/tmp/svpcd-api.XXXXXX";
      if (mkdtemp(stage) == nullptr) {
        spdlog::error("API: cannot create a staging directory in /tmp");
        return false;
      }
      staging_dir_ = stage;
    }
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
    if (firewall_logs_.empty()) return;
    const dataplane::Snapshot* snap = store_->Acquire();
    dataplane::LogEvent events[256];
    for (const auto& log : firewall_logs_) {
      for (uint32_t n; (n = log->Drain(events, 256)) > 0;) {
        for (uint32_t i = 0; i < n; ++i) {
          if (events[i].generation != snap->generation) {
            ++stale_log_events_;
            continue;
          }
          firewall_records_ << dataplane::FirewallLogRecordJson(*snap, events[i]) << '\n';
        }
      }
    }
    firewall_records_.flush();
  }

  // Per-rule hit counters survive a reload for rules that keep their network and name, and for
  // policy rules that keep their policy and priority; billing for projects that remain (the few
  // packets counted between this copy and the swap are lost).
  static void CarryRuleHits(const dataplane::Snapshot& old_snap, dataplane::Snapshot& new_snap) {
    std::map<std::pair<std::string, std::string>, uint64_t> hits;
    for (const dataplane::NetworkInfo& net : old_snap.networks) {
      for (uint32_t r = 0; r < net.firewall.size(); ++r) {
        hits[{net.ref, net.firewall.rule(r).name}] = old_snap.RuleHits(net.rule_hit_base + r);
      }
    }
    for (const dataplane::NetworkInfo& net : new_snap.networks) {
      for (uint32_t r = 0; r < net.firewall.size(); ++r) {
        auto it = hits.find({net.ref, net.firewall.rule(r).name});
        if (it != hits.end()) new_snap.rule_hits[net.rule_hit_base + r] = it->second;
      }
    }
    // Billing: by project and egress kind.
    for (uint32_t p = 0; p < old_snap.billing_projects.size(); ++p) {
      for (uint32_t q = 0; q < new_snap.billing_projects.size(); ++q) {
        if (new_snap.billing_projects[q] != old_snap.billing_projects[p]) continue;
        for (uint32_t k = 0; k < dataplane::kEgressKindCount; ++k) {
          new_snap.billing[q * dataplane::kEgressKindCount + k] =
              old_snap.BillingTotal(p, static_cast<dataplane::EgressKind>(k));
        }
      }
    }
    // Firewall policy rules: by policy reference and priority.
    std::map<std::pair<std::string, uint32_t>, uint64_t> policy_hits;
    for (uint32_t p = 0; p < old_snap.policies.size(); ++p) {
      const firewall::Policy& policy = old_snap.policies.policy(p);
      for (uint32_t r = 0; r < policy.rules.size(); ++r) {
        policy_hits[{old_snap.policy_refs[p], policy.rules[r].priority}] =
            old_snap.RuleHits(old_snap.policy_rule_hit_base[p] + r);
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
        SumCounters().drops[static_cast<int>(dataplane::DropCause::kConntrackTableFull)];
    auto now = std::chrono::steady_clock::now();
    if (dropped == table_full_reported_ || now - table_full_logged_at_ < std::chrono::seconds(10)) {
      return;
    }
    spdlog::warn(
        "connection table full ({} entries{}): {} new connection(s) dropped since the last "
        "report (CONNTRACK_TABLE_FULL); established connections keep working. Raise "
        "--conntrack-capacity or lower --conntrack-idle-timeout",
        conntrack_config_.capacity,
        workers_.size() > 1 ? fmt::format(", {} per worker", conntracks_[0]->capacity()) : "",
        dropped - table_full_reported_);
    table_full_reported_ = dropped;
    table_full_logged_at_ = now;
  }

  // A port whose device refuses frames (a net_tap whose interface was deleted, a NIC that lost
  // its link) is reported when it starts failing and when it recovers, not per frame: the
  // worker counts those frames as TX_FAILED and moves on. Ports are opened once; a deleted TAP
  // comes back only with a restart (control/README.md, "Daemon").
  void CheckPorts() {
    port_health_.resize(ports_.size());
    for (uint16_t i = 0; i < ports_.size(); ++i) {
      rte_eth_stats stats{};
      if (rte_eth_stats_get(ports_.dpdk_port(i), &stats) != 0) continue;
      PortHealth& port = port_health_[i];
      const uint64_t refused = stats.oerrors - port.tx_errors;
      const uint64_t sent = stats.opackets - port.tx_packets;
      port.tx_errors = stats.oerrors;
      port.tx_packets = stats.opackets;
      const std::string& name = testbed_.ports[i].name;
      if (refused > 0 && !port.failing) {
        port.failing = true;
        port.errors_when_failed = stats.oerrors - refused;
        spdlog::error(
            "port {}: transmit failing: the device refused {} frame(s) in the last second "
            "(a net_tap port whose interface was deleted, or a link down); frames to it are "
            "dropped as TX_FAILED; the other ports keep forwarding. A deleted TAP comes back "
            "only when svpcd restarts",
            name, refused);
      } else if (port.failing && refused == 0 && sent > 0) {
        port.failing = false;
        spdlog::info("port {}: transmitting again ({} frame(s) refused while it failed)", name,
                     stats.oerrors - port.errors_when_failed);
      }
    }
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
    if (options_.counters_file.empty() || workers_.empty()) return;
    const dataplane::Snapshot* snap = store_->Acquire();
    std::string tmp = options_.counters_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << dataplane::CountersJson(SumCounters(), *snap) << '\n';
    }
    std::rename(tmp.c_str(), options_.counters_file.c_str());
  }

  // VPC Flow Logs: drains the workers' records. Records of a replaced snapshot generation are
  // counted, not written (their NIC indices refer to the old configuration).
  void WriteFlowRecords() {
    if (flow_logs_.empty()) return;
    const dataplane::Snapshot* snap = store_->Acquire();
    dataplane::FlowRecord records[256];
    for (const auto& log : flow_logs_) {
      for (uint32_t n; (n = log->Drain(records, 256)) > 0;) {
        for (uint32_t i = 0; i < n; ++i) {
          if (records[i].generation != snap->generation) {
            ++stale_flow_records_;
            continue;
          }
          flow_records_ << dataplane::FlowLogRecordJson(*snap, records[i]) << '\n';
        }
      }
    }
    flow_records_.flush();
  }

  // What DPDK telemetry answers (control/telemetry.h): a copy, made here where snapshots may be
  // read.
  void PublishTelemetry() {
    const dataplane::Snapshot* snap = store_->Acquire();
    const dataplane::Counters sum = SumCounters();
    TelemetryTables t;
    struct TelemetryCounters {
      TelemetryTables& t;
      void Port(const std::string& name, uint64_t rx, uint64_t tx) {
        t.ports.emplace_back(name + ".rx", rx);
        t.ports.emplace_back(name + ".tx", tx);
      }
      void Verdict(const char* name, uint64_t n) { t.verdicts.emplace_back(name, n); }
      void Drop(const char* cause, uint64_t n) { t.drops.emplace_back(cause, n); }
      void Routed(const char*, uint64_t) {}  // not in the telemetry tables
    };
    dataplane::VisitCounters(sum, snap->port_names, TelemetryCounters{t});
    uint64_t live = 0;
    for (const auto& w : workers_) live += w->live_connections();
    t.conntrack = {
        {"live", live}, {"capacity", conntrack_config_.capacity}, {"workers", workers_.size()}};
    for (const dataplane::NetworkInfo& net : snap->networks) {
      for (uint32_t r = 0; r < net.firewall.size(); ++r) {
        t.rules.emplace_back("network:" + net.name + "/firewall:" + net.firewall.rule(r).name,
                             snap->RuleHits(net.rule_hit_base + r));
      }
    }
    for (uint32_t p = 0; p < snap->billing_projects.size(); ++p) {
      uint64_t bytes = 0;
      for (uint32_t k = 0; k < dataplane::kEgressKindCount; ++k) {
        bytes += snap->BillingTotal(p, static_cast<dataplane::EgressKind>(k)).bytes;
      }
      t.billing.emplace_back(snap->billing_projects[p], bytes);
    }
    UpdateTelemetry(std::move(t));
  }

  // Every worker's counters added up (each worker writes only its own).
  dataplane::Counters SumCounters() const {
    dataplane::Counters sum;
    for (const auto& worker : workers_) sum.Add(worker->counters());
    return sum;
  }

  const DaemonOptions& options_;
  Testbed testbed_;
  dataplane::PortSet ports_;
  std::unique_ptr<dataplane::SnapshotStore> store_;
  std::vector<std::unique_ptr<dataplane::Worker>> workers_;
  firewall::ConnTrack::Config conntrack_config_;
  dataplane::OnRuleChange on_rule_change_ = dataplane::OnRuleChange::kContinue;
  std::vector<std::unique_ptr<firewall::ConnTrack>> conntracks_;        // one per worker
  std::vector<std::unique_ptr<dataplane::FirewallLog>> firewall_logs_;  // one per worker
  std::vector<std::unique_ptr<dataplane::FlowLog>> flow_logs_;          // one per worker
  std::vector<std::unique_ptr<dataplane::DropCapture>> drop_captures_;  // one per worker
  uint64_t drop_clock_offset_ns_ = 0;  // wall clock minus the workers' TSC clock
  std::ofstream flow_records_;
  uint64_t stale_flow_records_ = 0;
  std::ofstream firewall_records_;
  uint64_t stale_log_events_ = 0;
  uint64_t table_full_reported_ = 0;
  std::chrono::steady_clock::time_point table_full_logged_at_{};
  std::atomic<bool> stop_{false};
  uint64_t generation_ = 0;
  uint64_t publish_token_ = 0;  // store_->Install's token for the last ApplyConfig
  std::unique_ptr<CloudRouters> routers_;
  bool bgp_changed_ = false;
  uint64_t health_ticks_ = 0;
  struct PortHealth {
    uint64_t tx_errors = 0;
    uint64_t tx_packets = 0;
    uint64_t errors_when_failed = 0;
    bool failing = false;
  };
  std::vector<PortHealth> port_health_;  // per port, as ports_
  Config config_;  // the configuration serving now (the API reads and changes it)
  std::string staging_dir_;
  std::unique_ptr<config::ApiState> state_;  // the API's changes (STATE_DIR/api-changes.json)
  bool state_usable_ = false;                // false: the API refuses mutations (500)
  std::string state_error_;
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
