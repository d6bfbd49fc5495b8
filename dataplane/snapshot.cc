#include "dataplane/snapshot.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>

#include <atomic>
#include <map>
#include <utility>

namespace svpc::dataplane {
namespace {
std::atomic<uint32_t> hash_serial{0};
}

void Snapshot::AllocateRuleHits() {
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
  rule_hits = std::make_unique<uint64_t[]>(rule_hit_count + 1);
}

Snapshot::~Snapshot() {
  if (by_mac_ != nullptr) rte_hash_free(by_mac_);
}

bool Snapshot::BuildClassifier(std::string* error) {
  std::string name = "svpc_ep_" + std::to_string(hash_serial.fetch_add(1));
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = std::max<uint32_t>(64, endpoints.size() * 2);
  params.key_len = sizeof(MacKey);
  params.hash_func = rte_jhash;
  params.socket_id = SOCKET_ID_ANY;
  by_mac_ = rte_hash_create(&params);
  if (by_mac_ == nullptr) {
    *error = "rte_hash_create failed: " + std::string(rte_strerror(rte_errno));
    return false;
  }
  default_endpoint_.assign(port_names.size() * 4096, -1);
  std::map<std::pair<uint16_t, uint16_t>, int> instances_on_link;
  for (const EndpointInfo& ep : endpoints) {
    if (ep.kind == EndpointKind::kInstanceNic) instances_on_link[{ep.port, ep.vlan}]++;
  }
  for (uint32_t i = 0; i < endpoints.size(); ++i) {
    const EndpointInfo& ep = endpoints[i];
    size_t slot = size_t{ep.port} * 4096 + ep.vlan;
    if (ep.kind != EndpointKind::kInstanceNic) {
      default_endpoint_[slot] = i;
      continue;
    }
    if (instances_on_link[{ep.port, ep.vlan}] == 1) default_endpoint_[slot] = i;
    MacKey key{ep.port, ep.vlan, ep.mac.bytes};
    if (rte_hash_add_key_data(by_mac_, &key, reinterpret_cast<void*>(uintptr_t{i})) != 0) {
      *error = "rte_hash_add_key_data failed";
      return false;
    }
  }
  return true;
}

int32_t Snapshot::ClassifySource(uint16_t port, uint16_t vlan,
                                 const MacAddr& src_mac) const noexcept {
  MacKey key{port, vlan, src_mac.bytes};
  void* data = nullptr;
  if (rte_hash_lookup_data(by_mac_, &key, &data) >= 0) {
    return static_cast<int32_t>(reinterpret_cast<uintptr_t>(data));
  }
  size_t slot = size_t{port} * 4096 + vlan;
  return slot < default_endpoint_.size() ? default_endpoint_[slot] : -1;
}

}  // namespace svpc::dataplane
