#pragma once
// Connection tracking as GCP's VPC firewall does it: once a connection is allowed, packets of
// its 5-tuple pass in both directions without rule evaluation, for every protocol (TCP, UDP,
// ICMP echo by identifier, others by addresses and protocol). An entry lives while at least one
// packet passes every `idle_timeout_ns` (GCP: 10 minutes). TCP entries follow the TCP state, so
// a closed connection (both FINs, or an RST) leaves after `tcp_closed_timeout_ns`.
//
// One table per worker (symmetric RSS keeps both directions of a flow on one worker), owned by
// it, outliving configuration snapshots. Keys are canonical (lower address/port first) so both
// directions find the same entry. Built on DPDK rte_hash (extendable buckets, so the configured
// capacity is reachable); the key's slot index addresses a parallel entry array.
// Cost: one rte_hash lookup per packet; memory measured by BytesPerEntry().

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

struct ConnEntry {
  uint64_t last_seen_ns = 0;
  uint32_t generation = 0;  // configuration generation that last allowed this connection
  FlowTuple initiator;      // the allowed direction: who opened it
  TcpState tcp = TcpState::kNone;
  uint8_t fin_from_initiator : 1 = 0;
  uint8_t fin_from_responder : 1 = 0;
};

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

  // Lookup for up to kMaxBurst packets at once: one rte_hash_lookup_bulk (which prefetches and
  // overlaps the bucket reads), then each hit as Lookup does it. out[i] = handle or kMiss.
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

  ConnEntry& entry(int32_t handle) { return entries_[handle]; }
  bool IsInitiator(int32_t handle, const FlowTuple& packet) const {
    const FlowTuple& i = entries_[handle].initiator;
    return i.src == packet.src && i.src_port == packet.src_port && i.dst == packet.dst &&
           i.dst_port == packet.dst_port;
  }
  uint32_t size() const;
  uint32_t capacity() const { return config_.capacity; }
  const Config& config() const { return config_; }
  // DPDK heap bytes the table took at creation (hash + entries), divided by capacity.
  double BytesPerEntry() const;

 private:
  struct Key {
    uint32_t network;
    uint32_t ip_lo;
    uint32_t ip_hi;
    uint16_t port_lo;
    uint16_t port_hi;
    uint8_t protocol;
    uint8_t pad[3];
  };
  static Key KeyOf(const FlowTuple& t) noexcept;
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
  bool Expired(const ConnEntry& e, uint64_t now_ns) const noexcept;
  void UpdateTcp(ConnEntry& e, bool from_initiator, uint8_t tcp_flags) noexcept;
  void Delete(const void* key) noexcept;
  // What Lookup does once the key's slot is known (or not): expiry, closed-then-SYN, refresh.
  int32_t Resolve(int32_t pos, const Key& key, const FlowTuple& packet, uint8_t tcp_flags,
                  uint64_t now_ns) noexcept;

  explicit ConnTrack(const Config& config) : config_(config) {}

  Config config_;
  rte_hash* hash_ = nullptr;
  ConnEntry* entries_ = nullptr;
  rte_hash* fragments_ = nullptr;
  FragmentEntry* fragment_entries_ = nullptr;
  uint32_t fragment_capacity_ = 0;
  uint32_t sweep_next_ = 0;
  uint32_t live_ = 0;  // entries in the table (capacity is enforced on this, not on rte_hash)
  size_t hash_bytes_ = 0;
};

}  // namespace svpc::firewall
