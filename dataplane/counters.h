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

  void Add(const Counters& other) {
    for (size_t i = 0; i < port_rx.size(); ++i) port_rx[i] += other.port_rx[i];
    for (size_t i = 0; i < port_tx.size(); ++i) port_tx[i] += other.port_tx[i];
    for (size_t i = 0; i < drops.size(); ++i) drops[i] += other.drops[i];
    for (size_t i = 0; i < verdicts.size(); ++i) verdicts[i] += other.verdicts[i];
  }
};

}  // namespace svpc::dataplane
