#include "bgp/fsm.h"

#include <gtest/gtest.h>

namespace svpc::bgp {
namespace {

using std::chrono::milliseconds;

Ipv4 A(const char* text) { return ParseIpv4(text).value_or(0); }

template <typename T>
std::vector<T> All(const FsmActions& actions) {
  std::vector<T> out;
  for (const auto& a : actions) {
    if (const auto* t = std::get_if<T>(&a)) out.push_back(*t);
  }
  return out;
}

template <typename T>
bool Has(const FsmActions& actions) {
  return !All<T>(actions).empty();
}

// The messages the actions send on `connection`, decoded.
std::vector<Message> Sent(const FsmActions& actions, ConnectionId connection) {
  std::vector<Message> out;
  for (const auto& send : All<SendAction>(actions)) {
    if (send.connection != connection) continue;
    auto r = DecodeMessage(send.bytes, DecodeContext{});
    EXPECT_TRUE(r.ok()) << r.error;
    if (r.message) out.push_back(*r.message);
  }
  return out;
}

std::optional<NotificationMessage> SentNotification(const FsmActions& actions,
                                                    ConnectionId connection) {
  for (const auto& m : Sent(actions, connection)) {
    if (const auto* n = std::get_if<NotificationMessage>(&m)) return *n;
  }
  return std::nullopt;
}

bool Closes(const FsmActions& actions, ConnectionId connection) {
  for (const auto& c : All<CloseAction>(actions)) {
    if (c.connection == connection) return true;
  }
  return false;
}

OpenMessage PeerOpen(uint16_t hold, const char* router_id = "10.0.0.2", uint32_t asn = 65002) {
  OpenMessage open;
  open.asn = asn;
  open.my_as_field = static_cast<uint16_t>(asn);
  open.hold_time = hold;
  open.bgp_identifier = A(router_id);
  open.multiprotocol = {{kAfiIpv4, kSafiUnicast}};
  open.route_refresh = true;
  open.four_octet_as = true;
  return open;
}

class FsmTest : public ::testing::Test {
 protected:
  FsmConfig Config() {
    FsmConfig c;
    c.local_asn = 65001;
    c.router_id = A("10.0.0.1");
    c.peer_asn = 65002;
    c.hold_time_seconds = 9;
    c.keepalive_seconds = 3;
    c.connect_retry_seconds = 5;
    return c;
  }

  // Start, outbound connect, OPEN exchange, KEEPALIVE: the connection id, Established at t0.
  ConnectionId EstablishOutbound(PeerFsm& fsm, uint16_t peer_hold = 90) {
    auto start = fsm.Start(t0);
    auto connects = All<ConnectAction>(start);
    EXPECT_EQ(connects.size(), 1u);
    ConnectionId id = connects.at(0).connection;
    fsm.TcpConnected(id, t0);
    fsm.MessageReceived(id, PeerOpen(peer_hold), t0);
    auto up = fsm.MessageReceived(id, KeepaliveMessage{}, t0);
    EXPECT_TRUE(Has<EstablishedAction>(up));
    EXPECT_EQ(fsm.state(), SessionState::kEstablished);
    return id;
  }

  const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
};

TEST_F(FsmTest, StartConnectsOrWaitsWhenPassive) {
  PeerFsm fsm(Config());
  EXPECT_EQ(fsm.state(), SessionState::kIdle);
  auto actions = fsm.Start(t0);
  ASSERT_EQ(All<ConnectAction>(actions).size(), 1u);
  EXPECT_EQ(fsm.state(), SessionState::kConnect);
  auto changes = All<StateChangeAction>(actions);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from, SessionState::kIdle);
  EXPECT_EQ(changes[0].to, SessionState::kConnect);

  auto passive_config = Config();
  passive_config.passive = true;
  PeerFsm passive(passive_config);
  EXPECT_FALSE(Has<ConnectAction>(passive.Start(t0)));
  EXPECT_EQ(passive.state(), SessionState::kActive);
  EXPECT_FALSE(passive.NextDeadline());  // nothing to retry
}

TEST_F(FsmTest, OpenExchangeToEstablished) {
  PeerFsm fsm(Config());
  ConnectionId id = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
  auto connected = fsm.TcpConnected(id, t0);
  EXPECT_EQ(fsm.state(), SessionState::kOpenSent);
  auto sent = Sent(connected, id);
  ASSERT_EQ(sent.size(), 1u);
  const auto& open = std::get<OpenMessage>(sent[0]);
  EXPECT_EQ(open.asn, 65001u);
  EXPECT_EQ(open.hold_time, 9);
  EXPECT_EQ(open.bgp_identifier, A("10.0.0.1"));
  EXPECT_TRUE(open.four_octet_as);
  EXPECT_TRUE(open.route_refresh);
  EXPECT_EQ(open.multiprotocol, (std::vector<AfiSafi>{{kAfiIpv4, kSafiUnicast}}));

  auto confirm = fsm.MessageReceived(id, PeerOpen(90), t0);
  EXPECT_EQ(fsm.state(), SessionState::kOpenConfirm);
  ASSERT_EQ(Sent(confirm, id).size(), 1u);
  EXPECT_TRUE(std::holds_alternative<KeepaliveMessage>(Sent(confirm, id)[0]));

  auto up = fsm.MessageReceived(id, KeepaliveMessage{}, t0);
  ASSERT_EQ(All<EstablishedAction>(up).size(), 1u);
  EXPECT_EQ(All<EstablishedAction>(up)[0].connection, id);
  EXPECT_EQ(fsm.established_connection(), id);
  EXPECT_EQ(All<StateChangeAction>(up).at(0).to, SessionState::kEstablished);
}

TEST_F(FsmTest, HoldTimeIsTheSmallerOfBothOpens) {
  {
    PeerFsm fsm(Config());  // we offer 9
    ConnectionId id = EstablishOutbound(fsm, 90);
    EXPECT_EQ(fsm.negotiated(id)->hold_time_seconds, 9);
    EXPECT_EQ(fsm.negotiated(id)->keepalive_seconds, 3u);
  }
  {
    auto config = Config();
    config.hold_time_seconds = 60;
    config.keepalive_seconds = 20;
    PeerFsm fsm(config);
    ConnectionId id = EstablishOutbound(fsm, 30);  // the peer offers less
    EXPECT_EQ(fsm.negotiated(id)->hold_time_seconds, 30);
    EXPECT_EQ(fsm.negotiated(id)->keepalive_seconds, 10u);  // hold / 3 caps our 20
  }
  {
    PeerFsm fsm(Config());
    ConnectionId id = EstablishOutbound(fsm, 0);  // 0: no hold timer, no keepalives
    EXPECT_EQ(fsm.negotiated(id)->hold_time_seconds, 0);
    EXPECT_EQ(fsm.negotiated(id)->keepalive_seconds, 0u);
    EXPECT_FALSE(fsm.NextDeadline());
    EXPECT_TRUE(fsm.TimersExpired(t0 + std::chrono::hours(5)).empty());
    EXPECT_EQ(fsm.state(), SessionState::kEstablished);
  }
}

TEST_F(FsmTest, KeepalivesAreSentEveryKeepaliveInterval) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  EXPECT_EQ(fsm.NextDeadline(), t0 + Seconds(3));
  EXPECT_TRUE(fsm.TimersExpired(t0 + milliseconds(2999)).empty());
  auto tick = fsm.TimersExpired(t0 + Seconds(3));
  ASSERT_EQ(Sent(tick, id).size(), 1u);
  EXPECT_TRUE(std::holds_alternative<KeepaliveMessage>(Sent(tick, id)[0]));
  // An UPDATE sent restarts the keepalive timer (RFC 4271 §4.4).
  fsm.UpdateSent(t0 + Seconds(5));
  EXPECT_TRUE(Sent(fsm.TimersExpired(t0 + Seconds(6)), id).empty());
  EXPECT_EQ(Sent(fsm.TimersExpired(t0 + Seconds(8)), id).size(), 1u);
}

TEST_F(FsmTest, HoldTimerExpiryTakesTheSessionDown) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  // A KEEPALIVE at 5 s moves the hold deadline from 9 s to 14 s.
  fsm.MessageReceived(id, KeepaliveMessage{}, t0 + Seconds(5));
  auto quiet = fsm.TimersExpired(t0 + Seconds(12));
  EXPECT_FALSE(Has<SessionDownAction>(quiet));
  EXPECT_EQ(fsm.state(), SessionState::kEstablished);

  auto expired = fsm.TimersExpired(t0 + Seconds(14));
  auto notification = SentNotification(expired, id);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->code, static_cast<uint8_t>(ErrorCode::kHoldTimerExpired));
  EXPECT_TRUE(Closes(expired, id));
  ASSERT_EQ(All<SessionDownAction>(expired).size(), 1u);
  EXPECT_EQ(All<SessionDownAction>(expired)[0].reason, "hold timer expired");
  EXPECT_EQ(fsm.last_error(), "hold timer expired");
  EXPECT_EQ(fsm.state(), SessionState::kIdle);

  // Idle for kIdleHoldInitial, then it starts again by itself.
  EXPECT_FALSE(Has<ConnectAction>(fsm.TimersExpired(t0 + Seconds(14) + milliseconds(500))));
  auto restart = fsm.TimersExpired(t0 + Seconds(14) + kIdleHoldInitial);
  EXPECT_TRUE(Has<ConnectAction>(restart));
  EXPECT_EQ(fsm.state(), SessionState::kConnect);
}

TEST_F(FsmTest, OpenSentUsesTheLargeHoldTimer) {
  PeerFsm fsm(Config());
  ConnectionId id = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
  fsm.TcpConnected(id, t0);
  EXPECT_TRUE(Sent(fsm.TimersExpired(t0 + kLargeHoldTime - Seconds(1)), id).empty());
  auto expired = fsm.TimersExpired(t0 + kLargeHoldTime);
  ASSERT_TRUE(SentNotification(expired, id));
  EXPECT_FALSE(Has<SessionDownAction>(expired));  // never established
  EXPECT_EQ(fsm.state(), SessionState::kIdle);
}

TEST_F(FsmTest, OpenValidation) {
  struct Case {
    OpenMessage open;
    uint8_t subcode;
    const char* error_part;
  };
  auto no_ipv4 = PeerOpen(90);
  no_ipv4.multiprotocol = {{2, 1}};
  std::vector<Case> cases = {
      {PeerOpen(1), open_error::kUnacceptableHoldTime, "hold time 1"},
      {PeerOpen(2), open_error::kUnacceptableHoldTime, "hold time 2"},
      {PeerOpen(90, "10.0.0.2", 65003), open_error::kBadPeerAs, "peer AS 65003, expected 65002"},
      {PeerOpen(90, "0.0.0.0"), open_error::kBadBgpIdentifier, "BGP identifier"},
      {no_ipv4, open_error::kUnsupportedCapability, "IPv4 unicast"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error_part);
    PeerFsm fsm(Config());
    ConnectionId id = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
    fsm.TcpConnected(id, t0);
    auto rejected = fsm.MessageReceived(id, c.open, t0);
    auto notification = SentNotification(rejected, id);
    ASSERT_TRUE(notification);
    EXPECT_EQ(notification->code, static_cast<uint8_t>(ErrorCode::kOpenMessage));
    EXPECT_EQ(notification->subcode, c.subcode);
    EXPECT_TRUE(Closes(rejected, id));
    EXPECT_EQ(fsm.state(), SessionState::kIdle);
    EXPECT_NE(fsm.last_error().find(c.error_part), std::string::npos) << fsm.last_error();
  }
}

TEST_F(FsmTest, IdleHoldDoublesOnRepeatedFailures) {
  PeerFsm fsm(Config());
  TimePoint now = t0;
  ConnectionId id = All<ConnectAction>(fsm.Start(now)).at(0).connection;
  std::vector<Seconds> idle_times;
  for (int attempt = 0; attempt < 4; ++attempt) {
    fsm.TcpConnected(id, now);
    fsm.MessageReceived(id, PeerOpen(90, "10.0.0.2", 64999), now);  // wrong AS
    ASSERT_EQ(fsm.state(), SessionState::kIdle);
    TimePoint idle_until = *fsm.NextDeadline();
    idle_times.push_back(std::chrono::duration_cast<Seconds>(idle_until - now));
    now = idle_until;
    auto restart = fsm.TimersExpired(now);
    ASSERT_EQ(All<ConnectAction>(restart).size(), 1u);
    id = All<ConnectAction>(restart)[0].connection;
  }
  EXPECT_EQ(idle_times, (std::vector<Seconds>{Seconds(1), Seconds(2), Seconds(4), Seconds(8)}));
}

TEST_F(FsmTest, UnexpectedMessagesAreFsmErrors) {
  PeerFsm fsm(Config());
  ConnectionId id = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
  fsm.TcpConnected(id, t0);
  fsm.MessageReceived(id, PeerOpen(90), t0);  // OpenConfirm
  auto error = fsm.MessageReceived(id, UpdateMessage{}, t0);
  auto notification = SentNotification(error, id);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->code, static_cast<uint8_t>(ErrorCode::kFsm));
  EXPECT_EQ(notification->subcode, fsm_error::kUnexpectedInOpenConfirm);

  PeerFsm fsm2(Config());
  id = All<ConnectAction>(fsm2.Start(t0)).at(0).connection;
  fsm2.TcpConnected(id, t0);
  notification = SentNotification(fsm2.MessageReceived(id, KeepaliveMessage{}, t0), id);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->subcode, fsm_error::kUnexpectedInOpenSent);

  PeerFsm fsm3(Config());
  id = EstablishOutbound(fsm3);
  auto reopened = fsm3.MessageReceived(id, PeerOpen(90), t0);
  notification = SentNotification(reopened, id);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->subcode, fsm_error::kUnexpectedInEstablished);
  EXPECT_TRUE(Has<SessionDownAction>(reopened));
}

TEST_F(FsmTest, EstablishedDeliversUpdatesAndRouteRefresh) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  auto update = fsm.MessageReceived(id, UpdateMessage{}, t0 + Seconds(8));
  EXPECT_TRUE(Has<ProcessUpdateAction>(update));
  EXPECT_EQ(fsm.NextDeadline(), t0 + Seconds(3));  // keepalive; hold moved to 17 s
  EXPECT_FALSE(Has<SessionDownAction>(fsm.TimersExpired(t0 + Seconds(16))));
  EXPECT_TRUE(Has<RouteRefreshAction>(fsm.MessageReceived(id, RouteRefreshMessage{}, t0)));
  // Another family, or a BoRR marker (RFC 7313): nothing to do.
  EXPECT_FALSE(Has<RouteRefreshAction>(fsm.MessageReceived(id, RouteRefreshMessage{2, 0, 1}, t0)));
  EXPECT_FALSE(Has<RouteRefreshAction>(fsm.MessageReceived(id, RouteRefreshMessage{1, 1, 1}, t0)));
}

TEST_F(FsmTest, NotificationReceivedTakesTheSessionDown) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  NotificationMessage cease{static_cast<uint8_t>(ErrorCode::kCease),
                            cease::kAdministrativeShutdown,
                            {4, 'm', 'a', 'i', 'n'}};
  auto down = fsm.MessageReceived(id, cease, t0);
  EXPECT_TRUE(Sent(down, id).empty());  // never answer a NOTIFICATION
  EXPECT_TRUE(Closes(down, id));
  ASSERT_EQ(All<SessionDownAction>(down).size(), 1u);
  EXPECT_EQ(All<SessionDownAction>(down)[0].reason,
            "NOTIFICATION received: cease/administrative shutdown \"main\"");
  EXPECT_EQ(fsm.state(), SessionState::kIdle);
}

TEST_F(FsmTest, TcpClosedInEstablishedTakesTheSessionDown) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  auto down = fsm.TcpClosed(id, t0, "TCP connection closed by the peer");
  EXPECT_EQ(All<SessionDownAction>(down).at(0).reason, "TCP connection closed by the peer");
  EXPECT_EQ(fsm.state(), SessionState::kIdle);
}

TEST_F(FsmTest, TcpClosedInOpenSentGoesActive) {
  PeerFsm fsm(Config());
  ConnectionId id = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
  fsm.TcpConnected(id, t0);
  fsm.TcpClosed(id, t0, "TCP connection closed by the peer");
  EXPECT_EQ(fsm.state(), SessionState::kActive);
  EXPECT_TRUE(Has<ConnectAction>(fsm.TimersExpired(t0 + Seconds(5))));
}

TEST_F(FsmTest, ConnectRetry) {
  PeerFsm fsm(Config());
  ConnectionId first = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
  fsm.TcpConnectFailed(first, t0 + Seconds(1), "connection refused");
  EXPECT_EQ(fsm.state(), SessionState::kActive);
  EXPECT_FALSE(Has<ConnectAction>(fsm.TimersExpired(t0 + Seconds(4))));
  auto retry = fsm.TimersExpired(t0 + Seconds(5));
  ASSERT_EQ(All<ConnectAction>(retry).size(), 1u);
  ConnectionId second = All<ConnectAction>(retry)[0].connection;
  EXPECT_NE(second, first);
  EXPECT_EQ(fsm.state(), SessionState::kConnect);
  // An attempt that hangs (SYNs dropped) is abandoned at the next expiry.
  auto again = fsm.TimersExpired(t0 + Seconds(10));
  EXPECT_TRUE(Closes(again, second));
  EXPECT_EQ(All<ConnectAction>(again).size(), 1u);
}

TEST_F(FsmTest, IdleRefusesIncomingConnections) {
  PeerFsm fsm(Config());
  auto [id, actions] = fsm.TcpAccepted(t0);
  EXPECT_TRUE(Closes(actions, id));
  EXPECT_TRUE(Sent(actions, id).empty());
  EXPECT_EQ(fsm.state(), SessionState::kIdle);
}

TEST_F(FsmTest, PassivePeerAcceptsAndEstablishes) {
  auto config = Config();
  config.passive = true;
  PeerFsm fsm(config);
  fsm.Start(t0);
  auto [id, accepted] = fsm.TcpAccepted(t0);
  EXPECT_FALSE(Closes(accepted, id));
  ASSERT_EQ(Sent(accepted, id).size(), 1u);
  EXPECT_TRUE(std::holds_alternative<OpenMessage>(Sent(accepted, id)[0]));
  fsm.MessageReceived(id, PeerOpen(90), t0);
  EXPECT_TRUE(Has<EstablishedAction>(fsm.MessageReceived(id, KeepaliveMessage{}, t0)));
}

// RFC 4271 §6.8: two connections, our outbound and the peer's inbound, both exchange OPENs.
// The one initiated by the side with the higher BGP identifier survives.
TEST_F(FsmTest, CollisionKeepsTheConnectionOfTheHigherIdentifier) {
  for (bool peer_is_higher : {true, false}) {
    SCOPED_TRACE(peer_is_higher ? "peer higher" : "we are higher");
    PeerFsm fsm(Config());  // our identifier 10.0.0.1
    const char* peer_id = peer_is_higher ? "10.0.0.2" : "10.0.0.0";
    ConnectionId outbound = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
    fsm.TcpConnected(outbound, t0);
    auto [inbound, accepted] = fsm.TcpAccepted(t0);
    fsm.MessageReceived(outbound, PeerOpen(90, peer_id), t0);  // outbound: OpenConfirm
    auto resolved = fsm.MessageReceived(inbound, PeerOpen(90, peer_id), t0);
    ConnectionId loser = peer_is_higher ? outbound : inbound;
    ConnectionId winner = peer_is_higher ? inbound : outbound;
    auto notification = SentNotification(resolved, loser);
    ASSERT_TRUE(notification);
    EXPECT_EQ(notification->code, static_cast<uint8_t>(ErrorCode::kCease));
    EXPECT_EQ(notification->subcode, cease::kConnectionCollisionResolution);
    EXPECT_TRUE(Closes(resolved, loser));
    EXPECT_FALSE(Closes(resolved, winner));
    EXPECT_EQ(fsm.state(), SessionState::kOpenConfirm);
    auto up = fsm.MessageReceived(winner, KeepaliveMessage{}, t0);
    EXPECT_EQ(All<EstablishedAction>(up).at(0).connection, winner);
    EXPECT_TRUE(fsm.last_error().empty());  // a collision is not an error
  }
}

TEST_F(FsmTest, CollisionWithAnEstablishedSessionClosesTheNewConnection) {
  PeerFsm fsm(Config());
  ConnectionId established = EstablishOutbound(fsm);
  auto [inbound, accepted] = fsm.TcpAccepted(t0);
  auto resolved = fsm.MessageReceived(inbound, PeerOpen(90), t0);
  EXPECT_EQ(SentNotification(resolved, inbound)->subcode, cease::kConnectionCollisionResolution);
  EXPECT_TRUE(Closes(resolved, inbound));
  EXPECT_FALSE(Has<SessionDownAction>(resolved));
  EXPECT_EQ(fsm.established_connection(), established);
}

TEST_F(FsmTest, EstablishingClosesTheOtherConnections) {
  PeerFsm fsm(Config());
  ConnectionId outbound = All<ConnectAction>(fsm.Start(t0)).at(0).connection;  // still pending
  auto [inbound, accepted] = fsm.TcpAccepted(t0);
  fsm.MessageReceived(inbound, PeerOpen(90), t0);
  auto up = fsm.MessageReceived(inbound, KeepaliveMessage{}, t0);
  EXPECT_TRUE(Has<EstablishedAction>(up));
  EXPECT_TRUE(Closes(up, outbound));
  EXPECT_TRUE(Sent(up, outbound).empty());  // never got as far as an OPEN
}

TEST_F(FsmTest, StopSendsCeaseAndStaysIdle) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  auto stopped = fsm.Stop(t0, cease::kAdministrativeShutdown, "peer disabled");
  auto notification = SentNotification(stopped, id);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->subcode, cease::kAdministrativeShutdown);
  EXPECT_EQ(All<SessionDownAction>(stopped).at(0).reason, "peer disabled");
  EXPECT_EQ(fsm.state(), SessionState::kIdle);
  EXPECT_FALSE(fsm.NextDeadline());
  EXPECT_TRUE(fsm.TimersExpired(t0 + std::chrono::hours(1)).empty());
}

TEST_F(FsmTest, ResetSendsTheGivenNotificationAndWaits) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  NotificationMessage max_prefixes{static_cast<uint8_t>(ErrorCode::kCease),
                                   cease::kMaximumPrefixesReached,
                                   {0, 1, 1, 0, 0, 0, 10}};
  auto reset = fsm.Reset(t0, max_prefixes, "prefix limit 10 exceeded", Seconds(30));
  EXPECT_EQ(SentNotification(reset, id), max_prefixes);
  EXPECT_EQ(All<SessionDownAction>(reset).at(0).reason, "prefix limit 10 exceeded");
  EXPECT_EQ(fsm.state(), SessionState::kIdle);
  EXPECT_EQ(fsm.NextDeadline(), t0 + Seconds(30));
  EXPECT_TRUE(Has<ConnectAction>(fsm.TimersExpired(t0 + Seconds(30))));
}

TEST_F(FsmTest, DecodeFailureSendsTheDecodersNotification) {
  PeerFsm fsm(Config());
  ConnectionId id = EstablishOutbound(fsm);
  NotificationMessage bad{
      static_cast<uint8_t>(ErrorCode::kUpdateMessage), update_error::kMalformedAttributeList, {}};
  auto failed = fsm.DecodeFailed(id, bad, "malformed UPDATE received: x", t0);
  EXPECT_EQ(SentNotification(failed, id), bad);
  EXPECT_TRUE(Has<SessionDownAction>(failed));
  EXPECT_EQ(fsm.last_error(), "malformed UPDATE received: x");
}

TEST_F(FsmTest, DecodeContextFollowsTheNegotiation) {
  PeerFsm fsm(Config());
  ConnectionId id = All<ConnectAction>(fsm.Start(t0)).at(0).connection;
  fsm.TcpConnected(id, t0);
  auto old_speaker = PeerOpen(90);
  old_speaker.four_octet_as = false;
  fsm.MessageReceived(id, old_speaker, t0);
  EXPECT_FALSE(fsm.DecodeContextFor(id).four_octet_as);
  EXPECT_FALSE(fsm.EncodeContextFor(id).four_octet_as);
  EXPECT_TRUE(fsm.DecodeContextFor(id).external_peer);
  EXPECT_EQ(fsm.DecodeContextFor(id).peer_asn, 65002u);
}

}  // namespace
}  // namespace svpc::bgp
