#pragma once
// The Compute Engine REST v1 subset svpcd serves under /compute/v1/ (api/README.md lists the
// methods): authentication by bearer token (tokens.json), IAM and org policies (iam.h), the
// audit log, and mutations applied through the reload path: the candidate configuration is
// written as a configuration directory, loaded and validated by config::LoadConfig exactly as a
// SIGHUP reload does, then compiled and published by the daemon's apply hook. Any error leaves
// the running configuration untouched.
//
// Threading: Handle() runs on the daemon's io_context thread, like reloads and BGP.

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include <boost/json.hpp>

#include "api/http_server.h"
#include "api/iam.h"
#include "config/model.h"

namespace svpc::api {

struct ApiHooks {
  // The configuration serving now.
  std::function<const config::Config&()> config;
  // Compiles, persists (config/api_changes.h) and publishes `config` (already loaded and
  // validated); false with `error` leaves the running one, `status` 400 (the configuration does not
  // compile), 500 (the change could not be made durable) or 503 (a worker still reads the
  // configurations replaced last). The daemon's ApplyConfig, shared with SIGHUP reloads.
  std::function<bool(config::Config config, std::string* error, int* status)> apply;
  // After a successful apply: a test, cheap and non-blocking, that turns true once the change
  // has reached every worker (the RCU grace period of its publication). The operation's DONE
  // is sent only then; meanwhile the API serves other connections. Unset: at once.
  std::function<std::function<bool()>()> applied;
  // The Cloud Routers' BGP status (control::BgpStatusJson), for routers.getRouterStatus.
  std::function<std::string()> bgp_status_json;
  // The engine's metrics in the Prometheus text format (control/metrics.h), for GET /metrics.
  std::function<std::string()> metrics_text;
  // `svpc capture --drops`: start copying dropped packets; then take what was copied since, as a
  // pcapng file (the capture stops).
  std::function<void()> drop_capture_start;
  std::function<std::string()> drop_capture_take;
  // `svpc trace` against the running engine: the query's parameters (source, destination,
  // protocol, port, sourcePort, roundTrip) -> the report JSON; `status` 200, or 400 with `body`
  // the reason.
  std::function<std::string(const std::map<std::string, std::string>& params, int* status)> trace;
};

struct ApiOptions {
  std::string config_dir;   // tokens.json is read from here (re-read when it changes)
  std::string audit_log;    // JSON lines; empty = no audit log
  std::string staging_dir;  // where candidate configurations are written and loaded
};

// Operations kept for operations.get (oldest dropped first).
inline constexpr size_t kOperationsKept = 1000;

class ComputeApi {
 public:
  ComputeApi(ApiHooks hooks, ApiOptions options);

  HttpResponse Handle(const HttpRequest& request);

  // Google's error JSON: {"error": {"code", "message", "status", "errors": [{"message",
  // "domain": "global", "reason"}]}}.
  static HttpResponse Error(int code, const std::string& message, const std::string& reason);

 private:
  struct Call;
  HttpResponse Dispatch(Call& call, const HttpRequest& request);
  bool Authenticate(Call& call, const std::string& authorization);
  void Require(Call& call, const std::string& permission, const std::string& resource);
  // Loads `candidate` through the reload path and publishes it, or throws the 400 that says why.
  void Commit(const config::Config& candidate);
  boost::json::object Operation(const Call& call, const std::string& type,
                                const std::string& target_ref, const std::string& scope_ref);
  void Audit(const Call& call, int status);
  void LoadTokens();

  ApiHooks hooks_;
  ApiOptions options_;
  std::ofstream audit_;
  std::map<std::string, Principal> tokens_;
  std::filesystem::file_time_type tokens_mtime_{};
  bool tokens_loaded_ = false;
  std::deque<std::pair<std::string, boost::json::object>> operations_;  // by name, in order
  uint64_t operation_counter_ = 0;
  uint64_t commits_ = 0;
  std::function<bool()> applied_;  // the current request's Commit: when its change is live
};

}  // namespace svpc::api
