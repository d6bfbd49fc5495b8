#include "bench/engine_loop.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

namespace svpc::bench {
namespace {
// As in dataplane/worker.cc.
constexpr uint32_t kSweepBudget = 64;
}  // namespace

using dataplane::kBurstSize;
using dataplane::kMaxPorts;
using dataplane::kNoPort;
using dataplane::PacketMeta;
using dataplane::Verdict;

template <bool kSplit>
void EngineLoop::HandleBurst(const dataplane::Snapshot& snap, uint16_t in, rte_mbuf** pkts,
                             uint16_t count, uint64_t now_ns) noexcept {
  PacketMeta meta[kBurstSize];
  for (uint16_t i = 0; i < count; ++i) {
    meta[i].in_port = in;
    meta[i].time_ns = now_ns;
  }
  dataplane::Burst burst{pkts, meta, count};
  uint64_t t0 = 0;
  if constexpr (kSplit) t0 = rte_rdtsc();
  pipeline_.Process(snap, burst, counters_);
  if constexpr (kSplit) {
    const uint64_t t1 = rte_rdtsc();
    split_->process += t1 - t0;
    split_->packets += count;
    t0 = t1;
  }

  dataplane::TransmitBurst(ports_, pkts, meta, count, counters_);
  if constexpr (kSplit) split_->tx += rte_rdtsc() - t0;
}

template <bool kSplit>
uint32_t EngineLoop::Poll() noexcept {
  rte_mbuf* pkts[kBurstSize];
  const dataplane::Snapshot* snap = store_.Acquire();
  const uint64_t now_ns = static_cast<uint64_t>(rte_get_tsc_cycles() * (1e9 / hz_));
  uint32_t received = 0;
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    uint64_t t0 = 0;
    if constexpr (kSplit) t0 = rte_rdtsc();
    uint16_t n = rte_eth_rx_burst(ports_.dpdk_port(p), 0, pkts, kBurstSize);
    if constexpr (kSplit) split_->rx += rte_rdtsc() - t0;
    if (n > 0) HandleBurst<kSplit>(*snap, p, pkts, n, now_ns);
    received += n;
  }
  if (received == 0 && conntrack_ != nullptr) {
    conntrack_->Sweep(now_ns, kSweepBudget);
    live_connections_.store(conntrack_->size(), std::memory_order_relaxed);
  }
  store_.Quiescent(0);
  return received;
}

template uint32_t EngineLoop::Poll<false>() noexcept;
template uint32_t EngineLoop::Poll<true>() noexcept;

const char* StageName(int stage) {
  static const char* kNames[kStageCount] = {"meta reset + rx counters",
                                            "parse",
                                            "classify (endpoint hash, checks)",
                                            "conntrack lookup",
                                            "egress firewall",
                                            "route (LPM)",
                                            "ingress firewall",
                                            "conntrack commit",
                                            "rewrite + verdict counters"};
  return kNames[stage];
}

void StagedPipeline::Process(const dataplane::Snapshot& snap, dataplane::Burst& burst,
                             dataplane::Counters& counters,
                             std::array<uint64_t, kStageCount>& cycles) const noexcept {
  uint64_t t = rte_rdtsc();
  auto lap = [&](int stage) {
    const uint64_t now = rte_rdtsc();
    cycles[stage] = now - t;
    t = now;
  };
  reset_.Run(burst, counters);
  lap(kStageReset);
  parse_.Run(burst);
  lap(kStageParse);
  classify_.Run(snap, burst);
  lap(kStageClassify);
  conntrack_lookup_.Run(snap, conntrack_, burst);
  lap(kStageConntrack);
  egress_firewall_.Run(snap, log_, burst);
  lap(kStageEgress);
  route_.Run(snap, burst);
  lap(kStageRoute);
  ingress_firewall_.Run(snap, conntrack_, on_rule_change_, log_, burst);
  lap(kStageIngress);
  conntrack_commit_.Run(snap, conntrack_, log_, burst);
  lap(kStageCommit);
  rewrite_.Run(snap, burst);
  for (uint16_t i = 0; i < burst.count; ++i) {
    const PacketMeta& meta = burst.meta[i];
    counters.verdicts[static_cast<int>(meta.verdict)]++;
    if (meta.verdict == Verdict::kDrop) counters.drops[static_cast<int>(meta.cause)]++;
  }
  lap(kStageRewrite);
}

}  // namespace svpc::bench
