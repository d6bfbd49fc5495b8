#include "bench/bgp_figure.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "bgp/speaker.h"
#include "control/cloud_router.h"
#include "dataplane/snapshot_store.h"

namespace svpc::bench {
namespace {

constexpr Ipv4 kRouterIp = 0x7f000001;  // 127.0.0.1: the Cloud Router's end
constexpr Ipv4 kPeerIp = 0x7f000002;    // 127.0.0.2: the on-prem router
constexpr uint32_t kPeerAsn = 65010;

using Clock = std::chrono::steady_clock;

// Runs `io` until `done` holds; false after `limit`.
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    io.run_for(std::chrono::microseconds(200));
  }
  return true;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "svpc-bench: BGP figure: %s\n", message.c_str());
  std::exit(2);
}

}  // namespace

BgpLoadResult MeasureBgpLoad(Bench& b, uint32_t prefixes) {
  BgpLoadResult result;
  result.prefixes = prefixes;
  config::Config config = b.workload.config;
  const std::string network_ref = config.networks.front().self_ref;
  std::string tunnel_ref;
  for (const config::Endpoint& ep : config.testbed.endpoints) {
    if (ep.kind == config::EndpointKind::kVpnTunnel) tunnel_ref = ep.link_ref;
  }
  config::Router router;
  router.project = "host-prj";
  router.region = "us-east1";
  router.name = "cr-bench";
  router.self_ref = "projects/host-prj/regions/us-east1/routers/cr-bench";
  router.network_ref = network_ref;
  router.asn = 64512;
  router.interfaces.push_back({"if-0", kRouterIp, Prefix{0x7f000000, 29}, tunnel_ref, ""});
  config::BgpPeer peer;
  peer.name = "onprem";
  peer.interface_name = "if-0";
  peer.ip = kRouterIp;
  peer.peer_ip = kPeerIp;
  peer.peer_asn = kPeerAsn;
  router.peers.push_back(peer);
  config.routers.push_back(router);
  const uint16_t base = static_cast<uint16_t>(20000 + getpid() % 20000);
  config::CloudRouterLink link;
  link.router_ref = router.self_ref;
  link.listen_port = base;
  link.peer_port = static_cast<uint16_t>(base + 1);
  link.max_learned_prefixes = 0;
  config.testbed.cloud_routers.push_back(link);

  std::vector<bgp::AdvertisedRoute> announced;
  for (uint32_t i = 0; i < prefixes; ++i) {
    // /24s from 20.0.0.0: outside every subnet range of the workload.
    announced.push_back({Prefix{0x14000000u + (i << 8), 24}, kPeerIp, 50});
  }

  for (int rep = 0; rep < b.sizes.reps; ++rep) {
    dataplane::SnapshotStore store(1);
    {
      auto snap = CompileOrDie(config, 1);
      for (dataplane::NetworkInfo& net : snap->networks) net.routes->AttachRcu(store.qsbr());
      store.Publish(std::move(snap));
    }
    routing::RouteTable& table = *store.MutableCurrent()->networks.front().routes;
    const size_t baseline = table.route_count();

    boost::asio::io_context io;
    control::CloudRouters routers(io, [&store] { return store.MutableCurrent(); });
    std::string error;
    if (!routers.Apply(config, &error)) Fail(error);
    bgp::SpeakerConfig peer_config;
    peer_config.local_asn = kPeerAsn;
    peer_config.router_id = kPeerIp;
    peer_config.listen_address = kPeerIp;
    peer_config.listen_port = link.peer_port;
    bgp::PeerConfig towards_router;
    towards_router.name = "cr";
    towards_router.local_address = kPeerIp;
    towards_router.peer_address = kRouterIp;
    towards_router.peer_port = link.listen_port;
    towards_router.peer_asn = router.asn;
    peer_config.peers.push_back(towards_router);
    bgp::Speaker onprem(io, peer_config, bgp::Callbacks{});
    if (!onprem.Start(&error)) Fail(error);
    auto established = [&] {
      for (const control::PeerReport& r : routers.Report()) {
        if (r.status.state != bgp::SessionState::kEstablished) return false;
      }
      return true;
    };
    if (!RunUntil(io, established, std::chrono::seconds(20))) Fail("no session");

    const auto start = Clock::now();
    onprem.SetAdvertised("cr", announced);
    if (!RunUntil(
            io, [&] { return table.route_count() == baseline + prefixes; },
            std::chrono::seconds(60))) {
      Fail("only " + std::to_string(table.route_count() - baseline) + " routes arrived");
    }
    result.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());

    // Every 100th prefix: an address in it now takes the learned route.
    uint32_t verified = 0;
    for (uint32_t i = 0; i < prefixes; i += 100) {
      const Ipv4 addr = announced[i].prefix.addr + 7;
      const routing::RouteTable::Result hit =
          table.Lookup(routing::RouteTable::kUntaggedView, addr, 0);
      if (hit.route < 0) Fail("no route for a learned prefix");
      const routing::Route& route = table.route(hit.route);
      if (route.kind != routing::RouteKind::kDynamic || !(route.dest == announced[i].prefix) ||
          route.priority != 50) {
        Fail("a learned prefix resolves to another route: " + route.name);
      }
      ++verified;
    }
    result.verified = verified;

    const auto down = Clock::now();
    onprem.Stop();  // Cease: the Cloud Router's session goes down and takes every route
    if (!RunUntil(
            io, [&] { return table.route_count() == baseline; }, std::chrono::seconds(60))) {
      Fail("routes left after the session went down");
    }
    result.withdraw_seconds.push_back(std::chrono::duration<double>(Clock::now() - down).count());
    routers.Stop();
    io.run_for(std::chrono::milliseconds(10));
  }
  return result;
}

}  // namespace svpc::bench
