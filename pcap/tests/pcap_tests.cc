#include <pcap/pcap.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/net_types.h"
#include "pcap/craft.h"
#include "pcap/pcap_file.h"

namespace svpc::pcap {
namespace {

namespace fs = std::filesystem;

using Bytes = std::vector<uint8_t>;

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "svpc_pcap_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

uint16_t Get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t Get32(const Bytes& b, size_t at) {
  return uint32_t{Get16(b, at)} << 16 | Get16(b, at + 2);
}

// Folded one's-complement sum of b[at, at+len) plus `acc`; a region whose checksum is right
// sums to 0xffff. Written independently of the crafter's checksum code.
uint16_t OnesSum(const Bytes& b, size_t at, size_t len, uint32_t acc = 0) {
  for (size_t i = 0; i < len; ++i) acc += (i % 2 == 0) ? b[at + i] << 8 : b[at + i];
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// Sum of the TCP/UDP pseudo-header of the IPv4 packet at `ip` (host-order words).
uint32_t PseudoSum(const Bytes& b, size_t ip) {
  size_t header_len = (b[ip] & 0x0f) * 4;
  uint32_t l4_len = Get16(b, ip + 2) - header_len;
  return Get16(b, ip + 12) + Get16(b, ip + 14) + Get16(b, ip + 16) + Get16(b, ip + 18) + b[ip + 9] +
         l4_len;
}

CraftedTraffic Craft(const std::string& json_text) {
  CraftedTraffic traffic;
  std::string error;
  EXPECT_TRUE(CraftTrafficText(json_text, traffic, &error)) << error;
  return traffic;
}

// The single frame crafted from a one-packet description on port "a".
Bytes CraftOne(const std::string& packet_json) {
  CraftedTraffic traffic = Craft(R"({"packets": [)" + packet_json + "]}");
  if (traffic["a"].size() != 1) {
    ADD_FAILURE() << "expected one packet on port a";
    return {};
  }
  return traffic["a"][0].bytes;
}

std::string CraftError(const std::string& json_text) {
  CraftedTraffic traffic;
  std::string error;
  EXPECT_FALSE(CraftTrafficText(json_text, traffic, &error));
  return error;
}

// ---------------------------------------------------------------------------------------------
// Capture file I/O

TEST(PcapFileTest, WriteReadRoundTripKeepsNanosecondsBytesAndLength) {
  TempDir dir;
  std::vector<Packet> written = {
      {1'700'000'000'123'456'789ull, 0, Bytes{0x01, 0x02, 0x03}},
      {1'700'000'001'000'000'001ull, 0, Bytes(1514, 0xab)},
      {1'700'000'001'999'999'999ull, 0, Bytes{}},
  };
  auto writer = PcapWriter::Open(dir.File("rt.pcap"), nullptr);
  ASSERT_NE(writer, nullptr);
  for (const Packet& p : written) {
    writer->Write(p.ts_ns, p.bytes.data(), static_cast<uint32_t>(p.bytes.size()));
  }
  ASSERT_TRUE(writer->Close()) << writer->error();

  std::string error = "stale";
  std::vector<Packet> read = ReadAll(dir.File("rt.pcap"), &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(read.size(), written.size());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].ts_ns, written[i].ts_ns) << i;
    EXPECT_EQ(read[i].bytes, written[i].bytes) << i;
    EXPECT_EQ(read[i].orig_len, written[i].bytes.size()) << i;
  }

  // The file really is Ethernet at nanosecond precision.
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* raw = pcap_open_offline_with_tstamp_precision(dir.File("rt.pcap").c_str(),
                                                        PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  ASSERT_NE(raw, nullptr) << errbuf;
  EXPECT_EQ(pcap_datalink(raw), DLT_EN10MB);
  pcap_close(raw);
}

TEST(PcapFileTest, OversizeFrameIsStoredCutWithFullOrigLen) {
  TempDir dir;
  Bytes big(PcapWriter::kSnapLen + 100, 0x5a);
  {
    auto writer = PcapWriter::Open(dir.File("big.pcap"), nullptr);
    ASSERT_NE(writer, nullptr);
    writer->Write(1, big.data(), static_cast<uint32_t>(big.size()));
  }  // Destructor closes.
  std::string error;
  std::vector<Packet> read = ReadAll(dir.File("big.pcap"), &error);
  ASSERT_EQ(read.size(), 1u) << error;
  EXPECT_EQ(read[0].bytes.size(), PcapWriter::kSnapLen);
  EXPECT_EQ(read[0].orig_len, big.size());
}

TEST(PcapFileTest, ReadsMicrosecondFiles) {
  TempDir dir;
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, dir.File("usec.pcap").c_str());
  ASSERT_NE(dumper, nullptr);
  pcap_pkthdr header{};
  header.ts.tv_sec = 1'700'000'000;
  header.ts.tv_usec = 123'456;
  header.caplen = header.len = 4;
  const u_char data[4] = {1, 2, 3, 4};
  pcap_dump(reinterpret_cast<u_char*>(dumper), &header, data);
  pcap_dump_close(dumper);
  pcap_close(dead);

  std::string error;
  std::vector<Packet> read = ReadAll(dir.File("usec.pcap"), &error);
  ASSERT_EQ(read.size(), 1u) << error;
  EXPECT_EQ(read[0].ts_ns, 1'700'000'000'123'456'000ull);
  EXPECT_EQ(read[0].bytes, (Bytes{1, 2, 3, 4}));
}

TEST(PcapFileTest, MissingFileIsAnError) {
  std::string error;
  EXPECT_EQ(PcapReader::Open("/nonexistent/dir/x.pcap", &error), nullptr);
  EXPECT_NE(error.find("/nonexistent/dir/x.pcap"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  EXPECT_TRUE(ReadAll("/nonexistent/dir/x.pcap", &error).empty());
  EXPECT_FALSE(error.empty());
}

TEST(PcapFileTest, GarbageFileIsAnError) {
  TempDir dir;
  WriteText(dir.File("garbage.pcap"), "this is not a capture file, just some text\n");
  std::string error;
  EXPECT_EQ(PcapReader::Open(dir.File("garbage.pcap"), &error), nullptr);
  EXPECT_NE(error.find("garbage.pcap"), std::string::npos) << error;
  WriteText(dir.File("empty.pcap"), "");
  error.clear();
  EXPECT_EQ(PcapReader::Open(dir.File("empty.pcap"), &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(PcapFileTest, NonEthernetLinkTypeIsRejected) {
  TempDir dir;
  pcap_t* dead = pcap_open_dead(DLT_RAW, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, dir.File("raw.pcap").c_str());
  ASSERT_NE(dumper, nullptr);
  pcap_dump_close(dumper);
  pcap_close(dead);
  std::string error;
  EXPECT_EQ(PcapReader::Open(dir.File("raw.pcap"), &error), nullptr);
  EXPECT_NE(error.find("only EN10MB"), std::string::npos) << error;
}

// Writes three 100-byte frames and returns the file's bytes.
std::string ThreeFrameFile(const TempDir& dir) {
  auto writer = PcapWriter::Open(dir.File("full.pcap"), nullptr);
  Bytes frame(100, 0x11);
  for (uint64_t i = 0; i < 3; ++i) writer->Write(i, frame.data(), 100);
  EXPECT_TRUE(writer->Close());
  std::ifstream in(dir.File("full.pcap"), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(PcapFileTest, TruncatedFileEndsWithAnError) {
  constexpr size_t kFileHeader = 24;
  constexpr size_t kRecord = 16 + 100;
  TempDir dir;
  std::string full = ThreeFrameFile(dir);
  ASSERT_EQ(full.size(), kFileHeader + 3 * kRecord);

  // Cut in the middle of the third frame's data.
  WriteText(dir.File("cut_data.pcap"), full.substr(0, kFileHeader + 2 * kRecord + 16 + 50));
  auto reader = PcapReader::Open(dir.File("cut_data.pcap"), nullptr);
  ASSERT_NE(reader, nullptr);
  Packet packet;
  EXPECT_TRUE(reader->Next(packet));
  EXPECT_TRUE(reader->Next(packet));
  EXPECT_FALSE(reader->Next(packet));
  EXPECT_NE(reader->error().find("truncated"), std::string::npos) << reader->error();
  EXPECT_FALSE(reader->Next(packet));  // Stays finished.

  // Cut in the middle of the second record header.
  WriteText(dir.File("cut_header.pcap"), full.substr(0, kFileHeader + kRecord + 8));
  std::string error;
  std::vector<Packet> read = ReadAll(dir.File("cut_header.pcap"), &error);
  EXPECT_EQ(read.size(), 1u);
  EXPECT_NE(error.find("cut_header.pcap"), std::string::npos) << error;
}

TEST(PcapFileTest, CorruptRecordLengthEndsWithAnError) {
  TempDir dir;
  std::string full = ThreeFrameFile(dir);
  // The second record's caplen (offset 8 in the record header) becomes 0xffffffff.
  std::string bad = full;
  for (size_t i = 0; i < 4; ++i) bad[24 + 116 + 8 + i] = '\xff';
  WriteText(dir.File("corrupt.pcap"), bad);
  std::string error;
  std::vector<Packet> read = ReadAll(dir.File("corrupt.pcap"), &error);
  EXPECT_EQ(read.size(), 1u);
  EXPECT_FALSE(error.empty());
}

TEST(PcapFileTest, WriterOpenFailureIsAnError) {
  std::string error;
  EXPECT_EQ(PcapWriter::Open("/nonexistent/dir/out.pcap", &error), nullptr);
  EXPECT_NE(error.find("/nonexistent/dir/out.pcap"), std::string::npos) << error;
}

TEST(PcapFileTest, WriteFailureIsReportedByClose) {
  // Debian always has /dev/full; without it this test would prove nothing, so it fails.
  ASSERT_TRUE(fs::exists("/dev/full")) << "the write-failure test needs /dev/full";
  auto writer = PcapWriter::Open("/dev/full", nullptr);
  ASSERT_NE(writer, nullptr);
  Bytes frame(100, 0);
  writer->Write(1, frame.data(), 100);
  EXPECT_FALSE(writer->Close());
  EXPECT_NE(writer->error().find("No space"), std::string::npos) << writer->error();
}

TEST(PcapFileTest, WriteAfterCloseIsIgnored) {
  TempDir dir;
  auto writer = PcapWriter::Open(dir.File("w.pcap"), nullptr);
  ASSERT_NE(writer, nullptr);
  uint8_t byte = 7;
  writer->Write(5, &byte, 1);
  EXPECT_TRUE(writer->Close());
  writer->Write(6, &byte, 1);
  EXPECT_TRUE(writer->Close());
  std::string error;
  EXPECT_EQ(ReadAll(dir.File("w.pcap"), &error).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Crafting

TEST(CraftTest, TcpSynIsByteExact) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0.001,
      "ip": {"src": "10.0.1.3", "dst": "10.15.2.4", "ttl": 64, "id": 1, "df": true},
      "tcp": {"sport": 40000, "dport": 80, "flags": "S", "seq": 1}})");
  // Checked by hand: IPv4 checksum 0x23ba, TCP checksum 0xfc3b.
  const Bytes expected = {
      0x42, 0x01, 0x0a, 0x00, 0x01, 0x01,  // dst: gateway-style MAC of 10.0.1.1
      0x42, 0x01, 0x0a, 0x00, 0x01, 0x03,  // src: GcpMacForIp(10.0.1.3)
      0x08, 0x00,                          // IPv4
      0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x23, 0xba,  // IPv4 header
      0x0a, 0x00, 0x01, 0x03, 0x0a, 0x0f, 0x02, 0x04,                          // addresses
      0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  // ports, seq, ack
      0x50, 0x02, 0xff, 0xff, 0xfc, 0x3b, 0x00, 0x00,  // offset, SYN, window, checksum, urg
  };
  EXPECT_EQ(frame, expected);
  ASSERT_EQ(frame.size(), 54u);  // Not padded to 60.
  EXPECT_EQ(OnesSum(frame, 14, 20), 0xffff);
  EXPECT_EQ(OnesSum(frame, 34, 20, PseudoSum(frame, 14)), 0xffff);

  CraftedTraffic traffic = Craft(R"({"packets": [{"port": "a", "time": 0.001,
      "ip": {"src": "10.0.1.3", "dst": "10.15.2.4"}, "tcp": {"sport": 1, "dport": 2}}]})");
  EXPECT_EQ(traffic["a"][0].ts_ns, kCraftEpochNs + 1'000'000);
}

TEST(CraftTest, TcpFlagsAndPayload) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0,
      "ip": {"src": "10.0.1.3", "dst": "10.0.2.4"},
      "tcp": {"sport": 1, "dport": 2, "flags": "FSRPAUEC", "ack": 4294967295, "window": 1024},
      "payload": "hello"})");
  ASSERT_EQ(frame.size(), 14u + 20 + 20 + 5);
  EXPECT_EQ(frame[14 + 20 + 13], 0xff);
  EXPECT_EQ(Get32(frame, 14 + 20 + 8), 0xffffffffu);
  EXPECT_EQ(Get16(frame, 14 + 20 + 14), 1024);
  EXPECT_EQ(std::string(frame.end() - 5, frame.end()), "hello");
  EXPECT_EQ(Get16(frame, 16), 20 + 20 + 5);
  EXPECT_EQ(OnesSum(frame, 34, 25, PseudoSum(frame, 14)), 0xffff);  // Odd length.
}

TEST(CraftTest, UdpFieldsAndChecksum) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0,
      "ip": {"src": "10.0.1.3", "dst": "8.8.8.8", "ttl": 3, "tos": 184},
      "udp": {"sport": 5000, "dport": 53}, "payload_len": 100})");
  ASSERT_EQ(frame.size(), 14u + 20 + 8 + 100);
  EXPECT_EQ(Get16(frame, 12), 0x0800);
  EXPECT_EQ(Get16(frame, 16), 128);  // IPv4 total length.
  EXPECT_EQ(frame[15], 184);         // TOS.
  EXPECT_EQ(frame[22], 3);           // TTL.
  EXPECT_EQ(frame[23], 17);          // Protocol.
  EXPECT_EQ(Get16(frame, 34), 5000);
  EXPECT_EQ(Get16(frame, 36), 53);
  EXPECT_EQ(Get16(frame, 38), 108);  // UDP length.
  EXPECT_EQ(frame[42], 0);           // Payload pattern 00 01 02 ...
  EXPECT_EQ(frame[42 + 99], 99);
  EXPECT_EQ(OnesSum(frame, 14, 20), 0xffff);
  EXPECT_EQ(OnesSum(frame, 34, 108, PseudoSum(frame, 14)), 0xffff);

  Bytes empty = CraftOne(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "udp": {"sport": 1, "dport": 2}})");
  EXPECT_EQ(empty.size(), 42u);  // Kept short: no padding to 60.
}

TEST(CraftTest, IcmpEcho) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0,
      "ip": {"src": "10.0.1.3", "dst": "10.0.1.1"},
      "icmp": {"type": 8, "id": 77, "seq": 3}, "payload_hex": "de ad be ef 01"})");
  ASSERT_EQ(frame.size(), 14u + 20 + 8 + 5);
  EXPECT_EQ(frame[23], 1);
  EXPECT_EQ(frame[34], 8);
  EXPECT_EQ(frame[35], 0);
  EXPECT_EQ(Get16(frame, 38), 77);
  EXPECT_EQ(Get16(frame, 40), 3);
  EXPECT_EQ(Get32(frame, 42), 0xdeadbeefu);
  EXPECT_EQ(OnesSum(frame, 34, 13), 0xffff);
}

TEST(CraftTest, IcmpErrorQuotesInnerHeaderPlusEightBytes) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0,
      "ip": {"src": "10.0.1.1", "dst": "10.0.1.3"},
      "icmp": {"type": 3, "code": 4, "mtu": 1460,
               "inner": {"ip": {"src": "10.0.1.3", "dst": "10.15.2.4", "df": true},
                         "tcp": {"sport": 40000, "dport": 80, "seq": 305419896},
                         "payload_len": 1500}}})");
  ASSERT_EQ(frame.size(), 14u + 20 + 8 + 20 + 8);
  EXPECT_EQ(Get16(frame, 16), 20 + 8 + 20 + 8);
  EXPECT_EQ(frame[34], 3);
  EXPECT_EQ(frame[35], 4);
  EXPECT_EQ(Get16(frame, 40), 1460);  // Next-hop MTU, after 2 unused bytes.
  EXPECT_EQ(OnesSum(frame, 34, 36), 0xffff);
  // The quoted header describes the original packet, with its own valid checksum.
  const size_t inner = 42;
  EXPECT_EQ(frame[inner], 0x45);
  EXPECT_EQ(Get16(frame, inner + 2), 20 + 20 + 1500);
  EXPECT_EQ(Get16(frame, inner + 6), 0x4000);
  EXPECT_EQ(frame[inner + 9], 6);
  EXPECT_EQ(Get32(frame, inner + 12), *ParseIpv4("10.0.1.3"));
  EXPECT_EQ(OnesSum(frame, inner, 20), 0xffff);
  EXPECT_EQ(Get16(frame, inner + 20), 40000);
  EXPECT_EQ(Get16(frame, inner + 22), 80);
  EXPECT_EQ(Get32(frame, inner + 24), 305419896u);

  Bytes ttl_exceeded = CraftOne(R"({"port": "a", "time": 0,
      "ip": {"src": "10.0.9.1", "dst": "10.0.1.3"},
      "icmp": {"type": 11, "inner": {"ip": {"src": "10.0.1.3", "dst": "10.15.2.4", "ttl": 1},
                                     "udp": {"sport": 33434, "dport": 33435}}}})");
  ASSERT_EQ(ttl_exceeded.size(), 14u + 20 + 8 + 20 + 8);
  EXPECT_EQ(ttl_exceeded[34], 11);
  EXPECT_EQ(Get16(ttl_exceeded, 42 + 20 + 4), 8);  // Quoted UDP length.
}

TEST(CraftTest, ArpRequestAndReply) {
  Bytes request = CraftOne(R"({"port": "a", "time": 0,
      "arp": {"op": "request", "sender_ip": "10.0.1.3", "target_ip": "10.0.1.1"}})");
  ASSERT_EQ(request.size(), 14u + 28);
  EXPECT_EQ(request[0], 0xff);  // Broadcast.
  EXPECT_EQ(request[5], 0xff);
  MacAddr sender = GcpMacForIp(*ParseIpv4("10.0.1.3"));
  EXPECT_TRUE(std::equal(sender.bytes.begin(), sender.bytes.end(), request.begin() + 6));
  EXPECT_EQ(Get16(request, 12), 0x0806);
  EXPECT_EQ(Get16(request, 14), 1);       // Ethernet.
  EXPECT_EQ(Get16(request, 16), 0x0800);  // IPv4.
  EXPECT_EQ(request[18], 6);
  EXPECT_EQ(request[19], 4);
  EXPECT_EQ(Get16(request, 20), 1);  // Request.
  EXPECT_TRUE(std::equal(sender.bytes.begin(), sender.bytes.end(), request.begin() + 22));
  EXPECT_EQ(Get32(request, 28), *ParseIpv4("10.0.1.3"));
  EXPECT_EQ(Get32(request, 32), 0u);  // Target MAC unknown.
  EXPECT_EQ(Get32(request, 38), *ParseIpv4("10.0.1.1"));

  Bytes reply = CraftOne(R"({"port": "a", "time": 0,
      "arp": {"op": "reply", "sender_ip": "10.0.1.1", "sender_mac": "42:01:0a:00:01:01",
              "target_ip": "10.0.1.3", "target_mac": "02:00:00:00:00:09"}})");
  ASSERT_EQ(reply.size(), 42u);
  EXPECT_EQ(FormatMac(MacAddr{{reply[0], reply[1], reply[2], reply[3], reply[4], reply[5]}}),
            "02:00:00:00:00:09");
  EXPECT_EQ(Get16(reply, 20), 2);
  EXPECT_EQ(reply[32 + 5], 0x09);
}

TEST(CraftTest, VlanTagAndExplicitMacs) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0, "vlan": 10,
      "src_mac": "02:00:00:00:00:01", "dst_mac": "02:00:00:00:00:02",
      "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}, "udp": {"sport": 1, "dport": 2}})");
  ASSERT_EQ(frame.size(), 18u + 20 + 8);
  EXPECT_EQ(frame[5], 0x02);
  EXPECT_EQ(frame[11], 0x01);
  EXPECT_EQ(Get16(frame, 12), 0x8100);
  EXPECT_EQ(Get16(frame, 14), 10);
  EXPECT_EQ(Get16(frame, 16), 0x0800);
  EXPECT_EQ(frame[18], 0x45);
  EXPECT_EQ(OnesSum(frame, 18, 20), 0xffff);
}

TEST(CraftTest, IpOptionsFragmentsAndRawProtocol) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0,
      "ip": {"src": "10.0.1.3", "dst": "10.0.1.4", "proto": 47, "options_len": 8,
             "frag_offset": 1480, "more_fragments": true, "id": 4660},
      "payload_len": 16})");
  ASSERT_EQ(frame.size(), 14u + 28 + 16);
  EXPECT_EQ(frame[14], 0x47);  // IHL 7.
  EXPECT_EQ(Get16(frame, 16), 28 + 16);
  EXPECT_EQ(Get16(frame, 18), 4660);
  EXPECT_EQ(Get16(frame, 20), 0x2000 | (1480 / 8));
  EXPECT_EQ(frame[23], 47);
  EXPECT_EQ(frame[34], 0x01);  // NOP option.
  EXPECT_EQ(OnesSum(frame, 14, 28), 0xffff);
}

TEST(CraftTest, BadChecksumsAreWrong) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0,
      "ip": {"src": "10.0.1.3", "dst": "10.15.2.4", "bad_checksum": true},
      "tcp": {"sport": 1, "dport": 2, "bad_checksum": true}})");
  EXPECT_NE(OnesSum(frame, 14, 20), 0xffff);
  EXPECT_NE(OnesSum(frame, 34, 20, PseudoSum(frame, 14)), 0xffff);
  Bytes udp = CraftOne(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "udp": {"sport": 1, "dport": 2, "bad_checksum": true}})");
  EXPECT_EQ(OnesSum(udp, 14, 20), 0xffff);
  EXPECT_NE(Get16(udp, 40), 0);  // Zero would mean "no checksum".
  EXPECT_NE(OnesSum(udp, 34, 8, PseudoSum(udp, 14)), 0xffff);
}

TEST(CraftTest, RawHexWithEthertype) {
  Bytes frame = CraftOne(R"({"port": "a", "time": 0, "ethertype": 34525,
      "src_mac": "02:00:00:00:00:01", "dst_mac": "33:33:00:00:00:01", "raw_hex": "60 00 00 00"})");
  ASSERT_EQ(frame.size(), 18u);
  EXPECT_EQ(Get16(frame, 12), 0x86dd);
  EXPECT_EQ(Get32(frame, 14), 0x60000000u);
}

TEST(CraftTest, TruncateCutsTheFinishedFrame) {
  Bytes full = CraftOne(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "tcp": {"sport": 1, "dport": 2}})");
  Bytes cut = CraftOne(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "tcp": {"sport": 1, "dport": 2}, "truncate": 30})");
  ASSERT_EQ(cut.size(), 30u);
  EXPECT_TRUE(std::equal(cut.begin(), cut.end(), full.begin()));
  EXPECT_EQ(Get16(cut, 16), 40);  // The header still claims the full length.
}

TEST(CraftTest, RepeatAndPortsKeepOrderAndTime) {
  CraftedTraffic traffic = Craft(R"({"packets": [
      // Comments and trailing commas are allowed.
      {"port": "a", "time": 1.5, "repeat": 3,
       "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}, "udp": {"sport": 1, "dport": 2}},
      {"port": "b", "time": 0.25, "comment": "first on b",
       "ip": {"src": "10.0.1.4", "dst": "10.0.1.3"}, "udp": {"sport": 2, "dport": 1}},
      {"port": "a", "time": 2,
       "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}, "udp": {"sport": 1, "dport": 3}},
    ]})");
  ASSERT_EQ(traffic.size(), 2u);
  const auto& a = traffic["a"];
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a[i].ts_ns, kCraftEpochNs + 1'500'000'000 + i * 1000);
    EXPECT_EQ(a[i].bytes, a[0].bytes);
  }
  EXPECT_EQ(a[3].ts_ns, kCraftEpochNs + 2'000'000'000);
  EXPECT_EQ(Get16(a[3].bytes, 36), 3);
  ASSERT_EQ(traffic["b"].size(), 1u);
  EXPECT_EQ(traffic["b"][0].ts_ns, kCraftEpochNs + 250'000'000);
}

TEST(CraftTest, BadInputGivesLocatedErrors) {
  const std::string kTcp = R"("tcp": {"sport": 1, "dport": 2})";
  auto one = [](const std::string& packet) {
    return R"({"packets": [{"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
        "udp": {"sport": 1, "dport": 2}}, )" +
           packet + "]}";
  };
  EXPECT_EQ(CraftError(one(R"({"port": "a", "time": 0,
                "ip": {"src": "10.0.1.3", "dst": "10.0.1.4", "tll": 3}, )" +
                           kTcp + "}")),
            "packet 1: unknown field 'ip.tll' (known here: src, dst, ttl, id, df, tos, "
            "frag_offset, more_fragments, proto, bad_checksum, options_len)");
  EXPECT_EQ(CraftError(one(R"({"port": "a", "time": 0,
                "ip": {"src": "10.0.1.300", "dst": "10.0.1.4"}, )" +
                           kTcp + "}")),
            "packet 1: ip.src: invalid IPv4 address \"10.0.1.300\"");
  EXPECT_EQ(CraftError(one(R"({"port": "a", "time": 0,
                "ip": {"src": "10.0.1.3", "dst": "10.0.1.4", "ttl": "64"}, )" +
                           kTcp + "}")),
            "packet 1: ip.ttl: expected an integer in 0..255, got \"64\"");
  EXPECT_EQ(CraftError(one(R"({"port": "a", "time": 0,
                "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}, "tcp": {"sport": 1}})")),
            "packet 1: tcp.dport: missing (required)");
  EXPECT_EQ(CraftError(one(R"({"port": "a", "time": 0, "bogus": 1,
                "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}, )" +
                           kTcp + "}")),
            "packet 1: unknown field 'bogus' (known here: port, time, src_mac, dst_mac, vlan, "
            "ip, tcp, udp, icmp, payload, payload_len, payload_hex, arp, ethertype, raw_hex, "
            "truncate, repeat, comment)");

  auto contains = [](const std::string& error, const std::string& part) {
    return error.find(part) != std::string::npos;
  };
  std::string error = CraftError(one(R"({"time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      )" + kTcp + "}"));
  EXPECT_TRUE(contains(error, "packet 1: port: missing")) << error;
  error = CraftError(one(R"({"port": "../x", "time": 0, "arp": {}})"));
  EXPECT_TRUE(contains(error, "packet 1: port: \"../x\" is not a valid port name")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "tcp": {"sport": 1, "dport": 2, "flags": "SX"}})"));
  EXPECT_TRUE(contains(error, "packet 1: tcp.flags: unknown flag letter 'X'")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "tcp": {"sport": 1, "dport": 2}, "udp": {"sport": 1, "dport": 2}})"));
  EXPECT_TRUE(contains(error, "at most one of tcp, udp, icmp")) << error;
  error =
      CraftError(one(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}})"));
  EXPECT_TRUE(contains(error, "packet 1: ip.proto: missing")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "tcp": {"sport": 1, "dport": 2}})"));
  EXPECT_TRUE(contains(error, "packet 1: needs exactly one of ip, arp, raw_hex")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "udp": {"sport": 1, "dport": 2}, "truncate": 100})"));
  EXPECT_TRUE(contains(error, "packet 1: truncate: 100 is longer than the frame (42 bytes)"))
      << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "icmp": {"type": 8, "inner": {"ip": {"src": "10.0.1.4", "dst": "10.0.1.3"}}}})"));
  EXPECT_TRUE(contains(error, "packet 1: icmp.inner: only for ICMP error types")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "icmp": {"type": 3, "inner": {"ip": {"src": "10.0.1.4", "dst": "x"}, "proto": 6}}})"));
  EXPECT_TRUE(contains(error, "packet 1: unknown field 'icmp.inner.proto'")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
      "icmp": {"type": 3, "inner": {"ip": {"src": "10.0.1.4", "dst": "x"}, "udp": {"sport": 1, "dport": 2}}}})"));
  EXPECT_TRUE(contains(error, "packet 1: icmp.inner.ip.dst: invalid IPv4 address")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "arp": {"op": "ask", "sender_ip": "10.0.1.3",
      "target_ip": "10.0.1.1"}})"));
  EXPECT_TRUE(contains(error, "packet 1: arp.op: expected \"request\" or \"reply\"")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "src_mac": "42:01", "arp": {"op": "request",
      "sender_ip": "10.0.1.3", "target_ip": "10.0.1.1"}})"));
  EXPECT_TRUE(contains(error, "packet 1: src_mac: invalid MAC address")) << error;
  error = CraftError(one(R"({"port": "a", "time": 0, "raw_hex": "0"})"));
  EXPECT_TRUE(contains(error, "packet 1: ethertype: raw_hex and ethertype go together")) << error;
  error = CraftError(one(R"({"port": "a", "time": -1, "arp": {}})"));
  EXPECT_TRUE(contains(error, "packet 1: time: expected seconds")) << error;
  error = CraftError(one(R"({"port": "a", "time": "0", "arp": {}})"));
  EXPECT_TRUE(contains(error, "packet 1: time: expected a number, got \"0\"")) << error;
  error = CraftError(R"({"packets": [
      {"port": "a", "time": 1, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}, "proto": 1},
      {"port": "a", "time": 0.5, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4", "proto": 1}}]})");
  EXPECT_TRUE(contains(error, "packet 0: unknown field 'proto'")) << error;
  error = CraftError(R"({"packets": [
      {"port": "a", "time": 1, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4", "proto": 1}},
      {"port": "a", "time": 0.5, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4", "proto": 1}}]})");
  EXPECT_TRUE(contains(error, "packet 1: time: goes back in time on port \"a\"")) << error;

  error = CraftError(R"({"packets": 3})");
  EXPECT_EQ(error, "traffic: packets: expected an array, got 3");
  error = CraftError(R"([1, 2])");
  EXPECT_TRUE(contains(error, "traffic: expected an object")) << error;
  error = CraftError(R"({"packets": [7]})");
  EXPECT_EQ(error, "packet 0: expected an object, got 7");
  error = CraftError("{\"packets\": [\n  {\"port\": \"a\",, }\n]}");
  EXPECT_TRUE(contains(error, "line 2, column")) << error;
  error = CraftError("{\"packets\": [");
  EXPECT_TRUE(contains(error, "invalid JSON")) << error;
}

TEST(CraftTest, CraftToDirWritesOneCapturePerPort) {
  TempDir dir;
  WriteText(dir.File("traffic.json"), R"({"packets": [
      {"port": "vm1", "time": 0.001, "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"},
       "udp": {"sport": 1, "dport": 2}},
      {"port": "vm2", "time": 0.002, "arp": {"op": "request", "sender_ip": "10.0.1.4",
       "target_ip": "10.0.1.1"}}]})");
  std::string error;
  ASSERT_TRUE(CraftToDir(dir.File("traffic.json"), dir.File("out/pcaps"), &error)) << error;
  std::vector<Packet> vm1 = ReadAll(dir.File("out/pcaps/vm1.pcap"), &error);
  ASSERT_EQ(vm1.size(), 1u) << error;
  EXPECT_EQ(vm1[0].ts_ns, kCraftEpochNs + 1'000'000);
  EXPECT_EQ(vm1[0].bytes.size(), 42u);
  EXPECT_EQ(vm1[0].orig_len, 42u);
  EXPECT_EQ(ReadAll(dir.File("out/pcaps/vm2.pcap"), &error).size(), 1u);

  EXPECT_FALSE(CraftToDir(dir.File("missing.json"), dir.File("out"), &error));
  EXPECT_NE(error.find("missing.json"), std::string::npos) << error;
}

int RunCraft(const std::string& args) {
  std::string command = std::string(SVPC_CRAFT_PATH) + " " + args + " >/dev/null 2>&1";
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CraftTest, ToolExitCodes) {
  TempDir dir;
  WriteText(dir.File("good.json"), R"({"packets": [{"port": "p", "time": 0,
      "ip": {"src": "10.0.1.3", "dst": "10.0.1.4"}, "udp": {"sport": 1, "dport": 2}}]})");
  WriteText(dir.File("bad.json"), R"({"packets": [{"port": "p", "time": 0, "colour": "red"}]})");
  EXPECT_EQ(RunCraft(dir.File("good.json") + " " + dir.File("out")), 0);
  EXPECT_TRUE(fs::exists(dir.File("out/p.pcap")));
  EXPECT_EQ(RunCraft(dir.File("bad.json") + " " + dir.File("out2")), 2);
  EXPECT_FALSE(fs::exists(dir.File("out2")));
  EXPECT_EQ(RunCraft(dir.File("missing.json") + " " + dir.File("out3")), 2);
  EXPECT_EQ(RunCraft(""), 2);
  WriteText(dir.File("file"), "");
  EXPECT_EQ(RunCraft(dir.File("good.json") + " " + dir.File("file")), 1);
}

}  // namespace
}  // namespace svpc::pcap
