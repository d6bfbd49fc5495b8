#include "bgp/message.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

namespace svpc::bgp {
namespace {

using Bytes = std::vector<uint8_t>;

Prefix P(const char* text) {
  auto p = ParsePrefix(text);
  if (!p) ADD_FAILURE() << "bad prefix in test: " << text;
  return p.value_or(Prefix{});
}
Ipv4 A(const char* text) {
  auto a = ParseIpv4(text);
  if (!a) ADD_FAILURE() << "bad address in test: " << text;
  return a.value_or(0);
}

constexpr uint32_t kPeerAs = 65002;
const DecodeContext kExternal{true, true, kPeerAs};
const DecodeContext kInternal{true, false, 0};
const DecodeContext kTwoOctetExternal{false, true, kPeerAs};

// ---------------------------------------------------------------------------------------------
// Raw message builders, so malformed inputs can be written down exactly.

Bytes Frame(MessageType type, const Bytes& body) {
  Bytes out(16, 0xff);
  size_t len = kHeaderSize + body.size();
  out.push_back(static_cast<uint8_t>(len >> 8));
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(static_cast<uint8_t>(type));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes Attr(uint8_t flags, uint8_t type, const Bytes& value) {
  Bytes out{flags, type};
  if (flags & attr_flag::kExtendedLength) out.push_back(static_cast<uint8_t>(value.size() >> 8));
  out.push_back(static_cast<uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes RawUpdate(const Bytes& withdrawn, const Bytes& attrs, const Bytes& nlri) {
  Bytes body;
  body.push_back(static_cast<uint8_t>(withdrawn.size() >> 8));
  body.push_back(static_cast<uint8_t>(withdrawn.size()));
  body.insert(body.end(), withdrawn.begin(), withdrawn.end());
  body.push_back(static_cast<uint8_t>(attrs.size() >> 8));
  body.push_back(static_cast<uint8_t>(attrs.size()));
  body.insert(body.end(), attrs.begin(), attrs.end());
  body.insert(body.end(), nlri.begin(), nlri.end());
  return Frame(MessageType::kUpdate, body);
}

constexpr uint8_t kWellKnown = attr_flag::kTransitive;
constexpr uint8_t kOptional = attr_flag::kOptional;
constexpr uint8_t kOptTransitive = attr_flag::kOptional | attr_flag::kTransitive;

const Bytes kOriginIgp = Attr(kWellKnown, attr::kOrigin, {0});
// AS_SEQUENCE [65002] with 4-octet ASNs.
const Bytes kAsPathPeer = Attr(kWellKnown, attr::kAsPath, {2, 1, 0, 0, 0xfd, 0xea});
const Bytes kNextHop = Attr(kWellKnown, attr::kNextHop, {192, 0, 2, 1});
const Bytes kMed = Attr(kOptional, attr::kMultiExitDisc, {0, 0, 0, 50});
const Bytes kNlri = {24, 10, 0, 0};  // 10.0.0.0/24

Bytes ValidAttrsWith(const Bytes& extra) {
  return Cat({kOriginIgp, kAsPathPeer, kNextHop, kMed, extra});
}

DecodeResult Decode(const Bytes& frame, const DecodeContext& context = kExternal) {
  return DecodeMessage(frame, context);
}

// Asserts the outcome of decoding an UPDATE: the action, and for a session reset the
// NOTIFICATION's code and subcode.
void ExpectAction(const Bytes& frame, ErrorAction action, const DecodeContext& context = kExternal,
                  uint8_t code = 0, uint8_t subcode = 0) {
  auto r = Decode(frame, context);
  EXPECT_EQ(r.action, action) << ToString(r.action) << ": " << r.error;
  if (action == ErrorAction::kSessionReset) {
    EXPECT_FALSE(r.message.has_value());
    EXPECT_EQ(r.notification.code, code) << r.error;
    EXPECT_EQ(r.notification.subcode, subcode) << r.error;
  } else {
    EXPECT_TRUE(r.message.has_value());
  }
  if (action != ErrorAction::kNone) {
    EXPECT_FALSE(r.error.empty());
  }
}

// ---------------------------------------------------------------------------------------------
// Round trips.

template <typename T>
T RoundTrip(const T& message, const EncodeContext& encode = {},
            const DecodeContext& decode = kExternal) {
  auto bytes = EncodeMessage(message, encode);
  auto r = DecodeMessage(bytes, decode);
  EXPECT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_TRUE(r.message && std::holds_alternative<T>(*r.message));
  if (!r.message || !std::holds_alternative<T>(*r.message)) return {};
  return std::get<T>(*r.message);
}

TEST(MessageCodec, OpenRoundTripWithCapabilities) {
  OpenMessage open;
  open.asn = 64512;
  open.hold_time = 60;
  open.bgp_identifier = A("192.0.2.1");
  open.multiprotocol = {{kAfiIpv4, kSafiUnicast}};
  open.route_refresh = true;
  open.four_octet_as = true;
  auto decoded = RoundTrip(open);
  open.my_as_field = 64512;
  EXPECT_EQ(decoded, open);
}

TEST(MessageCodec, OpenWithFourOctetAsnCarriesAsTrans) {
  OpenMessage open;
  open.asn = 4200000001u;
  open.hold_time = 3;
  open.bgp_identifier = A("10.0.0.1");
  open.four_octet_as = true;
  auto bytes = EncodeMessage(open);
  EXPECT_EQ(bytes[20] << 8 | bytes[21], kAsTrans);  // My AS
  auto decoded = RoundTrip(open);
  EXPECT_EQ(decoded.asn, 4200000001u);
  EXPECT_EQ(decoded.my_as_field, kAsTrans);
  EXPECT_TRUE(decoded.four_octet_as);
}

TEST(MessageCodec, OpenWithoutCapabilitiesUsesMyAs) {
  OpenMessage open;
  open.asn = 65010;
  open.hold_time = 180;
  open.bgp_identifier = A("10.0.0.2");
  auto bytes = EncodeMessage(open);
  EXPECT_EQ(bytes.size(), 29u);
  auto decoded = RoundTrip(open);
  EXPECT_EQ(decoded.asn, 65010u);
  EXPECT_FALSE(decoded.four_octet_as);
  EXPECT_FALSE(decoded.route_refresh);
  EXPECT_TRUE(decoded.multiprotocol.empty());
}

TEST(MessageCodec, OpenKeepsUnknownCapabilityCodes) {
  // Capabilities: graceful restart (64, len 2) and Cisco route refresh (128).
  Bytes caps = {64, 2, 0, 120, 128, 0};
  Bytes params = Cat({{2, static_cast<uint8_t>(caps.size())}, caps});
  Bytes body =
      Cat({{4, 0xfd, 0xea, 0, 90, 10, 0, 0, 9, static_cast<uint8_t>(params.size())}, params});
  auto r = Decode(Frame(MessageType::kOpen, body));
  ASSERT_TRUE(r.ok()) << r.error;
  const auto& open = std::get<OpenMessage>(*r.message);
  EXPECT_EQ(open.other_capabilities, Bytes{64});
  EXPECT_TRUE(open.route_refresh);
}

TEST(MessageCodec, OpenWithExtendedOptionalParameters) {
  // RFC 9072: 255, 255, 2-octet length, parameters with 2-octet lengths.
  Bytes caps = {65, 4, 0, 0, 0xfd, 0xea};
  Bytes params = Cat({{2, 0, static_cast<uint8_t>(caps.size())}, caps});
  Bytes body =
      Cat({{4, 0xfd, 0xea, 0, 90, 10, 0, 0, 9, 255, 255, 0, static_cast<uint8_t>(params.size())},
           params});
  auto r = Decode(Frame(MessageType::kOpen, body));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(std::get<OpenMessage>(*r.message).four_octet_as);
  EXPECT_EQ(std::get<OpenMessage>(*r.message).asn, 65002u);
}

UpdateMessage SampleUpdate() {
  UpdateMessage u;
  u.withdrawn = {P("10.9.0.0/16"), P("0.0.0.0/0"), P("10.9.9.9/32")};
  u.attributes.origin = Origin::kIncomplete;
  u.attributes.as_path =
      std::vector<AsPathSegment>{{AsPathSegmentType::kAsSequence, {kPeerAs, 4200000000u, 3356}},
                                 {AsPathSegmentType::kAsSet, {100, 200}}};
  u.attributes.next_hop = A("192.0.2.1");
  u.attributes.med = 4242;
  u.attributes.atomic_aggregate = true;
  u.attributes.other = {{kOptTransitive, attr::kCommunities, {0xfd, 0xea, 0, 1}}};
  u.nlri = {P("10.0.0.0/24"), P("10.1.0.0/25"),   P("10.0.0.0/8"),
            P("10.3.4.5/32"), P("172.16.0.0/12"), P("10.128.0.0/9")};
  return u;
}

TEST(MessageCodec, UpdateRoundTrip) {
  auto u = SampleUpdate();
  EXPECT_EQ(RoundTrip(u), u);
}

TEST(MessageCodec, UpdateRoundTripInternalWithLocalPref) {
  auto u = SampleUpdate();
  u.attributes.local_pref = 100;
  u.attributes.as_path = std::vector<AsPathSegment>{};  // locally originated
  EXPECT_EQ(RoundTrip(u, {}, kInternal), u);
}

TEST(MessageCodec, UpdateOnTwoOctetSessionUsesAsTransAndAs4Path) {
  auto u = SampleUpdate();
  auto bytes = EncodeMessage(u, EncodeContext{false});
  // AS_TRANS stands in for 4200000000 in AS_PATH; AS4_PATH carries the real path.
  bool saw_as_trans = false;
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    saw_as_trans |= (bytes[i] << 8 | bytes[i + 1]) == kAsTrans;
  }
  EXPECT_TRUE(saw_as_trans);
  auto r = DecodeMessage(bytes, kTwoOctetExternal);
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).attributes.as_path, u.attributes.as_path);
}

TEST(MessageCodec, UpdateRoundTripMultiprotocol) {
  UpdateMessage u;
  u.attributes.origin = Origin::kIgp;
  u.attributes.as_path = std::vector<AsPathSegment>{{AsPathSegmentType::kAsSequence, {kPeerAs}}};
  u.mp_next_hop = A("192.0.2.7");
  u.mp_reach_nlri = {P("10.5.0.0/16"), P("10.6.0.0/24")};
  u.mp_unreach_nlri = {P("10.7.0.0/16")};
  auto bytes = EncodeMessage(u);
  EXPECT_EQ(bytes[23], kOptional);  // MP attributes first (RFC 7606 §5.1)
  EXPECT_EQ(bytes[24], attr::kMpUnreachNlri);
  EXPECT_EQ(RoundTrip(u), u);
}

TEST(MessageCodec, LongAsPathSplitsIntoSegments) {
  UpdateMessage u = SampleUpdate();
  std::vector<uint32_t> asns{kPeerAs};
  for (uint32_t i = 1; i < 300; ++i) asns.push_back(64512 + i);
  u.attributes.as_path = std::vector<AsPathSegment>{{AsPathSegmentType::kAsSequence, asns}};
  auto decoded = RoundTrip(u);
  ASSERT_TRUE(decoded.attributes.as_path);
  EXPECT_EQ(decoded.attributes.as_path->size(), 2u);  // 255 + 45
  EXPECT_EQ(FlattenAsPath(*decoded.attributes.as_path), asns);
}

TEST(MessageCodec, NotificationKeepaliveRouteRefreshRoundTrip) {
  NotificationMessage n{static_cast<uint8_t>(ErrorCode::kCease),
                        cease::kMaximumPrefixesReached,
                        {0, 1, 1, 0, 0, 3, 0xe8}};
  EXPECT_EQ(RoundTrip(n), n);
  EXPECT_EQ(EncodeMessage(KeepaliveMessage{}).size(), kHeaderSize);
  RoundTrip(KeepaliveMessage{});
  RouteRefreshMessage rr;
  EXPECT_EQ(EncodeMessage(rr).size(), 23u);
  EXPECT_EQ(RoundTrip(rr), rr);
}

TEST(MessageCodec, AnnouncementsAndWithdrawalsPackIntoValidMessages) {
  std::vector<Prefix> prefixes;
  for (uint32_t i = 0; i < 10000; ++i) prefixes.push_back(Prefix{(10u << 24) | (i << 8), 24});
  PathAttributes attrs;
  attrs.origin = Origin::kIncomplete;
  attrs.as_path = std::vector<AsPathSegment>{{AsPathSegmentType::kAsSequence, {kPeerAs}}};
  attrs.next_hop = A("192.0.2.1");
  attrs.med = 100;
  auto announcements = EncodeAnnouncements(attrs, prefixes);
  auto withdrawals = EncodeWithdrawals(prefixes);
  // 4 octets per /24: about 1,000 per message.
  EXPECT_LE(announcements.size(), 11u);
  EXPECT_LE(withdrawals.size(), 11u);
  std::vector<Prefix> announced, withdrawn;
  for (const auto& m : announcements) {
    ASSERT_LE(m.size(), kMaxMessageSize);
    auto r = Decode(m);
    ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
    const auto& u = std::get<UpdateMessage>(*r.message);
    EXPECT_EQ(u.attributes, attrs);
    announced.insert(announced.end(), u.nlri.begin(), u.nlri.end());
  }
  for (const auto& m : withdrawals) {
    ASSERT_LE(m.size(), kMaxMessageSize);
    auto r = Decode(m);
    ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
    const auto& u = std::get<UpdateMessage>(*r.message);
    withdrawn.insert(withdrawn.end(), u.withdrawn.begin(), u.withdrawn.end());
  }
  EXPECT_EQ(announced, prefixes);
  EXPECT_EQ(withdrawn, prefixes);
  EXPECT_TRUE(EncodeAnnouncements(attrs, {}).empty());
}

// The decoder's share of learning 100,000 prefixes (figure in bgp/README.md, "Costs").
TEST(MessageCodec, DecodeCostOf100kPrefixes) {
  std::vector<Prefix> prefixes;
  for (uint32_t i = 0; i < 100000; ++i) prefixes.push_back(Prefix{(10u << 24) + (i << 8), 24});
  PathAttributes attrs;
  attrs.origin = Origin::kIgp;
  attrs.as_path = std::vector<AsPathSegment>{{AsPathSegmentType::kAsSequence, {kPeerAs, 3356}}};
  attrs.next_hop = A("192.0.2.1");
  attrs.med = 100;
  auto messages = EncodeAnnouncements(attrs, prefixes);
  size_t decoded = 0;
  auto start = std::chrono::steady_clock::now();
  for (const auto& m : messages) {
    auto r = DecodeMessage(m, kExternal);
    decoded += std::get<UpdateMessage>(*r.message).nlri.size();
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("decoded %zu prefixes in %zu UPDATEs in %.2f ms\n", decoded, messages.size(), ms);
  EXPECT_EQ(decoded, prefixes.size());
  EXPECT_LT(ms, 1000.0);
}

TEST(MessageCodec, TrailingPrefixBitsAreCleared) {
  auto r = Decode(RawUpdate({}, ValidAttrsWith({}), {20, 10, 1, 0xff}));  // 10.1.255/20
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).nlri, std::vector<Prefix>{P("10.1.240.0/20")});
}

TEST(MessageCodec, DescribesNotifications) {
  EXPECT_EQ(DescribeNotification({6, 2, {}}), "cease/administrative shutdown");
  EXPECT_EQ(DescribeNotification({4, 0, {}}), "hold timer expired");
  EXPECT_EQ(DescribeNotification({3, 11, {}}), "UPDATE message error/malformed AS_PATH");
  EXPECT_EQ(DescribeNotification({6, 99, {}}), "cease/subcode 99");
  EXPECT_EQ(DescribeNotification({42, 1, {}}), "error code 42/subcode 1");
}

// ---------------------------------------------------------------------------------------------
// Message header errors (RFC 4271 §6.1).

TEST(MessageHeader, NeedsNineteenOctetsToFrame) {
  auto keepalive = EncodeMessage(KeepaliveMessage{});
  EXPECT_EQ(CheckFrame(std::span(keepalive).first(18)).length, 0u);
  EXPECT_FALSE(CheckFrame(std::span(keepalive).first(18)).error);
  EXPECT_EQ(CheckFrame(keepalive).length, 19u);
}

TEST(MessageHeader, BadMarker) {
  auto frame = EncodeMessage(KeepaliveMessage{});
  frame[3] = 0;
  auto r = Decode(frame);
  EXPECT_EQ(r.action, ErrorAction::kSessionReset);
  EXPECT_EQ(r.notification.code, 1);
  EXPECT_EQ(r.notification.subcode, header_error::kConnectionNotSynchronized);
}

TEST(MessageHeader, BadLengths) {
  auto frame = EncodeMessage(KeepaliveMessage{});
  for (uint16_t bad : {0, 18, 4097, 65535}) {
    frame[16] = static_cast<uint8_t>(bad >> 8);
    frame[17] = static_cast<uint8_t>(bad);
    auto r = Decode(frame);
    EXPECT_EQ(r.notification.code, 1) << bad;
    EXPECT_EQ(r.notification.subcode, header_error::kBadMessageLength) << bad;
    EXPECT_EQ(r.notification.data, (Bytes{uint8_t(bad >> 8), uint8_t(bad)}));
  }
  // A KEEPALIVE must be exactly 19 octets, a ROUTE-REFRESH 23, an OPEN at least 29.
  auto long_keepalive = Frame(MessageType::kKeepalive, {0});
  EXPECT_EQ(Decode(long_keepalive).notification.subcode, header_error::kBadMessageLength);
  EXPECT_EQ(Decode(Frame(MessageType::kRouteRefresh, {0, 1, 0})).notification.subcode,
            header_error::kBadMessageLength);
  EXPECT_EQ(Decode(Frame(MessageType::kOpen, {4, 0, 1})).notification.subcode,
            header_error::kBadMessageLength);
  EXPECT_EQ(Decode(Frame(MessageType::kUpdate, {0, 0})).notification.subcode,
            header_error::kBadMessageLength);
}

TEST(MessageHeader, BadType) {
  auto r = Decode(Frame(static_cast<MessageType>(6), {}));
  EXPECT_EQ(r.notification.code, 1);
  EXPECT_EQ(r.notification.subcode, header_error::kBadMessageType);
  EXPECT_EQ(r.notification.data, Bytes{6});
}

TEST(MessageHeader, FrameShorterThanItsLength) {
  auto frame = EncodeMessage(NotificationMessage{6, 2, {}});
  frame.pop_back();
  auto r = Decode(frame);
  EXPECT_EQ(r.action, ErrorAction::kSessionReset);
  EXPECT_EQ(r.notification.subcode, header_error::kBadMessageLength);
}

// ---------------------------------------------------------------------------------------------
// OPEN errors (RFC 4271 §6.2).

Bytes OpenBody(uint8_t version, const Bytes& params) {
  return Cat(
      {{version, 0xfd, 0xea, 0, 90, 10, 0, 0, 9, static_cast<uint8_t>(params.size())}, params});
}

TEST(OpenErrors, UnsupportedVersion) {
  auto r = Decode(Frame(MessageType::kOpen, OpenBody(3, {})));
  EXPECT_EQ(r.notification.code, 2);
  EXPECT_EQ(r.notification.subcode, open_error::kUnsupportedVersionNumber);
  EXPECT_EQ(r.notification.data, (Bytes{0, 4}));
}

TEST(OpenErrors, ParameterLengthMismatch) {
  Bytes body = OpenBody(4, {2, 2, 2, 0});
  body[9] = 6;  // claims more than there is
  auto r = Decode(Frame(MessageType::kOpen, body));
  EXPECT_EQ(r.notification.code, 2);
  EXPECT_EQ(r.notification.subcode, open_error::kUnspecific);
}

TEST(OpenErrors, UnsupportedOptionalParameter) {
  auto r = Decode(Frame(MessageType::kOpen, OpenBody(4, {1, 1, 0})));  // Authentication
  EXPECT_EQ(r.notification.subcode, open_error::kUnsupportedOptionalParameter);
}

TEST(OpenErrors, MalformedCapabilities) {
  // Capability overruns its parameter.
  EXPECT_EQ(Decode(Frame(MessageType::kOpen, OpenBody(4, {2, 2, 65, 4}))).notification.subcode,
            open_error::kUnspecific);
  // Multiprotocol capability of length 3.
  auto r = Decode(Frame(MessageType::kOpen, OpenBody(4, {2, 5, 1, 3, 0, 1, 0})));
  EXPECT_EQ(r.notification.code, 2);
  EXPECT_EQ(r.notification.subcode, open_error::kUnspecific);
  // 4-octet AS capability of length 2.
  r = Decode(Frame(MessageType::kOpen, OpenBody(4, {2, 4, 65, 2, 0, 1})));
  EXPECT_EQ(r.notification.subcode, open_error::kUnspecific);
  // Parameter header cut short.
  r = Decode(Frame(MessageType::kOpen, OpenBody(4, {2})));
  EXPECT_EQ(r.notification.subcode, open_error::kUnspecific);
}

// ---------------------------------------------------------------------------------------------
// UPDATE errors: RFC 4271 §6.3 as revised by RFC 7606.

TEST(UpdateErrors, ValidUpdateHasNoError) {
  auto r = Decode(RawUpdate({}, ValidAttrsWith({}), kNlri));
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  const auto& u = std::get<UpdateMessage>(*r.message);
  EXPECT_EQ(u.nlri, std::vector<Prefix>{P("10.0.0.0/24")});
  EXPECT_EQ(u.attributes.med, 50u);
  EXPECT_EQ(u.attributes.next_hop, A("192.0.2.1"));
}

TEST(UpdateErrors, WithdrawnRoutesLengthTooLargeResets) {  // RFC 7606 §4
  Bytes body = {0, 50, 24, 10, 0, 0, 0, 0};
  ExpectAction(Frame(MessageType::kUpdate, body), ErrorAction::kSessionReset, kExternal, 3,
               update_error::kMalformedAttributeList);
}

TEST(UpdateErrors, TotalAttributeLengthTooLargeResets) {  // RFC 7606 §4
  Bytes body = {0, 0, 0, 200, 0x40, 1, 1, 0};
  ExpectAction(Frame(MessageType::kUpdate, body), ErrorAction::kSessionReset, kExternal, 3,
               update_error::kMalformedAttributeList);
}

TEST(UpdateErrors, NlriSyntaxErrorsReset) {  // RFC 7606 §5.3
  ExpectAction(RawUpdate({}, ValidAttrsWith({}), {33, 10, 0, 0, 0, 0}), ErrorAction::kSessionReset,
               kExternal, 3, update_error::kInvalidNetworkField);
  ExpectAction(RawUpdate({}, ValidAttrsWith({}), {24, 10, 0}), ErrorAction::kSessionReset,
               kExternal, 3, update_error::kInvalidNetworkField);
  // Withdrawn Routes are checked the same way (RFC 7606 §3 h).
  ExpectAction(RawUpdate({40, 10, 0, 0, 0, 0}, {}, {}), ErrorAction::kSessionReset, kExternal, 3,
               update_error::kInvalidNetworkField);
  ExpectAction(RawUpdate({16, 10}, {}, {}), ErrorAction::kSessionReset, kExternal, 3,
               update_error::kInvalidNetworkField);
}

TEST(UpdateErrors, AttributeOverrunningTheListIsTreatAsWithdraw) {  // RFC 7606 §4
  Bytes attrs = Cat({kOriginIgp, kAsPathPeer, {0x40, 3, 9, 192, 0, 2}});
  auto r = Decode(RawUpdate({}, attrs, kNlri));
  EXPECT_EQ(r.action, ErrorAction::kTreatAsWithdraw) << r.error;
  // The Total Attribute Length still locates the NLRI, which is what gets withdrawn.
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).nlri, std::vector<Prefix>{P("10.0.0.0/24")});
  // Fewer than three octets left for an attribute header.
  ExpectAction(RawUpdate({}, Cat({ValidAttrsWith({}), {0x40, 1}}), kNlri),
               ErrorAction::kTreatAsWithdraw);
  // Extended length flag with only three octets left.
  ExpectAction(RawUpdate({}, Cat({ValidAttrsWith({}), {0x50, 8, 0}}), kNlri),
               ErrorAction::kTreatAsWithdraw);
}

TEST(UpdateErrors, OriginMalformedIsTreatAsWithdraw) {  // RFC 7606 §7.1
  auto attrs = [](const Bytes& origin) { return Cat({origin, kAsPathPeer, kNextHop}); };
  ExpectAction(RawUpdate({}, attrs(Attr(kWellKnown, attr::kOrigin, {0, 0})), kNlri),
               ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({}, attrs(Attr(kWellKnown, attr::kOrigin, {3})), kNlri),
               ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({}, attrs(Attr(kWellKnown, attr::kOrigin, {})), kNlri),
               ErrorAction::kTreatAsWithdraw);
}

TEST(UpdateErrors, AsPathMalformedIsTreatAsWithdraw) {  // RFC 7606 §7.2
  auto with_path = [](const Bytes& value) {
    return RawUpdate({}, Cat({kOriginIgp, Attr(kWellKnown, attr::kAsPath, value), kNextHop}),
                     kNlri);
  };
  ExpectAction(with_path({5, 1, 0, 0, 0xfd, 0xea}), ErrorAction::kTreatAsWithdraw);  // type 5
  ExpectAction(with_path({2, 0}), ErrorAction::kTreatAsWithdraw);                    // zero length
  ExpectAction(with_path({2, 2, 0, 0, 0xfd, 0xea}), ErrorAction::kTreatAsWithdraw);  // overrun
  ExpectAction(with_path({2, 1, 0, 0, 0xfd, 0xea, 2}),
               ErrorAction::kTreatAsWithdraw);  // lone trailing octet
  ExpectAction(with_path({2, 1, 0, 0, 0xfd, 0xea}), ErrorAction::kNone);
}

TEST(UpdateErrors, AsPathRulesForExternalPeers) {
  auto with_path = [](const Bytes& value) {
    return RawUpdate({}, Cat({kOriginIgp, Attr(kWellKnown, attr::kAsPath, value), kNextHop}),
                     kNlri);
  };
  // Leftmost AS is not the peer's (RFC 4271 §6.3), an empty path, a confederation segment.
  ExpectAction(with_path({2, 1, 0, 0, 0xfd, 0xeb}), ErrorAction::kTreatAsWithdraw);
  ExpectAction(with_path({}), ErrorAction::kTreatAsWithdraw);
  ExpectAction(with_path({2, 1, 0, 0, 0xfd, 0xea, 3, 1, 0, 0, 0, 1}),
               ErrorAction::kTreatAsWithdraw);
  ExpectAction(with_path({1, 1, 0, 0, 0xfd, 0xea}), ErrorAction::kTreatAsWithdraw);  // set first
  // From an internal peer an empty path is fine.
  ExpectAction(with_path({}), ErrorAction::kNone, kInternal);
}

TEST(UpdateErrors, NextHopMedLengthsAreTreatAsWithdraw) {  // RFC 7606 §7.3, §7.4
  ExpectAction(
      RawUpdate({},
                Cat({kOriginIgp, kAsPathPeer, Attr(kWellKnown, attr::kNextHop, {192, 0, 2, 1, 0})}),
                kNlri),
      ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({},
                         Cat({kOriginIgp, kAsPathPeer, kNextHop,
                              Attr(kOptional, attr::kMultiExitDisc, {0, 0, 1})}),
                         kNlri),
               ErrorAction::kTreatAsWithdraw);
}

TEST(UpdateErrors, LocalPref) {  // RFC 7606 §7.5
  Bytes local_pref = Attr(kWellKnown, attr::kLocalPref, {0, 0, 0, 100});
  auto r = Decode(RawUpdate({}, ValidAttrsWith(local_pref), kNlri));
  EXPECT_EQ(r.action, ErrorAction::kAttributeDiscard);  // from an external peer
  EXPECT_FALSE(std::get<UpdateMessage>(*r.message).attributes.local_pref);
  r = Decode(
      RawUpdate({}, Cat({kOriginIgp, Attr(kWellKnown, attr::kAsPath, {}), kNextHop, local_pref}),
                kNlri),
      kInternal);
  EXPECT_EQ(r.action, ErrorAction::kNone);
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).attributes.local_pref, 100u);
  ExpectAction(RawUpdate({},
                         Cat({kOriginIgp, Attr(kWellKnown, attr::kAsPath, {}), kNextHop,
                              Attr(kWellKnown, attr::kLocalPref, {0, 100})}),
                         kNlri),
               ErrorAction::kTreatAsWithdraw, kInternal);
}

TEST(UpdateErrors, AtomicAggregateAndAggregatorAreDiscarded) {  // RFC 7606 §7.6, §7.7
  auto r =
      Decode(RawUpdate({}, ValidAttrsWith(Attr(kWellKnown, attr::kAtomicAggregate, {1})), kNlri));
  EXPECT_EQ(r.action, ErrorAction::kAttributeDiscard);
  EXPECT_FALSE(std::get<UpdateMessage>(*r.message).attributes.atomic_aggregate);
  // AGGREGATOR: 8 octets between 4-octet speakers, 6 otherwise.
  ExpectAction(
      RawUpdate({}, ValidAttrsWith(Attr(kOptTransitive, attr::kAggregator, Bytes(7))), kNlri),
      ErrorAction::kAttributeDiscard);
  ExpectAction(
      RawUpdate({}, ValidAttrsWith(Attr(kOptTransitive, attr::kAggregator, Bytes(6))), kNlri),
      ErrorAction::kAttributeDiscard);
  ExpectAction(
      RawUpdate({}, ValidAttrsWith(Attr(kOptTransitive, attr::kAggregator, Bytes(8))), kNlri),
      ErrorAction::kNone);
}

TEST(UpdateErrors, CommunityLengthsAreTreatAsWithdraw) {  // RFC 7606 §7.8, §7.14, RFC 8092
  for (auto [type, bad] : {std::pair{attr::kCommunities, 5},
                           {attr::kCommunities, 0},
                           {attr::kExtendedCommunities, 7},
                           {attr::kLargeCommunities, 11},
                           {attr::kIpv6ExtendedCommunities, 19}}) {
    SCOPED_TRACE(int(type));
    ExpectAction(RawUpdate({}, ValidAttrsWith(Attr(kOptTransitive, type, Bytes(bad))), kNlri),
                 ErrorAction::kTreatAsWithdraw);
  }
  ExpectAction(
      RawUpdate({}, ValidAttrsWith(Attr(kOptTransitive, attr::kCommunities, Bytes(8))), kNlri),
      ErrorAction::kNone);
}

TEST(UpdateErrors, ReflectorAttributes) {  // RFC 7606 §7.9, §7.10
  ExpectAction(RawUpdate({}, ValidAttrsWith(Attr(kOptional, attr::kOriginatorId, Bytes(4))), kNlri),
               ErrorAction::kAttributeDiscard);  // external peer
  Bytes internal_base = Cat({kOriginIgp, Attr(kWellKnown, attr::kAsPath, {}), kNextHop});
  ExpectAction(
      RawUpdate({}, Cat({internal_base, Attr(kOptional, attr::kOriginatorId, Bytes(3))}), kNlri),
      ErrorAction::kTreatAsWithdraw, kInternal);
  ExpectAction(
      RawUpdate({}, Cat({internal_base, Attr(kOptional, attr::kClusterList, Bytes(6))}), kNlri),
      ErrorAction::kTreatAsWithdraw, kInternal);
  ExpectAction(
      RawUpdate({}, Cat({internal_base, Attr(kOptional, attr::kClusterList, Bytes(8))}), kNlri),
      ErrorAction::kNone, kInternal);
}

TEST(UpdateErrors, MpReachAndUnreach) {  // RFC 7606 §7.11, §7.12, §3 g
  Bytes mp_reach = Attr(kOptional, attr::kMpReachNlri, {0, 1, 1, 4, 192, 0, 2, 9, 0, 16, 10, 5});
  Bytes base = Cat({kOriginIgp, kAsPathPeer});
  // MP_REACH alone needs no NEXT_HOP attribute (RFC 4760).
  auto r = Decode(RawUpdate({}, Cat({mp_reach, base}), {}));
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).mp_reach_nlri,
            std::vector<Prefix>{P("10.5.0.0/16")});
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).mp_next_hop, A("192.0.2.9"));
  // Twice: session reset with Malformed Attribute List.
  ExpectAction(RawUpdate({}, Cat({mp_reach, base, mp_reach}), {}), ErrorAction::kSessionReset,
               kExternal, 3, update_error::kMalformedAttributeList);
  // Next hop length 16 for IPv4 unicast; NLRI that does not parse; too short.
  ExpectAction(
      RawUpdate(
          {},
          Cat({Attr(kOptional, attr::kMpReachNlri, Cat({{0, 1, 1, 16}, Bytes(16), {0, 16, 10, 5}})),
               base}),
          {}),
      ErrorAction::kSessionReset, kExternal, 3, update_error::kOptionalAttributeError);
  ExpectAction(
      RawUpdate({},
                Cat({Attr(kOptional, attr::kMpReachNlri, {0, 1, 1, 4, 192, 0, 2, 9, 0, 33, 10, 5}),
                     base}),
                {}),
      ErrorAction::kSessionReset, kExternal, 3, update_error::kOptionalAttributeError);
  ExpectAction(RawUpdate({}, Cat({Attr(kOptional, attr::kMpReachNlri, {0, 1}), base}), {}),
               ErrorAction::kSessionReset, kExternal, 3, update_error::kOptionalAttributeError);
  ExpectAction(RawUpdate({}, Attr(kOptional, attr::kMpUnreachNlri, {0, 1, 1, 24, 10}), {}),
               ErrorAction::kSessionReset, kExternal, 3, update_error::kOptionalAttributeError);
  // A family we never negotiated is skipped.
  ExpectAction(
      RawUpdate(
          {}, Attr(kOptional, attr::kMpUnreachNlri, {0, 2, 1, 64, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0}),
          {}),
      ErrorAction::kAttributeDiscard);
  // Unreach alone is a withdrawal and needs no other attribute.
  r = Decode(RawUpdate({}, Attr(kOptional, attr::kMpUnreachNlri, {0, 1, 1, 16, 10, 5}), {}));
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).mp_unreach_nlri,
            std::vector<Prefix>{P("10.5.0.0/16")});
}

TEST(UpdateErrors, RepeatedAttributeKeepsTheFirst) {  // RFC 7606 §3 g
  auto r = Decode(
      RawUpdate({}, ValidAttrsWith(Attr(kOptional, attr::kMultiExitDisc, {0, 0, 0, 7})), kNlri));
  EXPECT_EQ(r.action, ErrorAction::kAttributeDiscard);
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).attributes.med, 50u);
}

TEST(UpdateErrors, MissingWellKnownAttributesAreTreatAsWithdraw) {  // RFC 7606 §3 d
  ExpectAction(RawUpdate({}, Cat({kAsPathPeer, kNextHop}), kNlri), ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({}, Cat({kOriginIgp, kNextHop}), kNlri), ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({}, Cat({kOriginIgp, kAsPathPeer}), kNlri), ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({}, {}, kNlri), ErrorAction::kTreatAsWithdraw);
  // Withdrawals alone need no attributes; neither does End-of-RIB (an empty UPDATE).
  ExpectAction(RawUpdate({24, 10, 0, 0}, {}, {}), ErrorAction::kNone);
  ExpectAction(RawUpdate({}, {}, {}), ErrorAction::kNone);
}

TEST(UpdateErrors, ConflictingFlagsMakeTheAttributeMalformed) {  // RFC 7606 §3 c
  ExpectAction(
      RawUpdate({}, Cat({Attr(kOptTransitive, attr::kOrigin, {0}), kAsPathPeer, kNextHop}), kNlri),
      ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({},
                         Cat({kOriginIgp, kAsPathPeer, kNextHop,
                              Attr(kWellKnown, attr::kMultiExitDisc, {0, 0, 0, 1})}),
                         kNlri),
               ErrorAction::kTreatAsWithdraw);
  ExpectAction(RawUpdate({}, ValidAttrsWith(Attr(kOptional, attr::kAtomicAggregate, {})), kNlri),
               ErrorAction::kAttributeDiscard);
  // The Extended Length bit may be set on short attributes, and Partial is not checked.
  ExpectAction(RawUpdate({},
                         Cat({Attr(kWellKnown | attr_flag::kExtendedLength, attr::kOrigin, {0}),
                              kAsPathPeer, kNextHop}),
                         kNlri),
               ErrorAction::kNone);
}

TEST(UpdateErrors, UnrecognizedAttributes) {
  // Well-known (optional bit clear): NOTIFICATION with the attribute as data (RFC 4271 §6.3).
  Bytes unknown_well_known = Attr(kWellKnown, 99, {1, 2});
  auto r = Decode(RawUpdate({}, ValidAttrsWith(unknown_well_known), kNlri));
  EXPECT_EQ(r.action, ErrorAction::kSessionReset);
  EXPECT_EQ(r.notification.subcode, update_error::kUnrecognizedWellKnownAttribute);
  EXPECT_EQ(r.notification.data, unknown_well_known);
  // Optional transitive: kept for passing on; optional non-transitive: ignored.
  r = Decode(RawUpdate(
      {}, ValidAttrsWith(Cat({Attr(kOptTransitive, 99, {1, 2}), Attr(kOptional, 98, {3})})),
      kNlri));
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_EQ(std::get<UpdateMessage>(*r.message).attributes.other,
            (std::vector<RawAttribute>{{kOptTransitive, 99, {1, 2}}}));
}

TEST(UpdateErrors, StrongestActionWins) {  // RFC 7606 §3 g
  auto r = Decode(RawUpdate(
      {},
      Cat({kOriginIgp, kAsPathPeer, kNextHop, Attr(kWellKnown, attr::kAtomicAggregate, {1}),
           Attr(kOptional, attr::kMultiExitDisc, {1})}),
      kNlri));
  EXPECT_EQ(r.action, ErrorAction::kTreatAsWithdraw);
  EXPECT_NE(r.error.find("ATOMIC_AGGREGATE"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("MULTI_EXIT_DISC"), std::string::npos) << r.error;
  // A session-reset error beats both.
  ExpectAction(
      RawUpdate({}, Cat({Attr(kOptional, attr::kMultiExitDisc, {1}), Attr(kWellKnown, 99, {})}),
                kNlri),
      ErrorAction::kSessionReset, kExternal, 3, update_error::kUnrecognizedWellKnownAttribute);
}

TEST(UpdateErrors, As4Path) {  // RFC 6793 §6
  // Between 4-octet speakers AS4_PATH is discarded.
  Bytes as4 = Attr(kOptTransitive, attr::kAs4Path, {2, 1, 0xfa, 0x56, 0xea, 0x01});
  ExpectAction(RawUpdate({}, ValidAttrsWith(as4), kNlri), ErrorAction::kAttributeDiscard);
  // On a 2-octet session: AS_PATH [65002, 23456] + AS4_PATH [4200000001] merge.
  Bytes two_octet_path = Attr(kWellKnown, attr::kAsPath, {2, 2, 0xfd, 0xea, 0x5b, 0xa0});
  auto r = Decode(RawUpdate({}, Cat({kOriginIgp, two_octet_path, kNextHop, as4}), kNlri),
                  kTwoOctetExternal);
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_EQ(FlattenAsPath(*std::get<UpdateMessage>(*r.message).attributes.as_path),
            (std::vector<uint32_t>{65002, 4200000001u}));
  // Malformed AS4_PATH (zero-length segment): discarded, AS_PATH used as is.
  r = Decode(RawUpdate({},
                       Cat({kOriginIgp, two_octet_path, kNextHop,
                            Attr(kOptTransitive, attr::kAs4Path, {2, 0, 0, 0, 0, 0})}),
                       kNlri),
             kTwoOctetExternal);
  EXPECT_EQ(r.action, ErrorAction::kAttributeDiscard);
  EXPECT_EQ(FlattenAsPath(*std::get<UpdateMessage>(*r.message).attributes.as_path),
            (std::vector<uint32_t>{65002, kAsTrans}));
  // AS4_PATH longer than AS_PATH: ignored (RFC 6793 §4.2.3).
  r = Decode(
      RawUpdate({},
                Cat({kOriginIgp, Attr(kWellKnown, attr::kAsPath, {2, 1, 0xfd, 0xea}), kNextHop,
                     Attr(kOptTransitive, attr::kAs4Path,
                          {2, 2, 0, 0, 0xfd, 0xea, 0xfa, 0x56, 0xea, 0x01})}),
                kNlri),
      kTwoOctetExternal);
  ASSERT_EQ(r.action, ErrorAction::kNone) << r.error;
  EXPECT_EQ(FlattenAsPath(*std::get<UpdateMessage>(*r.message).attributes.as_path),
            (std::vector<uint32_t>{65002}));
}

// ---------------------------------------------------------------------------------------------
// Hostile input: truncations and random corruption of valid messages never crash (run under
// ASan/UBSan by the fuzz target; here they must at least return an answer).

TEST(HostileInput, TruncationsAndCorruptionsAlwaysAnswer) {
  std::vector<Bytes> seeds = {
      EncodeMessage(SampleUpdate()),
      RawUpdate({},
                Cat({Attr(kOptional, attr::kMpReachNlri, {0, 1, 1, 4, 192, 0, 2, 9, 0, 16, 10, 5}),
                     kOriginIgp, kAsPathPeer}),
                {}),
      EncodeMessage(OpenMessage{4, 4200000001u, 0, 90, 1, {{1, 1}}, true, true, {}}),
      EncodeMessage(NotificationMessage{6, 2, {3, 'b', 'y', 'e'}}),
      EncodeMessage(RouteRefreshMessage{}),
  };
  std::mt19937 rng(7606);
  size_t answered = 0;
  for (const auto& seed : seeds) {
    for (size_t len = 0; len <= seed.size(); ++len) {
      Bytes cut(seed.begin(), seed.begin() + len);
      auto r = DecodeMessage(cut, kExternal);
      answered += r.message.has_value() != (r.action == ErrorAction::kSessionReset);
    }
    for (int i = 0; i < 4000; ++i) {
      Bytes mutated = seed;
      int flips = 1 + rng() % 4;
      for (int f = 0; f < flips; ++f) {
        size_t at = kHeaderSize + rng() % (mutated.size() - kHeaderSize);
        mutated[at] = static_cast<uint8_t>(rng());
      }
      for (const auto& context : {kExternal, kInternal, kTwoOctetExternal}) {
        auto r = DecodeMessage(mutated, context);
        answered += r.message.has_value() != (r.action == ErrorAction::kSessionReset);
      }
    }
  }
  size_t attempts = 0;
  for (const auto& seed : seeds) attempts += seed.size() + 1 + 4000 * 3;
  EXPECT_EQ(answered, attempts);
}

// The fuzzer's seed corpus (bgp/fuzz_corpus): every file is a stream of valid messages.
TEST(HostileInput, FuzzSeedCorpusIsValid) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SVPC_BGP_FUZZ_CORPUS)) {
    SCOPED_TRACE(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    Bytes stream{std::istreambuf_iterator<char>(in), {}};
    std::string name = entry.path().filename().string();
    DecodeContext context = name.find("ibgp") != std::string::npos     ? kInternal
                            : name.find("2octet") != std::string::npos ? kTwoOctetExternal
                                                                       : kExternal;
    std::span<const uint8_t> rest(stream);
    size_t messages = 0;
    while (!rest.empty()) {
      auto check = CheckFrame(rest);
      ASSERT_FALSE(check.error);
      ASSERT_GT(check.length, 0u);
      ASSERT_LE(check.length, rest.size());
      auto r = DecodeMessage(rest.first(check.length), context);
      EXPECT_EQ(r.action, ErrorAction::kNone) << r.error;
      rest = rest.subspan(check.length);
      ++messages;
    }
    EXPECT_GT(messages, 0u);
    ++files;
  }
  EXPECT_GE(files, 10u);
}

}  // namespace
}  // namespace svpc::bgp
