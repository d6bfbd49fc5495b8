#include "pcap/craft.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "common/ip_protocol.h"
#include "common/net_types.h"
#include "pcap/pcap_file.h"

namespace svpc::pcap {
namespace {

namespace json = boost::json;

// The field names an object may have.
using KeyList = std::span<const std::string_view>;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr size_t kIpv4HeaderLen = 20;
constexpr size_t kMaxIpv4Len = 65535;
constexpr size_t kIcmpQuoteLen = 8;  // RFC 792: an ICMP error quotes the header + 8 bytes.
constexpr int kMaxInnerDepth = 4;
constexpr uint64_t kMaxRepeat = 1'000'000;
constexpr double kMaxTimeSec = 1e9;
constexpr uint64_t kNsPerUs = 1'000;
constexpr size_t kMaxPortNameLen = 64;

constexpr std::string_view kPacketKeys[] = {
    "port", "time",      "src_mac", "dst_mac",  "vlan",        "ip",
    "tcp",  "udp",       "icmp",    "payload",  "payload_len", "payload_hex",
    "arp",  "ethertype", "raw_hex", "truncate", "repeat",      "comment"};
// The keys of an object that describes an IPv4 packet: a packet, or an ICMP error's "inner".
constexpr std::string_view kIpPacketKeys[] = {"ip",      "tcp",         "udp",        "icmp",
                                              "payload", "payload_len", "payload_hex"};
constexpr std::string_view kIpKeys[] = {"src",   "dst",          "ttl",         "id",
                                        "df",    "tos",          "frag_offset", "more_fragments",
                                        "proto", "bad_checksum", "options_len"};
constexpr std::string_view kTcpKeys[] = {"sport", "dport",  "flags",       "seq",
                                         "ack",   "window", "bad_checksum"};
constexpr std::string_view kUdpKeys[] = {"sport", "dport", "bad_checksum"};
constexpr std::string_view kIcmpKeys[] = {"type", "code",  "id",          "seq",
                                          "mtu",  "inner", "bad_checksum"};
constexpr std::string_view kTopLevelKeys[] = {"packets", "comment"};
constexpr std::string_view kArpKeys[] = {"op", "sender_mac", "sender_ip", "target_mac",
                                         "target_ip"};

// TCP flag letters, lowest bit first: FIN SYN RST PSH ACK URG ECE CWR.
constexpr std::string_view kTcpFlagLetters = "FSRPAUEC";

// Collects the first input error; later reads after a failure return defaults that callers
// never emit, as every builder checks ok() before producing output.
class Problems {
 public:
  explicit Problems(std::string where) : where_(std::move(where)) {}
  bool ok() const { return message_.empty(); }
  void Fail(std::string_view field, std::string_view what) {
    if (!ok()) return;
    message_ = where_;
    if (!field.empty()) message_.append(": ").append(field);
    message_.append(": ").append(what);
  }
  const std::string& message() const { return message_; }

 private:
  std::string where_;
  std::string message_;
};

std::string Describe(const json::value& value) {
  constexpr size_t kMaxLen = 40;
  std::string text = json::serialize(value);
  if (text.size() > kMaxLen) text = text.substr(0, kMaxLen) + "...";
  return text;
}

std::string JoinKeys(KeyList keys) {
  std::string out;
  for (std::string_view key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

// Typed, located access to one JSON object. Unknown keys are reported on construction.
class Fields {
 public:
  Fields(const json::object& obj, std::string path, KeyList known, Problems& problems)
      : obj_(obj), path_(std::move(path)), problems_(problems) {
    for (const auto& entry : obj_) {
      std::string_view key = entry.key();
      bool is_known = false;
      for (std::string_view k : known) is_known = is_known || k == key;
      if (!is_known) {
        problems_.Fail("",
                       "unknown field '" + Name(key) + "' (known here: " + JoinKeys(known) + ")");
      }
    }
  }

  bool Has(std::string_view key) const { return obj_.contains(key); }
  const std::string& path() const { return path_; }
  Problems& problems() const { return problems_; }

  std::string Name(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  void Fail(std::string_view key, std::string_view what) const { problems_.Fail(Name(key), what); }

  std::optional<uint64_t> OptUint(std::string_view key, uint64_t max) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return std::nullopt;
    std::optional<uint64_t> number;
    if (v->is_uint64()) number = v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) number = static_cast<uint64_t>(v->get_int64());
    if (!number || *number > max) {
      Fail(key, "expected an integer in 0.." + std::to_string(max) + ", got " + Describe(*v));
      return std::nullopt;
    }
    return number;
  }
  uint64_t Uint(std::string_view key, uint64_t max, uint64_t fallback) const {
    return OptUint(key, max).value_or(fallback);
  }
  uint64_t RequiredUint(std::string_view key, uint64_t max) const {
    if (!Has(key)) Fail(key, "missing (required)");
    return Uint(key, max, 0);
  }

  bool Bool(std::string_view key, bool fallback) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return fallback;
    if (!v->is_bool()) {
      Fail(key, "expected true or false, got " + Describe(*v));
      return fallback;
    }
    return v->get_bool();
  }

  std::optional<std::string_view> OptString(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Fail(key, "expected a string, got " + Describe(*v));
      return std::nullopt;
    }
    const json::string& s = v->get_string();
    return std::string_view(s.data(), s.size());
  }
  std::string_view RequiredString(std::string_view key) const {
    if (!Has(key)) Fail(key, "missing (required)");
    return OptString(key).value_or("");
  }

  std::optional<double> OptNumber(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_double()) return v->get_double();
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
    Fail(key, "expected a number, got " + Describe(*v));
    return std::nullopt;
  }

  Ipv4 RequiredIp(std::string_view key) const {
    std::string_view text = RequiredString(key);
    if (!problems_.ok()) return 0;
    std::optional<Ipv4> ip = ParseIpv4(text);
    if (!ip) Fail(key, "invalid IPv4 address \"" + std::string(text) + "\"");
    return ip.value_or(0);
  }

  std::optional<MacAddr> OptMac(std::string_view key) const {
    std::optional<std::string_view> text = OptString(key);
    if (!text) return std::nullopt;
    std::optional<MacAddr> mac = ParseMac(*text);
    if (!mac) Fail(key, "invalid MAC address \"" + std::string(*text) + "\"");
    return mac;
  }

  std::optional<Fields> OptObject(std::string_view key, KeyList known) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) {
      Fail(key, "expected an object, got " + Describe(*v));
      return std::nullopt;
    }
    return Fields(v->get_object(), Name(key), known, problems_);
  }

 private:
  const json::object& obj_;
  std::string path_;
  Problems& problems_;
};

void Put16(std::vector<uint8_t>& out, uint32_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void Put32(std::vector<uint8_t>& out, uint32_t value) {
  Put16(out, value >> 16);
  Put16(out, value);
}

void Set16(std::vector<uint8_t>& out, size_t at, uint16_t value) {
  out[at] = static_cast<uint8_t>(value >> 8);
  out[at + 1] = static_cast<uint8_t>(value);
}

void PutMac(std::vector<uint8_t>& out, const MacAddr& mac) {
  out.insert(out.end(), mac.bytes.begin(), mac.bytes.end());
}

// One's-complement sum of big-endian 16-bit words (RFC 1071), unfolded.
uint64_t SumWords(const uint8_t* data, size_t len, uint64_t acc) {
  for (size_t i = 0; i + 1 < len; i += 2) acc += (uint32_t{data[i]} << 8) | data[i + 1];
  if (len % 2 != 0) acc += uint32_t{data[len - 1]} << 8;
  return acc;
}

uint16_t FinishChecksum(uint64_t acc) {
  while (acc >> 16 != 0) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

// A checksum that is certainly wrong: never equal to `good`, never its one's-complement twin
// (0x0000 / 0xffff), and never 0 (which in UDP means "no checksum").
uint16_t SpoilChecksum(uint16_t good) { return good == 0x1234 ? 0x4321 : 0x1234; }

// Checksum over the IPv4 pseudo-header and `segment`, as TCP and UDP use.
uint16_t PseudoHeaderChecksum(Ipv4 src, Ipv4 dst, uint8_t proto,
                              const std::vector<uint8_t>& segment) {
  uint64_t acc =
      (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + segment.size();
  return FinishChecksum(SumWords(segment.data(), segment.size(), acc));
}

std::optional<std::vector<uint8_t>> ParseHex(std::string_view text) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    int nibble = -1;
    if (c >= '0' && c <= '9') nibble = c - '0';
    if (c >= 'a' && c <= 'f') nibble = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') nibble = c - 'A' + 10;
    if (nibble < 0) return std::nullopt;
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | nibble));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

// The bytes after the L4 header (or after the IPv4 header with ip.proto): "payload" (text),
// "payload_len" (bytes 00 01 02 ... ff 00 ...) or "payload_hex".
std::vector<uint8_t> ReadPayload(const Fields& f) {
  int given = f.Has("payload") + f.Has("payload_len") + f.Has("payload_hex");
  if (given > 1) {
    f.Fail("payload", "payload, payload_len and payload_hex are mutually exclusive");
    return {};
  }
  std::vector<uint8_t> out;
  if (std::optional<std::string_view> text = f.OptString("payload")) {
    out.assign(text->begin(), text->end());
  }
  if (std::optional<uint64_t> len = f.OptUint("payload_len", kMaxIpv4Len)) {
    out.resize(*len);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
  }
  if (std::optional<std::string_view> hex = f.OptString("payload_hex")) {
    std::optional<std::vector<uint8_t>> bytes = ParseHex(*hex);
    if (!bytes) {
      f.Fail("payload_hex", "expected an even number of hex digits (spaces allowed)");
      return {};
    }
    out = std::move(*bytes);
  }
  return out;
}

std::vector<uint8_t> BuildTcp(const Fields& tcp, Ipv4 src, Ipv4 dst,
                              const std::vector<uint8_t>& payload) {
  uint16_t sport = tcp.RequiredUint("sport", 65535);
  uint16_t dport = tcp.RequiredUint("dport", 65535);
  uint32_t seq = tcp.Uint("seq", 0xffffffff, 0);
  uint32_t ack = tcp.Uint("ack", 0xffffffff, 0);
  uint16_t window = tcp.Uint("window", 65535, 65535);
  bool bad_checksum = tcp.Bool("bad_checksum", false);
  uint8_t flags = 0;
  for (char c : tcp.OptString("flags").value_or("")) {
    size_t bit = kTcpFlagLetters.find(c);
    if (bit == std::string_view::npos) {
      tcp.Fail("flags", "unknown flag letter '" + std::string(1, c) + "' (use letters of \"" +
                            std::string(kTcpFlagLetters) + "\")");
      return {};
    }
    flags |= static_cast<uint8_t>(1u << bit);
  }
  std::vector<uint8_t> out;
  Put16(out, sport);
  Put16(out, dport);
  Put32(out, seq);
  Put32(out, ack);
  out.push_back(5 << 4);  // Data offset: 20 bytes, no options.
  out.push_back(flags);
  Put16(out, window);
  Put16(out, 0);  // Checksum, set below.
  Put16(out, 0);  // Urgent pointer.
  out.insert(out.end(), payload.begin(), payload.end());
  uint16_t checksum = PseudoHeaderChecksum(src, dst, kIpProtoTcp, out);
  Set16(out, 16, bad_checksum ? SpoilChecksum(checksum) : checksum);
  return out;
}

std::vector<uint8_t> BuildUdp(const Fields& udp, Ipv4 src, Ipv4 dst,
                              const std::vector<uint8_t>& payload) {
  uint16_t sport = udp.RequiredUint("sport", 65535);
  uint16_t dport = udp.RequiredUint("dport", 65535);
  bool bad_checksum = udp.Bool("bad_checksum", false);
  std::vector<uint8_t> out;
  Put16(out, sport);
  Put16(out, dport);
  Put16(out, static_cast<uint32_t>(8 + payload.size()));  // Oversize is caught by the IPv4 check.
  Put16(out, 0);
  out.insert(out.end(), payload.begin(), payload.end());
  uint16_t checksum = PseudoHeaderChecksum(src, dst, kIpProtoUdp, out);
  if (checksum == 0) checksum = 0xffff;  // RFC 768: zero means "no checksum".
  Set16(out, 6, bad_checksum ? SpoilChecksum(checksum) : checksum);
  return out;
}

std::vector<uint8_t> BuildIpv4(const Fields& packet, int depth);

bool IsIcmpError(uint8_t type) {
  // Destination unreachable, source quench, redirect, time exceeded, parameter problem.
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

std::vector<uint8_t> BuildIcmp(const Fields& icmp, const std::vector<uint8_t>& payload,
                               bool payload_given, int depth) {
  uint8_t type = icmp.RequiredUint("type", 255);
  uint8_t code = icmp.Uint("code", 255, 0);
  uint16_t id = icmp.Uint("id", 65535, 0);
  uint16_t seq = icmp.Uint("seq", 65535, 0);
  std::optional<uint64_t> mtu = icmp.OptUint("mtu", 65535);
  bool bad_checksum = icmp.Bool("bad_checksum", false);
  if (!icmp.problems().ok()) return {};
  if (mtu && (type != 3 || icmp.Has("seq"))) {
    icmp.Fail("mtu", "only for type 3 (destination unreachable), and not together with seq");
    return {};
  }
  std::vector<uint8_t> quote;
  if (icmp.Has("inner")) {
    if (!IsIcmpError(type)) {
      icmp.Fail("inner",
                "only for ICMP error types 3, 4, 5, 11, 12, not type " + std::to_string(type));
      return {};
    }
    if (payload_given) {
      icmp.Fail("inner", "not allowed together with a payload");
      return {};
    }
    if (depth >= kMaxInnerDepth) {
      icmp.Fail("inner", "nested deeper than " + std::to_string(kMaxInnerDepth) + " levels");
      return {};
    }
    std::optional<Fields> inner = icmp.OptObject("inner", kIpPacketKeys);
    if (!inner) return {};
    quote = BuildIpv4(*inner, depth + 1);
    if (!icmp.problems().ok()) return {};
    size_t header_len = size_t{quote[0] & 0x0fu} * 4;
    if (quote.size() > header_len + kIcmpQuoteLen) quote.resize(header_len + kIcmpQuoteLen);
  }
  std::vector<uint8_t> out;
  out.push_back(type);
  out.push_back(code);
  Put16(out, 0);  // Checksum, set below.
  Put16(out, id);
  Put16(out, mtu ? static_cast<uint16_t>(*mtu) : seq);
  out.insert(out.end(), quote.begin(), quote.end());
  out.insert(out.end(), payload.begin(), payload.end());
  uint16_t checksum = FinishChecksum(SumWords(out.data(), out.size(), 0));
  Set16(out, 2, bad_checksum ? SpoilChecksum(checksum) : checksum);
  return out;
}

// Builds the IPv4 packet described by `packet`'s "ip", "tcp"/"udp"/"icmp" and payload fields.
// `depth` counts ICMP "inner" nesting.
std::vector<uint8_t> BuildIpv4(const Fields& packet, int depth) {
  std::optional<Fields> ip = packet.OptObject("ip", kIpKeys);
  if (!ip) {
    if (packet.problems().ok()) packet.Fail("ip", "missing (required)");
    return {};
  }
  Ipv4 src = ip->RequiredIp("src");
  Ipv4 dst = ip->RequiredIp("dst");
  uint8_t ttl = ip->Uint("ttl", 255, 64);
  uint16_t id = ip->Uint("id", 65535, 0);
  uint8_t tos = ip->Uint("tos", 255, 0);
  bool df = ip->Bool("df", false);
  bool more_fragments = ip->Bool("more_fragments", false);
  uint32_t frag_offset = ip->Uint("frag_offset", 65528, 0);
  uint32_t options_len = ip->Uint("options_len", 40, 0);
  std::optional<uint64_t> proto = ip->OptUint("proto", 255);
  bool bad_checksum = ip->Bool("bad_checksum", false);
  if (frag_offset % 8 != 0) {
    ip->Fail("frag_offset",
             "is in bytes and must be a multiple of 8, got " + std::to_string(frag_offset));
  }
  if (options_len % 4 != 0) {
    ip->Fail("options_len", "must be a multiple of 4, got " + std::to_string(options_len));
  }
  int l4_blocks = packet.Has("tcp") + packet.Has("udp") + packet.Has("icmp");
  if (l4_blocks > 1) packet.Fail("tcp", "at most one of tcp, udp, icmp");
  if (l4_blocks == 1 && proto) ip->Fail("proto", "only allowed without a tcp, udp or icmp block");
  if (l4_blocks == 0 && !proto && ip->problems().ok()) {
    ip->Fail("proto", "missing: give a tcp, udp or icmp block, or ip.proto");
  }
  std::vector<uint8_t> payload = ReadPayload(packet);
  if (!packet.problems().ok()) return {};

  std::vector<uint8_t> l4;
  uint8_t protocol = static_cast<uint8_t>(proto.value_or(0));
  if (std::optional<Fields> tcp = packet.OptObject("tcp", kTcpKeys)) {
    protocol = kIpProtoTcp;
    l4 = BuildTcp(*tcp, src, dst, payload);
  } else if (std::optional<Fields> udp = packet.OptObject("udp", kUdpKeys)) {
    protocol = kIpProtoUdp;
    l4 = BuildUdp(*udp, src, dst, payload);
  } else if (std::optional<Fields> icmp = packet.OptObject("icmp", kIcmpKeys)) {
    protocol = kIpProtoIcmp;
    bool payload_given =
        packet.Has("payload") || packet.Has("payload_len") || packet.Has("payload_hex");
    l4 = BuildIcmp(*icmp, payload, payload_given, depth);
  } else {
    l4 = std::move(payload);
  }
  if (!packet.problems().ok()) return {};

  size_t header_len = kIpv4HeaderLen + options_len;
  size_t total_len = header_len + l4.size();
  if (total_len > kMaxIpv4Len) {
    packet.Fail("ip", "packet would be " + std::to_string(total_len) + " bytes, more than " +
                          std::to_string(kMaxIpv4Len));
    return {};
  }
  std::vector<uint8_t> out;
  out.reserve(total_len);
  out.push_back(static_cast<uint8_t>(0x40 | header_len / 4));
  out.push_back(tos);
  Put16(out, static_cast<uint32_t>(total_len));
  Put16(out, id);
  Put16(out, (df ? 0x4000 : 0) | (more_fragments ? 0x2000 : 0) | frag_offset / 8);
  out.push_back(ttl);
  out.push_back(protocol);
  Put16(out, 0);  // Checksum, set below.
  Put32(out, src);
  Put32(out, dst);
  out.insert(out.end(), options_len, 0x01);  // NOP options.
  uint16_t checksum = FinishChecksum(SumWords(out.data(), header_len, 0));
  Set16(out, 10, bad_checksum ? SpoilChecksum(checksum) : checksum);
  out.insert(out.end(), l4.begin(), l4.end());
  return out;
}

struct ArpPacket {
  std::vector<uint8_t> bytes;
  MacAddr default_src_mac;
  MacAddr default_dst_mac;
};

ArpPacket BuildArp(const Fields& arp) {
  std::string_view op_text = arp.RequiredString("op");
  Ipv4 sender_ip = arp.RequiredIp("sender_ip");
  Ipv4 target_ip = arp.RequiredIp("target_ip");
  std::optional<MacAddr> sender_mac = arp.OptMac("sender_mac");
  std::optional<MacAddr> target_mac = arp.OptMac("target_mac");
  if (!arp.problems().ok()) return {};
  uint16_t op = 0;
  if (op_text == "request") op = 1;
  if (op_text == "reply") op = 2;
  if (op == 0) {
    arp.Fail("op", "expected \"request\" or \"reply\", got \"" + std::string(op_text) + "\"");
    return {};
  }
  MacAddr sha = sender_mac.value_or(GcpMacForIp(sender_ip));
  MacAddr tha = target_mac.value_or(op == 1 ? MacAddr{} : GcpMacForIp(target_ip));
  ArpPacket result;
  std::vector<uint8_t>& out = result.bytes;
  Put16(out, 1);  // Hardware type: Ethernet.
  Put16(out, kEtherTypeIpv4);
  out.push_back(6);
  out.push_back(4);
  Put16(out, op);
  PutMac(out, sha);
  Put32(out, sender_ip);
  PutMac(out, tha);
  Put32(out, target_ip);
  result.default_src_mac = sha;
  result.default_dst_mac = op == 1 ? MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} : tha;
  return result;
}

bool IsValidPortName(std::string_view name) {
  if (name.empty() || name.size() > kMaxPortNameLen || name[0] == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Crafts one entry of "packets" and appends its frames to `out`.
bool CraftPacket(const json::value& entry, size_t index, CraftedTraffic& out, std::string* error) {
  Problems problems("packet " + std::to_string(index));
  if (!entry.is_object()) {
    problems.Fail("", "expected an object, got " + Describe(entry));
    *error = problems.message();
    return false;
  }
  Fields f(entry.get_object(), "", kPacketKeys, problems);
  std::string_view port = f.RequiredString("port");
  if (problems.ok() && !IsValidPortName(port)) {
    f.Fail("port", "\"" + std::string(port) +
                       "\" is not a valid port name (letters, digits, '_', '-', '.'; at most " +
                       std::to_string(kMaxPortNameLen) + ")");
  }
  if (!f.Has("time")) f.Fail("time", "missing (required)");
  double time = f.OptNumber("time").value_or(0);
  if (problems.ok() && !(time >= 0 && time <= kMaxTimeSec)) {
    f.Fail("time", "expected seconds in 0.." + std::to_string(static_cast<uint64_t>(kMaxTimeSec)));
  }
  std::optional<MacAddr> src_mac = f.OptMac("src_mac");
  std::optional<MacAddr> dst_mac = f.OptMac("dst_mac");
  std::optional<uint64_t> vlan = f.OptUint("vlan", 4095);
  std::optional<uint64_t> truncate = f.OptUint("truncate", kMaxIpv4Len + 18);
  uint64_t repeat = f.Uint("repeat", kMaxRepeat, 1);
  if (problems.ok() && repeat == 0) f.Fail("repeat", "must be at least 1");
  f.OptString("comment");
  if (!problems.ok()) {
    *error = problems.message();
    return false;
  }

  int l3_kinds = f.Has("ip") + f.Has("arp") + f.Has("raw_hex");
  if (l3_kinds != 1) {
    f.Fail("", "needs exactly one of ip, arp, raw_hex");
  } else if (!f.Has("ip")) {
    for (std::string_view key : {"tcp", "udp", "icmp", "payload", "payload_len", "payload_hex"}) {
      if (f.Has(key)) f.Fail(key, "needs an ip block");
    }
  }
  if (f.Has("raw_hex") != f.Has("ethertype")) {
    f.Fail(f.Has("raw_hex") ? "ethertype" : "raw_hex", "raw_hex and ethertype go together");
  }
  if (!problems.ok()) {
    *error = problems.message();
    return false;
  }

  std::vector<uint8_t> l3;
  uint16_t ethertype = 0;
  MacAddr default_src;
  MacAddr default_dst;
  if (f.Has("ip")) {
    ethertype = kEtherTypeIpv4;
    l3 = BuildIpv4(f, 0);
    if (problems.ok()) {
      Ipv4 src = (Ipv4{l3[12]} << 24) | (Ipv4{l3[13]} << 16) | (Ipv4{l3[14]} << 8) | l3[15];
      default_src = GcpMacForIp(src);
      default_dst = GcpMacForIp((src & 0xffffff00u) | 1);
    }
  } else if (std::optional<Fields> arp = f.OptObject("arp", kArpKeys)) {
    ethertype = kEtherTypeArp;
    ArpPacket built = BuildArp(*arp);
    l3 = std::move(built.bytes);
    default_src = built.default_src_mac;
    default_dst = built.default_dst_mac;
  } else {
    ethertype = static_cast<uint16_t>(f.Uint("ethertype", 65535, 0));
    std::optional<std::string_view> hex = f.OptString("raw_hex");
    if (hex) {
      std::optional<std::vector<uint8_t>> bytes = ParseHex(*hex);
      if (bytes) {
        l3 = std::move(*bytes);
      } else {
        f.Fail("raw_hex", "expected an even number of hex digits (spaces allowed)");
      }
    }
    if (!src_mac) f.Fail("src_mac", "required with raw_hex");
    if (!dst_mac) f.Fail("dst_mac", "required with raw_hex");
  }
  if (!problems.ok()) {
    *error = problems.message();
    return false;
  }

  std::vector<uint8_t> frame;
  frame.reserve(18 + l3.size());
  PutMac(frame, dst_mac ? *dst_mac : default_dst);
  PutMac(frame, src_mac ? *src_mac : default_src);
  if (vlan) {
    Put16(frame, kEtherTypeVlan);
    Put16(frame, static_cast<uint32_t>(*vlan));
  }
  Put16(frame, ethertype);
  frame.insert(frame.end(), l3.begin(), l3.end());
  if (truncate) {
    if (*truncate > frame.size()) {
      f.Fail("truncate", std::to_string(*truncate) + " is longer than the frame (" +
                             std::to_string(frame.size()) + " bytes)");
      *error = problems.message();
      return false;
    }
    frame.resize(*truncate);
  }

  std::vector<CraftedPacket>& port_packets = out[std::string(port)];
  uint64_t ts_ns = kCraftEpochNs + static_cast<uint64_t>(std::llround(time * 1e9));
  if (!port_packets.empty() && port_packets.back().ts_ns > ts_ns) {
    f.Fail("time", "goes back in time on port \"" + std::string(port) +
                       "\" (earlier packets, counting repeats, end at " +
                       std::to_string((port_packets.back().ts_ns - kCraftEpochNs) / 1e9) + " s)");
    *error = problems.message();
    return false;
  }
  for (uint64_t i = 0; i < repeat; ++i) {
    port_packets.push_back(CraftedPacket{ts_ns + i * kNsPerUs, frame});
  }
  return true;
}

}  // namespace

bool CraftTraffic(const json::value& doc, CraftedTraffic& out, std::string* error) {
  std::string local_error;
  std::string& err = error != nullptr ? *error : local_error;
  out.clear();
  Problems problems("traffic");
  if (!doc.is_object()) {
    err = "traffic: expected an object with a \"packets\" array, got " + Describe(doc);
    return false;
  }
  Fields top(doc.get_object(), "", kTopLevelKeys, problems);
  top.OptString("comment");
  const json::value* packets = doc.get_object().if_contains("packets");
  if (packets == nullptr) {
    top.Fail("packets", "missing (required)");
  } else if (!packets->is_array()) {
    top.Fail("packets", "expected an array, got " + Describe(*packets));
  }
  if (!problems.ok()) {
    err = problems.message();
    return false;
  }
  const json::array& list = packets->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    if (!CraftPacket(list[i], i, out, &err)) return false;
  }
  return true;
}

bool CraftTrafficText(std::string_view text, CraftedTraffic& out, std::string* error) {
  std::string local_error;
  std::string& err = error != nullptr ? *error : local_error;
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  json::stream_parser parser({}, options);
  json::error_code ec;
  size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) {
    consumed = text.size();
    parser.finish(ec);
  }
  if (ec) {
    size_t line = 1;
    size_t column = 1;
    for (size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    err = "line " + std::to_string(line) + ", column " + std::to_string(column) +
          ": invalid JSON: " + ec.message();
    return false;
  }
  return CraftTraffic(parser.release(), out, &err);
}

bool CraftFile(const std::string& traffic_path, CraftedTraffic& out, std::string* error) {
  std::string local_error;
  std::string& err = error != nullptr ? *error : local_error;
  std::ifstream in(traffic_path, std::ios::binary);
  if (!in) {
    err = "cannot read traffic file '" + traffic_path + "': " + std::strerror(errno);
    return false;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    err = "cannot read traffic file '" + traffic_path + "'";
    return false;
  }
  if (!CraftTrafficText(text, out, &err)) {
    err = traffic_path + ": " + err;
    return false;
  }
  return true;
}

bool WritePortCaptures(const CraftedTraffic& traffic, const std::string& out_dir,
                       std::string* error) {
  std::string local_error;
  std::string& err = error != nullptr ? *error : local_error;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    err = "cannot create directory '" + out_dir + "': " + ec.message();
    return false;
  }
  for (const auto& [port, packets] : traffic) {
    std::string path = (std::filesystem::path(out_dir) / (port + ".pcap")).string();
    std::unique_ptr<PcapWriter> writer = PcapWriter::Open(path, &err);
    if (writer == nullptr) return false;
    for (const CraftedPacket& packet : packets) {
      writer->Write(packet.ts_ns, packet.bytes.data(), static_cast<uint32_t>(packet.bytes.size()));
    }
    if (!writer->Close()) {
      err = writer->error();
      return false;
    }
  }
  return true;
}

bool CraftToDir(const std::string& traffic_path, const std::string& out_dir, std::string* error) {
  CraftedTraffic traffic;
  return CraftFile(traffic_path, traffic, error) && WritePortCaptures(traffic, out_dir, error);
}

}  // namespace svpc::pcap
