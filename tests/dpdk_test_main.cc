// gtest main for test executables that need DPDK: starts the EAL the way CI can run it (no
// hugepages, no PCI, a file prefix of its own so test binaries can run side by side).
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <string>
#include <vector>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string prefix = "--file-prefix=svpc-test-" + std::to_string(getpid());
  std::vector<std::string> args = {"svpc-test",         "--no-huge",      "-m", "512", "--no-pci",
                                   "--log-level=error", "--no-telemetry", "-l", "0",   prefix};
  std::vector<char*> argv_eal;
  for (auto& a : args) argv_eal.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv_eal.size()), argv_eal.data()) < 0) {
    fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
