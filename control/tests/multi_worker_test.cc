// Several workers on the daemon's code path: dataplane::Worker threads over net_ring ports with
// two queues each, the hybrid-cloud example compiled as svpcd compiles it. Each flow's packets
// go to the queue the symmetric RSS hash picks (as a NIC with the key would), so both
// directions of a connection meet the same worker's connection table; a reply put on the other
// queue meets a table that never saw the connection and is judged as a new one.
#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config_loader.h"
#include "control/compiler.h"
#include "dataplane/ports.h"
#include "dataplane/snapshot_store.h"
#include "dataplane/worker.h"
#include "firewall/conntrack.h"
#include "pcap/craft.h"

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

constexpr uint16_t kQueues = 2;
constexpr uint32_t kFlows = 64;

std::string FlowPacket(const char* port, const char* src, const char* dst, uint16_t sport,
                       uint16_t dport, const char* flags) {
  return std::string("{\"port\": \"") + port + "\", \"time\": 0, \"ip\": {\"src\": \"" + src +
         "\", \"dst\": \"" + dst + "\"}, \"tcp\": {\"sport\": " + std::to_string(sport) +
         ", \"dport\": " + std::to_string(dport) + ", \"flags\": \"" + flags + "\"}}";
}

class MultiWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoadResult loaded = LoadConfig(std::string(SVPC_EXAMPLES) + "/hybrid-cloud/config");
    ASSERT_TRUE(loaded.errors.empty());
    std::string error;
    auto snap = CompileSnapshot(loaded.config, &error);
    ASSERT_NE(snap, nullptr) << error;
    snap->AllocateWorkerCounters(kQueues);
    snap->generation = 1;
    store_ = std::make_unique<dataplane::SnapshotStore>(kQueues);
    store_->Publish(std::move(snap));
    const dataplane::Snapshot& s = *store_->Acquire();

    static int serial = 0;
    const std::string tag = std::to_string(serial++);
    pool_ = rte_pktmbuf_pool_create(("mwt_pool" + tag).c_str(), 8191, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    ASSERT_NE(pool_, nullptr);
    std::vector<std::string> devices;
    for (size_t p = 0; p < s.port_names.size(); ++p) {
      rte_ring* rx[kQueues];
      rte_ring* tx[kQueues];
      for (uint16_t q = 0; q < kQueues; ++q) {
        const std::string base = "mwt" + tag + "_" + std::to_string(p) + "_" + std::to_string(q);
        rx[q] = rte_ring_create((base + "r").c_str(), 1024, rte_socket_id(),
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx[q] = rte_ring_create((base + "t").c_str(), 1024, rte_socket_id(),
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_TRUE(rx[q] != nullptr && tx[q] != nullptr);
        rx_[p][q] = rx[q];
        tx_[p][q] = tx[q];
        rings_.push_back(rx[q]);
        rings_.push_back(tx[q]);
      }
      const std::string name = "mwt" + tag + "p" + std::to_string(p);
      ASSERT_GE(rte_eth_from_rings(name.c_str(), rx, kQueues, tx, kQueues, rte_socket_id()), 0);
      devices.push_back("net_ring_" + name);
    }
    ASSERT_TRUE(ports_.Open(devices, pool_, kQueues, &error)) << error;
    for (uint16_t w = 0; w < kQueues; ++w) {
      firewall::ConnTrack::Config config;
      config.capacity = 4096;
      conntracks_.push_back(firewall::ConnTrack::Create(config, &error));
      ASSERT_NE(conntracks_.back(), nullptr) << error;
      workers_.push_back(
          std::make_unique<dataplane::Worker>(w, *store_, ports_, conntracks_.back().get(),
                                              dataplane::OnRuleChange::kContinue, nullptr));
    }
    for (auto& worker : workers_) {
      threads_.emplace_back([this, w = worker.get()] { w->Run(stop_); });
    }
  }

  void TearDown() override {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
    ports_.Close();
    workers_.clear();
    conntracks_.clear();
    store_.reset();
    for (rte_ring* r : rings_) {
      rte_mbuf* m;
      while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
      rte_ring_free(r);
    }
    rte_mempool_free(pool_);
  }

  uint16_t PortIndex(const std::string& name) {
    const dataplane::Snapshot& s = *store_->Acquire();
    for (uint16_t p = 0; p < s.port_names.size(); ++p) {
      if (s.port_names[p] == name) return p;
    }
    ADD_FAILURE() << "no port " << name;
    return 0;
  }

  // Crafts one packet and puts it on receive queue `queue` of its port.
  void Inject(const std::string& packet_json, uint16_t queue) {
    pcap::CraftedTraffic traffic;
    std::string error;
    ASSERT_TRUE(pcap::CraftTrafficText("{\"packets\": [" + packet_json + "]}", traffic, &error))
        << error;
    ASSERT_EQ(traffic.size(), 1u);
    const auto& [port, packets] = *traffic.begin();
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    const auto& bytes = packets.at(0).bytes;
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())), bytes.data(),
                bytes.size());
    ASSERT_EQ(rte_ring_enqueue(rx_[PortIndex(port)][queue], m), 0);
  }

  // Waits until `count` packets left port `port` on queue `queue` (or 5 s), frees them.
  uint32_t Collect(uint16_t port, uint16_t queue, uint32_t count) {
    uint32_t seen = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (seen < count && std::chrono::steady_clock::now() < deadline) {
      rte_mbuf* m;
      if (rte_ring_dequeue(tx_[port][queue], reinterpret_cast<void**>(&m)) == 0) {
        rte_pktmbuf_free(m);
        ++seen;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
    return seen;
  }

  // Waits until the workers received `packets` in all and are idle.
  void Drain(uint64_t packets) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      uint64_t rx = 0;
      for (const auto& w : workers_) {
        for (uint64_t n : w->counters().port_rx) rx += n;
      }
      if (rx >= packets) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::unique_ptr<dataplane::SnapshotStore> store_;
  rte_mempool* pool_ = nullptr;
  std::vector<rte_ring*> rings_;
  rte_ring* rx_[dataplane::kMaxPorts][kQueues] = {};
  rte_ring* tx_[dataplane::kMaxPorts][kQueues] = {};
  dataplane::PortSet ports_;
  std::vector<std::unique_ptr<firewall::ConnTrack>> conntracks_;
  std::vector<std::unique_ptr<dataplane::Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

TEST(RssQueue, SymmetricAndSpread) {
  uint32_t per_queue[4] = {};
  for (uint32_t i = 0; i < 4000; ++i) {
    const uint32_t a = 0x0a000103 + i * 7919;
    const uint32_t b = 0x0a0f0204 ^ (i * 104729);
    const uint16_t pa = static_cast<uint16_t>(40000 + i);
    const uint16_t pb = static_cast<uint16_t>(i % 3 == 0 ? 0 : 8080 + i % 50);
    for (uint16_t queues : {2, 3, 4, 16}) {
      ASSERT_EQ(dataplane::RssQueue(a, b, pa, pb, queues),
                dataplane::RssQueue(b, a, pb, pa, queues))
          << "flow " << i << " over " << queues << " queues";
    }
    per_queue[dataplane::RssQueue(a, b, pa, pb, 4)]++;
  }
  for (uint32_t n : per_queue) EXPECT_GT(n, 800u) << "the hash spreads flows over the queues";
  EXPECT_EQ(dataplane::RssQueue(1, 2, 3, 4, 1), 0);
}

TEST_F(MultiWorkerTest, EachFlowStaysOnOneWorkerAndRepliesPassByTracking) {
  const uint16_t vm_a = PortIndex("vm-a");
  const uint16_t vm_b = PortIndex("vm-b");
  const uint32_t a = 0x0a000103, b = 0x0a0f0204;  // instance-a, instance-b
  uint32_t on_queue[kQueues] = {};
  // instance-a -> instance-b:8080 is allowed by allow-web-to-app; the reverse is not.
  for (uint32_t f = 0; f < kFlows; ++f) {
    const uint16_t sport = static_cast<uint16_t>(41000 + f);
    const uint16_t q = dataplane::RssQueue(a, b, sport, 8080, kQueues);
    on_queue[q]++;
    Inject(FlowPacket("vm-a", "10.0.1.3", "10.15.2.4", sport, 8080, "S"), q);
  }
  ASSERT_GT(on_queue[0], 0u);
  ASSERT_GT(on_queue[1], 0u);
  for (uint16_t q = 0; q < kQueues; ++q) {
    EXPECT_EQ(Collect(vm_b, q, on_queue[q]), on_queue[q]) << "SYNs out of vm-b on queue " << q;
  }
  // The replies, each on the queue the hash picks for it: the same as its SYN's.
  for (uint32_t f = 0; f < kFlows; ++f) {
    const uint16_t sport = static_cast<uint16_t>(41000 + f);
    const uint16_t q = dataplane::RssQueue(b, a, 8080, sport, kQueues);
    Inject(FlowPacket("vm-b", "10.15.2.4", "10.0.1.3", 8080, sport, "SA"), q);
  }
  for (uint16_t q = 0; q < kQueues; ++q) {
    EXPECT_EQ(Collect(vm_a, q, on_queue[q]), on_queue[q]) << "replies out of vm-a on queue " << q;
  }
  // A reply delivered to the other worker: its table never saw the connection, so the packet
  // is a new connection instance-b:8080 -> instance-a, which the rules deny.
  const uint16_t q0 = dataplane::RssQueue(a, b, 41000, 8080, kQueues);
  Inject(FlowPacket("vm-b", "10.15.2.4", "10.0.1.3", 8080, 41000, "A"), 1 - q0);
  Drain(2 * kFlows + 1);

  dataplane::Counters sum;
  for (uint16_t w = 0; w < kQueues; ++w) {
    const dataplane::Counters& c = workers_[w]->counters();
    EXPECT_EQ(c.verdicts[static_cast<int>(dataplane::Verdict::kDeliver)], 2 * on_queue[w])
        << "worker " << w << " delivered its own flows' packets";
    EXPECT_EQ(conntracks_[w]->size(), on_queue[w]) << "worker " << w << " tracks its flows only";
    sum.Add(c);
  }
  EXPECT_EQ(sum.drops[static_cast<int>(dataplane::DropCause::kFirewallRule)], 1u);
  EXPECT_EQ(
      workers_[1 - q0]->counters().drops[static_cast<int>(dataplane::DropCause::kFirewallRule)],
      1u);

  // Rule hits: each worker counts in its own slice; the report is their sum.
  const dataplane::Snapshot& s = *store_->Acquire();
  const dataplane::NetworkInfo& net = s.networks[0];
  int32_t rule = -1;
  for (uint32_t r = 0; r < net.firewall.size(); ++r) {
    if (net.firewall.rule(r).name == "allow-web-to-app") rule = static_cast<int32_t>(r);
  }
  ASSERT_GE(rule, 0);
  EXPECT_EQ(s.RuleHits(net.rule_hit_base + rule), kFlows);
  for (uint16_t w = 0; w < kQueues; ++w) {
    EXPECT_EQ(s.RuleHitSlice(w)[net.rule_hit_base + rule], on_queue[w]);
  }
}

}  // namespace
}  // namespace svpc::control
