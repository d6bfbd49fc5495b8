#pragma once
// Capture file I/O on top of libpcap. Timestamps are nanoseconds since the Unix epoch on both
// sides: the reader opens files at nanosecond precision, so microsecond (classic) and nanosecond
// pcap files, and pcapng files, read the same way. Only Ethernet (DLT_EN10MB) captures are
// accepted; written files are classic pcap, DLT_EN10MB, nanosecond precision.
//
// Not for the per-packet data path: every Next() copies the frame into a vector.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

// libpcap's handle types, declared here so that users of this header do not see <pcap.h>.
struct pcap;
struct pcap_dumper;

namespace svpc::pcap {

// One captured frame. `bytes` holds the captured part (caplen); `orig_len` is the length on the
// wire, which is larger when the capture was cut by a snap length.
struct Packet {
  uint64_t ts_ns = 0;
  uint32_t orig_len = 0;
  std::vector<uint8_t> bytes;
};

// Reads the frames of one capture file in file order.
class PcapReader {
 public:
  // Returns nullptr and sets *error (naming the path) when the file is missing, is not a
  // capture file, or is not Ethernet.
  static std::unique_ptr<PcapReader> Open(const std::string& path, std::string* error);
  ~PcapReader();
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  // Fills `out` with the next frame and returns true. Returns false at the end of the file or on
  // a truncated or corrupt record; in the latter case error() is non-empty. After the first
  // false, every further call returns false.
  bool Next(Packet& out);
  // Empty unless reading stopped on a damaged record.
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  PcapReader(::pcap* handle, std::string path);

  ::pcap* handle_;
  std::string path_;
  std::string error_;
  bool done_ = false;
};

// Reads a whole file. Returns the frames read; on failure sets *error (naming the path), and the
// result holds the frames read before the damaged record. *error is cleared on success.
std::vector<Packet> ReadAll(const std::string& path, std::string* error);

// Writes frames to a new (truncated) classic pcap file: DLT_EN10MB, nanosecond timestamps.
class PcapWriter {
 public:
  // Frames longer than this are stored cut to it (orig_len keeps the full length), as libpcap's
  // readers reject longer records.
  static constexpr uint32_t kSnapLen = 262144;

  // Returns nullptr and sets *error when the file cannot be created.
  static std::unique_ptr<PcapWriter> Open(const std::string& path, std::string* error);
  // Closes the file if Close() was not called; errors are then lost.
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends one frame; `ts_ns` is nanoseconds since the Unix epoch. Ignored after Close().
  void Write(uint64_t ts_ns, const uint8_t* data, uint32_t len);
  // Flushes and closes the file. Returns false (error() says why) if any write failed.
  bool Close();
  const std::string& error() const { return error_; }

 private:
  PcapWriter(::pcap* handle, ::pcap_dumper* dumper, std::string path);

  ::pcap* handle_;
  ::pcap_dumper* dumper_;
  std::string path_;
  std::string error_;
};

}  // namespace svpc::pcap
