#include "bench/testpmd_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace svpc::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Collects a child's output on its own thread, so testpmd never blocks on a full pipe while it
// answers a command (that would shift the measured window).
class OutputReader {
 public:
  explicit OutputReader(int fd) : fd_(fd), thread_([this] { Loop(); }) {}
  ~OutputReader() {
    if (thread_.joinable()) thread_.join();
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  std::string Text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }
  size_t Count(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (size_t at = text_.find(needle); at != std::string::npos;
         at = text_.find(needle, at + needle.size())) {
      ++n;
    }
    return n;
  }

 private:
  void Loop() {
    char buf[4096];
    for (;;) {
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(mu_);
      text_.append(buf, static_cast<size_t>(n));
    }
    close(fd_);
  }
  int fd_;
  std::mutex mu_;
  std::string text_;
  std::thread thread_;
};

bool Send(int fd, const std::string& line) {
  const std::string text = line + "\n";
  return write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

// Waits until `reader` has seen `needle` `count` times, the child exited, or `timeout_s`.
bool WaitFor(OutputReader& reader, const std::string& needle, size_t count, int pid,
             double timeout_s) {
  const auto start = Clock::now();
  while (Since(start) < timeout_s) {
    if (reader.Count(needle) >= count) return true;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return reader.Count(needle) >= count;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The numbers after `key` in each "NIC statistics for port" block, in output order.
std::vector<double> NicStatsValues(const std::string& text, const std::string& key) {
  std::vector<double> out;
  const std::string block = "NIC statistics for port";
  for (size_t at = text.find(block); at != std::string::npos; at = text.find(block, at + 1)) {
    const size_t end = text.find(block, at + 1);
    const size_t k = text.find(key, at);
    if (k == std::string::npos || (end != std::string::npos && k > end)) continue;
    out.push_back(std::strtod(text.c_str() + k + key.size(), nullptr));
  }
  return out;
}

std::string Quote(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

double ThreadCpuSeconds(int pid, int tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return -1;
  // The name (field 2) may hold spaces: fields restart after its closing parenthesis.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) {
      stime = std::strtod(field.c_str(), nullptr);
      return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return -1;
}

std::vector<int> FindThreads(int pid, const std::string& name_part) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  std::vector<int> found;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return found;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(dir + "/" + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name.find(name_part) != std::string::npos) found.push_back(std::atoi(e->d_name));
  }
  closedir(d);
  return found;
}

TestpmdResult RunTestpmd(const TestpmdRequest& request) {
  TestpmdResult r;
  std::vector<std::string> args = {request.program};
  args.insert(args.end(), request.eal_args.begin(), request.eal_args.end());
  args.push_back("--");
  args.push_back("-i");
  args.insert(args.end(), request.app_args.begin(), request.app_args.end());
  r.command = Quote(args);
  // testpmd prints with stdio, fully buffered on a pipe: its answers would only come at exit.
  args.insert(args.begin(), {"stdbuf", "-oL", "-eL"});

  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    dup2(from_child[1], STDERR_FILENO);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  // A dead child must not kill us with SIGPIPE when we write the next command.
  signal(SIGPIPE, SIG_IGN);
  const int in = to_child[1];
  OutputReader reader(from_child[0]);

  auto fail = [&](const std::string& why) {
    kill(pid, SIGKILL);
    close(in);
    waitpid(pid, nullptr, 0);
    reader.Join();
    std::string tail = reader.Text();
    if (tail.size() > 2000) tail = "..." + tail.substr(tail.size() - 2000);
    r.error = why + "\n  command: " + r.command + "\n  its output:\n" + tail;
    return r;
  };

  // Loading the pcap files into memory (infinite_rx) happens before the prompt.
  if (!WaitFor(reader, "testpmd>", 1, pid, 300)) return fail("dpdk-testpmd did not start");
  const std::vector<int> worker_tids = FindThreads(pid, "worker-");
  auto workers_cpu = [&] {
    double sum = 0;
    for (int tid : worker_tids) {
      const double cpu = ThreadCpuSeconds(pid, tid);
      if (cpu < 0) return -1.0;
      sum += cpu;
    }
    return worker_tids.empty() ? -1.0 : sum;
  };
  Send(in, "start");
  std::this_thread::sleep_for(std::chrono::duration<double>(request.warmup_s));
  Send(in, "show port stats all");
  if (!WaitFor(reader, "Throughput (since last show)", 1, pid, 30)) {
    return fail("dpdk-testpmd did not show its port statistics");
  }
  const auto t0 = Clock::now();
  const double cpu0 = workers_cpu();
  const size_t shown = reader.Count("Throughput (since last show)");
  while (Since(t0) < request.seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (request.on_tick) request.on_tick(std::min(Since(t0), request.seconds));
  }
  Send(in, "show port stats all");
  const double cpu1 = workers_cpu();
  r.window_s = Since(t0);
  const size_t ports = shown;  // one Throughput block per port
  if (!WaitFor(reader, "Throughput (since last show)", 2 * ports, pid, 30)) {
    return fail("dpdk-testpmd did not show its port statistics the second time");
  }
  Send(in, "stop");
  Send(in, "quit");
  close(in);
  const auto quit_start = Clock::now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Since(quit_start) > 60) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  reader.Join();
  const std::string text = reader.Text();

  const std::vector<double> pps = NicStatsValues(text, "Rx-pps:");
  const std::vector<double> rx = NicStatsValues(text, "RX-packets:");
  const std::vector<double> tx = NicStatsValues(text, "TX-packets:");
  if (ports == 0 || pps.size() < 2 * ports || rx.size() < 2 * ports || tx.size() < 2 * ports) {
    r.error = "cannot read dpdk-testpmd's port statistics\n  command: " + r.command;
    return r;
  }
  r.ports = static_cast<uint32_t>(ports);
  for (size_t p = 0; p < ports; ++p) {
    r.rx_pps += pps[ports + p];
    r.rx_packets += static_cast<uint64_t>(rx[ports + p] - rx[p]);
    r.tx_packets += static_cast<uint64_t>(tx[ports + p] - tx[p]);
  }
  if (cpu0 >= 0 && cpu1 >= 0) r.worker_cpu_s = cpu1 - cpu0;
  r.ok = r.rx_pps > 0;
  if (!r.ok) r.error = "dpdk-testpmd forwarded nothing\n  command: " + r.command;
  return r;
}

}  // namespace svpc::bench
