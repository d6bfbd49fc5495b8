#pragma once
// Firewall Rules Logging, data-plane side: when a rule with logConfig.enable decides a
// connection, the worker enqueues a compact event on a single-producer/single-consumer DPDK
// ring; the control side (daemon timer, or replay after each burst) dequeues and writes GCP's
// record. Allowed connections are logged once, when tracking starts; denied ones once per
// connection per kDeniedRepeatNs (a small per-worker cache of recent denials, as GCP
// aggregates). A full ring drops events and counts them; it never blocks or allocates.

#include <cstdint>
#include <memory>
#include <string>

#include "common/net_types.h"
#include "firewall/policy_evaluator.h"
#include "firewall/vpc_firewall.h"

struct rte_ring;

namespace svpc::dataplane {

struct LogEvent {
  uint64_t time_ns = 0;
  uint64_t generation = 0;  // the snapshot whose rule indices `rule` refers to
  uint32_t network = 0;
  int32_t nic = -1;         // the instance whose rule decided
  int32_t remote_nic = -1;  // the other end when it is an instance NIC
  int32_t rule = -1;        // index in the network's RuleSet, or in the policy's rules
  uint32_t policy = firewall::kNoPolicy;  // the firewall policy whose rule decided, if any
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t protocol = 0;
  firewall::Direction direction = firewall::Direction::kIngress;
  bool allowed = false;
};

class FirewallLog {
 public:
  // Denied packets of one connection are logged again only after this long (GCP aggregates
  // denied connections in 5-second windows).
  static constexpr uint64_t kDeniedRepeatNs = 5'000'000'000ull;

  static std::unique_ptr<FirewallLog> Create(uint32_t ring_size, std::string* error);
  ~FirewallLog();
  FirewallLog(const FirewallLog&) = delete;
  FirewallLog& operator=(const FirewallLog&) = delete;

  // Producer (the worker).
  void Allowed(const LogEvent& event) noexcept;
  void Denied(const LogEvent& event) noexcept;

  // Consumer (the control thread): up to `max` events, oldest first.
  uint32_t Drain(LogEvent* out, uint32_t max) noexcept;
  uint64_t dropped() const { return dropped_; }

 private:
  FirewallLog() = default;
  void Push(const LogEvent& event) noexcept;

  static constexpr uint32_t kDeniedCacheSize = 4096;
  struct DeniedSlot {
    uint64_t key_hash = 0;
    uint64_t last_ns = 0;
  };

  rte_ring* ring_ = nullptr;
  DeniedSlot* denied_ = nullptr;
  uint64_t dropped_ = 0;
};

}  // namespace svpc::dataplane
