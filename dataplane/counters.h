#pragma once
// Per-worker counters, written only by their worker and read by the control thread (plain
// 64-bit stores and loads: a reader may see a slightly old value, never a torn one on x86-64).

#include <array>
#include <cstdint>

#include "dataplane/snapshot.h"
#include "dataplane/verdict.h"

namespace svpc::dataplane {

struct Counters {
  std::array<uint64_t, kMaxPorts> port_rx{};
  std::array<uint64_t, kMaxPorts> port_tx{};
  std::array<uint64_t, kDropCauseCount> drops{};
  std::array<uint64_t, kVerdictCount> verdicts{};
  // Delivered or forwarded packets by the kind of route that carried them (routing::RouteKind).
  std::array<uint64_t, routing::kRouteKindCount> routed{};

  void Add(const Counters& other) {
    for (size_t i = 0; i < port_rx.size(); ++i) port_rx[i] += other.port_rx[i];
    for (size_t i = 0; i < port_tx.size(); ++i) port_tx[i] += other.port_tx[i];
    for (size_t i = 0; i < drops.size(); ++i) drops[i] += other.drops[i];
    for (size_t i = 0; i < verdicts.size(); ++i) verdicts[i] += other.verdicts[i];
    for (size_t i = 0; i < routed.size(); ++i) routed[i] += other.routed[i];
  }
};

}  // namespace svpc::dataplane
