#pragma once
// Per-worker counters, written only by their worker and read by the control thread (plain
// 64-bit stores and loads: a reader may see a slightly old value, never a torn one on x86-64).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

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

// `later` - `earlier`, counter by counter (a measurement window).
inline Counters Difference(const Counters& later, const Counters& earlier) {
  Counters d;
  for (size_t i = 0; i < d.port_rx.size(); ++i)
    d.port_rx[i] = later.port_rx[i] - earlier.port_rx[i];
  for (size_t i = 0; i < d.port_tx.size(); ++i)
    d.port_tx[i] = later.port_tx[i] - earlier.port_tx[i];
  for (size_t i = 0; i < d.drops.size(); ++i) d.drops[i] = later.drops[i] - earlier.drops[i];
  for (size_t i = 0; i < d.verdicts.size(); ++i) {
    d.verdicts[i] = later.verdicts[i] - earlier.verdicts[i];
  }
  for (size_t i = 0; i < d.routed.size(); ++i) d.routed[i] = later.routed[i] - earlier.routed[i];
  return d;
}

// The label of a routing::RouteKind in every export ("subnet", "static", "dynamic", "peering").
inline const char* RouteKindLabel(int kind) {
  static constexpr const char* kLabels[routing::kRouteKindCount] = {"subnet", "static", "dynamic",
                                                                    "peering"};
  return kind >= 0 && kind < routing::kRouteKindCount ? kLabels[kind] : "?";
}

// Walks every counter of `c` once, in one order, for each exporter (replay's counters.json, DPDK
// telemetry, Prometheus, svpc bench), so a new counter is exported everywhere by adding it here.
// `visitor` has:
//   Port(const std::string& name, uint64_t rx, uint64_t tx)   each of `port_names`
//   Verdict(const char* name, uint64_t packets)                 every verdict
//   Drop(const char* cause, uint64_t packets)                   every cause but NONE
//   Routed(const char* kind, uint64_t packets)                  every route kind
template <typename Visitor>
void VisitCounters(const Counters& c, const std::vector<std::string>& port_names,
                   Visitor&& visitor) {
  for (size_t p = 0; p < port_names.size() && p < c.port_rx.size(); ++p) {
    visitor.Port(port_names[p], c.port_rx[p], c.port_tx[p]);
  }
  for (int v = 0; v < kVerdictCount; ++v) {
    visitor.Verdict(VerdictName(static_cast<dataplane::Verdict>(v)), c.verdicts[v]);
  }
  for (int cause = 1; cause < kDropCauseCount; ++cause) {
    visitor.Drop(DropCauseName(static_cast<DropCause>(cause)), c.drops[cause]);
  }
  for (int k = 0; k < routing::kRouteKindCount; ++k) visitor.Routed(RouteKindLabel(k), c.routed[k]);
}

}  // namespace svpc::dataplane
