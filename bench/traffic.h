#pragma once
// The wire around the engine: real DPDK ports backed by rte_rings (rte_eth_from_rings, the
// net_ring PMD), 64-byte frames, and the "cable" that takes what a port transmitted and puts it
// back on the receive side of the port it came from, with its original Ethernet header, so the
// same flows come round again.

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/workload.h"
#include "dataplane/ports.h"

namespace svpc::bench {

inline constexpr uint16_t kFrameBytes = 64;
inline constexpr uint8_t kTcpAck = 0x10;

// Kept in each mbuf's private area: how to put the frame back on the wire it came from.
struct MbufTag {
  uint8_t macs[12];  // destination and source MAC as sent
  uint16_t in_port;  // testbed port it is received on
  uint16_t kind;     // MbufKind
  uint32_t serial;   // flow index, or probe serial
  uint64_t stamp;    // probes: TSC when injected
};
inline constexpr uint16_t kKindFlow = 0;
inline constexpr uint16_t kKindProbe = 1;

inline MbufTag& Tag(rte_mbuf* m) { return *static_cast<MbufTag*>(rte_mbuf_to_priv(m)); }

// Writes the 64-byte frame of `f` into `m` (Ethernet, IPv4 with checksum, TCP with `tcp_flags`
// or UDP) and fills its tag.
void WriteFrame(rte_mbuf* m, const FlowSpec& f, uint8_t tcp_flags, uint32_t serial);
// Only the source port changes (the IPv4 checksum does not cover it).
void SetSourcePort(rte_mbuf* m, uint16_t port);
// Puts back the MACs the frame was sent with (the engine rewrote them for the output port).
inline void RestoreMacs(rte_mbuf* m) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  __builtin_memcpy(eth, Tag(m).macs, 12);
}

rte_mempool* CreateMbufPool(const char* name, uint32_t mbufs, std::string* error);

// One rte_ring-backed ethdev per testbed port: `rx(p)` is what port p receives, `tx(p)` what it
// transmitted. Opened with dataplane::PortSet exactly as the daemon opens its ports.
class RingPorts {
 public:
  ~RingPorts();
  bool Create(const Workload& w, uint32_t ring_size, rte_mempool* pool, std::string* error);
  const dataplane::PortSet& ports() const { return ports_; }
  rte_ring* rx(uint16_t port) const { return rx_[port]; }
  rte_ring* tx(uint16_t port) const { return tx_[port]; }
  uint16_t size() const { return static_cast<uint16_t>(rx_.size()); }

  // The cable: moves up to `budget` mbufs per port from tx back to the rx ring of the port each
  // came in on, restoring their MACs. Returns how many moved. Probes are handed to `probe` when
  // given (else recycled like flows).
  template <typename ProbeSink>
  uint32_t Recycle(uint32_t budget, ProbeSink&& probe);
  uint32_t Recycle(uint32_t budget) {
    return Recycle(budget, [](rte_mbuf*) { return false; });
  }
  // Every mbuf sitting in the rings, rx and tx (for the next measurement).
  std::vector<rte_mbuf*> DrainAll();

 private:
  dataplane::PortSet ports_;
  std::vector<rte_ring*> rx_;
  std::vector<rte_ring*> tx_;
};

template <typename ProbeSink>
uint32_t RingPorts::Recycle(uint32_t budget, ProbeSink&& probe) {
  constexpr uint32_t kChunk = 64;
  rte_mbuf* got[kChunk];
  rte_mbuf* back[kPortCount][kChunk];
  uint32_t moved = 0;
  for (uint16_t p = 0; p < size(); ++p) {
    for (uint32_t left = budget; left > 0;) {
      const unsigned n = rte_ring_dequeue_burst(tx_[p], reinterpret_cast<void**>(got),
                                                std::min(left, kChunk), nullptr);
      if (n == 0) break;
      left -= n;
      moved += n;
      uint32_t count[kPortCount] = {};
      for (unsigned i = 0; i < n; ++i) {
        rte_mbuf* m = got[i];
        if (Tag(m).kind == kKindProbe && probe(m)) continue;
        RestoreMacs(m);
        const uint16_t to = Tag(m).in_port;
        back[to][count[to]++] = m;
      }
      for (uint16_t q = 0; q < kPortCount; ++q) {
        if (count[q] == 0) continue;
        const unsigned sent =
            rte_ring_enqueue_burst(rx_[q], reinterpret_cast<void**>(back[q]), count[q], nullptr);
        if (sent < count[q]) rte_pktmbuf_free_bulk(back[q] + sent, count[q] - sent);
      }
    }
  }
  return moved;
}

}  // namespace svpc::bench
