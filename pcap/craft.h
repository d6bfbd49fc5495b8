#pragma once
// Builds Ethernet frames from a readable JSON traffic description (format in pcap/README.md), so
// that tests keep their traffic as text rather than opaque captures. Every checksum is computed
// unless a block asks for a bad one; frames are never padded to 60 bytes.
//
// Input errors name the packet index and the field ("packet 3: ip.ttl: ..."); nothing throws.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace svpc::pcap {

// Crafted timestamps count from this instant (2023-11-14T22:13:20Z) so captures look real.
inline constexpr uint64_t kCraftEpochNs = 1'700'000'000ull * 1'000'000'000ull;

struct CraftedPacket {
  uint64_t ts_ns = 0;  // Nanoseconds since the Unix epoch.
  std::vector<uint8_t> bytes;
};

// Port name -> that port's frames in listed order.
using CraftedTraffic = std::map<std::string, std::vector<CraftedPacket>>;

// Crafts every packet of `doc`. On success replaces `out` and returns true; on bad input returns
// false, sets *error, and leaves `out` unspecified.
bool CraftTraffic(const boost::json::value& doc, CraftedTraffic& out, std::string* error);

// Parses JSON text (comments and trailing commas allowed) and crafts it. Syntax errors give a line
// and column.
bool CraftTrafficText(std::string_view text, CraftedTraffic& out, std::string* error);

// Reads and crafts a traffic file.
bool CraftFile(const std::string& traffic_path, CraftedTraffic& out, std::string* error);

// Writes `OUT_DIR/<port>.pcap` for each port, creating `out_dir` if needed.
bool WritePortCaptures(const CraftedTraffic& traffic, const std::string& out_dir,
                       std::string* error);

// CraftFile followed by WritePortCaptures.
bool CraftToDir(const std::string& traffic_path, const std::string& out_dir, std::string* error);

}  // namespace svpc::pcap
