#pragma once
// The values the Speaker API takes and gives: configuration, routes, status, callbacks.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bgp/fsm.h"
#include "bgp/message.h"
#include "common/net_types.h"

namespace svpc::bgp {

inline constexpr uint16_t kBgpPort = 179;
// Cloud Router's defaults: keepalive 20 s (GCP allows 20..60), hold time 3 x keepalive. The
// library itself accepts any RFC 4271 value (hold 0 or >= 3) so tests can run short timers;
// GCP's ranges are for control/'s validation.
inline constexpr uint32_t kCloudRouterKeepaliveSeconds = 20;
inline constexpr uint32_t kCloudRouterHoldSeconds = 3 * kCloudRouterKeepaliveSeconds;
// ORIGIN of the routes we advertise. GCP's documentation does not state it; peers' tables show
// Cloud Router's prefixes as INCOMPLETE ("?"), what redistributed routes carry. One place to
// change it.
inline constexpr Origin kAdvertisedOrigin = Origin::kIncomplete;
// LOCAL_PREF sent to internal peers (RFC 4271 §5.1.5 requires one; 100 is the common default).
inline constexpr uint32_t kDefaultLocalPref = 100;

struct PeerConfig {
  std::string name;        // the Cloud Router bgpPeers[].name; identifies the peer in the API
  Ipv4 local_address = 0;  // our end (interface ipAddress); outbound connections bind to it
  Ipv4 peer_address = 0;   // peerIpAddress: connections are accepted only from it
  uint16_t peer_port = kBgpPort;
  uint32_t peer_asn = 0;
  uint32_t keepalive_seconds = kCloudRouterKeepaliveSeconds;
  uint32_t hold_seconds = kCloudRouterHoldSeconds;  // offered in our OPEN; 0 or >= 3
  std::string md5_password;                         // empty: no TCP MD5
  bool enabled = true;                              // false: the peer stays Idle
  uint32_t max_learned_prefixes = 0;                // 0 = unlimited
  bool passive = false;                             // only accept connections, never connect
  uint32_t connect_retry_seconds = kDefaultConnectRetrySeconds;
  bool operator==(const PeerConfig&) const = default;
};

struct SpeakerConfig {
  uint32_t local_asn = 0;
  Ipv4 router_id = 0;               // BGP identifier
  Ipv4 listen_address = 0;          // 0 = every local address
  uint16_t listen_port = kBgpPort;  // 0 = any free port (see Speaker::listening_port)
  std::vector<PeerConfig> peers;
};

// A route the peer announced. It replaces any earlier route for the same prefix from that peer.
struct LearnedRoute {
  Prefix prefix;
  Ipv4 next_hop = 0;
  uint32_t med = 0;
  bool has_med = false;
  std::vector<uint32_t> as_path;  // flattened: AS_SEQUENCE and AS_SET members in order
};

struct AdvertisedRoute {
  Prefix prefix;
  Ipv4 next_hop = 0;
  uint32_t med = 0;
  bool operator==(const AdvertisedRoute&) const = default;
};

struct PeerStatus {
  std::string name;
  Ipv4 peer_address = 0;
  bool enabled = true;
  SessionState state = SessionState::kIdle;
  uint64_t uptime_seconds = 0;     // since Established; 0 when not Established
  size_t prefixes_received = 0;    // accepted prefixes currently learned from the peer
  size_t prefixes_advertised = 0;  // prefixes sent on the current session (0 when down)
  uint32_t hold_time_seconds = 0;  // negotiated, when Established
  uint32_t keepalive_seconds = 0;  // negotiated, when Established
  std::string last_error;          // "hold timer expired", "NOTIFICATION received: cease/...", ...
};

// Called on the Speaker's io_context. They may call SetAdvertised, Status, Stop or Reconfigure.
struct Callbacks {
  // One call per UPDATE message with every prefix it announced and every previously learned
  // prefix it withdrew (also prefixes rejected by loop or error handling that were learned).
  std::function<void(const std::string& peer, std::vector<LearnedRoute> announced,
                     std::vector<Prefix> withdrawn)>
      on_update;
  // The session went down: every route learned from the peer is gone (no withdrawals follow).
  std::function<void(const std::string& peer)> on_session_down;
  std::function<void(const std::string& peer, SessionState state)> on_state;
};

// Every problem with `config` ("peer onprem-1: hold_seconds 2 (must be 0 or >= 3)"); empty if
// it can be started.
std::vector<std::string> ValidateSpeakerConfig(const SpeakerConfig& config);

}  // namespace svpc::bgp
