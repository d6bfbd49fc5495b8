#include "firewall/conntrack.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>

// The per-packet helpers of LookupBurst, inlined into it: as calls they cost ~15 cycles a packet.
#define SVPC_HOT_INLINE [[gnu::always_inline]] inline

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

SVPC_HOT_INLINE ConnTrack::Candidates ConnTrack::BucketsOf(const FlowTuple& t) const noexcept {
  // The canonical form (the lower (address, port) first) makes both directions hash alike;
  // min/max of the two 48-bit (address, port) words, without branches.
  const uint64_t a = uint64_t{t.src} << 16 | t.src_port;
  const uint64_t b = uint64_t{t.dst} << 16 | t.dst_port;
  const uint64_t low = a < b ? a : b;
  const uint64_t high = a < b ? b : a;
  const uint32_t h1 = rte_hash_crc_4byte(
      t.network,
      rte_hash_crc_8byte(high, rte_hash_crc_8byte(low | uint64_t{t.protocol} << 56, 0x9747b28c)));
  // Multiply-shift maps a 32-bit hash onto [0, bucket_count_) without a power-of-two size.
  return {static_cast<uint32_t>((uint64_t{h1} * bucket_count_) >> 32), h1};
}

// The second choice, only computed when needed (lookups rarely are: see bucket_overflowed). It
// must not be a linear function of the first (CRCs with another seed are: they differ by a
// constant), or keys sharing a first bucket would share the second too.
uint32_t ConnTrack::SecondBucket(const Candidates& c) const noexcept {
  uint32_t h2 = c.hash ^ (c.hash >> 16);
  h2 *= 0x85ebca6b;
  h2 ^= h2 >> 13;
  h2 *= 0xc2b2ae35;
  h2 ^= h2 >> 16;
  uint32_t second = static_cast<uint32_t>((uint64_t{h2} * bucket_count_) >> 32);
  if (second == c.first) second = c.first + 1 == bucket_count_ ? 0 : c.first + 1;
  return second;
}

// An entry starts with the 16 bytes (network, src, dst, src_port, dst_port) of its initiator's
// tuple: a packet matches when those equal its tuple's, read forwards or reversed, as two words.
static_assert(offsetof(ConnEntry, network) == 0 && offsetof(ConnEntry, src) == 4 &&
              offsetof(ConnEntry, dst) == 8 && offsetof(ConnEntry, src_port) == 12 &&
              offsetof(ConnEntry, dst_port) == 14);

SVPC_HOT_INLINE ConnTrack::KeyWords ConnTrack::WordsOf(const FlowTuple& t) noexcept {
  KeyWords k;
  k.forward_lo = uint64_t{t.network} | uint64_t{t.src} << 32;
  k.reverse_lo = uint64_t{t.network} | uint64_t{t.dst} << 32;
  k.forward_hi = uint64_t{t.dst} | uint64_t{t.src_port} << 32 | uint64_t{t.dst_port} << 48;
  k.reverse_hi = uint64_t{t.src} | uint64_t{t.dst_port} << 32 | uint64_t{t.src_port} << 48;
  k.protocol = t.protocol;
  return k;
}

SVPC_HOT_INLINE ConnTrack::Match ConnTrack::Matches(const ConnEntry& e,
                                                    const KeyWords& k) noexcept {
  if (!e.occupied || e.protocol != k.protocol) return Match::kNone;
  uint64_t lo;
  uint64_t hi;
  std::memcpy(&lo, &e, 8);
  std::memcpy(&hi, reinterpret_cast<const uint8_t*>(&e) + 8, 8);
  if (lo == k.forward_lo && hi == k.forward_hi) return Match::kFromInitiator;
  if (lo == k.reverse_lo && hi == k.reverse_hi) return Match::kFromResponder;
  return Match::kNone;
}

SVPC_HOT_INLINE ConnTrack::Hit ConnTrack::FindIn(uint32_t bucket_index,
                                                 const KeyWords& k) const noexcept {
  Bucket& bucket = buckets_[bucket_index];
  for (uint32_t w = 0; w < kWays; ++w) {
    const Match m = Matches(bucket.way[w], k);
    if (m != Match::kNone) {
      return {static_cast<int32_t>(bucket_index * kWays + w), &bucket.way[w],
              m == Match::kFromInitiator};
    }
  }
  return {};
}

SVPC_HOT_INLINE ConnTrack::Hit ConnTrack::Find(const FlowTuple& t,
                                               const Candidates& c) const noexcept {
  const KeyWords k = WordsOf(t);
  const Hit hit = FindIn(c.first, k);
  if (hit.handle >= 0 || !buckets_[c.first].way[0].bucket_overflowed) return hit;
  return FindIn(SecondBucket(c), k);
}

int32_t ConnTrack::MakeRoom(const Candidates& c) noexcept {
  // Breadth-first search of the cuckoo graph: node = a bucket, edge = moving one of its entries
  // to that entry's other bucket. Bounded, so a full-looking table answers quickly.
  struct Node {
    uint32_t bucket;
    int32_t parent;  // index in `nodes` of the bucket the entry moving here comes from
    uint32_t way;    // which of the parent's entries moves here
  };
  constexpr uint32_t kMaxNodes = 512;
  Node nodes[kMaxNodes];
  uint32_t count = 0;
  nodes[count++] = {c.first, -1, 0};
  nodes[count++] = {SecondBucket(c), -1, 0};
  for (uint32_t at = 0; at < count; ++at) {
    Bucket& bucket = buckets_[nodes[at].bucket];
    int32_t free_way = -1;
    for (uint32_t w = 0; w < kWays; ++w) {
      if (!bucket.way[w].occupied) {
        free_way = static_cast<int32_t>(w);
        break;
      }
    }
    if (free_way >= 0) {
      // Move entries along the path, from its end back to the new entry's bucket.
      uint32_t node = at;
      uint32_t hole = static_cast<uint32_t>(free_way);
      while (nodes[node].parent >= 0) {
        const Node& from = nodes[nodes[node].parent];
        MoveEntry(from.bucket, nodes[node].way, nodes[node].bucket, hole);
        hole = nodes[node].way;
        node = static_cast<uint32_t>(nodes[node].parent);
      }
      if (nodes[node].bucket != c.first) buckets_[c.first].way[0].bucket_overflowed = 1;
      return static_cast<int32_t>(nodes[node].bucket * kWays + hole);
    }
    for (uint32_t w = 0; w < kWays && count < kMaxNodes; ++w) {
      const Candidates alt = BucketsOf(bucket.way[w].initiator());
      const uint32_t other = alt.first == nodes[at].bucket ? SecondBucket(alt) : alt.first;
      // A path must not pass through one bucket twice (moves would overwrite each other).
      bool on_path = false;
      for (int32_t n = static_cast<int32_t>(at); n >= 0; n = nodes[n].parent) {
        if (nodes[n].bucket == other) on_path = true;
      }
      if (!on_path) nodes[count++] = {other, static_cast<int32_t>(at), w};
    }
  }
  return -1;
}

void ConnTrack::MoveEntry(uint32_t from_bucket, uint32_t from_way, uint32_t to_bucket,
                          uint32_t to_way) noexcept {
  ConnEntry& to = buckets_[to_bucket].way[to_way];
  ConnEntry& from = buckets_[from_bucket].way[from_way];
  const uint8_t to_flag = to.bucket_overflowed;  // the flags belong to the buckets, not entries
  to = from;
  to.bucket_overflowed = to_flag;
  from.occupied = 0;
  // The entry now lives in its second bucket when it left its first one.
  const Candidates c = BucketsOf(to.initiator());
  if (to_bucket != c.first) buckets_[c.first].way[0].bucket_overflowed = 1;
}

std::unique_ptr<ConnTrack> ConnTrack::Create(const Config& config, std::string* error) {
  std::unique_ptr<ConnTrack> ct(new ConnTrack(config));
  if (config.capacity == 0) {
    *error = "connection tracking capacity must be at least 1";
    return nullptr;
  }
  // Measured, not estimated: DPDK heap bytes allocated by the buckets and the fragment table.
  const size_t heap_before = HeapAllocated();
  // At most kMaxLoad of the slots hold entries when the table is at capacity: a 2-choice cuckoo
  // table with 2-way buckets fills to ~89% before inserts start failing; 80% keeps the search
  // paths short. Small tables get a few spare buckets so their last inserts find room too.
  const uint64_t buckets = (uint64_t{config.capacity} * 5 + 7) / 8 + 16;
  if (buckets > (uint64_t{1} << 30)) {
    *error = "connection tracking capacity too large";
    return nullptr;
  }
  ct->bucket_count_ = static_cast<uint32_t>(buckets);
  ct->buckets_ = static_cast<Bucket*>(
      rte_zmalloc("svpc_ct_buckets", sizeof(Bucket) * buckets, RTE_CACHE_LINE_SIZE));
  if (ct->buckets_ == nullptr) {
    *error = "cannot allocate " + std::to_string(config.capacity) + " connection entries";
    return nullptr;
  }

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
  ct->heap_bytes_ = HeapAllocated() - heap_before;
  return ct;
}

ConnTrack::~ConnTrack() {
  if (buckets_ != nullptr) rte_free(buckets_);
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

SVPC_HOT_INLINE bool ConnTrack::Expired(const ConnEntry& e, uint64_t now_ns) const noexcept {
  if (now_ns <= e.last_seen_ns) return false;
  const uint64_t idle = now_ns - e.last_seen_ns;
  if (idle <= shortest_timeout_ns_) return false;  // the usual answer, without the TCP state
  return idle >
         (e.tcp == TcpState::kClosed ? config_.tcp_closed_timeout_ns : config_.idle_timeout_ns);
}

SVPC_HOT_INLINE void ConnTrack::UpdateTcp(ConnEntry& e, bool from_initiator,
                                          uint8_t flags) noexcept {
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
  return Resolve(Find(packet, BucketsOf(packet)), tcp_flags, now_ns);
}

void ConnTrack::LookupBurst(const FlowTuple* packets, const uint8_t* tcp_flags,
                            const uint64_t* now_ns, uint32_t count, int32_t* out) noexcept {
  Candidates candidates[kMaxBurst];
  count = std::min(count, kMaxBurst);
  for (uint32_t i = 0; i < count; ++i) {
    candidates[i] = BucketsOf(packets[i]);
    // Entries go to their first bucket unless it is full: at the table's usual load nearly every
    // entry is there, and the second is read only when the first's overflow flag says so.
    rte_prefetch0(&buckets_[candidates[i].first]);
  }
  for (uint32_t i = 0; i < count; ++i) {
    out[i] = Resolve(Find(packets[i], candidates[i]), tcp_flags[i], now_ns[i]);
  }
}

SVPC_HOT_INLINE int32_t ConnTrack::Resolve(const Hit& hit, uint8_t tcp_flags,
                                           uint64_t now_ns) noexcept {
  if (hit.handle < 0) return kMiss;
  const int32_t handle = hit.handle;
  ConnEntry& e = *hit.entry;
  if (Expired(e, now_ns)) {
    Erase(handle);
    return kMiss;
  }
  // A new SYN on a closed connection's tuple is a new connection: evaluate it again.
  if (e.tcp == TcpState::kClosed && (tcp_flags & (kTcpSyn | kTcpRst)) == kTcpSyn) {
    Erase(handle);
    return kMiss;
  }
  if (now_ns > e.last_seen_ns) e.last_seen_ns = now_ns;
  UpdateTcp(e, hit.from_initiator, tcp_flags);
  return handle;
}

int32_t ConnTrack::Peek(const FlowTuple& packet, uint64_t now_ns) const noexcept {
  const Hit hit = Find(packet, BucketsOf(packet));
  if (hit.handle < 0 || Expired(*hit.entry, now_ns)) return kMiss;
  return hit.handle;
}

int32_t ConnTrack::Insert(const FlowTuple& packet, uint8_t tcp_flags, uint64_t now_ns,
                          uint32_t generation) noexcept {
  const Candidates c = BucketsOf(packet);
  int32_t handle = Find(packet, c).handle;
  if (handle < 0) {
    if (live_ >= config_.capacity) {
      // Full: reclaim expired entries the background sweep has not reached yet, then retry.
      Sweep(now_ns, std::min<uint32_t>(bucket_count_ * kWays, kFullSweepBudget));
      if (live_ >= config_.capacity) return kFull;
    }
    handle = MakeRoom(c);
    if (handle < 0) return kFull;
    ++live_;
  }
  ConnEntry& e = Slot(handle);
  const uint8_t bucket_flag = e.bucket_overflowed;
  e = ConnEntry{};
  e.bucket_overflowed = bucket_flag;
  e.network = packet.network;
  e.src = packet.src;
  e.dst = packet.dst;
  e.src_port = packet.src_port;
  e.dst_port = packet.dst_port;
  e.protocol = packet.protocol;
  e.occupied = 1;
  e.last_seen_ns = now_ns;
  e.generation = generation;
  e.tcp = packet.protocol == 6 ? TcpState::kOpening : TcpState::kNone;
  UpdateTcp(e, true, tcp_flags);
  return handle;
}

void ConnTrack::Remove(int32_t handle) noexcept {
  if (Slot(handle).occupied) Erase(handle);
}

void ConnTrack::Erase(int32_t handle) noexcept {
  Slot(handle).occupied = 0;
  --live_;
}

uint32_t ConnTrack::Sweep(uint64_t now_ns, uint32_t budget) noexcept {
  // `budget` entries examined; empty slots are cheaper, but bounded too so an idle worker's
  // sweep stays short on a mostly empty table.
  uint32_t removed = 0;
  const uint32_t slots = bucket_count_ * kWays;
  const uint64_t max_slots = std::min<uint64_t>(uint64_t{budget} * 8, slots);
  uint32_t examined = 0;
  for (uint64_t scanned = 0; scanned < max_slots && examined < budget && live_ > 0; ++scanned) {
    if (sweep_next_ >= slots) sweep_next_ = 0;
    const int32_t handle = static_cast<int32_t>(sweep_next_++);
    const ConnEntry& e = Slot(handle);
    if (!e.occupied) continue;
    ++examined;
    if (Expired(e, now_ns)) {
      Erase(handle);
      ++removed;
    }
  }
  return removed;
}

uint32_t ConnTrack::size() const { return live_; }

double ConnTrack::BytesPerEntry() const {
  return static_cast<double>(heap_bytes_) / config_.capacity;
}

}  // namespace svpc::firewall
