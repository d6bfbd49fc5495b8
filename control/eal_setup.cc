#include "control/eal_setup.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "dataplane/ports.h"

namespace svpc::control {
namespace {

bool HasAny(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
  for (const std::string& a : args) {
    for (const char* n : names) {
      std::string name(n);
      if (a == name || a.rfind(name + "=", 0) == 0) return true;
    }
  }
  return false;
}

// Free hugepage memory in MiB, from /proc/meminfo.
uint64_t FreeHugepageMiB() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t free_pages = 0;
  uint64_t page_kib = 0;
  while (meminfo >> key) {
    if (key == "HugePages_Free:") meminfo >> free_pages;
    if (key == "Hugepagesize:") meminfo >> page_kib;
    meminfo.ignore(256, '\n');
  }
  return free_pages * page_kib / 1024;
}

// `-l 0-N` when CPUs 0..N are ours; otherwise lcores mapped onto the CPUs the process may run on
// (`--lcores=0@a,1@b,...`), round robin when there are more lcores than CPUs: several workers on
// one CPU work (tests, a 2-core machine) but share its time.
std::string LcoreArgs(uint32_t lcores) {
  lcores = std::max<uint32_t>(lcores, 1);
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  bool plain = cpus.size() >= lcores;
  for (uint32_t i = 0; plain && i < lcores; ++i) plain = cpus[i] == static_cast<int>(i);
  if (plain || cpus.empty()) return lcores == 1 ? "-l0" : "-l0-" + std::to_string(lcores - 1);
  std::string arg = "--lcores=";
  for (uint32_t i = 0; i < lcores; ++i) {
    arg += (i == 0 ? "" : ",") + std::to_string(i) + "@" + std::to_string(cpus[i % cpus.size()]);
  }
  return arg;
}

}  // namespace

std::vector<std::string> BuildEalArgs(const EalRequest& request) {
  const auto& user = request.user_args;
  std::vector<std::string> args = {request.program};
  if (!HasAny(user, {"-l", "-c", "--lcores"})) args.push_back(LcoreArgs(request.lcores));
  if (!HasAny(user, {"--file-prefix"})) {
    args.push_back("--file-prefix=" + request.program + "-" + std::to_string(getpid()));
  }
  if (!HasAny(user, {"--no-huge", "-m", "--socket-mem", "--huge-dir"})) {
    // Per network: its route table's FIB, 64 MiB, twice once routes change under RCU
    // (routing/README.md), plus a reload's new table side by side with it; then mbuf pools,
    // connection tracking (41 MB at 1,000,000), slack.
    uint64_t needed_mib = 512 + 288ull * std::max<uint32_t>(request.networks, 1);
    // On hugepages too, the memory is taken at start (-m): taken on demand, a later route table
    // or reload could find the pages gone to another process.
    if (FreeHugepageMiB() < needed_mib) args.push_back("--no-huge");
    args.push_back("-m");
    args.push_back(std::to_string(needed_mib));
  }
  if (!HasAny(user, {"--log-level"})) args.push_back("--log-level=warning");
  if (!request.telemetry && !HasAny(user, {"--telemetry", "--no-telemetry"})) {
    args.push_back("--no-telemetry");
  }
  bool user_devices = HasAny(user, {"--vdev", "-a", "--allow", "-b", "--block", "--no-pci"});
  if (!user_devices) {
    for (std::string& a : dataplane::EalDeviceArgs(request.devices)) args.push_back(std::move(a));
  }
  args.insert(args.end(), user.begin(), user.end());
  return args;
}

bool InitEal(const EalRequest& request, std::string* error) {
  std::vector<std::string> args = BuildEalArgs(request);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    std::ostringstream text;
    text << "DPDK EAL initialisation failed (" << rte_strerror(rte_errno) << ") with arguments:";
    for (const std::string& a : BuildEalArgs(request)) text << ' ' << a;
    *error = text.str();
    return false;
  }
  return true;
}

}  // namespace svpc::control
