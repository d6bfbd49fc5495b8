#include "dataplane/snapshot.h"

#include <atomic>
#include <map>
#include <utility>

namespace svpc::dataplane {
void Snapshot::AllocateWorkerCounters(uint32_t workers) {
  rule_hit_count = 0;
  for (NetworkInfo& net : networks) {
    net.rule_hit_base = static_cast<uint32_t>(rule_hit_count);
    rule_hit_count += net.firewall.size();
  }
  policy_rule_hit_base.assign(policies.size(), 0);
  for (uint32_t p = 0; p < policies.size(); ++p) {
    policy_rule_hit_base[p] = static_cast<uint32_t>(rule_hit_count);
    rule_hit_count += policies.policy(p).rules.size();
  }
  rule_hit_slices = workers == 0 ? 1 : workers;
  rule_hit_stride = (rule_hit_count + 1 + 7) / 8 * 8;  // whole 64-byte lines per worker
  rule_hits = std::make_unique<uint64_t[]>(rule_hit_stride * rule_hit_slices);
  // Whole 64-byte lines per worker (four 16-byte cells), one spare project for safety.
  billing_stride = ((billing_projects.size() + 1) * kEgressKindCount + 3) / 4 * 4;
  billing = std::make_unique<BillingCell[]>(billing_stride * rule_hit_slices);
}

Snapshot::~Snapshot() = default;

bool Snapshot::BuildClassifier(std::string* error) {
  size_t slots = 16;
  while (slots < endpoints.size() * 2) slots *= 2;
  by_mac_.assign(slots, EndpointSlot{});
  slot_shift_ = 64 - static_cast<uint32_t>(__builtin_ctzll(slots));
  default_endpoint_.assign(port_names.size() * 4096, -1);
  std::map<std::pair<uint16_t, uint16_t>, int> instances_on_link;
  for (const EndpointInfo& ep : endpoints) {
    if (ep.kind == EndpointKind::kInstanceNic) instances_on_link[{ep.port, ep.vlan}]++;
  }
  for (uint32_t i = 0; i < endpoints.size(); ++i) {
    const EndpointInfo& ep = endpoints[i];
    size_t slot = size_t{ep.port} * 4096 + ep.vlan;
    if (slot >= default_endpoint_.size()) {
      *error =
          "endpoint " + ep.name + " on port " + std::to_string(ep.port) + " outside the testbed";
      return false;
    }
    if (ep.kind != EndpointKind::kInstanceNic) {
      default_endpoint_[slot] = i;
      continue;
    }
    if (instances_on_link[{ep.port, ep.vlan}] == 1) default_endpoint_[slot] = i;
    const uint64_t key = MacVlanKey(ep.vlan, ep.mac);
    for (size_t s = SlotOf(key, ep.port);; s = (s + 1) & (slots - 1)) {
      EndpointSlot& e = by_mac_[s];
      if (e.endpoint < 0) {
        e = EndpointSlot{key, ep.port, static_cast<int32_t>(i)};
        break;
      }
      if (e.mac_vlan == key && e.port == ep.port) break;  // duplicate MAC on a link: first wins
    }
  }
  return true;
}

}  // namespace svpc::dataplane
