#pragma once
// Cloud Router: one BGP speaker (bgp::Speaker) per compute#router that testbed.json's
// `cloudRouters` runs, on the daemon's io_context. It advertises the network's subnet ranges as
// GCP does (advertise modes, MED = the peer's advertisedRoutePriority, plus the inter-region cost
// in GLOBAL routing mode) and installs what the peers announce as dynamic routes in the running
// data plane's route table, incrementally (routing::RouteTable changes, RCU): priority = MED,
// scoped to the router's region in REGIONAL routing mode. A session going down removes every
// route learned on it. Learned routes are kept here (the Adj-RIB-In) so a reload's new snapshot
// gets them before it is published.
//
// Threading: everything runs on the io_context's thread (the daemon's control thread), the only
// thread that changes route tables.

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bgp/speaker.h"
#include "config/model.h"
#include "dataplane/snapshot.h"

namespace svpc::control {

// What `router` advertises to `peer` under `config`: subnet primary and secondary ranges per
// the advertise mode (peer-level settings replace the router's), custom ranges, each with the
// MED GCP sends. Sorted by prefix.
std::vector<bgp::AdvertisedRoute> AdvertisedRoutes(const config::Config& config,
                                                   const config::Router& router,
                                                   const config::BgpPeer& peer);

// The speaker configuration of a router as the testbed runs it.
bgp::SpeakerConfig SpeakerConfigFor(const config::Router& router,
                                    const config::CloudRouterLink& link);

struct PeerReport {
  std::string router;  // canonical reference
  std::string region;
  bgp::PeerStatus status;
  uint32_t peer_asn = 0;
  uint32_t local_asn = 0;
  std::vector<bgp::LearnedRoute> learned;        // by prefix
  std::vector<bgp::AdvertisedRoute> advertised;  // by prefix
};

// The daemon's BGP status file: {"peers": [{router, region, peer, peerIpAddress, peerAsn, localAsn,
// state, uptimeSeconds, prefixesReceived, prefixesAdvertised, holdTimeSeconds, lastError,
// learnedRoutes: [{destRange, nextHopIp, med, asPath}], advertisedRoutes: [{destRange, med}]}]}.
// Read by `svpc bgp`.
std::string BgpStatusJson(const std::vector<PeerReport>& reports);

class CloudRouters {
 public:
  // `current` gives the published snapshot whose route tables learned routes go into; the
  // daemon's control thread is the only one changing them.
  CloudRouters(boost::asio::io_context& io, std::function<dataplane::Snapshot*()> current);
  ~CloudRouters();
  CloudRouters(const CloudRouters&) = delete;
  CloudRouters& operator=(const CloudRouters&) = delete;

  // Starts, reconfigures or stops speakers so that exactly the routers of config.testbed's
  // cloudRouters run, and sets what each peer is sent. False with `error` when a speaker cannot
  // start (e.g. its address cannot be bound); the others keep running.
  bool Apply(const config::Config& config, std::string* error);
  // Adds every route learned so far to `snap`'s route tables (a new snapshot, before Publish).
  bool InstallLearned(dataplane::Snapshot& snap, std::string* error);
  void Stop();

  std::vector<PeerReport> Report() const;
  // Called after every change of sessions or learned routes (the daemon writes its BGP status).
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

 private:
  struct RouterState;

  void OnUpdate(RouterState& state, const std::string& peer,
                std::vector<bgp::LearnedRoute> announced, std::vector<Prefix> withdrawn);
  void OnSessionDown(RouterState& state, const std::string& peer);
  // The data-plane form of a learned route; nullopt when its network is not in `snap`.
  bool ToRoutes(const dataplane::Snapshot& snap, const RouterState& state, const std::string& peer,
                const std::vector<bgp::LearnedRoute>& learned, uint32_t* network,
                std::vector<routing::Route>* routes) const;

  boost::asio::io_context& io_;
  std::function<dataplane::Snapshot*()> current_;
  std::function<void()> on_change_;
  std::map<std::string, std::unique_ptr<RouterState>> routers_;  // by canonical reference
};

}  // namespace svpc::control
