#pragma once
// Connection tracking as GCP's VPC firewall does it: once a connection is allowed, packets of
// its 5-tuple pass in both directions without rule evaluation, for every protocol (TCP, UDP,
// ICMP echo by identifier, others by addresses and protocol). An entry lives while at least one
// packet passes every `idle_timeout_ns` (GCP: 10 minutes). TCP entries follow the TCP state, so
// a closed connection (both FINs, or an RST) leaves after `tcp_closed_timeout_ns`.
//
// One table per worker (symmetric RSS keeps both directions of a flow on one worker), owned by
// it, outliving configuration snapshots. Both directions hash to the same buckets (the hash is
// over the canonical form: lower address/port first).
//
// Our own table rather than rte_hash, because it measurably wins on the established-flow path
// (firewall/README.md): a bucketized cuckoo hash whose 64-byte buckets hold two 32-byte entries
// inline, key included. A lookup reads one of two candidate cache lines, where rte_hash reads a
// signature bucket, then its key store, then our entry array (three lines). Inserts that find
// both candidate buckets full move entries along a breadth-first-searched path to a free slot;
// the path is found before anything moves, so a failed insert changes nothing.
// Cost: one or two cache lines per lookup; memory measured by BytesPerEntry() (~40 bytes).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "common/net_types.h"

struct rte_hash;

namespace svpc::firewall {

// A flow as the packet carries it. For ICMP echo, both ports hold the echo identifier; for
// protocols without ports both are 0.
struct FlowTuple {
  uint32_t network = 0;
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t protocol = 0;

  FlowTuple Reversed() const { return {network, dst, src, dst_port, src_port, protocol}; }
};

enum class TcpState : uint8_t {
  kNone,         // not TCP
  kOpening,      // seen from the initiator only
  kEstablished,  // seen from both sides
  kClosing,      // one side sent FIN
  kClosed,       // both FINs, or an RST: leaves after tcp_closed_timeout_ns
};

// TCP flag bits as in the header.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;

// One tracked connection: 32 bytes, the table's slot itself. The initiator's 5-tuple is the key.
struct ConnEntry {
  uint32_t network = 0;
  Ipv4 src = 0;  // the initiator: who opened the connection (the allowed direction)
  Ipv4 dst = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t protocol = 0;
  TcpState tcp = TcpState::kNone;
  uint8_t fin_from_initiator : 1 = 0;
  uint8_t fin_from_responder : 1 = 0;
  uint8_t occupied : 1 = 0;
  // Meaningful in a bucket's first way only: some entry whose first-choice bucket this is lives
  // in its second one. Lookups that miss in the first bucket read the second only then.
  uint8_t bucket_overflowed = 0;
  uint32_t generation = 0;  // configuration generation that last allowed this connection
  uint64_t last_seen_ns = 0;

  FlowTuple initiator() const { return {network, src, dst, src_port, dst_port, protocol}; }
};
static_assert(sizeof(ConnEntry) == 32, "two entries per 64-byte bucket");

class ConnTrack {
 public:
  struct Config {
    uint32_t capacity = 1'000'000;
    uint64_t idle_timeout_ns = 600ull * 1'000'000'000;  // GCP: 10 minutes
    // How long a closed TCP connection (both FINs or RST) stays. Not documented by GCP;
    // unconfirmed, chosen like Linux's conntrack CLOSE/TIME_WAIT order of magnitude.
    uint64_t tcp_closed_timeout_ns = 10ull * 1'000'000'000;
  };

  static std::unique_ptr<ConnTrack> Create(const Config& config, std::string* error);
  ~ConnTrack();
  ConnTrack(const ConnTrack&) = delete;
  ConnTrack& operator=(const ConnTrack&) = delete;

  // Fragments: the first fragment decides, later fragments of the same datagram (network,
  // addresses, protocol, IP id) follow it. GCP does not reassemble; how long a datagram's
  // verdict is remembered is unconfirmed: 30 s, like Linux's ipfrag_time.
  static constexpr uint64_t kFragmentTimeoutNs = 30ull * 1'000'000'000;
  enum class FragmentVerdict : uint8_t { kUnknown, kAllowed, kDenied };
  void RecordFirstFragment(const FlowTuple& packet, uint16_t ip_id, bool allowed,
                           uint64_t now_ns) noexcept;
  FragmentVerdict LaterFragment(const FlowTuple& packet, uint16_t ip_id,
                                uint64_t now_ns) const noexcept;

  static constexpr int32_t kMiss = -1;
  static constexpr int32_t kFull = -2;

  // The live entry for this packet's flow (either direction), refreshed (last seen, TCP state
  // from `tcp_flags`), or kMiss. An expired entry is removed and reported as kMiss.
  int32_t Lookup(const FlowTuple& packet, uint8_t tcp_flags, uint64_t now_ns) noexcept;

  // Lookup for up to kMaxBurst packets at once: every packet's candidate buckets are prefetched
  // first, so the burst's cache misses overlap; then each as Lookup. out[i] = handle or kMiss.
  static constexpr uint32_t kMaxBurst = 64;
  void LookupBurst(const FlowTuple* packets, const uint8_t* tcp_flags, const uint64_t* now_ns,
                   uint32_t count, int32_t* out) noexcept;

  // Looks without refreshing or removing (ICMP errors about a flow do not keep it alive).
  int32_t Peek(const FlowTuple& packet, uint64_t now_ns) const noexcept;

  // Starts tracking the connection `packet` opens (it was just allowed). kFull when the table
  // is at capacity: the caller drops the packet.
  int32_t Insert(const FlowTuple& packet, uint8_t tcp_flags, uint64_t now_ns,
                 uint32_t generation) noexcept;

  void Remove(int32_t handle) noexcept;

  // Removes up to `budget` expired entries, resuming where the last call stopped; called by
  // the worker between bursts so memory comes back without a stop-the-world sweep.
  uint32_t Sweep(uint64_t now_ns, uint32_t budget) noexcept;

  // Handles stay valid until the next Insert (which may move entries) or Remove of that entry.
  ConnEntry& entry(int32_t handle) { return Slot(handle); }
  bool IsInitiator(int32_t handle, const FlowTuple& packet) const {
    const ConnEntry& e = Slot(handle);
    return e.src == packet.src && e.src_port == packet.src_port && e.dst == packet.dst &&
           e.dst_port == packet.dst_port;
  }
  uint32_t size() const;
  uint32_t capacity() const { return config_.capacity; }
  const Config& config() const { return config_; }
  // DPDK heap bytes the table took at creation (buckets and fragment table), divided by capacity.
  double BytesPerEntry() const;

 private:
  static constexpr uint32_t kWays = 2;  // entries per bucket
  struct alignas(64) Bucket {
    ConnEntry way[kWays];
  };
  struct Candidates {
    uint32_t first;
    uint32_t hash;  // SecondBucket derives the second candidate from it
  };
  struct FragmentKey {
    uint32_t network;
    uint32_t src;
    uint32_t dst;
    uint16_t ip_id;
    uint8_t protocol;
    uint8_t pad;
  };
  struct FragmentEntry {
    uint64_t first_seen_ns;
    bool allowed;
  };
  Candidates BucketsOf(const FlowTuple& t) const noexcept;
  uint32_t SecondBucket(const Candidates& c) const noexcept;
  // Moves an entry to a free slot (keeping each bucket's flags with its bucket).
  void MoveEntry(uint32_t from_bucket, uint32_t from_way, uint32_t to_bucket,
                 uint32_t to_way) noexcept;
  // A packet's tuple as an entry's first 16 bytes would hold it, opened by it or by the other end.
  struct KeyWords {
    uint64_t forward_lo, forward_hi, reverse_lo, reverse_hi;
    uint8_t protocol;
  };
  enum class Match : uint8_t { kNone, kFromInitiator, kFromResponder };
  static KeyWords WordsOf(const FlowTuple& t) noexcept;
  static Match Matches(const ConnEntry& e, const KeyWords& k) noexcept;
  // Where a flow was found: its slot (kMiss: not found), the entry, and which way the packet goes.
  struct Hit {
    int32_t handle = kMiss;
    ConnEntry* entry = nullptr;
    bool from_initiator = true;
  };
  Hit Find(const FlowTuple& t, const Candidates& c) const noexcept;
  Hit FindIn(uint32_t bucket_index, const KeyWords& k) const noexcept;
  // A free slot for a new entry with these candidate buckets, making room by moving entries to
  // their other bucket when both are full; -1 when no path within the search bound exists.
  int32_t MakeRoom(const Candidates& c) noexcept;
  ConnEntry& Slot(int32_t handle) const noexcept {
    const uint32_t h = static_cast<uint32_t>(handle);  // unsigned: / and % are a shift and a mask
    return buckets_[h / kWays].way[h % kWays];
  }
  bool Expired(const ConnEntry& e, uint64_t now_ns) const noexcept;
  void UpdateTcp(ConnEntry& e, bool from_initiator, uint8_t tcp_flags) noexcept;
  void Erase(int32_t handle) noexcept;
  // What Lookup does once the flow's slot is known (or not): expiry, closed-then-SYN, refresh.
  int32_t Resolve(const Hit& hit, uint8_t tcp_flags, uint64_t now_ns) noexcept;

  explicit ConnTrack(const Config& config)
      : config_(config),
        shortest_timeout_ns_(std::min(config.idle_timeout_ns, config.tcp_closed_timeout_ns)) {}

  Config config_;
  uint64_t shortest_timeout_ns_;  // no entry idle for less than this has expired
  Bucket* buckets_ = nullptr;
  uint32_t bucket_count_ = 0;
  rte_hash* fragments_ = nullptr;
  FragmentEntry* fragment_entries_ = nullptr;
  uint32_t fragment_capacity_ = 0;
  uint32_t sweep_next_ = 0;  // next slot the incremental sweep looks at
  uint32_t live_ = 0;
  size_t heap_bytes_ = 0;
};

}  // namespace svpc::firewall
