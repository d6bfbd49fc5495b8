#include "bgp/peer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace svpc::bgp {

namespace asio = boost::asio;

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

FsmConfig MakeFsmConfig(uint32_t local_asn, Ipv4 router_id, const PeerConfig& peer) {
  FsmConfig c;
  c.local_asn = local_asn;
  c.router_id = router_id;
  c.peer_asn = peer.peer_asn;
  c.hold_time_seconds = static_cast<uint16_t>(peer.hold_seconds);
  c.keepalive_seconds = peer.keepalive_seconds;
  c.connect_retry_seconds = peer.connect_retry_seconds;
  c.passive = peer.passive;
  return c;
}

}  // namespace

Peer::Peer(asio::io_context& io, uint32_t local_asn, Ipv4 router_id, PeerConfig config,
           std::shared_ptr<CallbackSink> sink)
    : io_(io),
      local_asn_(local_asn),
      config_(std::move(config)),
      sink_(std::move(sink)),
      fsm_(MakeFsmConfig(local_asn, router_id, config_)),
      timer_(io) {}

Peer::~Peer() {
  stopped_for_good_ = true;
  for (auto& [id, connection] : connections_) connection->Close();
}

std::string Peer::Label() const {
  return "bgp peer " + config_.name + " (" + FormatIpv4(config_.peer_address) + ")";
}

template <typename F>
void Peer::Notify(const char* what, F&& call) {
  if (stopped_for_good_ || !sink_ || !sink_->enabled) return;
  try {
    call(sink_->callbacks);
  } catch (const std::exception& e) {
    spdlog::error("{}: the {} callback threw: {}", Label(), what, e.what());
  } catch (...) {
    spdlog::error("{}: the {} callback threw", Label(), what);
  }
}

// ---------------------------------------------------------------------------------------------
// Control.

void Peer::Start() {
  spdlog::info("{}: starting (AS {}, {}{})", Label(), config_.peer_asn,
               config_.passive ? "passive" : "port " + std::to_string(config_.peer_port),
               config_.md5_password.empty() ? "" : ", TCP MD5");
  Apply(fsm_.Start(Clock::now()));
}

void Peer::Stop(uint8_t cease_subcode, const std::string& reason) {
  Apply(fsm_.Stop(Clock::now(), cease_subcode, reason));
}

void Peer::SetPassive(bool passive) {
  config_.passive = passive;
  fsm_.SetPassive(passive);
}

void Peer::SetMaxLearnedPrefixes(uint32_t limit) {
  config_.max_learned_prefixes = limit;
  if (limit != 0 && adj_rib_in_.size() > limit) EnforcePrefixLimit();
}

void Peer::Accept(asio::ip::tcp::socket socket) {
  auto [id, actions] = fsm_.TcpAccepted(Clock::now());
  auto connection = std::make_shared<Connection>(io_, id, weak_from_this());
  connections_[id] = connection;
  connection->Adopt(std::move(socket));
  Apply(std::move(actions));
}

// ---------------------------------------------------------------------------------------------
// Actions.

void Peer::Apply(FsmActions actions, const DecodeResult* update) {
  for (auto& action : actions) pending_.emplace_back(std::move(action), update);
  if (applying_) return;  // the loop below, further up the stack, will get to them
  applying_ = true;
  auto keep_alive = shared_from_this();  // a callback may drop the Speaker's reference
  while (!pending_.empty()) {
    auto [action, decoded] = std::move(pending_.front());
    pending_.pop_front();
    try {
      Execute(action, decoded);
    } catch (const std::exception& e) {
      spdlog::error("{}: executing an FSM action failed: {}", Label(), e.what());
    }
  }
  applying_ = false;
  ArmTimer();
}

void Peer::Execute(FsmAction& action, const DecodeResult* decoded) {
  std::visit(Overloaded{
                 [&](ConnectAction& a) {
                   auto connection =
                       std::make_shared<Connection>(io_, a.connection, weak_from_this());
                   connections_[a.connection] = connection;
                   spdlog::debug("{}: connecting to port {}", Label(), config_.peer_port);
                   connection->Connect(config_.local_address, config_.peer_address,
                                       config_.peer_port, config_.md5_password);
                 },
                 [&](SendAction& a) {
                   auto it = connections_.find(a.connection);
                   if (it != connections_.end()) it->second->Send(std::move(a.bytes));
                 },
                 [&](CloseAction& a) {
                   auto it = connections_.find(a.connection);
                   if (it == connections_.end()) return;
                   it->second->Close();
                   connections_.erase(it);
                 },
                 [&](EstablishedAction& a) {
                   established_since_ = Clock::now();
                   adj_rib_in_.clear();
                   last_connect_error_.clear();
                   const NegotiatedSession* n = fsm_.negotiated(a.connection);
                   spdlog::info(
                       "{}: session established (router id {}, hold {} s, keepalive {} s, "
                       "{}-octet AS); advertising {} prefixes",
                       Label(), FormatIpv4(n->peer_router_id), n->hold_time_seconds,
                       n->keepalive_seconds, n->four_octet_as ? 4 : 2, adj_rib_out_.size());
                   std::vector<AdvertisedRoute> all;
                   all.reserve(adj_rib_out_.size());
                   for (const auto& [key, route] : adj_rib_out_) all.push_back(route);
                   SendAdjRibOut(all, {});
                 },
                 [&](SessionDownAction& a) {
                   size_t learned = adj_rib_in_.size();
                   adj_rib_in_.clear();
                   established_since_.reset();
                   spdlog::warn("{}: session down: {} ({} learned prefixes removed)", Label(),
                                a.reason, learned);
                   Notify("on_session_down", [&](const Callbacks& cb) {
                     if (cb.on_session_down) cb.on_session_down(config_.name);
                   });
                 },
                 [&](ProcessUpdateAction&) {
                   if (decoded) ProcessUpdate(*decoded);
                 },
                 [&](RouteRefreshAction&) {
                   spdlog::info("{}: ROUTE-REFRESH received: resending {} prefixes", Label(),
                                adj_rib_out_.size());
                   std::vector<AdvertisedRoute> all;
                   for (const auto& [key, route] : adj_rib_out_) all.push_back(route);
                   SendAdjRibOut(all, {});
                 },
                 [&](StateChangeAction& a) {
                   spdlog::info("{}: {} -> {}", Label(), ToString(a.from), ToString(a.to));
                   Notify("on_state", [&](const Callbacks& cb) {
                     if (cb.on_state) cb.on_state(config_.name, a.to);
                   });
                 },
                 [&](LogAction& a) {
                   if (a.warning) {
                     spdlog::warn("{}: {}", Label(), a.text);
                   } else {
                     spdlog::info("{}: {}", Label(), a.text);
                   }
                 },
             },
             action);
}

void Peer::ArmTimer() {
  if (stopped_for_good_) return;
  auto next = fsm_.NextDeadline();
  if (next == timer_armed_for_) return;
  timer_armed_for_ = next;
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*next);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or cancelled
    try {
      if (auto self = weak.lock()) self->OnTimer();
    } catch (const std::exception& e) {
      spdlog::error("bgp: exception in a peer timer: {}", e.what());
    }
  });
}

void Peer::OnTimer() {
  timer_armed_for_.reset();
  Apply(fsm_.TimersExpired(Clock::now()));
}

// ---------------------------------------------------------------------------------------------
// Connection events.

void Peer::OnConnected(ConnectionId id) {
  spdlog::debug("{}: TCP connected", Label());
  Apply(fsm_.TcpConnected(id, Clock::now()));
}

void Peer::OnConnectFailed(ConnectionId id, const std::string& error) {
  connections_.erase(id);
  // A peer that is down fails every ConnectRetry period; say so once per distinct error.
  if (error != last_connect_error_) {
    spdlog::info("{}: {} (retrying every {} s)", Label(), error, config_.connect_retry_seconds);
    last_connect_error_ = error;
  }
  Apply(fsm_.TcpConnectFailed(id, Clock::now(), error));
}

void Peer::OnClosed(ConnectionId id, const std::string& reason) {
  connections_.erase(id);
  Apply(fsm_.TcpClosed(id, Clock::now(), reason));
}

void Peer::OnFramingError(ConnectionId id, const DecodeResult& error) {
  Apply(fsm_.DecodeFailed(id, error.notification, "bad message header received: " + error.error,
                          Clock::now()));
}

void Peer::OnFrame(ConnectionId id, std::span<const uint8_t> frame) {
  auto now = Clock::now();
  DecodeResult decoded = DecodeMessage(frame, fsm_.DecodeContextFor(id));
  const char* type = ToString(static_cast<MessageType>(frame[18]));
  if (!decoded.ok()) {
    Apply(fsm_.DecodeFailed(id, decoded.notification,
                            std::string("malformed ") + type + " received: " + decoded.error, now));
    return;
  }
  if (decoded.action != ErrorAction::kNone) {
    spdlog::warn("{}: {} error handling ({}): {}", Label(), type, ToString(decoded.action),
                 decoded.error);
  }
  Apply(fsm_.MessageReceived(id, *decoded.message, now), &decoded);
}

// ---------------------------------------------------------------------------------------------
// Routes in.

bool Peer::UsableNextHop(Ipv4 next_hop) const {
  // RFC 4271 §6.3: a semantically wrong NEXT_HOP makes the route ignored, without NOTIFICATION.
  // 0/8 ("this network"), multicast and class E, and our own address are wrong. Loopback is
  // allowed: tests and single-host labs peer over 127/8.
  if ((next_hop >> 24) == 0) return false;
  if ((next_hop >> 28) >= 0xe) return false;
  return next_hop != config_.local_address;
}

void Peer::ProcessUpdate(const DecodeResult& decoded) {
  const auto& update = std::get<UpdateMessage>(*decoded.message);
  const auto& attrs = update.attributes;
  std::vector<Prefix> withdrawn;
  std::vector<LearnedRoute> announced;
  auto withdraw = [&](const Prefix& p) {
    if (adj_rib_in_.erase(KeyOf(p))) withdrawn.push_back(p);
  };
  for (const auto& p : update.withdrawn) withdraw(p);
  for (const auto& p : update.mp_unreach_nlri) withdraw(p);

  bool announces = !update.nlri.empty() || !update.mp_reach_nlri.empty();
  std::string rejection;
  if (decoded.action == ErrorAction::kTreatAsWithdraw) rejection = "treat-as-withdraw";
  std::vector<uint32_t> as_path;
  if (announces && rejection.empty() && attrs.as_path) {
    as_path = FlattenAsPath(*attrs.as_path);
    bool external = local_asn_ != config_.peer_asn;
    if (external && std::find(as_path.begin(), as_path.end(), local_asn_) != as_path.end()) {
      rejection = "AS_PATH contains our AS " + std::to_string(local_asn_) + " (loop)";
    }
  }
  size_t rejected = 0;
  std::string rejected_because;
  auto announce = [&](const std::vector<Prefix>& prefixes, std::optional<Ipv4> next_hop) {
    if (prefixes.empty()) return;
    std::string why = rejection;
    if (why.empty() && (!next_hop || !UsableNextHop(*next_hop))) {
      why = "unusable next hop " + (next_hop ? FormatIpv4(*next_hop) : std::string("(none)"));
    }
    if (!why.empty()) {
      // The announcement replaces whatever was learned for these prefixes: they are withdrawn.
      for (const auto& p : prefixes) withdraw(p);
      rejected += prefixes.size();
      rejected_because = why;
      return;
    }
    announced.reserve(announced.size() + prefixes.size());
    for (const auto& p : prefixes) {
      adj_rib_in_.insert(KeyOf(p));
      announced.push_back(
          LearnedRoute{p, *next_hop, attrs.med.value_or(0), attrs.med.has_value(), as_path});
    }
  };
  announce(update.nlri, attrs.next_hop);
  announce(update.mp_reach_nlri, update.mp_next_hop);
  if (rejected) {
    Prefix first = !update.nlri.empty() ? update.nlri.front() : update.mp_reach_nlri.front();
    spdlog::warn("{}: {} announced prefixes ignored ({}), first {}", Label(), rejected,
                 rejected_because, FormatPrefix(first));
  }
  if (config_.max_learned_prefixes != 0 && adj_rib_in_.size() > config_.max_learned_prefixes) {
    EnforcePrefixLimit();  // the session goes down; on_session_down replaces this update
    return;
  }
  if (announced.empty() && withdrawn.empty()) return;
  Notify("on_update", [&](const Callbacks& cb) {
    if (cb.on_update) cb.on_update(config_.name, std::move(announced), std::move(withdrawn));
  });
}

void Peer::EnforcePrefixLimit() {
  uint32_t limit = config_.max_learned_prefixes;
  std::string reason = "prefix limit " + std::to_string(limit) + " exceeded";
  spdlog::error(
      "{}: {} ({} prefixes learned): closing the session with Cease/Maximum Number of "
      "Prefixes Reached, retrying in {} s",
      Label(), reason, adj_rib_in_.size(), kIdleHoldAfterPrefixLimit.count());
  // RFC 4486 §4: AFI, SAFI and the upper bound.
  NotificationMessage notification{
      static_cast<uint8_t>(ErrorCode::kCease),
      cease::kMaximumPrefixesReached,
      {0, kAfiIpv4, kSafiUnicast, static_cast<uint8_t>(limit >> 24),
       static_cast<uint8_t>(limit >> 16), static_cast<uint8_t>(limit >> 8), uint8_t(limit)}};
  Apply(fsm_.Reset(Clock::now(), notification, reason, kIdleHoldAfterPrefixLimit));
}

// ---------------------------------------------------------------------------------------------
// Routes out.

PathAttributes Peer::AttributesFor(Ipv4 next_hop, uint32_t med) const {
  PathAttributes attrs;
  attrs.origin = kAdvertisedOrigin;
  bool external = local_asn_ != config_.peer_asn;
  attrs.as_path = std::vector<AsPathSegment>{};
  if (external) attrs.as_path->push_back({AsPathSegmentType::kAsSequence, {local_asn_}});
  attrs.next_hop = next_hop;
  attrs.med = med;
  if (!external) attrs.local_pref = kDefaultLocalPref;
  return attrs;
}

void Peer::SetAdvertised(const std::vector<AdvertisedRoute>& routes) {
  std::unordered_map<PrefixKey, AdvertisedRoute> next;
  next.reserve(routes.size());
  for (AdvertisedRoute route : routes) {
    if (route.prefix.len > 32) {
      spdlog::error("{}: not advertising a prefix of length {}", Label(), route.prefix.len);
      continue;
    }
    route.prefix.addr &= route.prefix.Mask();
    next[KeyOf(route.prefix)] = route;
  }
  std::vector<AdvertisedRoute> changed;
  std::vector<Prefix> withdrawn;
  for (const auto& [key, route] : next) {
    auto it = adj_rib_out_.find(key);
    if (it == adj_rib_out_.end() || !(it->second == route)) changed.push_back(route);
  }
  for (const auto& [key, route] : adj_rib_out_) {
    if (!next.count(key)) withdrawn.push_back(route.prefix);
  }
  adj_rib_out_ = std::move(next);
  if (!fsm_.established_connection() || (changed.empty() && withdrawn.empty())) return;
  spdlog::debug("{}: advertising {} changed prefixes, withdrawing {}", Label(), changed.size(),
                withdrawn.size());
  SendAdjRibOut(changed, withdrawn);
  ArmTimer();  // sending restarted the keepalive timer
}

void Peer::SendAdjRibOut(const std::vector<AdvertisedRoute>& routes,
                         const std::vector<Prefix>& withdrawn) {
  auto id = fsm_.established_connection();
  if (!id) return;
  auto it = connections_.find(*id);
  if (it == connections_.end()) return;
  Connection& connection = *it->second;
  bool sent = false;
  for (auto& message : EncodeWithdrawals(withdrawn)) {
    connection.Send(std::move(message));
    sent = true;
  }
  // One attribute set per (next hop, MED): each group packs into as few UPDATEs as possible.
  std::map<std::pair<Ipv4, uint32_t>, std::vector<Prefix>> groups;
  for (const auto& route : routes) groups[{route.next_hop, route.med}].push_back(route.prefix);
  EncodeContext context = fsm_.EncodeContextFor(*id);
  for (const auto& [key, prefixes] : groups) {
    auto messages = EncodeAnnouncements(AttributesFor(key.first, key.second), prefixes, context);
    for (auto& message : messages) {
      connection.Send(std::move(message));
      sent = true;
    }
  }
  if (sent) fsm_.UpdateSent(Clock::now());
}

PeerStatus Peer::Status() const {
  PeerStatus status;
  status.name = config_.name;
  status.peer_address = config_.peer_address;
  status.enabled = config_.enabled;
  status.state = fsm_.state();
  status.prefixes_received = adj_rib_in_.size();
  status.last_error = fsm_.last_error();
  if (auto id = fsm_.established_connection()) {
    if (established_since_) {
      status.uptime_seconds = static_cast<uint64_t>(
          std::chrono::duration_cast<Seconds>(Clock::now() - *established_since_).count());
    }
    status.prefixes_advertised = adj_rib_out_.size();
    if (const auto* n = fsm_.negotiated(*id)) {
      status.hold_time_seconds = n->hold_time_seconds;
      status.keepalive_seconds = n->keepalive_seconds;
    }
  }
  return status;
}

}  // namespace svpc::bgp
