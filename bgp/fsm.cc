#include "bgp/fsm.h"

#include <algorithm>

namespace svpc::bgp {
namespace {

NotificationMessage Notification(ErrorCode code, uint8_t subcode, std::vector<uint8_t> data = {}) {
  return {static_cast<uint8_t>(code), subcode, std::move(data)};
}

// "NOTIFICATION received: cease/administrative shutdown", with an RFC 8203 shutdown
// communication appended when the peer sent one (printable characters only).
std::string DescribeReceived(const NotificationMessage& n) {
  std::string text = "NOTIFICATION received: " + DescribeNotification(n);
  bool shutdown =
      n.code == static_cast<uint8_t>(ErrorCode::kCease) &&
      (n.subcode == cease::kAdministrativeShutdown || n.subcode == cease::kAdministrativeReset);
  if (shutdown && !n.data.empty() && n.data[0] > 0 && size_t{n.data[0]} < n.data.size()) {
    std::string message;
    for (size_t i = 1; i <= n.data[0]; ++i) {
      char ch = static_cast<char>(n.data[i]);
      message += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    }
    text += " \"" + message + "\"";
  }
  return text;
}

}  // namespace

const char* ToString(SessionState state) {
  switch (state) {
    case SessionState::kIdle:
      return "Idle";
    case SessionState::kConnect:
      return "Connect";
    case SessionState::kActive:
      return "Active";
    case SessionState::kOpenSent:
      return "OpenSent";
    case SessionState::kOpenConfirm:
      return "OpenConfirm";
    case SessionState::kEstablished:
      return "Established";
  }
  return "?";
}

PeerFsm::PeerFsm(FsmConfig config) : config_(config) {}

void PeerFsm::Begin() {
  actions_.clear();
  state_before_ = state();
}

FsmActions PeerFsm::Finish() {
  SessionState now_state = state();
  if (now_state != state_before_) Emit(StateChangeAction{state_before_, now_state});
  FsmActions out = std::move(actions_);
  actions_.clear();
  return out;
}

PeerFsm::Connection* PeerFsm::Find(ConnectionId id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : &it->second;
}

void PeerFsm::Remove(ConnectionId id) { connections_.erase(id); }

void PeerFsm::Send(ConnectionId id, const Message& message) {
  Emit(SendAction{id, EncodeMessage(message, EncodeContextFor(id))});
}

SessionState PeerFsm::state() const {
  if (!started_ || idle_until_) return SessionState::kIdle;
  SessionState best = SessionState::kActive;
  bool any = false;
  for (const auto& [id, c] : connections_) {
    SessionState s = SessionState::kConnect;
    switch (c.state) {
      case ConnState::kConnecting:
        s = SessionState::kConnect;
        break;
      case ConnState::kOpenSent:
        s = SessionState::kOpenSent;
        break;
      case ConnState::kOpenConfirm:
        s = SessionState::kOpenConfirm;
        break;
      case ConnState::kEstablished:
        s = SessionState::kEstablished;
        break;
    }
    best = any ? std::max(best, s) : s;
    any = true;
  }
  return best;
}

std::optional<ConnectionId> PeerFsm::established_connection() const {
  for (const auto& [id, c] : connections_) {
    if (c.state == ConnState::kEstablished) return id;
  }
  return std::nullopt;
}

const NegotiatedSession* PeerFsm::negotiated(ConnectionId connection) const {
  auto it = connections_.find(connection);
  if (it == connections_.end() || !it->second.negotiated) return nullptr;
  return &*it->second.negotiated;
}

DecodeContext PeerFsm::DecodeContextFor(ConnectionId connection) const {
  DecodeContext context;
  context.external_peer = config_.local_asn != config_.peer_asn;
  context.peer_asn = context.external_peer ? config_.peer_asn : 0;
  if (const auto* n = negotiated(connection)) context.four_octet_as = n->four_octet_as;
  return context;
}

EncodeContext PeerFsm::EncodeContextFor(ConnectionId connection) const {
  EncodeContext context;
  if (const auto* n = negotiated(connection)) context.four_octet_as = n->four_octet_as;
  return context;
}

std::optional<TimePoint> PeerFsm::NextDeadline() const {
  std::optional<TimePoint> next;
  auto consider = [&](const std::optional<TimePoint>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  consider(idle_until_);
  consider(connect_retry_deadline_);
  for (const auto& [id, c] : connections_) {
    consider(c.hold_deadline);
    consider(c.keepalive_deadline);
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// Start, stop, idle.

FsmActions PeerFsm::Start(TimePoint now) {
  Begin();
  if (!started_ || idle_until_) {
    started_ = true;
    idle_until_.reset();
    failures_since_established_ = 0;
    StartConnecting(now);
  }
  return Finish();
}

void PeerFsm::StartConnecting(TimePoint now) {
  if (config_.passive) {
    connect_retry_deadline_.reset();  // Active: only the peer connects
    return;
  }
  OpenOutbound(now);
}

void PeerFsm::OpenOutbound(TimePoint now) {
  ConnectionId id = next_connection_id_++;
  connections_.emplace(
      id, Connection{id, ConnectionOrigin::kLocal, ConnState::kConnecting, {}, {}, {}});
  Emit(ConnectAction{id});
  connect_retry_deadline_ = now + Seconds(config_.connect_retry_seconds);
}

FsmActions PeerFsm::Stop(TimePoint now, uint8_t cease_subcode, const std::string& reason) {
  Begin();
  bool was_established = false;
  for (const auto& [id, c] : connections_) {
    if (c.state != ConnState::kConnecting) {
      Send(id, Notification(ErrorCode::kCease, cease_subcode));
    }
    Emit(CloseAction{id});
    was_established |= c.state == ConnState::kEstablished;
  }
  connections_.clear();
  if (was_established) Emit(SessionDownAction{reason});
  if (started_) last_error_ = reason;
  started_ = false;
  idle_until_.reset();
  connect_retry_deadline_.reset();
  return Finish();
}

FsmActions PeerFsm::Reset(TimePoint now, const NotificationMessage& notification,
                          const std::string& reason, Seconds idle_hold) {
  Begin();
  bool was_established = false;
  for (const auto& [id, c] : connections_) {
    if (c.state != ConnState::kConnecting) Send(id, notification);
    Emit(CloseAction{id});
    was_established |= c.state == ConnState::kEstablished;
  }
  connections_.clear();
  Emit(LogAction{true, reason + "; NOTIFICATION sent: " + DescribeNotification(notification)});
  if (was_established) Emit(SessionDownAction{reason});
  last_error_ = reason;
  if (started_) GoIdle(now, idle_hold);
  return Finish();
}

void PeerFsm::GoIdle(TimePoint now, Seconds idle_hold) {
  for (const auto& [id, c] : connections_) Emit(CloseAction{id});
  connections_.clear();
  connect_retry_deadline_.reset();
  idle_until_ = now + idle_hold;
}

Seconds PeerFsm::NextIdleHold() {
  int doublings = std::min(failures_since_established_, 16);
  ++failures_since_established_;
  return std::min<Seconds>(kIdleHoldMax, kIdleHoldInitial * (int64_t{1} << doublings));
}

void PeerFsm::AfterConnectionLost(bool was_established, bool count_as_failure, TimePoint now) {
  if (!connections_.empty() || !started_) return;
  if (was_established || count_as_failure) {
    GoIdle(now, NextIdleHold());
  } else if (!config_.passive && !connect_retry_deadline_) {
    // OpenSent lost its TCP connection: Active, retrying later (RFC 4271 §8.2.2).
    connect_retry_deadline_ = now + Seconds(config_.connect_retry_seconds);
  }
}

void PeerFsm::Fail(ConnectionId id, const NotificationMessage& notification,
                   const std::string& reason, TimePoint now) {
  Connection* c = Find(id);
  if (!c) return;
  ConnState state = c->state;
  if (state != ConnState::kConnecting) Send(id, notification);
  Emit(CloseAction{id});
  Remove(id);
  Emit(LogAction{true, reason + "; NOTIFICATION sent: " + DescribeNotification(notification)});
  last_error_ = reason;
  if (state == ConnState::kEstablished) Emit(SessionDownAction{reason});
  AfterConnectionLost(state == ConnState::kEstablished, true, now);
}

void PeerFsm::Drop(ConnectionId id, const std::string& reason, TimePoint now) {
  Connection* c = Find(id);
  if (!c) return;
  ConnState state = c->state;
  Emit(CloseAction{id});
  Remove(id);
  Emit(LogAction{true, reason});
  last_error_ = reason;
  if (state == ConnState::kEstablished) Emit(SessionDownAction{reason});
  AfterConnectionLost(state == ConnState::kEstablished, true, now);
}

void PeerFsm::CloseRedundant(ConnectionId id, const std::string& why) {
  Connection* c = Find(id);
  if (!c) return;
  if (c->state != ConnState::kConnecting) {
    Send(id, Notification(ErrorCode::kCease, cease::kConnectionCollisionResolution));
  }
  Emit(CloseAction{id});
  Emit(LogAction{false, why});
  Remove(id);
}

// ---------------------------------------------------------------------------------------------
// TCP events.

FsmActions PeerFsm::TcpConnected(ConnectionId connection, TimePoint now) {
  Begin();
  Connection* c = Find(connection);
  if (c && c->state == ConnState::kConnecting) {
    if (established_connection()) {
      CloseRedundant(connection, "outbound connection completed while a session is established");
    } else {
      connect_retry_deadline_.reset();
      SendOpen(*c, now);
    }
  }
  return Finish();
}

FsmActions PeerFsm::TcpConnectFailed(ConnectionId connection, TimePoint now,
                                     const std::string& reason) {
  Begin();
  Connection* c = Find(connection);
  if (c && c->state == ConnState::kConnecting) {
    Remove(connection);
    // Active: the ConnectRetry timer, still running, makes the next attempt.
    if (started_ && !idle_until_ && !config_.passive && !connect_retry_deadline_) {
      connect_retry_deadline_ = now + Seconds(config_.connect_retry_seconds);
    }
  }
  return Finish();
}

std::pair<ConnectionId, FsmActions> PeerFsm::TcpAccepted(TimePoint now) {
  Begin();
  ConnectionId id = next_connection_id_++;
  if (!started_ || idle_until_) {
    Emit(CloseAction{id});  // Idle refuses connections (RFC 4271 §8.2.2)
    Emit(LogAction{false, "incoming connection refused: the session is Idle"});
    return {id, Finish()};
  }
  auto [it, inserted] = connections_.emplace(
      id, Connection{id, ConnectionOrigin::kRemote, ConnState::kConnecting, {}, {}, {}});
  SendOpen(it->second, now);
  return {id, Finish()};
}

FsmActions PeerFsm::TcpClosed(ConnectionId connection, TimePoint now, const std::string& reason) {
  Begin();
  Connection* c = Find(connection);
  if (c) {
    ConnState state = c->state;
    Remove(connection);
    if (state != ConnState::kConnecting) {
      last_error_ = reason;
      Emit(LogAction{true, reason});
    }
    if (state == ConnState::kEstablished) Emit(SessionDownAction{reason});
    // RFC 4271 §8.2.2: OpenSent goes back to Active; OpenConfirm and Established to Idle.
    AfterConnectionLost(state == ConnState::kEstablished, state == ConnState::kOpenConfirm, now);
  }
  return Finish();
}

void PeerFsm::SendOpen(Connection& c, TimePoint now) {
  c.state = ConnState::kOpenSent;
  c.hold_deadline = now + kLargeHoldTime;
  OpenMessage open;
  open.asn = config_.local_asn;
  open.hold_time = config_.hold_time_seconds;
  open.bgp_identifier = config_.router_id;
  open.multiprotocol = {{kAfiIpv4, kSafiUnicast}};
  open.route_refresh = true;
  open.four_octet_as = true;
  Send(c.id, open);
}

// ---------------------------------------------------------------------------------------------
// Messages.

FsmActions PeerFsm::MessageReceived(ConnectionId connection, const Message& message,
                                    TimePoint now) {
  Begin();
  Connection* c = Find(connection);
  if (!c || c->state == ConnState::kConnecting) return Finish();
  const char* name = ToString(static_cast<MessageType>(message.index() + 1));
  if (const auto* n = std::get_if<NotificationMessage>(&message)) {
    Drop(connection, DescribeReceived(*n), now);
    return Finish();
  }
  switch (c->state) {
    case ConnState::kConnecting:
      break;
    case ConnState::kOpenSent:
      if (const auto* open = std::get_if<OpenMessage>(&message)) {
        OnOpen(connection, *open, now);
      } else {
        Fail(connection, Notification(ErrorCode::kFsm, fsm_error::kUnexpectedInOpenSent),
             std::string("unexpected ") + name + " in OpenSent", now);
      }
      break;
    case ConnState::kOpenConfirm:
      if (std::holds_alternative<KeepaliveMessage>(message)) {
        OnEstablished(connection, now);
      } else {
        Fail(connection, Notification(ErrorCode::kFsm, fsm_error::kUnexpectedInOpenConfirm),
             std::string("unexpected ") + name + " in OpenConfirm", now);
      }
      break;
    case ConnState::kEstablished:
      if (std::holds_alternative<OpenMessage>(message)) {
        Fail(connection, Notification(ErrorCode::kFsm, fsm_error::kUnexpectedInEstablished),
             "unexpected OPEN in Established", now);
        break;
      }
      // Any message proves the peer alive (RFC 4271 names KEEPALIVE and UPDATE).
      RestartHoldTimer(*c, now);
      if (std::holds_alternative<UpdateMessage>(message)) {
        Emit(ProcessUpdateAction{});
      } else if (const auto* rr = std::get_if<RouteRefreshMessage>(&message)) {
        // RFC 2918 §4: ignore families we did not advertise; RFC 7313 BoRR/EoRR are markers.
        if (rr->afi == kAfiIpv4 && rr->safi == kSafiUnicast && rr->subtype == 0) {
          Emit(RouteRefreshAction{});
        }
      }
      break;
  }
  return Finish();
}

FsmActions PeerFsm::DecodeFailed(ConnectionId connection, const NotificationMessage& notification,
                                 const std::string& reason, TimePoint now) {
  Begin();
  Fail(connection, notification, reason, now);
  return Finish();
}

std::optional<std::pair<NotificationMessage, std::string>> PeerFsm::ValidateOpen(
    const OpenMessage& open) const {
  auto reject = [](uint8_t subcode, std::vector<uint8_t> data, std::string why) {
    return std::make_pair(Notification(ErrorCode::kOpenMessage, subcode, std::move(data)),
                          "OPEN rejected: " + why);
  };
  if (open.asn != config_.peer_asn) {
    return reject(
        open_error::kBadPeerAs,
        {static_cast<uint8_t>(open.my_as_field >> 8), uint8_t(open.my_as_field)},
        "peer AS " + std::to_string(open.asn) + ", expected " + std::to_string(config_.peer_asn));
  }
  if (open.hold_time == 1 || open.hold_time == 2) {
    return reject(open_error::kUnacceptableHoldTime, {},
                  "hold time " + std::to_string(open.hold_time) + " s (must be 0 or >= 3)");
  }
  bool internal = config_.local_asn == config_.peer_asn;
  if (open.bgp_identifier == 0 || (internal && open.bgp_identifier == config_.router_id)) {
    return reject(open_error::kBadBgpIdentifier, {},
                  "BGP identifier " + FormatIpv4(open.bgp_identifier));
  }
  if (!open.multiprotocol.empty() &&
      std::find(open.multiprotocol.begin(), open.multiprotocol.end(),
                AfiSafi{kAfiIpv4, kSafiUnicast}) == open.multiprotocol.end()) {
    // RFC 4760 §7: with multiprotocol capabilities only the common families are exchanged, and
    // IPv4 unicast is the only one we carry (RFC 5492 §3: name the capability we need).
    return reject(open_error::kUnsupportedCapability,
                  {capability::kMultiprotocol, 4, 0, kAfiIpv4, 0, kSafiUnicast},
                  "the peer's multiprotocol capabilities leave out IPv4 unicast");
  }
  return std::nullopt;
}

void PeerFsm::OnOpen(ConnectionId id, const OpenMessage& open, TimePoint now) {
  if (auto rejection = ValidateOpen(open)) {
    Fail(id, rejection->first, rejection->second, now);
    return;
  }
  if (!ResolveCollision(id, open)) return;
  Connection* c = Find(id);
  NegotiatedSession n;
  n.peer_router_id = open.bgp_identifier;
  n.hold_time_seconds = std::min(config_.hold_time_seconds, open.hold_time);
  // Keepalive: our configured interval, but at least three per hold time (RFC 4271 §10).
  n.keepalive_seconds = n.hold_time_seconds == 0
                            ? 0
                            : std::max<uint32_t>(1, std::min<uint32_t>(config_.keepalive_seconds,
                                                                       n.hold_time_seconds / 3u));
  n.four_octet_as = open.four_octet_as;
  n.peer_route_refresh = open.route_refresh;
  c->negotiated = n;
  c->state = ConnState::kOpenConfirm;
  Send(id, KeepaliveMessage{});
  RestartHoldTimer(*c, now);
  if (n.keepalive_seconds) {
    c->keepalive_deadline = now + Seconds(n.keepalive_seconds);
  } else {
    c->keepalive_deadline.reset();
  }
}

bool PeerFsm::ResolveCollision(ConnectionId incoming_id, const OpenMessage& open) {
  std::vector<ConnectionId> others;
  for (const auto& [id, c] : connections_) {
    if (id == incoming_id) continue;
    if (c.state == ConnState::kEstablished) {
      // RFC 4271 §6.8: a collision with an Established session closes the new connection.
      CloseRedundant(incoming_id, "connection collision: a session is already established");
      return false;
    }
    if (c.state == ConnState::kOpenConfirm) others.push_back(id);
  }
  // RFC 4271 §6.8: the connection initiated by the side with the higher BGP identifier
  // survives (on equal identifiers, RFC 6286 §2.3: the higher AS number).
  bool keep_ours =
      config_.router_id > open.bgp_identifier ||
      (config_.router_id == open.bgp_identifier && config_.local_asn > config_.peer_asn);
  for (ConnectionId other_id : others) {
    const Connection* incoming = Find(incoming_id);
    const Connection* other = Find(other_id);
    ConnectionId loser;
    if (incoming->origin == other->origin) {
      loser = other_id;  // two connections the same way: the newer one wins, the older is stale
    } else {
      bool incoming_is_ours = incoming->origin == ConnectionOrigin::kLocal;
      loser = incoming_is_ours == keep_ours ? other_id : incoming_id;
    }
    std::string why = std::string("connection collision resolved by BGP identifier (ours ") +
                      FormatIpv4(config_.router_id) + ", theirs " +
                      FormatIpv4(open.bgp_identifier) + "): closing the connection " +
                      (Find(loser)->origin == ConnectionOrigin::kLocal ? "we" : "the peer") +
                      " initiated";
    CloseRedundant(loser, why);
    if (loser == incoming_id) return false;
  }
  return true;
}

void PeerFsm::OnEstablished(ConnectionId id, TimePoint now) {
  Connection* c = Find(id);
  c->state = ConnState::kEstablished;
  RestartHoldTimer(*c, now);
  std::vector<ConnectionId> others;
  for (const auto& [other_id, other] : connections_) {
    if (other_id != id) others.push_back(other_id);
  }
  for (ConnectionId other_id : others) {
    CloseRedundant(other_id, "session established on another connection");
  }
  connect_retry_deadline_.reset();
  failures_since_established_ = 0;
  Emit(EstablishedAction{id});
}

void PeerFsm::RestartHoldTimer(Connection& c, TimePoint now) {
  if (c.negotiated && c.negotiated->hold_time_seconds) {
    c.hold_deadline = now + Seconds(c.negotiated->hold_time_seconds);
  } else {
    c.hold_deadline.reset();
  }
}

// ---------------------------------------------------------------------------------------------
// Timers.

FsmActions PeerFsm::TimersExpired(TimePoint now) {
  Begin();
  if (idle_until_ && now >= *idle_until_) {
    idle_until_.reset();
    if (started_) StartConnecting(now);
  }
  if (connect_retry_deadline_ && now >= *connect_retry_deadline_) {
    connect_retry_deadline_.reset();
    std::vector<ConnectionId> stale;
    bool handshaking = false;
    for (const auto& [id, c] : connections_) {
      if (c.state == ConnState::kConnecting) {
        stale.push_back(id);
      } else {
        handshaking = true;
      }
    }
    for (ConnectionId id : stale) {
      Emit(CloseAction{id});
      Remove(id);
    }
    if (!handshaking && started_ && !idle_until_ && !config_.passive) OpenOutbound(now);
  }
  std::vector<ConnectionId> ids;
  for (const auto& [id, c] : connections_) ids.push_back(id);
  for (ConnectionId id : ids) {
    Connection* c = Find(id);
    if (!c) continue;
    if (c->hold_deadline && now >= *c->hold_deadline) {
      Fail(id, Notification(ErrorCode::kHoldTimerExpired, 0), "hold timer expired", now);
      continue;
    }
    if (c->keepalive_deadline && now >= *c->keepalive_deadline) {
      Send(id, KeepaliveMessage{});
      c->keepalive_deadline = now + Seconds(c->negotiated->keepalive_seconds);
    }
  }
  return Finish();
}

void PeerFsm::UpdateSent(TimePoint now) {
  for (auto& [id, c] : connections_) {
    if (c.state == ConnState::kEstablished && c.keepalive_deadline) {
      c.keepalive_deadline = now + Seconds(c.negotiated->keepalive_seconds);
    }
  }
}

}  // namespace svpc::bgp
