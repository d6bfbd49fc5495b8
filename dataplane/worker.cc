#include "dataplane/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

namespace svpc::dataplane {
namespace {
constexpr uint32_t kSweepBudget = 64;
}

void TransmitBurst(const PortSet& ports, rte_mbuf** pkts, const PacketMeta* meta, uint16_t count,
                   Counters& counters, uint16_t queue) noexcept {
  // Gather per output port, then one TX burst each.
  rte_mbuf* out[kMaxPorts][kBurstSize];
  uint16_t out_count[kMaxPorts] = {};
  uint64_t used_ports = 0;
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t port = meta[i].out_port;
    if (meta[i].verdict == Verdict::kDrop || port == kNoPort || port >= ports.size()) {
      rte_pktmbuf_free(pkts[i]);
      continue;
    }
    out[port][out_count[port]++] = pkts[i];
    used_ports |= uint64_t{1} << port;
  }
  while (used_ports != 0) {
    uint16_t port = static_cast<uint16_t>(__builtin_ctzll(used_ports));
    used_ports &= used_ports - 1;
    uint16_t sent = rte_eth_tx_burst(ports.dpdk_port(port), queue, out[port], out_count[port]);
    counters.port_tx[port] += sent;
    for (uint16_t i = sent; i < out_count[port]; ++i) rte_pktmbuf_free(out[port][i]);
    counters.drops[static_cast<int>(DropCause::kTxFailed)] += out_count[port] - sent;
  }
}

void Worker::HandleBurst(const Snapshot& snap, uint16_t in, rte_mbuf** pkts, uint16_t count,
                         uint64_t now_ns) noexcept {
  PacketMeta meta[kBurstSize];
  for (uint16_t i = 0; i < count; ++i) {
    meta[i].in_port = in;
    meta[i].time_ns = now_ns;
  }
  Burst burst{pkts, meta, count};
  pipeline_.Process(snap, burst, counters_);

  TransmitBurst(ports_, pkts, meta, count, counters_, static_cast<uint16_t>(id_));
}

int Worker::Run(const std::atomic<bool>& stop) noexcept {
  store_.RegisterWorker(id_);
  const uint64_t hz = rte_get_tsc_hz();
  rte_mbuf* pkts[kBurstSize];
  while (!stop.load(std::memory_order_relaxed)) {
    const Snapshot* snap = store_.Acquire();
    const uint64_t now_ns = static_cast<uint64_t>(rte_get_tsc_cycles() * (1e9 / hz));
    uint32_t received = 0;
    for (uint16_t p = 0; p < ports_.size(); ++p) {
      uint16_t n =
          rte_eth_rx_burst(ports_.dpdk_port(p), static_cast<uint16_t>(id_), pkts, kBurstSize);
      if (n > 0) HandleBurst(*snap, p, pkts, n, now_ns);
      received += n;
    }
    // Idle loops reclaim expired connections a few at a time.
    if (received == 0 && conntrack_ != nullptr) {
      conntrack_->Sweep(now_ns, kSweepBudget);
      live_connections_.store(conntrack_->size(), std::memory_order_relaxed);
    }
    if (received == 0 && flow_log_ != nullptr) flow_log_->Expire(now_ns, kSweepBudget);
    store_.Quiescent(id_);
  }
  store_.Offline(id_);
  return 0;
}

}  // namespace svpc::dataplane
