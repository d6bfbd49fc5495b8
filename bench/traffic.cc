#include "bench/traffic.h"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>

#include <cstdlib>
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

void WriteFrame(rte_mbuf* m, const FlowSpec& f, uint8_t tcp_flags, uint32_t serial) {
  rte_pktmbuf_reset(m);
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kFrameBytes));
  if (p == nullptr) std::abort();  // the pool's data room holds far more than 64 bytes
  std::memset(p, 0, kFrameBytes);
  std::memcpy(p, f.dst_mac.bytes.data(), 6);
  std::memcpy(p + 6, f.src_mac.bytes.data(), 6);
  Store16(p + 12, 0x0800);
  uint8_t* ip = p + kEthLen;
  ip[0] = 0x45;
  Store16(ip + 2, kFrameBytes - kEthLen);  // 50: the frame carries no padding
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
    Store16(l4 + 4, kFrameBytes - kEthLen - kIpLen);
  }
  MbufTag& tag = Tag(m);
  std::memcpy(tag.macs, p, 12);
  tag.in_port = f.in_port;
  tag.kind = kKindFlow;
  tag.serial = serial;
  tag.stamp = 0;
}

void SetSourcePort(rte_mbuf* m, uint16_t port) {
  Store16(rte_pktmbuf_mtod(m, uint8_t*) + kEthLen + kIpLen, port);
}

rte_mempool* CreateMbufPool(const char* name, uint32_t mbufs, std::string* error) {
  // 64-byte frames: headroom (room for a VLAN tag to be pushed) plus 128 bytes of data.
  rte_mempool* pool =
      rte_pktmbuf_pool_create(name, mbufs, 256, sizeof(MbufTag), RTE_PKTMBUF_HEADROOM + 128,
                              static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    *error = std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno);
  }
  return pool;
}

RingPorts::~RingPorts() {
  for (rte_mbuf* m : DrainAll()) rte_pktmbuf_free(m);
  ports_.Close();
  for (rte_ring* r : rx_) rte_ring_free(r);
  for (rte_ring* r : tx_) rte_ring_free(r);
}

bool RingPorts::Create(const Workload& w, uint32_t ring_size, rte_mempool* pool,
                       std::string* error) {
  if (w.port_names.size() != kPortCount) {
    *error = "the workload must have exactly " + std::to_string(kPortCount) + " ports";
    return false;
  }
  for (uint16_t p = 0; p < kPortCount; ++p) {
    const std::string base = "svpcb_" + w.port_names[p];
    rte_ring* rx =
        rte_ring_create((base + "_rx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                        RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* tx =
        rte_ring_create((base + "_tx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                        RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (rx == nullptr || tx == nullptr) {
      *error = "rte_ring_create for port " + w.port_names[p] + ": " + rte_strerror(rte_errno);
      rte_ring_free(rx);
      rte_ring_free(tx);
      return false;
    }
    rx_.push_back(rx);
    tx_.push_back(tx);
    // Creates the ethdev "net_ring_<base>" (the net_ring PMD): rx_burst dequeues from `rx`,
    // tx_burst enqueues on `tx`.
    if (rte_eth_from_rings(base.c_str(), &rx, 1, &tx, 1, rte_socket_id()) < 0) {
      *error = "rte_eth_from_rings for port " + w.port_names[p] + ": " + rte_strerror(rte_errno);
      return false;
    }
    if (RingDeviceName(base) != w.port_devices[p]) {
      *error = "unexpected device name for port " + w.port_names[p];
      return false;
    }
  }
  return ports_.Open(w.port_devices, pool, error);
}

std::vector<rte_mbuf*> RingPorts::DrainAll() {
  std::vector<rte_mbuf*> out;
  rte_mbuf* got[256];
  for (size_t p = 0; p < rx_.size(); ++p) {
    for (rte_ring* r : {rx_[p], tx_[p]}) {
      for (;;) {
        unsigned n = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(got), 256, nullptr);
        if (n == 0) break;
        out.insert(out.end(), got, got + n);
      }
    }
  }
  return out;
}

}  // namespace svpc::bench
