#include "bench/frame.h"

#include <rte_ip.h>

#include <cstring>

namespace svpc::bench {
namespace {

inline void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

constexpr uint32_t kEthLen = 14;
constexpr uint32_t kIpLen = 20;

}  // namespace

void BuildFrame(uint8_t* p, const FlowSpec& f, uint8_t tcp_flags, uint32_t serial, uint16_t size) {
  std::memset(p, 0, size);
  std::memcpy(p, f.dst_mac.bytes.data(), 6);
  std::memcpy(p + 6, f.src_mac.bytes.data(), 6);
  Store16(p + 12, 0x0800);
  uint8_t* ip = p + kEthLen;
  ip[0] = 0x45;
  Store16(ip + 2, static_cast<uint16_t>(size - kEthLen));  // the frame carries no padding
  Store16(ip + 4, static_cast<uint16_t>(serial));
  Store16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = f.protocol;
  Store32(ip + 12, f.src);
  Store32(ip + 16, f.dst);
  const uint16_t cksum = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip));
  std::memcpy(ip + 10, &cksum, 2);  // rte_ipv4_cksum returns it in network order
  uint8_t* l4 = ip + kIpLen;
  Store16(l4, f.src_port);
  Store16(l4 + 2, f.dst_port);
  if (f.protocol == 6) {
    Store32(l4 + 4, serial * 7919u);  // sequence number
    l4[12] = 0x50;                    // data offset 5 words
    l4[13] = tcp_flags;
    Store16(l4 + 14, 65535);
  } else {
    Store16(l4 + 4, static_cast<uint16_t>(size - kEthLen - kIpLen));
  }
}

}  // namespace svpc::bench
