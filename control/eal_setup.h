#pragma once
// Starting DPDK's EAL the way this machine can run it, for both `svpc replay` and `svpcd`:
// hugepages when enough are free, otherwise --no-huge with a memory size computed from the
// configuration (a route table's rte_fib is 64 MiB, twice under RCU, plus a reload's new one); a
// file prefix of our own so several processes run side by side; the testbed's devices as --vdev or
// -a. Options the expert passes after `--` win over every default here.

#include <cstdint>
#include <string>
#include <vector>

namespace svpc::control {

struct EalRequest {
  std::string program = "svpc";
  std::vector<std::string> devices;    // testbed device strings
  std::vector<std::string> user_args;  // after `--`
  uint32_t networks = 1;
  uint32_t lcores = 1;  // 1 for replay, workers + 1 for the daemon
  // DPDK telemetry (the daemon: dpdk-telemetry.py and dpdk-dumpcap talk to it); off otherwise.
  bool telemetry = false;
};

// The argument vector that would be given to rte_eal_init.
std::vector<std::string> BuildEalArgs(const EalRequest& request);

// Calls rte_eal_init. On failure `error` says which arguments were used.
bool InitEal(const EalRequest& request, std::string* error);

}  // namespace svpc::control
