#pragma once
// A compiled, immutable configuration: everything the pipeline needs to decide a packet's fate,
// in lookup-ready form. The control module builds one complete Snapshot, publishes it with one
// pointer store (SnapshotStore), and frees the old one after every worker has been quiescent.
// Indices (networks, NICs, endpoints, ports) are stable within one snapshot only.

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net_types.h"
#include "firewall/classifier.h"
#include "firewall/policy_evaluator.h"
#include "firewall/vpc_firewall.h"
#include "routing/route_table.h"

namespace svpc::dataplane {

inline constexpr uint16_t kMaxPorts = 64;
inline constexpr uint16_t kNoVlan = 0;  // untagged; real VLAN ids are 1..4094

// MAC the fabric uses towards external links (VPN tunnel, VLAN attachment, internet ports).
inline constexpr MacAddr kExternalFabricMac{{0x42, 0x01, 0x00, 0x00, 0x00, 0x01}};

enum class EndpointKind : uint8_t {
  kInstanceNic,
  kVpnTunnel,
  kInterconnectAttachment,
  kInternet,
  kCloudRouter,  // the kernel side of a Cloud Router whose BGP goes through the data plane
};

// A Cloud Router interface's link range and the tunnel/attachment endpoint it is linked to.
struct RouterLink {
  Prefix range;
  int32_t endpoint = -1;
};

// Egress billing: where an instance's packet left to (Shared VPC billing attributes egress to the
// sender's project, except through a VPN gateway: to the gateway's project).
enum class EgressKind : uint8_t { kToInstance, kToInternet, kViaVpnGateway, kViaInterconnect };
inline constexpr uint32_t kEgressKindCount = 4;
struct BillingCell {
  uint64_t packets = 0;
  uint64_t bytes = 0;  // IPv4 total length
};

struct EndpointInfo {
  EndpointKind kind = EndpointKind::kInstanceNic;
  uint16_t port = 0;
  uint16_t vlan = kNoVlan;
  MacAddr mac;  // instance NIC: its MAC; external: the peer router's MAC (broadcast if unknown)
  uint32_t network = 0;
  int32_t nic = -1;  // kInstanceNic only
  std::string name;  // tunnel / attachment reference, "internet" for the internet endpoint
  uint32_t billing_project = 0;  // tunnels: the gateway's project (Snapshot::billing_projects)
  // What an instance's egress out of this endpoint counts as (set by the compiler).
  EgressKind egress_kind = EgressKind::kToInstance;
  // Tunnels and attachments a Cloud Router interface is linked to, when its BGP goes through the
  // data plane: frames for router_ip go to router_endpoint.
  Ipv4 router_ip = 0;
  int32_t router_endpoint = -1;
  // kCloudRouter: where its frames go, by destination.
  std::vector<RouterLink> router_links;
};

struct NicInfo {
  std::string instance_ref;      // projects/P/zones/Z/instances/I
  std::string nic_name;          // nic0
  std::string project;           // the instance's (service) project
  uint32_t billing_project = 0;  // `project` in Snapshot::billing_projects
  std::string subnetwork_name;
  uint32_t region = routing::kNoRegion;  // interned: Snapshot::region_names
  uint32_t network = 0;
  Ipv4 ip = 0;
  std::vector<Prefix> alias_ranges;
  bool can_ip_forward = false;
  bool has_external_ip = false;
  std::vector<uint32_t> tags;  // interned, sorted
  std::vector<uint32_t> service_accounts;
  std::vector<uint32_t> secure_tags;  // interned tag values ("tagValues/N"), sorted
  uint32_t target_class = 0;          // in the network's Classifier: which rules target this NIC
  uint32_t source_class = firewall::kNoSourceClass;  // which source tags/SAs it satisfies
  // Firewall policies: the NIC's chain per direction (hierarchical policies, VPC rules, global and
  // regional network policies in its enforcement order). A direction is on the policy path only
  // when some policy stage of its chain has a rule applying to the NIC; otherwise the chain would
  // decide exactly as the VPC rules alone, and the classifier decides.
  firewall::PolicyChain egress_chain;
  firewall::PolicyChain ingress_chain;
  bool egress_policy_path = false;
  bool ingress_policy_path = false;
  uint32_t route_view = routing::RouteTable::kUntaggedView;
  // VPC Flow Logs of its subnet: the aggregation interval (0 = off) and the sample threshold
  // (flowSampling * 2^32, dataplane/flow_log.h).
  uint64_t flow_log_interval_ns = 0;
  uint64_t flow_log_threshold = 0;
  int32_t endpoint = -1;  // where the testbed wires it; -1 = nowhere
  MacAddr mac;            // the NIC's MAC
  MacAddr gateway_mac;    // its subnet gateway's MAC: answers ARP, sources delivered frames

  firewall::Identity Identity() const { return {tags, service_accounts}; }
  firewall::NicIdentity PolicyIdentity() const { return {tags, service_accounts, secure_tags}; }
  bool Owns(Ipv4 addr) const {
    if (addr == ip) return true;
    for (const Prefix& p : alias_ranges) {
      if (p.Contains(addr)) return true;
    }
    return false;
  }
};

struct NetworkInfo {
  std::string ref;  // projects/HOST/global/networks/NAME
  std::string name;
  std::string project;
  uint32_t mtu = 1460;
  firewall::RuleSet firewall;
  // The compiled form of `firewall` that new connections go through (same decisions).
  std::unique_ptr<firewall::Classifier> classifier;
  std::unique_ptr<routing::RouteTable> routes;
  int32_t internet_endpoint = -1;  // where the default internet gateway leads, -1 = not wired
  uint32_t rule_hit_base = 0;      // this network's rules in Snapshot::rule_hits
  // The network's id in connection tracking keys: derived from `ref`, so tracked connections
  // stay with their network when a reload renumbers networks (indices are per snapshot).
  uint32_t conntrack_id = 0;
  // Firewall Rules Logging's rule_details.reference of each policy reaching this network's NICs
  // (policy index in Snapshot::policies, reference): "network:NET/firewallPolicy:NAME", or for
  // hierarchical policies "TIER/firewallPolicy:ID" (TIER: depth of the organization or folder the
  // policy is associated with above the network's project, organization = 0).
  std::vector<std::pair<uint32_t, std::string>> policy_log_references;
};

class Snapshot {
 public:
  Snapshot() = default;
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  std::vector<std::string> port_names;
  std::vector<NetworkInfo> networks;
  std::vector<NicInfo> nics;
  std::vector<EndpointInfo> endpoints;
  uint64_t generation = 0;
  // Interned names, for reports (rule details in firewall logs).
  std::vector<std::string> tag_names;
  std::vector<std::string> service_account_names;
  std::vector<std::string> secure_tag_names;
  // Regions (of instances, subnets and Cloud Routers), interned for route views.
  std::vector<std::string> region_names;
  // The id of `region` (routing::kNoRegion when no instance or subnet of the snapshot is there).
  uint32_t RegionId(std::string_view region) const {
    for (uint32_t i = 0; i < region_names.size(); ++i) {
      if (region_names[i] == region) return i;
    }
    return routing::kNoRegion;
  }
  // Every firewall policy of the configuration (disabled rules left out); Policy::name is the
  // name verdicts show ("firewallPolicies/SHORT_NAME", "global/firewallPolicies/NAME",
  // "regions/R/firewallPolicies/NAME"), policy_refs[p] its canonical reference.
  firewall::PolicySet policies;
  std::vector<std::string> policy_refs;
  // Per-rule hit counters: how many decisions (new connections, denied packets) each VPC
  // firewall rule made, at networks[n].rule_hit_base + rule index, and each firewall policy rule,
  // at policy_rule_hit_base[p] + index in Policy::rules. The one mutable part of a snapshot:
  // one slice per worker (`rule_hit_stride` apart, whole cache lines, so workers never write the
  // same line), each written only by its worker; the control thread reads their sum.
  std::unique_ptr<uint64_t[]> rule_hits;
  size_t rule_hit_count = 0;
  size_t rule_hit_stride = 0;
  uint32_t rule_hit_slices = 1;
  std::vector<uint32_t> policy_rule_hit_base;
  // Egress billing per project (billing_projects) and EgressKind, one slice per worker like
  // rule_hits: cell (project * kEgressKindCount + kind).
  std::vector<std::string> billing_projects;
  std::unique_ptr<BillingCell[]> billing;
  size_t billing_stride = 0;
  BillingCell* BillingSlice(uint32_t worker) const noexcept {
    return billing.get() + (worker < rule_hit_slices ? worker : rule_hit_slices) * billing_stride;
  }
  BillingCell BillingTotal(uint32_t project, EgressKind kind) const noexcept {
    BillingCell sum;
    for (uint32_t w = 0; w < rule_hit_slices; ++w) {
      const BillingCell& c =
          billing[w * billing_stride + project * kEgressKindCount + static_cast<uint32_t>(kind)];
      sum.packets += c.packets;
      sum.bytes += c.bytes;
    }
    return sum;
  }
  static constexpr uint32_t kScratchWorker = UINT32_MAX;
  // (Re)allocates the zeroed per-worker counters (rule hits, billing) for `workers` workers.
  void AllocateWorkerCounters(uint32_t workers = 1);
  // Worker `worker`'s slice; an index out of range (kScratchWorker) gets the scratch slice, which
  // no report reads: pipelines that are not workers (a live trace) count nothing.
  uint64_t* RuleHitSlice(uint32_t worker) const noexcept {
    return rule_hits.get() +
           (worker < rule_hit_slices ? worker : rule_hit_slices) * rule_hit_stride;
  }
  // Every worker's hits of counter `index` (a base above + rule index).
  uint64_t RuleHits(size_t index) const noexcept {
    uint64_t sum = 0;
    for (uint32_t w = 0; w < rule_hit_slices; ++w) sum += rule_hits[w * rule_hit_stride + index];
    return sum;
  }

  // Builds the classification tables from `endpoints`. Call once after filling the vectors.
  bool BuildClassifier(std::string* error);

  // The endpoint a frame arriving on (port, vlan) from `src_mac` belongs to, or -1.
  // Exact (port, VLAN, MAC) match first; else the (port, VLAN) default: its external endpoint,
  // or its only instance endpoint (so captures whose MACs differ still classify).
  // Inline: every packet calls it.
  int32_t ClassifySource(uint16_t port, uint16_t vlan, const MacAddr& src_mac) const noexcept {
    const uint64_t key = MacVlanKey(vlan, src_mac);
    const size_t mask = by_mac_.size() - 1;
    for (size_t s = SlotOf(key, port);; s = (s + 1) & mask) {
      const EndpointSlot& e = by_mac_[s];
      if (e.endpoint < 0) break;
      if (e.mac_vlan == key && e.port == port) return e.endpoint;
    }
    const size_t slot = size_t{port} * 4096 + vlan;
    return slot < default_endpoint_.size() ? default_endpoint_[slot] : -1;
  }

 private:
  // (port, VLAN, MAC) -> endpoint, open addressing with linear probing at most half full. Our
  // own rather than rte_hash: the table is small and read for every packet; rte_hash_lookup's
  // jhash, signature and key-store indirection cost ~70 cycles a packet, this ~15 (bench/README).
  struct EndpointSlot {
    uint64_t mac_vlan = 0;  // MAC in the low 48 bits, VLAN id above
    uint16_t port = 0;
    int32_t endpoint = -1;  // -1: empty slot
  };
  // The MAC as a big-endian 48-bit number (first byte highest), the VLAN above it: a 4-byte and a
  // 2-byte load, byte-swapped in registers. (The byte loop this replaces cost ~16 instructions a
  // packet; one 6-byte memcpy into a uint64_t made GCC assemble it on the stack and reload it as
  // 8 bytes, a store-forwarding stall that doubled the classify stage.)
  static uint64_t MacVlanKey(uint16_t vlan, const MacAddr& mac) noexcept {
    static_assert(std::endian::native == std::endian::little);
    uint32_t first4;
    uint16_t last2;
    std::memcpy(&first4, mac.bytes.data(), 4);
    std::memcpy(&last2, mac.bytes.data() + 4, 2);
    return uint64_t{vlan} << 48 | uint64_t{__builtin_bswap32(first4)} << 16 |
           __builtin_bswap16(last2);
  }
  size_t SlotOf(uint64_t mac_vlan, uint16_t port) const noexcept {
    return ((mac_vlan ^ (uint64_t{port} << 61)) * 0x9e3779b97f4a7c15ull) >> slot_shift_;
  }

  std::vector<EndpointSlot> by_mac_;
  uint32_t slot_shift_ = 63;
  std::vector<int32_t> default_endpoint_;  // [port * 4096 + vlan]
};

}  // namespace svpc::dataplane
