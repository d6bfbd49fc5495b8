#include "pcap/pcapng.h"

namespace svpc::pcap {
namespace {

class Block {
 public:
  explicit Block(uint32_t type) {
    U32(type);
    U32(0);  // total length, filled in by Finish
  }
  Block& U16(uint16_t v) { return Raw(&v, 2); }
  Block& U32(uint32_t v) { return Raw(&v, 4); }
  Block& Raw(const void* p, size_t n) {
    bytes_.append(static_cast<const char*>(p), n);
    return *this;
  }
  Block& Pad() {
    while (bytes_.size() % 4 != 0) bytes_.push_back('\0');
    return *this;
  }
  // An option: code, length, value padded to 32 bits.
  Block& Option(uint16_t code, const std::string& value) {
    U16(code).U16(static_cast<uint16_t>(value.size())).Raw(value.data(), value.size());
    return Pad();
  }
  std::string Finish() {
    const uint32_t total = static_cast<uint32_t>(bytes_.size() + 4);
    U32(total);
    bytes_.replace(4, 4, reinterpret_cast<const char*>(&total), 4);
    return bytes_;
  }

 private:
  std::string bytes_;
};

constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfTsResol = 9;
constexpr uint16_t kLinkTypeEthernet = 1;

}  // namespace

std::string PcapngFile(const std::vector<std::string>& interfaces, uint32_t snap_length,
                       const std::vector<PcapngPacket>& packets) {
  std::string out;
  // Section header: byte-order magic, version 1.0, section length unknown (-1).
  Block shb(0x0A0D0D0A);
  shb.U32(0x1A2B3C4D).U16(1).U16(0).U32(0xffffffff).U32(0xffffffff);
  out += shb.Finish();
  for (const std::string& name : interfaces) {
    Block idb(1);
    idb.U16(kLinkTypeEthernet).U16(0).U32(snap_length);
    idb.Option(kIfName, name).Option(kIfTsResol, std::string(1, '\x09')).U16(kOptEnd).U16(0);
    out += idb.Finish();
  }
  for (const PcapngPacket& p : packets) {
    Block epb(6);
    epb.U32(p.interface)
        .U32(static_cast<uint32_t>(p.time_ns >> 32))
        .U32(static_cast<uint32_t>(p.time_ns))
        .U32(static_cast<uint32_t>(p.data.size()))
        .U32(p.original_length)
        .Raw(p.data.data(), p.data.size())
        .Pad();
    if (!p.comment.empty()) epb.Option(kOptComment, p.comment).U16(kOptEnd).U16(0);
    out += epb.Finish();
  }
  return out;
}

}  // namespace svpc::pcap
