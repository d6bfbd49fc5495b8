// libFuzzer target for the packet path: arbitrary bytes as frames on the ports of a fixed small
// configuration (tests/fuzz/packet_config: the hybrid-cloud example with instances on an
// untagged port and on a VLAN trunk, a VPN tunnel and the internet on VLAN 300), run through the
// real dataplane::Pipeline::Process with connection tracking and firewall logging on.
//
// Input: one or more records. A record starts with a selector byte S:
//   S & 0x3f  picks the input port (S & 0x40 clear) or a testbed endpoint (S & 0x40 set; then
//             the frame's source MAC is overwritten and its 802.1Q tag set to the endpoint's,
//             so classification succeeds and the later stages are reached);
//   S & 0x80  another record follows: the next two bytes are this frame's length (big-endian),
//             else the frame is the rest of the input.
// Frames of one input are processed as bursts of consecutive same-port frames, 1 ms apart, so
// connection tracking sees both directions of a flow. After each input the connection table is
// swept empty, so every input is independent of the ones before it.
// Built only with clang (tests/fuzz/CMakeLists.txt); scripts/fuzz.sh builds and runs it.

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "control/compiler.h"
#include "dataplane/counters.h"
#include "dataplane/firewall_log.h"
#include "dataplane/pipeline.h"
#include "firewall/conntrack.h"

#ifndef SVPC_FUZZ_PACKET_CONFIG
#error "SVPC_FUZZ_PACKET_CONFIG must name the configuration directory"
#endif

namespace {

using namespace svpc;

constexpr uint16_t kDataRoom = 9216 + RTE_PKTMBUF_HEADROOM;
constexpr uint32_t kConntrackCapacity = 64;  // small: the table-full path is reachable too

struct State {
  std::unique_ptr<dataplane::Snapshot> snap;
  std::unique_ptr<firewall::ConnTrack> conntrack;
  std::unique_ptr<dataplane::FirewallLog> log;
  std::unique_ptr<dataplane::Pipeline> pipeline;
  rte_mempool* pool = nullptr;
};

State* state = nullptr;

[[noreturn]] void Fail(const std::string& what) {
  fprintf(stderr, "fuzz_packet: %s\n", what.c_str());
  std::abort();
}

void Check(bool condition, const char* what) {
  if (!condition) Fail(std::string("contract broken: ") + what);
}

struct Frame {
  uint16_t port;
  std::vector<uint8_t> bytes;
};

// Applies the selector to one frame.
Frame Select(const dataplane::Snapshot& snap, uint8_t selector, const uint8_t* data, size_t size) {
  Frame f;
  f.bytes.assign(data, data + size);
  const uint32_t pick = selector & 0x3f;
  if (!(selector & 0x40)) {
    f.port = static_cast<uint16_t>(pick % snap.port_names.size());
    return f;
  }
  const dataplane::EndpointInfo& e = snap.endpoints[pick % snap.endpoints.size()];
  f.port = e.port;
  if (f.bytes.size() < 12) return f;
  std::memcpy(f.bytes.data() + 6, e.mac.bytes.data(), 6);
  const bool tagged = f.bytes.size() >= 16 && f.bytes[12] == 0x81 && f.bytes[13] == 0x00;
  if (e.vlan == dataplane::kNoVlan) {
    if (tagged) f.bytes.erase(f.bytes.begin() + 12, f.bytes.begin() + 16);
  } else {
    const uint8_t tag[4] = {0x81, 0x00, static_cast<uint8_t>(e.vlan >> 8),
                            static_cast<uint8_t>(e.vlan & 0xff)};
    if (tagged) {
      std::memcpy(f.bytes.data() + 12, tag, 4);
    } else {
      f.bytes.insert(f.bytes.begin() + 12, tag, tag + 4);
    }
  }
  return f;
}

void ProcessRun(std::vector<Frame>& frames, size_t begin, size_t end, uint64_t base_ns) {
  rte_mbuf* pkts[dataplane::kBurstSize];
  dataplane::PacketMeta meta[dataplane::kBurstSize];
  dataplane::Counters counters;
  uint16_t n = 0;
  for (size_t i = begin; i < end; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(state->pool);
    if (m == nullptr) Fail("mbuf pool exhausted");
    const size_t len = std::min<size_t>(frames[i].bytes.size(), kDataRoom - RTE_PKTMBUF_HEADROOM);
    char* dst = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
    if (len > 0) std::memcpy(dst, frames[i].bytes.data(), len);
    pkts[n] = m;
    meta[n] = dataplane::PacketMeta{};
    meta[n].in_port = frames[i].port;
    meta[n].time_ns = base_ns + i * 1'000'000;
    ++n;
  }
  dataplane::Burst burst{pkts, meta, n};
  state->pipeline->Process(*state->snap, burst, counters);
  uint64_t verdicts = 0;
  for (uint64_t v : counters.verdicts) verdicts += v;
  Check(verdicts == n, "one verdict per packet");
  for (uint16_t i = 0; i < n; ++i) {
    Check(meta[i].done, "every packet done");
    if (meta[i].verdict != dataplane::Verdict::kDrop && meta[i].out_port != dataplane::kNoPort) {
      Check(meta[i].out_port < state->snap->port_names.size(), "out_port is a testbed port");
      Check(rte_pktmbuf_data_len(pkts[i]) >= 14, "a sent frame has an Ethernet header");
    }
    rte_pktmbuf_free(pkts[i]);
  }
  dataplane::LogEvent events[64];
  while (state->log->Drain(events, 64) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  std::string prefix = "--file-prefix=svpc-fuzz-packet-" + std::to_string(getpid());
  std::vector<std::string> args = {"svpc-fuzz",         "--no-huge",      "-m", "512", "--no-pci",
                                   "--log-level=error", "--no-telemetry", "-l", "0",   prefix};
  std::vector<char*> eal_argv;
  for (auto& a : args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) Fail("rte_eal_init");

  state = new State;
  config::LoadResult loaded = config::LoadConfig(SVPC_FUZZ_PACKET_CONFIG);
  if (!loaded.ok()) Fail("the fixed configuration does not load");
  std::string error;
  state->snap = control::CompileSnapshot(loaded.config, &error);
  if (!state->snap) Fail("compile: " + error);
  firewall::ConnTrack::Config ct;
  ct.capacity = kConntrackCapacity;
  state->conntrack = firewall::ConnTrack::Create(ct, &error);
  if (!state->conntrack) Fail("conntrack: " + error);
  state->log = dataplane::FirewallLog::Create(1024, &error);
  if (!state->log) Fail("firewall log: " + error);
  state->pipeline = std::make_unique<dataplane::Pipeline>(
      state->conntrack.get(), dataplane::OnRuleChange::kContinue, state->log.get());
  state->pool = rte_pktmbuf_pool_create("svpc_fuzz", 255, 0, 0, kDataRoom, SOCKET_ID_ANY);
  if (state->pool == nullptr) Fail("mbuf pool");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t clock_ns = 1'700'000'000'000'000'000ull;
  std::vector<Frame> frames;
  while (size > 0 && frames.size() < 4 * dataplane::kBurstSize) {
    const uint8_t selector = data[0];
    ++data;
    --size;
    size_t len = size;
    if ((selector & 0x80) && size >= 2) {
      len = std::min<size_t>((size_t{data[0]} << 8) | data[1], size - 2);
      data += 2;
      size -= 2;
    }
    frames.push_back(Select(*state->snap, selector, data, len));
    data += len;
    size -= len;
  }
  // Bursts as a worker receives them: consecutive frames of one port, at most kBurstSize.
  for (size_t begin = 0; begin < frames.size();) {
    size_t end = begin + 1;
    while (end < frames.size() && end - begin < dataplane::kBurstSize &&
           frames[end].port == frames[begin].port) {
      ++end;
    }
    ProcessRun(frames, begin, end, clock_ns);
    begin = end;
  }
  // Every input starts from an empty connection table (entries idle-expire long before this).
  clock_ns += 3600ull * 1'000'000'000;
  for (int i = 0; i < 64 && state->conntrack->size() > 0; ++i)
    state->conntrack->Sweep(clock_ns, 1024);
  Check(state->conntrack->size() == 0, "the sweep empties the table");
  return 0;
}
