#include "firewall/conntrack.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace svpc::firewall {
namespace {
std::atomic<uint32_t> table_serial{0};
// Entries examined when an insert finds the table full, before giving up on the connection.
constexpr uint32_t kFullSweepBudget = 1024;

size_t HeapAllocated() {
  size_t total = 0;
  for (unsigned socket = 0; socket < RTE_MAX_NUMA_NODES; ++socket) {
    rte_malloc_socket_stats stats{};
    if (rte_malloc_get_socket_stats(socket, &stats) == 0) total += stats.heap_allocsz_bytes;
  }
  return total;
}
}  // namespace

ConnTrack::Key ConnTrack::KeyOf(const FlowTuple& t) noexcept {
  Key k{};
  k.network = t.network;
  k.protocol = t.protocol;
  bool src_low = t.src < t.dst || (t.src == t.dst && t.src_port <= t.dst_port);
  if (src_low) {
    k.ip_lo = t.src;
    k.ip_hi = t.dst;
    k.port_lo = t.src_port;
    k.port_hi = t.dst_port;
  } else {
    k.ip_lo = t.dst;
    k.ip_hi = t.src;
    k.port_lo = t.dst_port;
    k.port_hi = t.src_port;
  }
  return k;
}

std::unique_ptr<ConnTrack> ConnTrack::Create(const Config& config, std::string* error) {
  std::unique_ptr<ConnTrack> ct(new ConnTrack(config));
  if (config.capacity == 0) {
    *error = "connection tracking capacity must be at least 1";
    return nullptr;
  }
  // Measured, not estimated: DPDK heap bytes allocated by the hash and the entry array.
  const size_t heap_before = HeapAllocated();
  std::string name = "svpc_ct_" + std::to_string(table_serial.fetch_add(1));
  rte_hash_parameters params{};
  params.name = name.c_str();
  // rte_hash wants at least one bucket (8 entries); the capacity itself is enforced by live_.
  params.entries = std::max<uint32_t>(config.capacity, 8);
  params.key_len = sizeof(Key);
  params.hash_func = rte_hash_crc;
  params.socket_id = SOCKET_ID_ANY;
  // Extendable buckets: the table accepts `capacity` keys whatever the cuckoo collisions.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  ct->hash_ = rte_hash_create(&params);
  if (ct->hash_ == nullptr) {
    *error =
        "rte_hash_create for connection tracking failed: " + std::string(rte_strerror(rte_errno));
    return nullptr;
  }
  ct->entries_ = static_cast<ConnEntry*>(rte_zmalloc(
      "svpc_ct_entries", sizeof(ConnEntry) * (size_t{config.capacity} + 1), RTE_CACHE_LINE_SIZE));
  if (ct->entries_ == nullptr) {
    *error = "cannot allocate " + std::to_string(config.capacity) + " connection entries";
    return nullptr;
  }
  ct->hash_bytes_ = HeapAllocated() - heap_before;

  // The fragment table is small and separate: datagrams in flight, not connections.
  ct->fragment_capacity_ = std::max<uint32_t>(1024, config.capacity / 64);
  std::string frag_name = "svpc_fr_" + std::to_string(table_serial.fetch_add(1));
  rte_hash_parameters frag{};
  frag.name = frag_name.c_str();
  frag.entries = ct->fragment_capacity_;
  frag.key_len = sizeof(FragmentKey);
  frag.hash_func = rte_hash_crc;
  frag.socket_id = SOCKET_ID_ANY;
  ct->fragments_ = rte_hash_create(&frag);
  ct->fragment_entries_ = static_cast<FragmentEntry*>(rte_zmalloc(
      "svpc_fr_entries", sizeof(FragmentEntry) * (size_t{ct->fragment_capacity_} + 1), 0));
  if (ct->fragments_ == nullptr || ct->fragment_entries_ == nullptr) {
    *error = "cannot allocate the fragment table";
    return nullptr;
  }
  return ct;
}

ConnTrack::~ConnTrack() {
  if (hash_ != nullptr) rte_hash_free(hash_);
  if (entries_ != nullptr) rte_free(entries_);
  if (fragments_ != nullptr) rte_hash_free(fragments_);
  if (fragment_entries_ != nullptr) rte_free(fragment_entries_);
}

void ConnTrack::RecordFirstFragment(const FlowTuple& packet, uint16_t ip_id, bool allowed,
                                    uint64_t now_ns) noexcept {
  FragmentKey key{packet.network, packet.src, packet.dst, ip_id, packet.protocol, 0};
  int32_t pos = rte_hash_add_key(fragments_, &key);
  if (pos < 0) {
    // Full of datagrams in flight: drop the oldest-looking ones lazily by clearing the table.
    // Later fragments then find no verdict and are evaluated on their own (without ports).
    rte_hash_reset(fragments_);
    pos = rte_hash_add_key(fragments_, &key);
    if (pos < 0) return;
  }
  fragment_entries_[pos] = FragmentEntry{now_ns, allowed};
}

ConnTrack::FragmentVerdict ConnTrack::LaterFragment(const FlowTuple& packet, uint16_t ip_id,
                                                    uint64_t now_ns) const noexcept {
  FragmentKey key{packet.network, packet.src, packet.dst, ip_id, packet.protocol, 0};
  int32_t pos = rte_hash_lookup(fragments_, &key);
  if (pos < 0) return FragmentVerdict::kUnknown;
  const FragmentEntry& e = fragment_entries_[pos];
  if (now_ns > e.first_seen_ns && now_ns - e.first_seen_ns > kFragmentTimeoutNs) {
    return FragmentVerdict::kUnknown;
  }
  return e.allowed ? FragmentVerdict::kAllowed : FragmentVerdict::kDenied;
}

bool ConnTrack::Expired(const ConnEntry& e, uint64_t now_ns) const noexcept {
  uint64_t timeout =
      e.tcp == TcpState::kClosed ? config_.tcp_closed_timeout_ns : config_.idle_timeout_ns;
  return now_ns > e.last_seen_ns && now_ns - e.last_seen_ns > timeout;
}

void ConnTrack::UpdateTcp(ConnEntry& e, bool from_initiator, uint8_t flags) noexcept {
  if (e.tcp == TcpState::kNone) return;
  if (flags & kTcpRst) {
    e.tcp = TcpState::kClosed;
    return;
  }
  if (flags & kTcpFin) {
    if (from_initiator) {
      e.fin_from_initiator = 1;
    } else {
      e.fin_from_responder = 1;
    }
    e.tcp = (e.fin_from_initiator && e.fin_from_responder) ? TcpState::kClosed : TcpState::kClosing;
    return;
  }
  if (!from_initiator && e.tcp == TcpState::kOpening) e.tcp = TcpState::kEstablished;
}

int32_t ConnTrack::Lookup(const FlowTuple& packet, uint8_t tcp_flags, uint64_t now_ns) noexcept {
  Key key = KeyOf(packet);
  return Resolve(rte_hash_lookup(hash_, &key), key, packet, tcp_flags, now_ns);
}

void ConnTrack::LookupBurst(const FlowTuple* packets, const uint8_t* tcp_flags,
                            const uint64_t* now_ns, uint32_t count, int32_t* out) noexcept {
  Key keys[kMaxBurst];
  const void* key_ptrs[kMaxBurst];
  count = std::min(count, kMaxBurst);
  for (uint32_t i = 0; i < count; ++i) {
    keys[i] = KeyOf(packets[i]);
    key_ptrs[i] = &keys[i];
  }
  int32_t positions[kMaxBurst];
  if (count == 0 || rte_hash_lookup_bulk(hash_, key_ptrs, count, positions) != 0) {
    for (uint32_t i = 0; i < count; ++i) out[i] = Lookup(packets[i], tcp_flags[i], now_ns[i]);
    return;
  }
  for (uint32_t i = 0; i < count; ++i) {
    if (positions[i] >= 0) rte_prefetch0(&entries_[positions[i]]);
  }
  for (uint32_t i = 0; i < count; ++i) {
    out[i] = Resolve(positions[i], keys[i], packets[i], tcp_flags[i], now_ns[i]);
  }
}

int32_t ConnTrack::Resolve(int32_t pos, const Key& key, const FlowTuple& packet, uint8_t tcp_flags,
                           uint64_t now_ns) noexcept {
  if (pos < 0) return kMiss;
  ConnEntry& e = entries_[pos];
  if (Expired(e, now_ns)) {
    Delete(&key);
    return kMiss;
  }
  // A new SYN on a closed connection's tuple is a new connection: evaluate it again.
  if (e.tcp == TcpState::kClosed && (tcp_flags & (kTcpSyn | kTcpRst)) == kTcpSyn) {
    Delete(&key);
    return kMiss;
  }
  if (now_ns > e.last_seen_ns) e.last_seen_ns = now_ns;
  UpdateTcp(e, IsInitiator(pos, packet), tcp_flags);
  return pos;
}

int32_t ConnTrack::Peek(const FlowTuple& packet, uint64_t now_ns) const noexcept {
  Key key = KeyOf(packet);
  int32_t pos = rte_hash_lookup(hash_, &key);
  if (pos < 0 || Expired(entries_[pos], now_ns)) return kMiss;
  return pos;
}

int32_t ConnTrack::Insert(const FlowTuple& packet, uint8_t tcp_flags, uint64_t now_ns,
                          uint32_t generation) noexcept {
  Key key = KeyOf(packet);
  int32_t pos = rte_hash_lookup(hash_, &key);
  if (pos < 0) {
    if (live_ >= config_.capacity) {
      // Full: reclaim expired entries the background sweep has not reached yet, then retry.
      Sweep(now_ns, std::min<uint32_t>(live_, kFullSweepBudget));
      if (live_ >= config_.capacity) return kFull;
    }
    pos = rte_hash_add_key(hash_, &key);
    if (pos < 0) return kFull;
    ++live_;
  }
  ConnEntry& e = entries_[pos];
  e = ConnEntry{};
  e.last_seen_ns = now_ns;
  e.generation = generation;
  e.initiator = packet;
  e.tcp = packet.protocol == 6 ? TcpState::kOpening : TcpState::kNone;
  UpdateTcp(e, true, tcp_flags);
  return pos;
}

void ConnTrack::Remove(int32_t handle) noexcept {
  Key key = KeyOf(entries_[handle].initiator);
  Delete(&key);
}

void ConnTrack::Delete(const void* key) noexcept {
  if (rte_hash_del_key(hash_, key) >= 0) --live_;
}

uint32_t ConnTrack::Sweep(uint64_t now_ns, uint32_t budget) noexcept {
  uint32_t removed = 0;
  const void* key = nullptr;
  void* data = nullptr;
  for (uint32_t seen = 0; seen < budget; ++seen) {
    int32_t pos = rte_hash_iterate(hash_, &key, &data, &sweep_next_);
    if (pos < 0) {
      sweep_next_ = 0;  // wrapped around: start over next time
      break;
    }
    if (Expired(entries_[pos], now_ns)) {
      Delete(key);
      ++removed;
    }
  }
  return removed;
}

uint32_t ConnTrack::size() const { return live_; }

double ConnTrack::BytesPerEntry() const {
  return static_cast<double>(hash_bytes_) / config_.capacity;
}

}  // namespace svpc::firewall
