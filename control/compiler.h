#pragma once
// Compiles a validated configuration into a data-plane snapshot: interns tags, service accounts
// and secure tags, resolves every reference to an index, orders each NIC's firewall rules, builds
// the firewall policies (one PolicySet) and each NIC's policy chains, each network's route table
// (subnet routes named after their subnet, static routes, NIC ownership) and the endpoint
// classifier. Needs the DPDK EAL (rte_fib route tables). Never half-builds:
// either a complete snapshot or nullptr with `error`.

#include <memory>
#include <string>

#include "config/model.h"
#include "dataplane/snapshot.h"

namespace svpc::control {

std::unique_ptr<dataplane::Snapshot> CompileSnapshot(const config::Config& config,
                                                     std::string* error);

// The name shown for a route in verdicts: subnet routes carry their subnet's name.
std::string LastPathSegment(const std::string& ref);

// The MAC of a Cloud Router's kernel interface when its BGP goes through the data plane
// (svpcd sets it on the TAP): GCP's 42:01:<ip> form of its first interface address.
MacAddr CloudRouterMac(const config::Router& router);

}  // namespace svpc::control
