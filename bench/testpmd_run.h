#pragma once
// The reference side of `svpc bench`: dpdk-testpmd in `io` forwarding on the same virtual devices
// (the same pcap files, infinite_rx, the same tx drop), one forwarding core, as a child process
// with its own --file-prefix. It is driven through its interactive prompt on a pipe:
// `start`, a warm-up, `show port stats all` (testpmd's rate baseline), the measured seconds,
// `show port stats all` again (its Rx-pps over exactly that window, timed by testpmd's TSC),
// `stop`, `quit`.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace svpc::bench {

struct TestpmdRequest {
  std::string program = "dpdk-testpmd";  // looked up in PATH when it has no '/'
  std::vector<std::string> eal_args;     // lcores, memory, --vdev ... (without the program name)
  std::vector<std::string> app_args;     // after `--` (forwarding mode, mbufs, topology)
  double warmup_s = 1;
  double seconds = 5;
  // Called about every 100 ms while measuring with the seconds elapsed (progress display).
  std::function<void(double)> on_tick;
};

struct TestpmdResult {
  bool ok = false;
  std::string error;
  std::string command;      // the command line, for the report
  double rx_pps = 0;        // sum over ports of testpmd's Rx-pps over the measured window
  uint64_t rx_packets = 0;  // RX-packets over the window (sum over ports, ethdev stats)
  uint64_t tx_packets = 0;
  uint32_t ports = 0;
  // CPU time the forwarding lcores' threads got in the window (/proc .../stat, clock ticks):
  // tells a rate cut short by other processes from a slow one.
  double worker_cpu_s = 0;
  double window_s = 0;  // wall time between the two `show port stats all`
};

TestpmdResult RunTestpmd(const TestpmdRequest& request);

// utime + stime of one thread, in seconds, from /proc/PID/task/TID/stat; -1 when unreadable.
double ThreadCpuSeconds(int pid, int tid);
// The threads of process `pid` whose name contains `name_part` (EAL names worker lcores'
// threads "rte-worker-N" or "lcore-worker-N").
std::vector<int> FindThreads(int pid, const std::string& name_part);

}  // namespace svpc::bench
