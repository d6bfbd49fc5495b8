#include "bench/traffic.h"

#include "bench/frame.h"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>

#include <cstdlib>
#include <cstring>

namespace svpc::bench {
namespace {

constexpr uint32_t kEthLen = 14;
constexpr uint32_t kIpLen = 20;

}  // namespace

void WriteFrame(rte_mbuf* m, const FlowSpec& f, uint8_t tcp_flags, uint32_t serial) {
  rte_pktmbuf_reset(m);
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kFrameBytes));
  if (p == nullptr) std::abort();  // the pool's data room holds far more than 64 bytes
  BuildFrame(p, f, tcp_flags, serial, kFrameBytes);
  MbufTag& tag = Tag(m);
  std::memcpy(tag.macs, p, 12);
  tag.in_port = f.in_port;
  tag.kind = kKindFlow;
  tag.serial = serial;
  tag.stamp = 0;
}

void SetSourcePort(rte_mbuf* m, uint16_t port) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*) + kEthLen + kIpLen;
  p[0] = static_cast<uint8_t>(port >> 8);
  p[1] = static_cast<uint8_t>(port);
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
