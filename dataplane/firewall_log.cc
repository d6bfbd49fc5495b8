#include "dataplane/firewall_log.h"

#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <atomic>

namespace svpc::dataplane {
namespace {
std::atomic<uint32_t> ring_serial{0};
}

std::unique_ptr<FirewallLog> FirewallLog::Create(uint32_t ring_size, std::string* error) {
  std::unique_ptr<FirewallLog> log(new FirewallLog());
  std::string name = "svpc_fwlog_" + std::to_string(ring_serial.fetch_add(1));
  log->ring_ = rte_ring_create_elem(name.c_str(), sizeof(LogEvent), rte_align32pow2(ring_size),
                                    SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  log->denied_ = static_cast<DeniedSlot*>(
      rte_zmalloc("svpc_fwlog_denied", sizeof(DeniedSlot) * kDeniedCacheSize, 0));
  if (log->ring_ == nullptr || log->denied_ == nullptr) {
    *error = "cannot create the firewall log ring: " + std::string(rte_strerror(rte_errno));
    return nullptr;
  }
  return log;
}

FirewallLog::~FirewallLog() {
  if (ring_ != nullptr) rte_ring_free(ring_);
  if (denied_ != nullptr) rte_free(denied_);
}

void FirewallLog::Push(const LogEvent& event) noexcept {
  LogEvent copy = event;  // rte_ring_enqueue_elem takes a non-const pointer
  if (rte_ring_enqueue_elem(ring_, &copy, sizeof(LogEvent)) != 0) ++dropped_;
}

void FirewallLog::Allowed(const LogEvent& event) noexcept { Push(event); }

void FirewallLog::Denied(const LogEvent& event) noexcept {
  uint32_t words[4] = {event.src, event.dst, uint32_t{event.src_port} << 16 | event.dst_port,
                       uint32_t{event.protocol} << 24 |
                           static_cast<uint32_t>(event.direction) << 16 |
                           (static_cast<uint32_t>(event.nic) & 0xffff)};
  // kNoPolicy + 1 == 0: VPC rule events hash as they always did.
  const uint32_t policy_seed = (event.policy + 1) * 0x85ebca6bu;
  uint64_t hash = (uint64_t{rte_jhash_32b(words, 4, event.network ^ policy_seed)} << 32) |
                  rte_jhash_32b(words, 4, 0x9e3779b9u ^ static_cast<uint32_t>(event.rule));
  DeniedSlot& slot = denied_[hash % kDeniedCacheSize];
  if (slot.key_hash == hash && event.time_ns >= slot.last_ns &&
      event.time_ns - slot.last_ns < kDeniedRepeatNs) {
    return;
  }
  slot.key_hash = hash;
  slot.last_ns = event.time_ns;
  Push(event);
}

uint32_t FirewallLog::Drain(LogEvent* out, uint32_t max) noexcept {
  return rte_ring_dequeue_burst_elem(ring_, out, sizeof(LogEvent), max, nullptr);
}

}  // namespace svpc::dataplane
