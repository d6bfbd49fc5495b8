#include "dataplane/flow_log.h"

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <atomic>

namespace svpc::dataplane {
namespace {
std::atomic<uint32_t> serial{0};
// Slots probed before a new flow is given up (counted lost): the table is sized at twice the
// flows it is meant for, so runs stay short.
constexpr uint32_t kMaxProbe = 32;

uint32_t HashOf(const FlowRecord& k) noexcept {
  const uint64_t ips = uint64_t{k.src} << 32 | k.dst;
  const uint64_t rest = uint64_t{k.network} << 32 | uint32_t{k.src_port} << 16 | k.dst_port;
  const uint32_t tail = uint32_t{k.protocol} << 8 | static_cast<uint32_t>(k.reporter);
  return rte_hash_crc_4byte(tail, rte_hash_crc_8byte(rest, rte_hash_crc_8byte(ips, 0x464c4f57)));
}

bool SameFlow(const FlowRecord& a, const FlowRecord& b) noexcept {
  return a.src == b.src && a.dst == b.dst && a.src_port == b.src_port && a.dst_port == b.dst_port &&
         a.protocol == b.protocol && a.network == b.network && a.reporter == b.reporter &&
         a.nic == b.nic;
}
}  // namespace

bool FlowSampled(Ipv4 a, Ipv4 b, uint16_t port_a, uint16_t port_b, uint8_t protocol,
                 uint64_t threshold) noexcept {
  if (threshold >= (uint64_t{1} << 32)) return true;
  if (threshold == 0) return false;
  const bool a_low = a < b || (a == b && port_a <= port_b);
  const uint64_t ips = a_low ? (uint64_t{a} << 32 | b) : (uint64_t{b} << 32 | a);
  const uint32_t ports =
      a_low ? (uint32_t{port_a} << 16 | port_b) : (uint32_t{port_b} << 16 | port_a);
  return rte_hash_crc_8byte(ips, rte_hash_crc_4byte(ports ^ protocol, 0x53414d50)) < threshold;
}

std::unique_ptr<FlowLog> FlowLog::Create(uint32_t flows, uint32_t ring_size, std::string* error) {
  std::unique_ptr<FlowLog> log(new FlowLog());
  const uint32_t slots = rte_align32pow2(std::max<uint32_t>(flows, 512) * 2);
  const std::string name = "svpc_flowlog_" + std::to_string(serial.fetch_add(1));
  log->slots_ = static_cast<Slot*>(rte_zmalloc(name.c_str(), sizeof(Slot) * slots, 64));
  log->mask_ = slots - 1;
  log->ring_ = rte_ring_create_elem(name.c_str(), sizeof(FlowRecord), rte_align32pow2(ring_size),
                                    SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (log->slots_ == nullptr || log->ring_ == nullptr) {
    *error = "cannot create the flow log table: " + std::string(rte_strerror(rte_errno));
    return nullptr;
  }
  return log;
}

FlowLog::~FlowLog() {
  if (ring_ != nullptr) rte_ring_free(ring_);
  if (slots_ != nullptr) rte_free(slots_);
}

void FlowLog::Emit(Slot& slot) noexcept {
  if (rte_ring_enqueue_elem(ring_, &slot.record, sizeof(FlowRecord)) != 0) ++lost_;
  slot.used = false;
  --used_;
}

void FlowLog::Note(const FlowRecord& key, uint32_t bytes, uint64_t now_ns,
                   uint64_t interval_ns) noexcept {
  uint32_t i = HashOf(key) & mask_;
  Slot* free_slot = nullptr;
  for (uint32_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (!slot.used) {
      if (free_slot == nullptr) free_slot = &slot;
      break;  // linear probing: the flow is not further on
    }
    if (!SameFlow(slot.record, key)) continue;
    if (now_ns >= slot.record.start_ns + slot.interval_ns) {
      Emit(slot);  // the interval is over: its record goes, this packet starts the next
      free_slot = &slot;
      break;
    }
    slot.record.packets++;
    slot.record.bytes += bytes;
    if (now_ns > slot.record.end_ns) slot.record.end_ns = now_ns;
    return;
  }
  if (free_slot == nullptr) {
    ++lost_;
    return;
  }
  free_slot->record = key;
  free_slot->record.start_ns = free_slot->record.end_ns = now_ns;
  free_slot->record.packets = 1;
  free_slot->record.bytes = bytes;
  free_slot->interval_ns = interval_ns;
  free_slot->used = true;
  ++used_;
}

void FlowLog::Expire(uint64_t now_ns, uint32_t budget) noexcept {
  for (uint32_t n = 0; n < budget && used_ > 0; ++n) {
    Slot& slot = slots_[sweep_];
    sweep_ = (sweep_ + 1) & mask_;
    if (slot.used && now_ns >= slot.record.start_ns + slot.interval_ns) Emit(slot);
  }
}

void FlowLog::FlushAll() noexcept {
  for (uint32_t i = 0; i <= mask_ && used_ > 0; ++i) {
    if (slots_[i].used) Emit(slots_[i]);
  }
}

uint32_t FlowLog::Drain(FlowRecord* out, uint32_t max) noexcept {
  return rte_ring_dequeue_burst_elem(ring_, out, sizeof(FlowRecord), max, nullptr);
}

}  // namespace svpc::dataplane
