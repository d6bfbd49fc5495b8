#pragma once
// Dropped packets for `svpc capture --drops`: while a capture is on, each worker copies the first
// kSnapLength bytes of every packet it drops, with the drop cause, port and time, onto an SPSC
// ring (fixed-size records, no allocation on the packet path); the control thread drains it for
// the API, which hands the packets to the client as pcapng with the cause as each packet's
// comment. Off (the default), a worker pays one relaxed load per burst. A full ring loses
// records and counts them.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/packet_meta.h"

struct rte_mbuf;
struct rte_ring;

namespace svpc::dataplane {

struct DropRecord {
  static constexpr uint32_t kSnapLength = 256;
  uint64_t time_ns = 0;
  uint32_t length = 0;    // the frame's length
  uint32_t captured = 0;  // bytes in `bytes`
  uint16_t port = 0;      // the input port
  DropCause cause = DropCause::kNone;
  uint8_t bytes[kSnapLength];
};

class DropCapture {
 public:
  static std::unique_ptr<DropCapture> Create(uint32_t ring_size, std::string* error);
  ~DropCapture();
  DropCapture(const DropCapture&) = delete;
  DropCapture& operator=(const DropCapture&) = delete;

  // Control thread.
  void Start() noexcept { on_.store(true, std::memory_order_relaxed); }
  void Stop() noexcept { on_.store(false, std::memory_order_relaxed); }
  uint32_t Drain(DropRecord* out, uint32_t max) noexcept;
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }

  // Worker: the dropped packets of a processed burst, when a capture is on.
  void Offer(rte_mbuf* const* pkts, const PacketMeta* meta, uint16_t count) noexcept {
    if (!on_.load(std::memory_order_relaxed)) return;
    for (uint16_t i = 0; i < count; ++i) {
      if (meta[i].verdict == Verdict::kDrop) Copy(pkts[i], meta[i]);
    }
  }

 private:
  DropCapture() = default;
  void Copy(const rte_mbuf* m, const PacketMeta& meta) noexcept;

  std::atomic<bool> on_{false};
  std::atomic<uint64_t> lost_{0};
  rte_ring* ring_ = nullptr;
};

}  // namespace svpc::dataplane
