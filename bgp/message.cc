#include "bgp/message.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <exception>
#include <string_view>

namespace svpc::bgp {
namespace {

// ---------------------------------------------------------------------------------------------
// Byte helpers. Every read goes through a bounds check by the caller (Reader::Has / sizes).

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
void Put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
std::vector<uint8_t> Bytes16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), uint8_t(v)}; }

// A cursor over untrusted bytes.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  bool Has(size_t n) const { return remaining() >= n; }
  uint8_t U8() { return data_[pos_++]; }
  uint16_t U16() {
    uint16_t v = Load16(&data_[pos_]);
    pos_ += 2;
    return v;
  }
  uint32_t U32() {
    uint32_t v = Load32(&data_[pos_]);
    pos_ += 4;
    return v;
  }
  std::span<const uint8_t> Take(size_t n) {
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::span<const uint8_t> Rest() { return Take(remaining()); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

DecodeResult SessionReset(ErrorCode code, uint8_t subcode, std::vector<uint8_t> data,
                          std::string error) {
  DecodeResult r;
  r.action = ErrorAction::kSessionReset;
  r.notification = {static_cast<uint8_t>(code), subcode, std::move(data)};
  r.error = std::move(error);
  return r;
}

// Parses a run of <length, prefix> NLRI entries (RFC 4271 §4.3). False if a length exceeds 32
// or the field ends inside a prefix (RFC 7606 §5.3). Trailing bits past the length are
// irrelevant (RFC 4271) and cleared.
bool ParsePrefixes(std::span<const uint8_t> field, std::vector<Prefix>& out, std::string& error) {
  size_t i = 0;
  while (i < field.size()) {
    uint8_t len = field[i++];
    if (len > 32) {
      error = "prefix length " + std::to_string(len) + " exceeds 32";
      return false;
    }
    size_t bytes = (len + 7u) / 8u;
    if (bytes > field.size() - i) {
      error = "prefix /" + std::to_string(len) + " runs past the end of its field";
      return false;
    }
    uint32_t addr = 0;
    for (size_t b = 0; b < bytes; ++b) addr |= uint32_t{field[i + b]} << (24 - 8 * b);
    i += bytes;
    out.push_back(Prefix{addr & Prefix::MaskOf(len), len});
  }
  return true;
}

void PutPrefix(std::vector<uint8_t>& out, const Prefix& p) {
  out.push_back(p.len);
  size_t bytes = (p.len + 7u) / 8u;
  for (size_t b = 0; b < bytes; ++b) out.push_back(static_cast<uint8_t>(p.addr >> (24 - 8 * b)));
}
size_t PrefixWireSize(const Prefix& p) { return 1 + (p.len + 7u) / 8u; }

std::string AttrName(uint8_t type) {
  switch (type) {
    case attr::kOrigin:
      return "ORIGIN";
    case attr::kAsPath:
      return "AS_PATH";
    case attr::kNextHop:
      return "NEXT_HOP";
    case attr::kMultiExitDisc:
      return "MULTI_EXIT_DISC";
    case attr::kLocalPref:
      return "LOCAL_PREF";
    case attr::kAtomicAggregate:
      return "ATOMIC_AGGREGATE";
    case attr::kAggregator:
      return "AGGREGATOR";
    case attr::kCommunities:
      return "COMMUNITIES";
    case attr::kOriginatorId:
      return "ORIGINATOR_ID";
    case attr::kClusterList:
      return "CLUSTER_LIST";
    case attr::kMpReachNlri:
      return "MP_REACH_NLRI";
    case attr::kMpUnreachNlri:
      return "MP_UNREACH_NLRI";
    case attr::kExtendedCommunities:
      return "EXTENDED_COMMUNITIES";
    case attr::kAs4Path:
      return "AS4_PATH";
    case attr::kAs4Aggregator:
      return "AS4_AGGREGATOR";
    case attr::kIpv6ExtendedCommunities:
      return "IPV6_EXTENDED_COMMUNITIES";
    case attr::kLargeCommunities:
      return "LARGE_COMMUNITIES";
    default:
      return "attribute " + std::to_string(type);
  }
}

// The Optional and Transitive bits a recognized attribute must carry; nullopt if unrecognized.
std::optional<uint8_t> ExpectedFlags(uint8_t type) {
  constexpr uint8_t kWellKnown = attr_flag::kTransitive;
  constexpr uint8_t kOptNonTransitive = attr_flag::kOptional;
  constexpr uint8_t kOptTransitive = attr_flag::kOptional | attr_flag::kTransitive;
  switch (type) {
    case attr::kOrigin:
    case attr::kAsPath:
    case attr::kNextHop:
    case attr::kLocalPref:
    case attr::kAtomicAggregate:
      return kWellKnown;
    case attr::kMultiExitDisc:
    case attr::kOriginatorId:
    case attr::kClusterList:
    case attr::kMpReachNlri:
    case attr::kMpUnreachNlri:
      return kOptNonTransitive;
    case attr::kAggregator:
    case attr::kCommunities:
    case attr::kExtendedCommunities:
    case attr::kAs4Path:
    case attr::kAs4Aggregator:
    case attr::kIpv6ExtendedCommunities:
    case attr::kLargeCommunities:
      return kOptTransitive;
    default:
      return std::nullopt;
  }
}

// AS_PATH / AS4_PATH segments (RFC 4271 §4.3, RFC 7606 §7.2): malformed on an unknown segment
// type, a zero segment length, an overrun, or a lone trailing octet.
std::optional<std::vector<AsPathSegment>> ParseAsPath(std::span<const uint8_t> value,
                                                      size_t asn_size, std::string& error) {
  std::vector<AsPathSegment> segments;
  Reader r(value);
  while (r.remaining() > 0) {
    if (!r.Has(2)) {
      error = "a single octet left after the last segment";
      return std::nullopt;
    }
    uint8_t type = r.U8();
    uint8_t count = r.U8();
    if (type < 1 || type > 4) {
      error = "unknown segment type " + std::to_string(type);
      return std::nullopt;
    }
    if (count == 0) {
      error = "segment of length zero";
      return std::nullopt;
    }
    if (!r.Has(size_t{count} * asn_size)) {
      error = "segment of " + std::to_string(count) + " ASNs overruns the attribute";
      return std::nullopt;
    }
    AsPathSegment seg{static_cast<AsPathSegmentType>(type), {}};
    seg.asns.reserve(count);
    for (int i = 0; i < count; ++i) seg.asns.push_back(asn_size == 4 ? r.U32() : r.U16());
    segments.push_back(std::move(seg));
  }
  return segments;
}

// How many ASNs a path counts for in path-length terms (RFC 4271 §9.1.2.2, RFC 6793 §4.2.3).
size_t PathCount(const std::vector<AsPathSegment>& path) {
  size_t n = 0;
  for (const auto& s : path) {
    if (s.type == AsPathSegmentType::kAsSequence) n += s.asns.size();
    if (s.type == AsPathSegmentType::kAsSet) n += 1;
  }
  return n;
}

// RFC 6793 §4.2.3: the leading AS_PATH part that AS4_PATH does not cover, then AS4_PATH.
std::vector<AsPathSegment> MergeAs4Path(const std::vector<AsPathSegment>& as_path,
                                        const std::vector<AsPathSegment>& as4_path) {
  size_t count = PathCount(as_path), count4 = PathCount(as4_path);
  if (count < count4) return as_path;  // AS4_PATH is ignored
  size_t keep = count - count4;
  std::vector<AsPathSegment> merged;
  for (const auto& s : as_path) {
    if (s.type == AsPathSegmentType::kConfedSequence || s.type == AsPathSegmentType::kConfedSet) {
      merged.push_back(s);
      continue;
    }
    if (keep == 0) break;
    if (s.type == AsPathSegmentType::kAsSet) {
      merged.push_back(s);
      keep -= 1;
    } else {
      size_t take = std::min(keep, s.asns.size());
      merged.push_back({s.type, {s.asns.begin(), s.asns.begin() + take}});
      keep -= take;
    }
  }
  merged.insert(merged.end(), as4_path.begin(), as4_path.end());
  return merged;
}

// ---------------------------------------------------------------------------------------------
// UPDATE decoding (RFC 4271 §6.3 as revised by RFC 7606).

class UpdateDecoder {
 public:
  explicit UpdateDecoder(const DecodeContext& context) : context_(context) {}

  DecodeResult Decode(std::span<const uint8_t> body) {
    Reader r(body);
    // The header check guarantees 4 octets (minimum UPDATE length 23).
    uint16_t withdrawn_len = r.U16();
    if (!r.Has(size_t{withdrawn_len} + 2)) {
      return SessionReset(
          ErrorCode::kUpdateMessage, update_error::kMalformedAttributeList, {},
          "Withdrawn Routes Length " + std::to_string(withdrawn_len) + " exceeds the message");
    }
    std::string why;
    if (!ParsePrefixes(r.Take(withdrawn_len), update_.withdrawn, why)) {
      return SessionReset(ErrorCode::kUpdateMessage, update_error::kInvalidNetworkField, {},
                          "Withdrawn Routes: " + why);
    }
    uint16_t attrs_len = r.U16();
    if (!r.Has(attrs_len)) {
      return SessionReset(
          ErrorCode::kUpdateMessage, update_error::kMalformedAttributeList, {},
          "Total Path Attribute Length " + std::to_string(attrs_len) + " exceeds the message");
    }
    auto attrs = r.Take(attrs_len);
    // RFC 7606 §5.3: the NLRI must parse for treat-as-withdraw to be possible at all.
    if (!ParsePrefixes(r.Rest(), update_.nlri, why)) {
      return SessionReset(ErrorCode::kUpdateMessage, update_error::kInvalidNetworkField, {},
                          "NLRI: " + why);
    }
    ParseAttributes(attrs);
    if (reset_) return std::move(*reset_);
    CheckPathSemantics();
    DecodeResult result;
    result.action = action_;
    for (size_t i = 0; i < errors_.size(); ++i) {
      if (i) result.error += "; ";
      result.error += errors_[i];
    }
    result.message = std::move(update_);
    return result;
  }

 private:
  void Note(ErrorAction action, std::string error) {
    action_ = std::max(action_, action);
    errors_.push_back(std::move(error));
  }
  void Reset(uint8_t subcode, std::vector<uint8_t> data, std::string error) {
    if (!reset_) reset_ = SessionReset(ErrorCode::kUpdateMessage, subcode, std::move(data), error);
  }

  void ParseAttributes(std::span<const uint8_t> attrs) {
    Reader r(attrs);
    while (r.remaining() > 0 && !reset_) {
      // RFC 7606 §4: too few octets for an attribute header, or a length past the end of the
      // attribute list: treat-as-withdraw, the Total Attribute Length still locates the NLRI.
      if (!r.Has(3)) {
        Note(ErrorAction::kTreatAsWithdraw, "path attributes end inside an attribute header");
        return;
      }
      auto header_start = attrs.size() - r.remaining();
      uint8_t flags = r.U8();
      uint8_t type = r.U8();
      bool extended = flags & attr_flag::kExtendedLength;
      if (extended && !r.Has(2)) {
        Note(ErrorAction::kTreatAsWithdraw, "path attributes end inside an attribute header");
        return;
      }
      size_t len = extended ? r.U16() : r.U8();
      if (!r.Has(len)) {
        Note(ErrorAction::kTreatAsWithdraw,
             AttrName(type) + " length " + std::to_string(len) + " runs past the path attributes");
        return;
      }
      auto value = r.Take(len);
      auto whole = attrs.subspan(header_start, (extended ? 4 : 3) + len);
      if (seen_[type]) {
        // RFC 7606 §3 g: a repeated MP_(UN)REACH_NLRI resets; other repeats are dropped.
        if (type == attr::kMpReachNlri || type == attr::kMpUnreachNlri) {
          Reset(update_error::kMalformedAttributeList, {}, AttrName(type) + " appears twice");
          return;
        }
        Note(ErrorAction::kAttributeDiscard, "repeated " + AttrName(type) + " discarded");
        continue;
      }
      seen_[type] = true;
      HandleAttribute(flags, type, value, whole);
    }
  }

  void HandleAttribute(uint8_t flags, uint8_t type, std::span<const uint8_t> value,
                       std::span<const uint8_t> whole) {
    auto expected = ExpectedFlags(type);
    if (!expected) {
      if (!(flags & attr_flag::kOptional)) {
        // RFC 4271 §6.3, unchanged by RFC 7606.
        Reset(update_error::kUnrecognizedWellKnownAttribute, {whole.begin(), whole.end()},
              "unrecognized well-known " + AttrName(type));
      } else if (flags & attr_flag::kTransitive) {
        update_.attributes.other.push_back({flags, type, {value.begin(), value.end()}});
      }  // unrecognized optional non-transitive: quietly ignored (RFC 4271 §5)
      return;
    }
    // RFC 7606 §3 c: conflicting Optional/Transitive bits make the attribute malformed; the
    // attribute's own malformed handling then applies.
    bool flags_ok = (flags & (attr_flag::kOptional | attr_flag::kTransitive)) == *expected;
    std::string flags_note = flags_ok ? "" : " (flags conflict)";
    auto malformed = [&](ErrorAction action, const std::string& what) {
      Note(action,
           AttrName(type) + " " + what + flags_note + ": " +
               (action == ErrorAction::kAttributeDiscard ? "discarded" : "treat-as-withdraw"));
    };
    const ErrorAction taw = ErrorAction::kTreatAsWithdraw;
    const ErrorAction discard = ErrorAction::kAttributeDiscard;
    auto& a = update_.attributes;
    auto keep_raw = [&] { a.other.push_back({flags, type, {value.begin(), value.end()}}); };
    switch (type) {
      case attr::kOrigin:  // RFC 7606 §7.1
        if (!flags_ok || value.size() != 1 || value[0] > 2)
          return malformed(taw, value.size() == 1 ? "value " + std::to_string(value[0])
                                                  : "length " + std::to_string(value.size()));
        a.origin = static_cast<Origin>(value[0]);
        return;
      case attr::kAsPath: {  // RFC 7606 §7.2
        std::string why;
        auto path = ParseAsPath(value, context_.four_octet_as ? 4 : 2, why);
        if (!path || !flags_ok) return malformed(taw, path ? "malformed" : why);
        a.as_path = std::move(*path);
        return;
      }
      case attr::kNextHop:  // RFC 7606 §7.3
        if (!flags_ok || value.size() != 4)
          return malformed(taw, "length " + std::to_string(value.size()));
        a.next_hop = Load32(value.data());
        return;
      case attr::kMultiExitDisc:  // RFC 7606 §7.4
        if (!flags_ok || value.size() != 4)
          return malformed(taw, "length " + std::to_string(value.size()));
        a.med = Load32(value.data());
        return;
      case attr::kLocalPref:  // RFC 7606 §7.5
        if (context_.external_peer)
          return Note(discard, "LOCAL_PREF from an external peer discarded");
        if (!flags_ok || value.size() != 4)
          return malformed(taw, "length " + std::to_string(value.size()));
        a.local_pref = Load32(value.data());
        return;
      case attr::kAtomicAggregate:  // RFC 7606 §7.6
        if (!flags_ok || !value.empty())
          return malformed(discard, "length " + std::to_string(value.size()));
        a.atomic_aggregate = true;
        return;
      case attr::kAggregator: {  // RFC 7606 §7.7
        size_t want = context_.four_octet_as ? 8 : 6;
        if (!flags_ok || value.size() != want)
          return malformed(discard, "length " + std::to_string(value.size()));
        return keep_raw();
      }
      case attr::kCommunities:  // RFC 7606 §7.8
        if (!flags_ok || value.empty() || value.size() % 4)
          return malformed(taw, "length " + std::to_string(value.size()));
        return keep_raw();
      case attr::kOriginatorId:  // RFC 7606 §7.9
        if (context_.external_peer)
          return Note(discard, "ORIGINATOR_ID from an external peer discarded");
        if (!flags_ok || value.size() != 4)
          return malformed(taw, "length " + std::to_string(value.size()));
        return keep_raw();
      case attr::kClusterList:  // RFC 7606 §7.10
        if (context_.external_peer)
          return Note(discard, "CLUSTER_LIST from an external peer discarded");
        if (!flags_ok || value.empty() || value.size() % 4)
          return malformed(taw, "length " + std::to_string(value.size()));
        return keep_raw();
      case attr::kMpReachNlri:  // RFC 7606 §7.11
        ParseMpReach(value, whole);
        if (!flags_ok && !reset_) malformed(taw, "flags");
        return;
      case attr::kMpUnreachNlri:  // RFC 7606 §7.12
        ParseMpUnreach(value, whole);
        if (!flags_ok && !reset_) malformed(taw, "flags");
        return;
      case attr::kExtendedCommunities:  // RFC 7606 §7.14
        if (!flags_ok || value.empty() || value.size() % 8)
          return malformed(taw, "length " + std::to_string(value.size()));
        return keep_raw();
      case attr::kIpv6ExtendedCommunities:  // RFC 7606 §7.15
        if (!flags_ok || value.empty() || value.size() % 20)
          return malformed(taw, "length " + std::to_string(value.size()));
        return keep_raw();
      case attr::kLargeCommunities:  // RFC 8092 §6
        if (!flags_ok || value.empty() || value.size() % 12)
          return malformed(taw, "length " + std::to_string(value.size()));
        return keep_raw();
      case attr::kAs4Path: {  // RFC 6793 §6: attribute discard in every error case
        if (context_.four_octet_as)
          return Note(discard, "AS4_PATH between 4-octet AS speakers discarded");
        std::string why;
        auto path = ParseAsPath(value, 4, why);
        if (!path || !flags_ok || value.size() < 6)
          return malformed(discard, path ? "malformed" : why);
        std::vector<AsPathSegment> kept;
        for (auto& s : *path) {
          if (s.type == AsPathSegmentType::kAsSet || s.type == AsPathSegmentType::kAsSequence)
            kept.push_back(std::move(s));
        }
        if (kept.size() != path->size()) Note(discard, "AS4_PATH confederation segments discarded");
        as4_path_ = std::move(kept);
        return;
      }
      case attr::kAs4Aggregator:
        if (context_.four_octet_as)
          return Note(discard, "AS4_AGGREGATOR between 4-octet AS speakers discarded");
        if (!flags_ok || value.size() != 8)
          return malformed(discard, "length " + std::to_string(value.size()));
        return keep_raw();
    }
  }

  // MP_REACH_NLRI: AFI(2) SAFI(1) NH length(1) NH reserved(1) NLRI. Anything that prevents
  // locating or parsing the NLRI is a session reset (RFC 7606 §7.11; we have no AFI/SAFI
  // disable).
  void ParseMpReach(std::span<const uint8_t> value, std::span<const uint8_t> whole) {
    std::vector<uint8_t> data(whole.begin(), whole.end());
    Reader r(value);
    if (!r.Has(5))
      return Reset(update_error::kOptionalAttributeError, data, "MP_REACH_NLRI too short");
    AfiSafi family{r.U16(), r.U8()};
    uint8_t nh_len = r.U8();
    if (!r.Has(size_t{nh_len} + 1))
      return Reset(update_error::kOptionalAttributeError, data,
                   "MP_REACH_NLRI next hop length runs past the attribute");
    auto nh = r.Take(nh_len);
    r.U8();  // reserved
    if (family != AfiSafi{kAfiIpv4, kSafiUnicast}) {
      Note(ErrorAction::kAttributeDiscard, "MP_REACH_NLRI for AFI " + std::to_string(family.afi) +
                                               " SAFI " + std::to_string(family.safi) +
                                               " (not negotiated) ignored");
      return;
    }
    if (nh_len != 4)
      return Reset(update_error::kOptionalAttributeError, data,
                   "MP_REACH_NLRI IPv4 next hop length " + std::to_string(nh_len));
    std::string why;
    if (!ParsePrefixes(r.Rest(), update_.mp_reach_nlri, why))
      return Reset(update_error::kOptionalAttributeError, data, "MP_REACH_NLRI: " + why);
    update_.mp_next_hop = Load32(nh.data());
  }

  void ParseMpUnreach(std::span<const uint8_t> value, std::span<const uint8_t> whole) {
    std::vector<uint8_t> data(whole.begin(), whole.end());
    Reader r(value);
    if (!r.Has(3))
      return Reset(update_error::kOptionalAttributeError, data, "MP_UNREACH_NLRI too short");
    AfiSafi family{r.U16(), r.U8()};
    if (family != AfiSafi{kAfiIpv4, kSafiUnicast}) {
      Note(ErrorAction::kAttributeDiscard, "MP_UNREACH_NLRI for AFI " + std::to_string(family.afi) +
                                               " SAFI " + std::to_string(family.safi) +
                                               " (not negotiated) ignored");
      return;
    }
    std::string why;
    if (!ParsePrefixes(r.Rest(), update_.mp_unreach_nlri, why))
      return Reset(update_error::kOptionalAttributeError, data, "MP_UNREACH_NLRI: " + why);
  }

  // Checks needing the whole attribute set: AS4_PATH merge, AS_PATH rules for external peers,
  // and the well-known mandatory attributes (RFC 7606 §3 d, §5.2).
  void CheckPathSemantics() {
    auto& a = update_.attributes;
    if (a.as_path && as4_path_) a.as_path = MergeAs4Path(*a.as_path, *as4_path_);
    bool announces = !update_.nlri.empty() || !update_.mp_reach_nlri.empty();
    if (a.as_path && context_.external_peer) {
      for (const auto& s : *a.as_path) {
        if (s.type == AsPathSegmentType::kConfedSequence ||
            s.type == AsPathSegmentType::kConfedSet) {
          Note(ErrorAction::kTreatAsWithdraw,
               "AS_PATH with a confederation segment from an external peer: treat-as-withdraw");
          break;
        }
      }
      if (context_.peer_asn != 0 && announces) {
        const auto& path = *a.as_path;
        bool first_ok = !path.empty() && path[0].type == AsPathSegmentType::kAsSequence &&
                        path[0].asns[0] == context_.peer_asn;
        if (!first_ok) {
          Note(ErrorAction::kTreatAsWithdraw, "AS_PATH does not start with the peer's AS " +
                                                  std::to_string(context_.peer_asn) +
                                                  ": treat-as-withdraw");
        }
      }
    }
    if (!announces) return;
    auto missing = [&](uint8_t type) {
      if (!seen_[type])
        Note(ErrorAction::kTreatAsWithdraw,
             "missing well-known attribute " + AttrName(type) + ": treat-as-withdraw");
    };
    missing(attr::kOrigin);
    missing(attr::kAsPath);
    if (!update_.nlri.empty()) missing(attr::kNextHop);  // RFC 4760: not needed for MP_REACH
  }

  const DecodeContext& context_;
  UpdateMessage update_;
  ErrorAction action_ = ErrorAction::kNone;
  std::vector<std::string> errors_;
  std::optional<DecodeResult> reset_;
  std::bitset<256> seen_;
  std::optional<std::vector<AsPathSegment>> as4_path_;
};

// ---------------------------------------------------------------------------------------------
// OPEN decoding (RFC 4271 §4.2, §6.2; RFC 5492; RFC 9072 extended optional parameters).

DecodeResult OpenError(uint8_t subcode, std::vector<uint8_t> data, std::string error) {
  return SessionReset(ErrorCode::kOpenMessage, subcode, std::move(data), "OPEN: " + error);
}

std::optional<DecodeResult> ParseCapabilities(std::span<const uint8_t> value, OpenMessage& open,
                                              std::optional<uint32_t>& four_octet_asn) {
  Reader r(value);
  while (r.remaining() > 0) {
    if (!r.Has(2)) return OpenError(open_error::kUnspecific, {}, "truncated capability");
    uint8_t code = r.U8();
    uint8_t len = r.U8();
    if (!r.Has(len)) return OpenError(open_error::kUnspecific, {}, "capability overruns");
    auto cap = r.Take(len);
    switch (code) {
      case capability::kMultiprotocol:
        if (len != 4)
          return OpenError(open_error::kUnspecific, {},
                           "multiprotocol capability of length " + std::to_string(len));
        open.multiprotocol.push_back({Load16(cap.data()), cap[3]});
        break;
      case capability::kRouteRefresh:
      case capability::kRouteRefreshCisco:
        open.route_refresh = true;
        break;
      case capability::kFourOctetAs:
        if (len != 4)
          return OpenError(open_error::kUnspecific, {},
                           "4-octet AS capability of length " + std::to_string(len));
        four_octet_asn = Load32(cap.data());
        break;
      default:
        open.other_capabilities.push_back(code);  // RFC 5492: unknown capabilities are ignored
    }
  }
  return std::nullopt;
}

DecodeResult DecodeOpen(std::span<const uint8_t> body) {
  Reader r(body);  // the header check guarantees 10 octets
  OpenMessage open;
  open.version = r.U8();
  if (open.version != kBgpVersion) {
    return OpenError(open_error::kUnsupportedVersionNumber, Bytes16(kBgpVersion),
                     "unsupported version " + std::to_string(open.version));
  }
  open.my_as_field = r.U16();
  open.hold_time = r.U16();
  open.bgp_identifier = r.U32();
  size_t params_len = r.U8();
  bool extended = false;
  // RFC 9072: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 announces 2-octet lengths.
  if (params_len == 255 && r.Has(3) && body[10] == 255) {
    r.U8();
    params_len = r.U16();
    extended = true;
  }
  if (r.remaining() != params_len) {
    return OpenError(open_error::kUnspecific, {},
                     "optional parameters length " + std::to_string(params_len) +
                         " does not match the message (" + std::to_string(r.remaining()) +
                         " octets left)");
  }
  std::optional<uint32_t> four_octet_asn;
  while (r.remaining() > 0) {
    size_t header = extended ? 3 : 2;
    if (!r.Has(header)) return OpenError(open_error::kUnspecific, {}, "truncated parameter");
    uint8_t type = r.U8();
    size_t len = extended ? r.U16() : r.U8();
    if (!r.Has(len)) return OpenError(open_error::kUnspecific, {}, "optional parameter overruns");
    auto value = r.Take(len);
    if (type != 2) {  // 2 = Capabilities; 1 (Authentication) is deprecated
      return OpenError(open_error::kUnsupportedOptionalParameter, {},
                       "unsupported optional parameter " + std::to_string(type));
    }
    if (auto error = ParseCapabilities(value, open, four_octet_asn)) return std::move(*error);
  }
  open.four_octet_as = four_octet_asn.has_value();
  open.asn = four_octet_asn.value_or(open.my_as_field);
  DecodeResult result;
  result.message = std::move(open);
  return result;
}

DecodeResult Ok(Message message) {
  DecodeResult result;
  result.message = std::move(message);
  return result;
}

DecodeResult DecodeChecked(std::span<const uint8_t> frame, const DecodeContext& context) {
  auto check = CheckFrame(frame);
  if (check.error) return std::move(*check.error);
  if (check.length == 0 || check.length != frame.size()) {
    return SessionReset(
        ErrorCode::kMessageHeader, header_error::kBadMessageLength,
        Bytes16(static_cast<uint16_t>(std::min<size_t>(frame.size(), 0xffff))),
        "frame of " + std::to_string(frame.size()) + " octets does not match its header");
  }
  auto body = frame.subspan(kHeaderSize);
  switch (static_cast<MessageType>(frame[18])) {
    case MessageType::kOpen:
      return DecodeOpen(body);
    case MessageType::kUpdate:
      return UpdateDecoder(context).Decode(body);
    case MessageType::kNotification:
      return Ok(NotificationMessage{body[0], body[1], {body.begin() + 2, body.end()}});
    case MessageType::kKeepalive:
      return Ok(KeepaliveMessage{});
    case MessageType::kRouteRefresh:
      return Ok(RouteRefreshMessage{Load16(body.data()), body[2], body[3]});
  }
  return SessionReset(ErrorCode::kMessageHeader, header_error::kBadMessageType, {frame[18]},
                      "bad message type");
}

// ---------------------------------------------------------------------------------------------
// Encoding.

void PutHeader(std::vector<uint8_t>& out, MessageType type) {
  out.assign(kMarkerSize, 0xff);
  Put16(out, 0);  // patched by FinishMessage
  out.push_back(static_cast<uint8_t>(type));
}
void FinishMessage(std::vector<uint8_t>& out) {
  auto len = static_cast<uint16_t>(std::min<size_t>(out.size(), 0xffff));
  out[16] = static_cast<uint8_t>(len >> 8);
  out[17] = static_cast<uint8_t>(len);
}

void PutAttribute(std::vector<uint8_t>& out, uint8_t flags, uint8_t type,
                  std::span<const uint8_t> value) {
  flags &= ~attr_flag::kExtendedLength;
  if (value.size() > 255) flags |= attr_flag::kExtendedLength;
  out.push_back(flags);
  out.push_back(type);
  if (value.size() > 255) {
    Put16(out, static_cast<uint16_t>(value.size()));
  } else {
    out.push_back(static_cast<uint8_t>(value.size()));
  }
  out.insert(out.end(), value.begin(), value.end());
}

std::vector<uint8_t> EncodeAsPathValue(const std::vector<AsPathSegment>& path, bool four_octet) {
  std::vector<uint8_t> v;
  for (const auto& s : path) {
    // A segment holds at most 255 ASNs; longer ones continue in a segment of the same type.
    // Empty segments are malformed (RFC 7606 §7.2), so an empty one is never sent.
    for (size_t i = 0; i < s.asns.size(); i += 255) {
      size_t n = std::min<size_t>(255, s.asns.size() - i);
      v.push_back(static_cast<uint8_t>(s.type));
      v.push_back(static_cast<uint8_t>(n));
      for (size_t k = i; k < i + n; ++k) {
        uint32_t asn = s.asns[k];
        if (four_octet) {
          Put32(v, asn);
        } else {
          Put16(v, asn > 0xffff ? kAsTrans : static_cast<uint16_t>(asn));
        }
      }
    }
  }
  return v;
}

std::vector<uint8_t> EncodeAttributes(const UpdateMessage& u, const EncodeContext& context) {
  const auto& a = u.attributes;
  constexpr uint8_t kWellKnown = attr_flag::kTransitive;
  constexpr uint8_t kOptional = attr_flag::kOptional;
  constexpr uint8_t kOptTransitive = attr_flag::kOptional | attr_flag::kTransitive;
  // (type, encoded attribute); sorted by type after the MP attributes (RFC 7606 §5.1 wants
  // those first, RFC 4271 §5 ascending type order for the rest).
  std::vector<std::pair<uint8_t, std::vector<uint8_t>>> encoded;
  auto add = [&](uint8_t flags, uint8_t type, std::span<const uint8_t> value) {
    std::vector<uint8_t> bytes;
    PutAttribute(bytes, flags, type, value);
    encoded.emplace_back(type, std::move(bytes));
  };
  std::vector<uint8_t> v;
  if (a.origin) {
    uint8_t o = static_cast<uint8_t>(*a.origin);
    add(kWellKnown, attr::kOrigin, {&o, 1});
  }
  if (a.as_path) {
    v = EncodeAsPathValue(*a.as_path, context.four_octet_as);
    add(kWellKnown, attr::kAsPath, v);
    bool needs_as4 = false;
    for (const auto& s : *a.as_path) {
      for (uint32_t asn : s.asns) needs_as4 |= asn > 0xffff;
    }
    if (!context.four_octet_as && needs_as4) {  // RFC 6793 §4.2.2
      std::vector<AsPathSegment> as4;
      for (const auto& s : *a.as_path) {
        if (s.type == AsPathSegmentType::kAsSet || s.type == AsPathSegmentType::kAsSequence)
          as4.push_back(s);
      }
      v = EncodeAsPathValue(as4, true);
      add(kOptTransitive, attr::kAs4Path, v);
    }
  }
  auto add32 = [&](uint8_t flags, uint8_t type, uint32_t value) {
    std::vector<uint8_t> b;
    Put32(b, value);
    add(flags, type, b);
  };
  if (a.next_hop) add32(kWellKnown, attr::kNextHop, *a.next_hop);
  if (a.med) add32(kOptional, attr::kMultiExitDisc, *a.med);
  if (a.local_pref) add32(kWellKnown, attr::kLocalPref, *a.local_pref);
  if (a.atomic_aggregate) add(kWellKnown, attr::kAtomicAggregate, {});
  for (const auto& raw : a.other) add(raw.flags, raw.type, raw.value);
  std::stable_sort(encoded.begin(), encoded.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });

  std::vector<uint8_t> out;
  if (!u.mp_unreach_nlri.empty()) {
    v.clear();
    Put16(v, kAfiIpv4);
    v.push_back(kSafiUnicast);
    for (const auto& p : u.mp_unreach_nlri) PutPrefix(v, p);
    PutAttribute(out, kOptional, attr::kMpUnreachNlri, v);
  }
  if (!u.mp_reach_nlri.empty() || u.mp_next_hop) {
    v.clear();
    Put16(v, kAfiIpv4);
    v.push_back(kSafiUnicast);
    v.push_back(4);
    Put32(v, u.mp_next_hop.value_or(0));
    v.push_back(0);
    for (const auto& p : u.mp_reach_nlri) PutPrefix(v, p);
    PutAttribute(out, kOptional, attr::kMpReachNlri, v);
  }
  for (const auto& [type, bytes] : encoded) out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

struct MessageEncoder {
  const EncodeContext& context;
  std::vector<uint8_t> out;

  void operator()(const OpenMessage& m) {
    PutHeader(out, MessageType::kOpen);
    out.push_back(m.version);
    Put16(out, m.asn > 0xffff ? kAsTrans : static_cast<uint16_t>(m.asn));
    Put16(out, m.hold_time);
    Put32(out, m.bgp_identifier);
    std::vector<uint8_t> caps;
    for (const auto& mp : m.multiprotocol) {
      caps.insert(caps.end(), {capability::kMultiprotocol, 4});
      Put16(caps, mp.afi);
      caps.insert(caps.end(), {0, mp.safi});
    }
    if (m.route_refresh) caps.insert(caps.end(), {capability::kRouteRefresh, 0});
    if (m.four_octet_as) {
      caps.insert(caps.end(), {capability::kFourOctetAs, 4});
      Put32(caps, m.asn);
    }
    if (caps.empty()) {
      out.push_back(0);
    } else {
      out.push_back(static_cast<uint8_t>(caps.size() + 2));
      out.push_back(2);  // Capabilities optional parameter
      out.push_back(static_cast<uint8_t>(caps.size()));
      out.insert(out.end(), caps.begin(), caps.end());
    }
  }
  void operator()(const UpdateMessage& m) {
    PutHeader(out, MessageType::kUpdate);
    std::vector<uint8_t> withdrawn;
    for (const auto& p : m.withdrawn) PutPrefix(withdrawn, p);
    Put16(out, static_cast<uint16_t>(withdrawn.size()));
    out.insert(out.end(), withdrawn.begin(), withdrawn.end());
    auto attrs = EncodeAttributes(m, context);
    Put16(out, static_cast<uint16_t>(attrs.size()));
    out.insert(out.end(), attrs.begin(), attrs.end());
    for (const auto& p : m.nlri) PutPrefix(out, p);
  }
  void operator()(const NotificationMessage& m) {
    PutHeader(out, MessageType::kNotification);
    out.push_back(m.code);
    out.push_back(m.subcode);
    out.insert(out.end(), m.data.begin(), m.data.end());
  }
  void operator()(const KeepaliveMessage&) { PutHeader(out, MessageType::kKeepalive); }
  void operator()(const RouteRefreshMessage& m) {
    PutHeader(out, MessageType::kRouteRefresh);
    Put16(out, m.afi);
    out.push_back(m.subtype);
    out.push_back(m.safi);
  }
};

// Fills UPDATE messages of <header, fixed part, prefixes> up to kMaxMessageSize each.
template <typename Begin, typename Finish>
std::vector<std::vector<uint8_t>> Pack(std::span<const Prefix> prefixes, size_t fixed_size,
                                       Begin begin, Finish finish) {
  std::vector<std::vector<uint8_t>> messages;
  size_t i = 0;
  while (i < prefixes.size()) {
    if (fixed_size + PrefixWireSize(prefixes[i]) > kMaxMessageSize) return {};
    std::vector<uint8_t> msg;
    msg.reserve(kMaxMessageSize);
    begin(msg);
    size_t start = msg.size();
    while (i < prefixes.size() && msg.size() + PrefixWireSize(prefixes[i]) <= kMaxMessageSize) {
      PutPrefix(msg, prefixes[i++]);
    }
    finish(msg, msg.size() - start);
    FinishMessage(msg);
    messages.push_back(std::move(msg));
  }
  return messages;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

FrameCheck CheckFrame(std::span<const uint8_t> stream) noexcept {
  FrameCheck check;
  if (stream.size() < kHeaderSize) return check;
  for (size_t i = 0; i < kMarkerSize; ++i) {
    if (stream[i] != 0xff) {
      check.error =
          SessionReset(ErrorCode::kMessageHeader, header_error::kConnectionNotSynchronized, {},
                       "message header marker is not all ones");
      return check;
    }
  }
  uint16_t length = Load16(&stream[16]);
  uint8_t type = stream[18];
  if (length < kHeaderSize || length > kMaxMessageSize) {
    check.error = SessionReset(ErrorCode::kMessageHeader, header_error::kBadMessageLength,
                               Bytes16(length), "message length " + std::to_string(length));
    return check;
  }
  // Minimum (exact for KEEPALIVE and ROUTE-REFRESH) lengths per type, RFC 4271 §6.1.
  bool length_ok;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kOpen:
      length_ok = length >= 29;
      break;
    case MessageType::kUpdate:
      length_ok = length >= 23;
      break;
    case MessageType::kNotification:
      length_ok = length >= 21;
      break;
    case MessageType::kKeepalive:
      length_ok = length == 19;
      break;
    case MessageType::kRouteRefresh:
      length_ok = length == 23;
      break;
    default:
      check.error = SessionReset(ErrorCode::kMessageHeader, header_error::kBadMessageType, {type},
                                 "bad message type " + std::to_string(type));
      return check;
  }
  if (!length_ok) {
    check.error =
        SessionReset(ErrorCode::kMessageHeader, header_error::kBadMessageLength, Bytes16(length),
                     "message length " + std::to_string(length) + " for a " +
                         ToString(static_cast<MessageType>(type)));
    return check;
  }
  check.length = length;
  return check;
}

DecodeResult DecodeMessage(std::span<const uint8_t> frame, const DecodeContext& context) noexcept {
  try {
    return DecodeChecked(frame, context);
  } catch (const std::exception& e) {  // allocation failure: the only thing that can throw here
    DecodeResult r;
    r.action = ErrorAction::kSessionReset;
    r.notification = {static_cast<uint8_t>(ErrorCode::kCease), cease::kOutOfResources, {}};
    r.error = std::string("decoder out of resources: ") + e.what();
    return r;
  }
}

std::vector<uint8_t> EncodeMessage(const Message& message, const EncodeContext& context) {
  MessageEncoder encoder{context, {}};
  std::visit(encoder, message);
  FinishMessage(encoder.out);
  return std::move(encoder.out);
}

std::vector<std::vector<uint8_t>> EncodeAnnouncements(const PathAttributes& attributes,
                                                      std::span<const Prefix> prefixes,
                                                      const EncodeContext& context) {
  UpdateMessage shell;
  shell.attributes = attributes;
  auto attrs = EncodeAttributes(shell, context);
  size_t fixed = kHeaderSize + 4 + attrs.size();
  return Pack(
      prefixes, fixed,
      [&](std::vector<uint8_t>& msg) {
        PutHeader(msg, MessageType::kUpdate);
        Put16(msg, 0);  // no withdrawn routes
        Put16(msg, static_cast<uint16_t>(attrs.size()));
        msg.insert(msg.end(), attrs.begin(), attrs.end());
      },
      [](std::vector<uint8_t>&, size_t) {});
}

std::vector<std::vector<uint8_t>> EncodeWithdrawals(std::span<const Prefix> prefixes) {
  return Pack(
      prefixes, kHeaderSize + 4,
      [](std::vector<uint8_t>& msg) {
        PutHeader(msg, MessageType::kUpdate);
        Put16(msg, 0);  // Withdrawn Routes Length, patched below
      },
      [](std::vector<uint8_t>& msg, size_t withdrawn_len) {
        msg[kHeaderSize] = static_cast<uint8_t>(withdrawn_len >> 8);
        msg[kHeaderSize + 1] = static_cast<uint8_t>(withdrawn_len);
        Put16(msg, 0);  // Total Path Attribute Length
      });
}

std::vector<uint32_t> FlattenAsPath(const std::vector<AsPathSegment>& segments) {
  std::vector<uint32_t> asns;
  for (const auto& s : segments) {
    if (s.type == AsPathSegmentType::kAsSequence || s.type == AsPathSegmentType::kAsSet)
      asns.insert(asns.end(), s.asns.begin(), s.asns.end());
  }
  return asns;
}

const char* ToString(ErrorAction action) {
  switch (action) {
    case ErrorAction::kNone:
      return "none";
    case ErrorAction::kAttributeDiscard:
      return "attribute discard";
    case ErrorAction::kTreatAsWithdraw:
      return "treat-as-withdraw";
    case ErrorAction::kSessionReset:
      return "session reset";
  }
  return "?";
}

const char* ToString(MessageType type) {
  switch (type) {
    case MessageType::kOpen:
      return "OPEN";
    case MessageType::kUpdate:
      return "UPDATE";
    case MessageType::kNotification:
      return "NOTIFICATION";
    case MessageType::kKeepalive:
      return "KEEPALIVE";
    case MessageType::kRouteRefresh:
      return "ROUTE-REFRESH";
  }
  return "unknown message";
}

std::string DescribeNotification(const NotificationMessage& n) {
  auto pick = [&](std::initializer_list<const char*> names) -> std::string {
    if (n.subcode < names.size() && std::string_view(*(names.begin() + n.subcode)).size())
      return *(names.begin() + n.subcode);
    return "subcode " + std::to_string(n.subcode);
  };
  switch (static_cast<ErrorCode>(n.code)) {
    case ErrorCode::kMessageHeader:
      return "message header error/" + pick({"unspecific", "connection not synchronized",
                                             "bad message length", "bad message type"});
    case ErrorCode::kOpenMessage:
      return "OPEN message error/" +
             pick({"unspecific", "unsupported version number", "bad peer AS", "bad BGP identifier",
                   "unsupported optional parameter", "", "unacceptable hold time",
                   "unsupported capability"});
    case ErrorCode::kUpdateMessage:
      return "UPDATE message error/" +
             pick({"unspecific", "malformed attribute list", "unrecognized well-known attribute",
                   "missing well-known attribute", "attribute flags error",
                   "attribute length error", "invalid ORIGIN attribute", "",
                   "invalid NEXT_HOP attribute", "optional attribute error",
                   "invalid network field", "malformed AS_PATH"});
    case ErrorCode::kHoldTimerExpired:
      return "hold timer expired";
    case ErrorCode::kFsm:
      return "finite state machine error/" +
             pick({"unspecified", "unexpected message in OpenSent",
                   "unexpected message in OpenConfirm", "unexpected message in Established"});
    case ErrorCode::kCease:
      return "cease/" +
             pick({"unspecific", "maximum number of prefixes reached", "administrative shutdown",
                   "peer de-configured", "administrative reset", "connection rejected",
                   "other configuration change", "connection collision resolution",
                   "out of resources", "hard reset"});
    case ErrorCode::kRouteRefreshMessage:
      return "ROUTE-REFRESH message error/" + pick({"reserved", "invalid message length"});
  }
  return "error code " + std::to_string(n.code) + "/subcode " + std::to_string(n.subcode);
}

}  // namespace svpc::bgp
