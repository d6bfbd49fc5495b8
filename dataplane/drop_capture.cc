#include "dataplane/drop_capture.h"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>

namespace svpc::dataplane {
namespace {
std::atomic<uint32_t> serial{0};
}

std::unique_ptr<DropCapture> DropCapture::Create(uint32_t ring_size, std::string* error) {
  std::unique_ptr<DropCapture> capture(new DropCapture());
  const std::string name = "svpc_drops_" + std::to_string(serial.fetch_add(1));
  capture->ring_ =
      rte_ring_create_elem(name.c_str(), sizeof(DropRecord), rte_align32pow2(ring_size),
                           SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (capture->ring_ == nullptr) {
    *error = "cannot create the drop capture ring: " + std::string(rte_strerror(rte_errno));
    return nullptr;
  }
  return capture;
}

DropCapture::~DropCapture() {
  if (ring_ != nullptr) rte_ring_free(ring_);
}

void DropCapture::Copy(const rte_mbuf* m, const PacketMeta& meta) noexcept {
  DropRecord record;
  record.time_ns = meta.time_ns;
  record.length = rte_pktmbuf_pkt_len(m);
  record.captured = std::min<uint32_t>(rte_pktmbuf_data_len(m), DropRecord::kSnapLength);
  record.port = meta.in_port;
  record.cause = meta.cause;
  std::memcpy(record.bytes, rte_pktmbuf_mtod(m, const uint8_t*), record.captured);
  if (rte_ring_enqueue_elem(ring_, &record, sizeof(DropRecord)) != 0) {
    lost_.fetch_add(1, std::memory_order_relaxed);
  }
}

uint32_t DropCapture::Drain(DropRecord* out, uint32_t max) noexcept {
  return rte_ring_dequeue_burst_elem(ring_, out, sizeof(DropRecord), max, nullptr);
}

}  // namespace svpc::dataplane
