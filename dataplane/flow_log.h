#pragma once
// VPC Flow Logs, data-plane side. For subnets with flow logs enabled, each worker aggregates the
// packets its instances send (reporter SRC) and receive (reporter DEST) per connection direction
// and aggregation interval in a fixed table (open addressing in DPDK memory, no allocation on the
// packet path), and emits one record per (flow, reporter, interval) on an SPSC ring when the
// interval is over; the control side (svpcd --flow-log, replay's flows.jsonl) writes GCP's
// record. Time is the packets' (the replay clock, or the worker's TSC).
//   - An interval starts with a flow's first packet and lasts the subnet's aggregationInterval;
//     the record is emitted by the first packet after it, or by Expire (idle sweeps), or by
//     FlushAll (end of replay, daemon stop).
//   - Sampling (flowSampling) is per connection: a connection is logged when its symmetric hash
//     falls below the rate, so both directions and every interval of a sampled connection are
//     logged and the others not at all. (GCP samples packets; per-connection sampling keeps the
//     records readable and the choice reproducible.)
//   - A full table or ring loses records and counts them; it never blocks.

#include <cstdint>
#include <memory>
#include <string>

#include "common/net_types.h"

struct rte_ring;

namespace svpc::dataplane {

enum class FlowReporter : uint8_t { kSrc, kDest };

struct FlowRecord {
  uint64_t start_ns = 0;  // first packet of the interval
  uint64_t end_ns = 0;    // last packet of the interval
  uint64_t packets = 0;
  uint64_t bytes = 0;       // IPv4 total length
  uint64_t generation = 0;  // the snapshot whose NIC indices `nic` and `remote_nic` refer to
  uint32_t network = 0;
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t protocol = 0;
  FlowReporter reporter = FlowReporter::kSrc;
  int32_t nic = -1;         // the reporting instance NIC
  int32_t remote_nic = -1;  // the other end when it is an instance NIC
};

class FlowLog {
 public:
  static std::unique_ptr<FlowLog> Create(uint32_t flows, uint32_t ring_size, std::string* error);
  ~FlowLog();
  FlowLog(const FlowLog&) = delete;
  FlowLog& operator=(const FlowLog&) = delete;

  // Producer (the worker). Counts one packet of `key` (its counters fields are ignored).
  void Note(const FlowRecord& key, uint32_t bytes, uint64_t now_ns, uint64_t interval_ns) noexcept;
  // Emits the records whose interval is over, examining at most `budget` slots.
  void Expire(uint64_t now_ns, uint32_t budget) noexcept;
  // Emits every record (end of a replay, daemon stop).
  void FlushAll() noexcept;

  // Consumer (the control thread).
  uint32_t Drain(FlowRecord* out, uint32_t max) noexcept;
  uint64_t lost() const { return lost_; }

 private:
  struct Slot {
    FlowRecord record;
    uint64_t interval_ns = 0;
    bool used = false;
  };
  FlowLog() = default;
  void Emit(Slot& slot) noexcept;

  Slot* slots_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t sweep_ = 0;
  uint32_t used_ = 0;
  rte_ring* ring_ = nullptr;
  uint64_t lost_ = 0;
};

// Whether a connection (either direction) is in the sample: `threshold` = flowSampling * 2^32.
bool FlowSampled(Ipv4 a, Ipv4 b, uint16_t port_a, uint16_t port_b, uint8_t protocol,
                 uint64_t threshold) noexcept;

}  // namespace svpc::dataplane
