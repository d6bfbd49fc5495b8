#pragma once
// BGP-4 message codec (RFC 4271): OPEN with the capabilities Cloud Router's sessions use
// (multiprotocol IPv4 unicast RFC 4760, route refresh RFC 2918, 4-octet AS RFC 6793), UPDATE
// (IPv4 unicast, classic NLRI and MP_REACH/MP_UNREACH), NOTIFICATION, KEEPALIVE, ROUTE-REFRESH.
//
// Contract: decoding never throws, never reads outside the given bytes, and always says what the
// session must do: carry on, carry on without some attributes (RFC 7606 "attribute discard"),
// withdraw the UPDATE's routes ("treat-as-withdraw"), or send a NOTIFICATION and close ("session
// reset"). Encoding is for well-formed values built by this library and its tests.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/net_types.h"

namespace svpc::bgp {

inline constexpr size_t kHeaderSize = 19;
inline constexpr size_t kMarkerSize = 16;
// RFC 4271's maximum; extended messages (RFC 8654) are not negotiated.
inline constexpr size_t kMaxMessageSize = 4096;
inline constexpr uint8_t kBgpVersion = 4;
// RFC 6793: the My AS / AS_PATH stand-in for a 4-octet ASN towards a 2-octet speaker.
inline constexpr uint16_t kAsTrans = 23456;
inline constexpr uint16_t kAfiIpv4 = 1;
inline constexpr uint8_t kSafiUnicast = 1;

enum class MessageType : uint8_t {
  kOpen = 1,
  kUpdate = 2,
  kNotification = 3,
  kKeepalive = 4,
  kRouteRefresh = 5,
};

// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313) and their subcodes (RFC 4271 §6, RFC 4486,
// RFC 6608).
enum class ErrorCode : uint8_t {
  kMessageHeader = 1,
  kOpenMessage = 2,
  kUpdateMessage = 3,
  kHoldTimerExpired = 4,
  kFsm = 5,
  kCease = 6,
  kRouteRefreshMessage = 7,
};
namespace header_error {
inline constexpr uint8_t kConnectionNotSynchronized = 1;
inline constexpr uint8_t kBadMessageLength = 2;
inline constexpr uint8_t kBadMessageType = 3;
}  // namespace header_error
namespace open_error {
inline constexpr uint8_t kUnspecific = 0;
inline constexpr uint8_t kUnsupportedVersionNumber = 1;
inline constexpr uint8_t kBadPeerAs = 2;
inline constexpr uint8_t kBadBgpIdentifier = 3;
inline constexpr uint8_t kUnsupportedOptionalParameter = 4;
inline constexpr uint8_t kUnacceptableHoldTime = 6;
inline constexpr uint8_t kUnsupportedCapability = 7;
}  // namespace open_error
namespace update_error {
inline constexpr uint8_t kMalformedAttributeList = 1;
inline constexpr uint8_t kUnrecognizedWellKnownAttribute = 2;
inline constexpr uint8_t kMissingWellKnownAttribute = 3;
inline constexpr uint8_t kAttributeFlagsError = 4;
inline constexpr uint8_t kAttributeLengthError = 5;
inline constexpr uint8_t kInvalidOriginAttribute = 6;
inline constexpr uint8_t kInvalidNextHopAttribute = 8;
inline constexpr uint8_t kOptionalAttributeError = 9;
inline constexpr uint8_t kInvalidNetworkField = 10;
inline constexpr uint8_t kMalformedAsPath = 11;
}  // namespace update_error
namespace fsm_error {
inline constexpr uint8_t kUnexpectedInOpenSent = 1;
inline constexpr uint8_t kUnexpectedInOpenConfirm = 2;
inline constexpr uint8_t kUnexpectedInEstablished = 3;
}  // namespace fsm_error
namespace cease {
inline constexpr uint8_t kMaximumPrefixesReached = 1;
inline constexpr uint8_t kAdministrativeShutdown = 2;
inline constexpr uint8_t kPeerDeconfigured = 3;
inline constexpr uint8_t kAdministrativeReset = 4;
inline constexpr uint8_t kConnectionRejected = 5;
inline constexpr uint8_t kOtherConfigurationChange = 6;
inline constexpr uint8_t kConnectionCollisionResolution = 7;
inline constexpr uint8_t kOutOfResources = 8;
}  // namespace cease

// Path attribute type codes this codec knows (IANA "BGP Path Attributes").
namespace attr {
inline constexpr uint8_t kOrigin = 1;
inline constexpr uint8_t kAsPath = 2;
inline constexpr uint8_t kNextHop = 3;
inline constexpr uint8_t kMultiExitDisc = 4;
inline constexpr uint8_t kLocalPref = 5;
inline constexpr uint8_t kAtomicAggregate = 6;
inline constexpr uint8_t kAggregator = 7;
inline constexpr uint8_t kCommunities = 8;
inline constexpr uint8_t kOriginatorId = 9;
inline constexpr uint8_t kClusterList = 10;
inline constexpr uint8_t kMpReachNlri = 14;
inline constexpr uint8_t kMpUnreachNlri = 15;
inline constexpr uint8_t kExtendedCommunities = 16;
inline constexpr uint8_t kAs4Path = 17;
inline constexpr uint8_t kAs4Aggregator = 18;
inline constexpr uint8_t kIpv6ExtendedCommunities = 25;
inline constexpr uint8_t kLargeCommunities = 32;
}  // namespace attr
namespace attr_flag {
inline constexpr uint8_t kOptional = 0x80;
inline constexpr uint8_t kTransitive = 0x40;
inline constexpr uint8_t kPartial = 0x20;
inline constexpr uint8_t kExtendedLength = 0x10;
}  // namespace attr_flag

// Capability codes (IANA "Capability Codes").
namespace capability {
inline constexpr uint8_t kMultiprotocol = 1;
inline constexpr uint8_t kRouteRefresh = 2;
inline constexpr uint8_t kFourOctetAs = 65;
inline constexpr uint8_t kRouteRefreshCisco = 128;  // pre-standard code some peers still send
}  // namespace capability

struct AfiSafi {
  uint16_t afi = 0;
  uint8_t safi = 0;
  bool operator==(const AfiSafi&) const = default;
};

struct OpenMessage {
  uint8_t version = kBgpVersion;
  // The sender's AS: the 4-octet AS capability's value when present, else the My AS field.
  uint32_t asn = 0;
  // The My AS field as received (AS_TRANS when the sender's ASN does not fit). Encoding derives
  // it from `asn`.
  uint16_t my_as_field = 0;
  uint16_t hold_time = 0;
  Ipv4 bgp_identifier = 0;
  // Capabilities (RFC 5492), all carried in one Capabilities optional parameter when encoded.
  std::vector<AfiSafi> multiprotocol;       // capability 1, one entry per AFI/SAFI
  bool route_refresh = false;               // capability 2 (or Cisco's 128 when decoded)
  bool four_octet_as = false;               // capability 65, carrying `asn`
  std::vector<uint8_t> other_capabilities;  // codes not interpreted here, for logs
  bool operator==(const OpenMessage&) const = default;
};

enum class Origin : uint8_t { kIgp = 0, kEgp = 1, kIncomplete = 2 };

enum class AsPathSegmentType : uint8_t {
  kAsSet = 1,
  kAsSequence = 2,
  kConfedSequence = 3,  // RFC 5065
  kConfedSet = 4,
};

struct AsPathSegment {
  AsPathSegmentType type = AsPathSegmentType::kAsSequence;
  std::vector<uint32_t> asns;
  bool operator==(const AsPathSegment&) const = default;
};

// An attribute kept as received: unknown optional transitive ones (passed through with the
// Partial bit set, RFC 4271 §5) and known ones this codec does not interpret (communities,
// aggregator, ...).
struct RawAttribute {
  uint8_t flags = 0;
  uint8_t type = 0;
  std::vector<uint8_t> value;
  bool operator==(const RawAttribute&) const = default;
};

struct PathAttributes {
  std::optional<Origin> origin;
  // Always with 4-octet ASNs: on a 2-octet session AS_PATH and AS4_PATH are merged on decode
  // (RFC 6793 §4.2.3) and split on encode.
  std::optional<std::vector<AsPathSegment>> as_path;
  std::optional<Ipv4> next_hop;
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  bool atomic_aggregate = false;
  std::vector<RawAttribute> other;
  bool operator==(const PathAttributes&) const = default;
};

struct UpdateMessage {
  std::vector<Prefix> withdrawn;  // Withdrawn Routes field
  PathAttributes attributes;
  std::vector<Prefix> nlri;  // NLRI field; next hop = attributes.next_hop
  // IPv4 unicast carried in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760). Other families are
  // skipped on decode (never negotiated).
  std::optional<Ipv4> mp_next_hop;
  std::vector<Prefix> mp_reach_nlri;
  std::vector<Prefix> mp_unreach_nlri;
  bool operator==(const UpdateMessage&) const = default;
};

struct NotificationMessage {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
  bool operator==(const NotificationMessage&) const = default;
};

struct KeepaliveMessage {
  bool operator==(const KeepaliveMessage&) const = default;
};

struct RouteRefreshMessage {
  uint16_t afi = kAfiIpv4;
  uint8_t subtype = 0;  // RFC 7313: 0 request, 1 BoRR, 2 EoRR
  uint8_t safi = kSafiUnicast;
  bool operator==(const RouteRefreshMessage&) const = default;
};

using Message = std::variant<OpenMessage, UpdateMessage, NotificationMessage, KeepaliveMessage,
                             RouteRefreshMessage>;

// RFC 7606 §2 approaches, weakest first; decoding reports the strongest one that applies.
enum class ErrorAction : uint8_t {
  kNone,
  kAttributeDiscard,  // the named attributes were dropped; the UPDATE is otherwise usable
  kTreatAsWithdraw,   // every prefix the UPDATE announces must be handled as withdrawn
  kSessionReset,      // send `notification`, close the connection
};
const char* ToString(ErrorAction action);

// What a session knows when decoding an UPDATE.
struct DecodeContext {
  bool four_octet_as = true;  // both OPENs carried the 4-octet AS capability
  bool external_peer = true;  // eBGP: LOCAL_PREF/ORIGINATOR_ID/CLUSTER_LIST are discarded
  // eBGP only: the leftmost AS_PATH AS must be this (RFC 4271 §6.3); 0 skips the check.
  uint32_t peer_asn = 0;
};

struct DecodeResult {
  std::optional<Message> message;  // absent exactly when action == kSessionReset
  ErrorAction action = ErrorAction::kNone;
  NotificationMessage notification;  // to send when action == kSessionReset
  std::string error;                 // what was wrong, for logs; empty when action == kNone

  bool ok() const { return action != ErrorAction::kSessionReset; }
};

// Decodes one whole message (header included). Any input is safe.
DecodeResult DecodeMessage(std::span<const uint8_t> frame, const DecodeContext& context) noexcept;

// Framing on a byte stream: `length` is 0 while fewer than kHeaderSize bytes are there, else the
// message's length from a valid header. A bad header (marker, length, type) sets `error`, a
// session-reset result; the stream cannot be resynchronised after it.
struct FrameCheck {
  size_t length = 0;
  std::optional<DecodeResult> error;
};
FrameCheck CheckFrame(std::span<const uint8_t> stream) noexcept;

struct EncodeContext {
  bool four_octet_as = true;  // else AS_PATH carries 2-octet ASNs (AS_TRANS) plus AS4_PATH
};

// Encodes one message. An UPDATE is encoded as given, even past kMaxMessageSize; use
// EncodeAnnouncements / EncodeWithdrawals to split route sets into valid messages.
std::vector<uint8_t> EncodeMessage(const Message& message, const EncodeContext& context = {});

// UPDATE messages announcing `prefixes` (classic NLRI) with `attributes`, as few as fit in
// kMaxMessageSize each. Empty if the attributes alone leave no room for one prefix.
std::vector<std::vector<uint8_t>> EncodeAnnouncements(const PathAttributes& attributes,
                                                      std::span<const Prefix> prefixes,
                                                      const EncodeContext& context = {});
// UPDATE messages withdrawing `prefixes`, as few as fit in kMaxMessageSize each.
std::vector<std::vector<uint8_t>> EncodeWithdrawals(std::span<const Prefix> prefixes);

// The ASNs of a path in order, sets included, confederation segments left out (what loop
// detection and the consumer look at).
std::vector<uint32_t> FlattenAsPath(const std::vector<AsPathSegment>& segments);

// "cease/administrative shutdown", "hold timer expired", "UPDATE message error/malformed
// AS_PATH", ... (RFC 4486 wording for Cease).
std::string DescribeNotification(const NotificationMessage& notification);
const char* ToString(MessageType type);

}  // namespace svpc::bgp
