#include "control/cloud_router.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <utility>

#include "routing/route_table.h"

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

uint64_t PrefixKey(const Prefix& p) { return uint64_t{p.addr} << 8 | p.len; }

const RouterInterface* InterfaceOf(const Router& router, const BgpPeer& peer) {
  for (const RouterInterface& itf : router.interfaces) {
    if (itf.name == peer.interface_name) return &itf;
  }
  return nullptr;
}

Ipv4 LocalAddressOf(const Router& router, const BgpPeer& peer) {
  if (peer.ip != 0) return peer.ip;
  const RouterInterface* itf = InterfaceOf(router, peer);
  return itf != nullptr ? itf->ip : 0;
}

const BgpPeer* PeerNamed(const Router& router, const std::string& name) {
  for (const BgpPeer& peer : router.peers) {
    if (peer.name == name) return &peer;
  }
  return nullptr;
}

}  // namespace

std::vector<bgp::AdvertisedRoute> AdvertisedRoutes(const Config& config, const Router& router,
                                                   const BgpPeer& peer) {
  const Advertisement& adv = peer.advertisement ? *peer.advertisement : router.advertisement;
  bool global = false;
  for (const Network& network : config.networks) {
    if (network.self_ref == router.network_ref) global = network.routing_mode == "GLOBAL";
  }
  const Ipv4 next_hop = LocalAddressOf(router, peer);
  std::map<uint64_t, bgp::AdvertisedRoute> out;
  auto add = [&](const Prefix& prefix, uint32_t med) {
    auto [it, inserted] =
        out.emplace(PrefixKey(prefix), bgp::AdvertisedRoute{prefix, next_hop, med});
    if (!inserted) it->second.med = std::min(it->second.med, med);
  };
  if (!adv.custom || adv.all_subnets) {
    // DEFAULT (and CUSTOM's ALL_SUBNETS group): the subnets the router's routing mode reaches:
    // its own region in REGIONAL mode, every region in GLOBAL mode, where subnets of other
    // regions carry the inter-region cost in their MED.
    for (const Subnetwork& subnet : config.subnetworks) {
      if (subnet.network_ref != router.network_ref) continue;
      const bool same_region = subnet.region == router.region;
      if (!global && !same_region) continue;
      const uint32_t med =
          peer.advertised_route_priority + (same_region ? 0 : routing::kInterRegionCost);
      add(subnet.range, med);
      for (const SecondaryRange& secondary : subnet.secondary_ranges) add(secondary.range, med);
    }
  }
  if (adv.custom) {
    for (const Prefix& range : adv.ranges) add(range, peer.advertised_route_priority);
  }
  std::vector<bgp::AdvertisedRoute> routes;
  routes.reserve(out.size());
  for (auto& [key, route] : out) routes.push_back(route);
  return routes;
}

bgp::SpeakerConfig SpeakerConfigFor(const Router& router, const CloudRouterLink& link) {
  bgp::SpeakerConfig config;
  config.local_asn = router.asn;
  // The BGP identifier: the router's first interface address (Cloud Router shows its own
  // link-local address as the identifier to each peer; one per speaker here).
  config.router_id = router.interfaces.empty() ? 0 : router.interfaces.front().ip;
  config.listen_port = link.listen_port;
  // Listen on the router's own address when every peer talks to the same one.
  Ipv4 common = 0;
  bool same = true;
  for (const BgpPeer& peer : router.peers) {
    const Ipv4 local = LocalAddressOf(router, peer);
    if (common != 0 && local != common) same = false;
    common = local;
  }
  config.listen_address = same ? common : 0;
  const uint32_t keepalive =
      link.keepalive_seconds != 0 ? link.keepalive_seconds : router.keepalive_seconds;
  for (const BgpPeer& peer : router.peers) {
    bgp::PeerConfig p;
    p.name = peer.name;
    p.local_address = LocalAddressOf(router, peer);
    p.peer_address = peer.peer_ip;
    p.peer_port = link.peer_port;
    p.peer_asn = peer.peer_asn;
    p.keepalive_seconds = keepalive;
    p.hold_seconds = 3 * keepalive;
    p.md5_password = peer.md5_key;
    p.enabled = peer.enabled;
    p.max_learned_prefixes = link.max_learned_prefixes;
    config.peers.push_back(std::move(p));
  }
  return config;
}

struct CloudRouters::RouterState {
  Router router;
  CloudRouterLink link;
  std::unique_ptr<bgp::Speaker> speaker;
  // Adj-RIB-In per peer, by prefix.
  std::map<std::string, std::map<uint64_t, bgp::LearnedRoute>> learned;
  std::map<std::string, std::vector<bgp::AdvertisedRoute>> advertised;
};

CloudRouters::CloudRouters(boost::asio::io_context& io,
                           std::function<dataplane::Snapshot*()> current)
    : io_(io), current_(std::move(current)) {}

CloudRouters::~CloudRouters() { Stop(); }

void CloudRouters::Stop() {
  for (auto& [ref, state] : routers_) {
    if (state->speaker) state->speaker->Stop();
  }
  routers_.clear();
}

bool CloudRouters::ToRoutes(const dataplane::Snapshot& snap, const RouterState& state,
                            const std::string& peer_name,
                            const std::vector<bgp::LearnedRoute>& learned, uint32_t* network,
                            std::vector<routing::Route>* routes) const {
  const Router& router = state.router;
  int32_t net = -1;
  for (uint32_t n = 0; n < snap.networks.size(); ++n) {
    if (snap.networks[n].ref == router.network_ref) net = static_cast<int32_t>(n);
  }
  if (net < 0 || !snap.networks[net].routes) return false;
  *network = static_cast<uint32_t>(net);
  // The next hop: the VPN tunnel or VLAN attachment the peer's interface is linked to.
  const BgpPeer* peer = PeerNamed(router, peer_name);
  const RouterInterface* itf = peer != nullptr ? InterfaceOf(router, *peer) : nullptr;
  const bool vpn = itf != nullptr && !itf->linked_vpn_tunnel.empty();
  const std::string link =
      itf == nullptr ? "" : (vpn ? itf->linked_vpn_tunnel : itf->linked_interconnect_attachment);
  int32_t endpoint = -1;
  for (uint32_t e = 0; e < snap.endpoints.size() && !link.empty(); ++e) {
    const dataplane::EndpointInfo& ep = snap.endpoints[e];
    if (ep.name == link && (ep.kind == dataplane::EndpointKind::kVpnTunnel ||
                            ep.kind == dataplane::EndpointKind::kInterconnectAttachment)) {
      endpoint = static_cast<int32_t>(e);
    }
  }
  const uint32_t region = snap.RegionId(router.region);
  for (const bgp::LearnedRoute& l : learned) {
    routing::Route r;
    r.name = routing::DynamicRouteName(router.name, peer_name);
    r.dest = l.prefix;
    // No MED: BGP's lowest (best) value, as Cloud Router treats a missing MED.
    r.priority = l.has_med ? l.med : 0;
    r.next_hop =
        vpn ? routing::NextHopType::kVpnTunnel : routing::NextHopType::kInterconnectAttachment;
    r.target = endpoint >= 0 ? static_cast<uint32_t>(endpoint) : 0;
    r.usable = endpoint >= 0;
    r.kind = routing::RouteKind::kDynamic;
    r.hop_kind =
        vpn ? routing::NextHopKind::kVpnTunnel : routing::NextHopKind::kInterconnectAttachment;
    r.next_hop_name = FormatIpv4(l.next_hop);
    if (endpoint < 0) {
      r.inactive_reason = link.empty() ? "the peer's interface links no tunnel or attachment"
                                       : link + " is not wired in the testbed";
    }
    r.router = router.name;
    r.peer = peer_name;
    r.region = region;
    routes->push_back(std::move(r));
  }
  return true;
}

void CloudRouters::OnUpdate(RouterState& state, const std::string& peer,
                            std::vector<bgp::LearnedRoute> announced,
                            std::vector<Prefix> withdrawn) {
  auto& rib = state.learned[peer];
  for (const Prefix& p : withdrawn) rib.erase(PrefixKey(p));
  for (const bgp::LearnedRoute& l : announced) rib[PrefixKey(l.prefix)] = l;
  dataplane::Snapshot* snap = current_();
  if (snap != nullptr) {
    uint32_t network = 0;
    std::vector<routing::Route> routes;
    std::string error;
    if (ToRoutes(*snap, state, peer, announced, &network, &routes)) {
      routing::RouteTable& table = *snap->networks[network].routes;
      bool ok = true;
      if (!withdrawn.empty()) {
        ok = table.WithdrawDynamicRoutes(state.router.name, peer, withdrawn, &error);
      }
      if (ok && !routes.empty()) ok = table.AddRoutes(routes, nullptr, &error);
      if (!ok) {
        spdlog::error("Cloud Router {} peer {}: installing routes: {}", state.router.name, peer,
                      error);
      }
    }
  }
  spdlog::debug("Cloud Router {} peer {}: {} announced, {} withdrawn, {} learned",
                state.router.name, peer, announced.size(), withdrawn.size(), rib.size());
  if (on_change_) on_change_();
}

void CloudRouters::OnSessionDown(RouterState& state, const std::string& peer) {
  const size_t had = state.learned[peer].size();
  state.learned.erase(peer);
  if (dataplane::Snapshot* snap = current_()) {
    for (dataplane::NetworkInfo& net : snap->networks) {
      if (net.ref != state.router.network_ref || !net.routes) continue;
      std::string error;
      if (!net.routes->RemovePeerRoutes(state.router.name, peer, &error)) {
        spdlog::error("Cloud Router {} peer {}: removing routes: {}", state.router.name, peer,
                      error);
      }
    }
  }
  spdlog::info("Cloud Router {} peer {}: session down, {} learned route(s) removed",
               state.router.name, peer, had);
  if (on_change_) on_change_();
}

bool CloudRouters::InstallLearned(dataplane::Snapshot& snap, std::string* error) {
  for (auto& [ref, state] : routers_) {
    for (auto& [peer, rib] : state->learned) {
      std::vector<bgp::LearnedRoute> learned;
      for (auto& [key, route] : rib) learned.push_back(route);
      uint32_t network = 0;
      std::vector<routing::Route> routes;
      if (!ToRoutes(snap, *state, peer, learned, &network, &routes) || routes.empty()) continue;
      if (!snap.networks[network].routes->AddRoutes(routes, nullptr, error)) return false;
    }
  }
  return true;
}

bool CloudRouters::Apply(const Config& config, std::string* error) {
  bool ok = true;
  std::map<std::string, const CloudRouterLink*> wanted;
  for (const CloudRouterLink& link : config.testbed.cloud_routers) {
    if (!link.router_ref.empty()) wanted[link.router_ref] = &link;
  }
  // Routers no longer run: their sessions end, their routes go.
  for (auto it = routers_.begin(); it != routers_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    RouterState& state = *it->second;
    state.speaker->Stop();
    std::vector<std::string> peers;
    for (auto& [peer, rib] : state.learned) peers.push_back(peer);
    for (const std::string& peer : peers) OnSessionDown(state, peer);
    spdlog::info("Cloud Router {} stopped: no longer in testbed.json", state.router.name);
    it = routers_.erase(it);
  }
  for (const Router& router : config.routers) {
    auto link = wanted.find(router.self_ref);
    if (link == wanted.end()) continue;
    bgp::SpeakerConfig speaker_config = SpeakerConfigFor(router, *link->second);
    auto existing = routers_.find(router.self_ref);
    RouterState* state = nullptr;
    std::string speaker_error;
    if (existing != routers_.end()) {
      state = existing->second.get();
      state->router = router;
      state->link = *link->second;
      if (!state->speaker->Reconfigure(std::move(speaker_config), &speaker_error)) {
        *error += (error->empty() ? "" : "; ") + router.self_ref + ": " + speaker_error;
        ok = false;
      }
      // Peers that are gone take their routes with them.
      std::vector<std::string> gone;
      for (auto& [peer, rib] : state->learned) {
        if (PeerNamed(router, peer) == nullptr) gone.push_back(peer);
      }
      for (const std::string& peer : gone) OnSessionDown(*state, peer);
    } else {
      auto fresh = std::make_unique<RouterState>();
      fresh->router = router;
      fresh->link = *link->second;
      RouterState* raw = fresh.get();
      bgp::Callbacks callbacks;
      callbacks.on_update = [this, raw](const std::string& peer,
                                        std::vector<bgp::LearnedRoute> announced,
                                        std::vector<Prefix> withdrawn) {
        OnUpdate(*raw, peer, std::move(announced), std::move(withdrawn));
      };
      callbacks.on_session_down = [this, raw](const std::string& peer) {
        OnSessionDown(*raw, peer);
      };
      callbacks.on_state = [this, raw](const std::string& peer, bgp::SessionState s) {
        spdlog::info("Cloud Router {} peer {}: {}", raw->router.name, peer, bgp::ToString(s));
        if (on_change_) on_change_();
      };
      fresh->speaker =
          std::make_unique<bgp::Speaker>(io_, std::move(speaker_config), std::move(callbacks));
      if (!fresh->speaker->Start(&speaker_error)) {
        *error += (error->empty() ? "" : "; ") + router.self_ref + ": " + speaker_error;
        ok = false;
        continue;
      }
      spdlog::info("Cloud Router {} (AS {}) started: {} peer(s), listening on port {}", router.name,
                   router.asn, router.peers.size(), fresh->speaker->listening_port());
      state = raw;
      routers_[router.self_ref] = std::move(fresh);
    }
    for (const BgpPeer& peer : router.peers) {
      std::vector<bgp::AdvertisedRoute> routes = AdvertisedRoutes(config, router, peer);
      state->advertised[peer.name] = routes;
      state->speaker->SetAdvertised(peer.name, std::move(routes));
    }
  }
  return ok;
}

std::string BgpStatusJson(const std::vector<PeerReport>& reports) {
  namespace json = boost::json;
  json::array peers;
  for (const PeerReport& r : reports) {
    json::object p;
    p["router"] = r.router;
    p["region"] = r.region;
    p["peer"] = r.status.name;
    p["peerIpAddress"] = FormatIpv4(r.status.peer_address);
    p["peerAsn"] = r.peer_asn;
    p["localAsn"] = r.local_asn;
    p["enabled"] = r.status.enabled;
    p["state"] = bgp::ToString(r.status.state);
    p["uptimeSeconds"] = r.status.uptime_seconds;
    p["prefixesReceived"] = r.status.prefixes_received;
    p["prefixesAdvertised"] = r.status.prefixes_advertised;
    p["holdTimeSeconds"] = r.status.hold_time_seconds;
    p["lastError"] = r.status.last_error;
    json::array learned;
    for (const bgp::LearnedRoute& l : r.learned) {
      json::object route;
      route["destRange"] = FormatPrefix(l.prefix);
      route["nextHopIp"] = FormatIpv4(l.next_hop);
      if (l.has_med) route["med"] = l.med;
      json::array path;
      for (uint32_t asn : l.as_path) path.push_back(asn);
      route["asPath"] = std::move(path);
      learned.push_back(std::move(route));
    }
    p["learnedRoutes"] = std::move(learned);
    json::array advertised;
    for (const bgp::AdvertisedRoute& a : r.advertised) {
      advertised.push_back(json::object{{"destRange", FormatPrefix(a.prefix)}, {"med", a.med}});
    }
    p["advertisedRoutes"] = std::move(advertised);
    peers.push_back(std::move(p));
  }
  return json::serialize(json::object{{"peers", std::move(peers)}});
}

std::vector<PeerReport> CloudRouters::Report() const {
  std::vector<PeerReport> out;
  for (const auto& [ref, state] : routers_) {
    for (const bgp::PeerStatus& status : state->speaker->Status()) {
      PeerReport report;
      report.router = ref;
      report.region = state->router.region;
      report.status = status;
      report.local_asn = state->router.asn;
      if (const BgpPeer* peer = PeerNamed(state->router, status.name)) {
        report.peer_asn = peer->peer_asn;
      }
      if (auto rib = state->learned.find(status.name); rib != state->learned.end()) {
        for (const auto& [key, route] : rib->second) report.learned.push_back(route);
      }
      if (auto adv = state->advertised.find(status.name); adv != state->advertised.end()) {
        report.advertised = adv->second;
      }
      out.push_back(std::move(report));
    }
  }
  return out;
}

}  // namespace svpc::control
