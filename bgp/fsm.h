#pragma once
// The BGP finite state machine of one peer (RFC 4271 §8), without sockets or clocks: it is fed
// events with the current time and answers with actions (connect, send, close, session up or
// down, apply an UPDATE). Its timers are deadlines the owner polls through NextDeadline().
//
// One peer may have several TCP connections at once (our outbound attempt and the peer's
// inbound one); each runs the OPEN exchange on its own and collisions are resolved by BGP
// identifier (RFC 4271 §6.8) as soon as an OPEN arrives while another connection is in
// OpenConfirm or Established. The peer's state is the most advanced connection's state.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bgp/message.h"
#include "common/net_types.h"

namespace svpc::bgp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Seconds = std::chrono::seconds;

enum class SessionState : uint8_t {
  kIdle,
  kConnect,
  kActive,
  kOpenSent,
  kOpenConfirm,
  kEstablished
};
const char* ToString(SessionState state);

// RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN ("4 minutes is suggested").
inline constexpr Seconds kLargeHoldTime{240};
// Time between outbound connection attempts (RFC 4271's ConnectRetryTime suggests 120 s; an
// emulator's peers come and go in seconds, so retry sooner).
inline constexpr uint32_t kDefaultConnectRetrySeconds = 5;
// After a session fails, the peer stays Idle (refusing connections) for IdleHoldTime before it
// restarts by itself (RFC 4271 §8.1.1 DampPeerOscillations): 1 s, doubled on each failure that
// did not reach Established, up to kIdleHoldMax.
inline constexpr Seconds kIdleHoldInitial{1};
inline constexpr Seconds kIdleHoldMax{60};
// After a Maximum Number of Prefixes teardown the peer would resend the same routes at once; wait
// the longest idle time before trying again.
inline constexpr Seconds kIdleHoldAfterPrefixLimit = kIdleHoldMax;

struct FsmConfig {
  uint32_t local_asn = 0;
  Ipv4 router_id = 0;
  uint32_t peer_asn = 0;
  uint16_t hold_time_seconds = 60;  // offered in our OPEN; 0 = no hold timer, no keepalives
  uint32_t keepalive_seconds = 20;  // upper bound of the negotiated keepalive interval
  uint32_t connect_retry_seconds = kDefaultConnectRetrySeconds;
  bool passive = false;  // never connect; wait for the peer
};

using ConnectionId = uint64_t;
enum class ConnectionOrigin : uint8_t { kLocal, kRemote };  // we connected / we accepted

// Actions, executed by the owner in order.
struct ConnectAction {  // open an outbound TCP connection with this id
  ConnectionId connection;
};
struct SendAction {
  ConnectionId connection;
  std::vector<uint8_t> bytes;
};
struct CloseAction {  // close after what was sent before is flushed
  ConnectionId connection;
};
struct EstablishedAction {  // session up on this connection: send the whole Adj-RIB-Out
  ConnectionId connection;
};
struct SessionDownAction {  // the Established session ended: drop everything learned from it
  std::string reason;
};
struct ProcessUpdateAction {};  // the UPDATE just handed in arrived in Established: apply it
struct RouteRefreshAction {};   // the peer asked for our routes again: resend the Adj-RIB-Out
struct StateChangeAction {
  SessionState from;
  SessionState to;
};
struct LogAction {  // something worth a log line (errors sent or received, collisions)
  bool warning;
  std::string text;
};
using FsmAction =
    std::variant<ConnectAction, SendAction, CloseAction, EstablishedAction, SessionDownAction,
                 ProcessUpdateAction, RouteRefreshAction, StateChangeAction, LogAction>;
using FsmActions = std::vector<FsmAction>;

// What the two OPENs agreed on for one connection.
struct NegotiatedSession {
  Ipv4 peer_router_id = 0;
  uint16_t hold_time_seconds = 0;  // min of both OPENs; 0 = none
  uint32_t keepalive_seconds = 0;  // 0 = none
  bool four_octet_as = false;
  bool peer_route_refresh = false;
};

class PeerFsm {
 public:
  explicit PeerFsm(FsmConfig config);

  // ManualStart / AutomaticStart: Connect (or Active when passive).
  FsmActions Start(TimePoint now);
  // ManualStop: a Cease NOTIFICATION (with `cease_subcode`) on every connection that has sent its
  // OPEN, then Idle until the next Start.
  FsmActions Stop(TimePoint now, uint8_t cease_subcode, const std::string& reason);
  // Tears the session down from outside the FSM (e.g. prefix limit), sending `notification`,
  // then stays Idle for `idle_hold` before restarting.
  FsmActions Reset(TimePoint now, const NotificationMessage& notification,
                   const std::string& reason, Seconds idle_hold);

  FsmActions TcpConnected(ConnectionId connection, TimePoint now);
  FsmActions TcpConnectFailed(ConnectionId connection, TimePoint now, const std::string& reason);
  // An inbound connection from the peer's address. Returns its id; refused (closed at once)
  // unless started and not Idle.
  std::pair<ConnectionId, FsmActions> TcpAccepted(TimePoint now);
  FsmActions TcpClosed(ConnectionId connection, TimePoint now, const std::string& reason);
  FsmActions MessageReceived(ConnectionId connection, const Message& message, TimePoint now);
  // The bytes received could not be decoded: send `notification` and close (session reset).
  FsmActions DecodeFailed(ConnectionId connection, const NotificationMessage& notification,
                          const std::string& reason, TimePoint now);
  // Fires every timer whose deadline is at or before `now`.
  FsmActions TimersExpired(TimePoint now);
  // An UPDATE went out on the established connection: restarts the keepalive timer (§4.4).
  void UpdateSent(TimePoint now);

  std::optional<TimePoint> NextDeadline() const;
  SessionState state() const;
  const std::string& last_error() const { return last_error_; }
  std::optional<ConnectionId> established_connection() const;
  // Agreed parameters once the peer's OPEN arrived on `connection`.
  const NegotiatedSession* negotiated(ConnectionId connection) const;
  DecodeContext DecodeContextFor(ConnectionId connection) const;
  EncodeContext EncodeContextFor(ConnectionId connection) const;
  const FsmConfig& config() const { return config_; }
  // Changes settings that do not need a session reset (passive, connect retry).
  void SetPassive(bool passive) { config_.passive = passive; }

 private:
  enum class ConnState : uint8_t { kConnecting, kOpenSent, kOpenConfirm, kEstablished };
  struct Connection {
    ConnectionId id;
    ConnectionOrigin origin;
    ConnState state;
    std::optional<TimePoint> hold_deadline;
    std::optional<TimePoint> keepalive_deadline;
    std::optional<NegotiatedSession> negotiated;
  };

  // Each public event runs between Begin and Finish, which adds a StateChangeAction when the
  // peer's state moved.
  void Begin();
  FsmActions Finish();
  Connection* Find(ConnectionId id);
  void Remove(ConnectionId id);
  // Constructs the action in place (moving a temporary variant trips GCC 12's
  // -Wmaybe-uninitialized).
  template <typename Action>
  void Emit(Action action) {
    actions_.emplace_back(std::in_place_type<Action>, std::move(action));
  }
  void Send(ConnectionId id, const Message& message);

  void StartConnecting(TimePoint now);
  void OpenOutbound(TimePoint now);
  void SendOpen(Connection& c, TimePoint now);
  // Sends `notification` (when the connection has sent its OPEN) and closes the connection; the
  // session goes down if it was the established one, and the peer Idle if none is left.
  void Fail(ConnectionId id, const NotificationMessage& notification, const std::string& reason,
            TimePoint now);
  // Closes without sending anything, for a connection the peer already gave up on.
  void Drop(ConnectionId id, const std::string& reason, TimePoint now);
  // Closes the connection that lost a collision (or a stray one) with Cease/Connection
  // Collision Resolution; no error for the peer, since another connection carries on.
  void CloseRedundant(ConnectionId id, const std::string& why);
  void AfterConnectionLost(bool was_established, bool count_as_failure, TimePoint now);
  void GoIdle(TimePoint now, Seconds idle_hold);
  Seconds NextIdleHold();

  void OnOpen(ConnectionId id, const OpenMessage& open, TimePoint now);
  std::optional<std::pair<NotificationMessage, std::string>> ValidateOpen(
      const OpenMessage& open) const;
  // RFC 4271 §6.8: true if connection `incoming_id` (which just got the peer's OPEN) survives.
  bool ResolveCollision(ConnectionId incoming_id, const OpenMessage& open);
  void OnEstablished(ConnectionId id, TimePoint now);
  void RestartHoldTimer(Connection& c, TimePoint now);

  FsmConfig config_;
  std::map<ConnectionId, Connection> connections_;  // by id: older connections first
  bool started_ = false;
  std::optional<TimePoint> idle_until_;  // Idle, restarting by itself at this time
  std::optional<TimePoint> connect_retry_deadline_;
  int failures_since_established_ = 0;
  ConnectionId next_connection_id_ = 1;
  std::string last_error_;
  FsmActions actions_;
  SessionState state_before_ = SessionState::kIdle;
};

}  // namespace svpc::bgp
