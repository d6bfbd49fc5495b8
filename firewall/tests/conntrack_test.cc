#include "firewall/conntrack.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace svpc::firewall {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint8_t kTcpAck = 0x10;

FlowTuple Tcp(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  return FlowTuple{1, *ParseIpv4(src), *ParseIpv4(dst), sport, dport, 6};
}

std::unique_ptr<ConnTrack> Make(uint32_t capacity = 1024) {
  std::string error;
  ConnTrack::Config config;
  config.capacity = capacity;
  auto ct = ConnTrack::Create(config, &error);
  EXPECT_TRUE(ct) << error;
  return ct;
}

TEST(ConnTrack, BothDirectionsFindTheEntry) {
  auto ct = Make();
  FlowTuple syn = Tcp("10.0.1.3", 40000, "10.15.2.4", 80);
  EXPECT_EQ(ct->Lookup(syn, kTcpSyn, 0), ConnTrack::kMiss);
  int32_t h = ct->Insert(syn, kTcpSyn, 0, 7);
  ASSERT_GE(h, 0);
  EXPECT_EQ(ct->entry(h).generation, 7u);
  EXPECT_EQ(ct->Lookup(syn.Reversed(), kTcpSyn | kTcpAck, kSecond), h);
  EXPECT_EQ(ct->entry(h).tcp, TcpState::kEstablished);
  EXPECT_TRUE(ct->IsInitiator(h, syn));
  EXPECT_FALSE(ct->IsInitiator(h, syn.Reversed()));
  // Other ports, other network: other connections.
  EXPECT_EQ(ct->Lookup(Tcp("10.0.1.3", 40001, "10.15.2.4", 80), 0, kSecond), ConnTrack::kMiss);
  FlowTuple other_net = syn;
  other_net.network = 2;
  EXPECT_EQ(ct->Lookup(other_net, 0, kSecond), ConnTrack::kMiss);
}

TEST(ConnTrack, IdleExpiryAfterTenMinutesAndRefreshByTraffic) {
  auto ct = Make();
  FlowTuple udp{1, *ParseIpv4("10.0.1.3"), *ParseIpv4("10.15.2.4"), 5000, 53, 17};
  ASSERT_GE(ct->Insert(udp, 0, 0, 1), 0);
  EXPECT_GE(ct->Lookup(udp.Reversed(), 0, 599 * kSecond), 0);       // refreshes
  EXPECT_GE(ct->Lookup(udp, 0, 1190 * kSecond), 0);                 // 591 s later: alive
  EXPECT_EQ(ct->Lookup(udp, 0, 1791 * kSecond), ConnTrack::kMiss);  // 601 s idle: gone
  EXPECT_EQ(ct->size(), 0u);
}

TEST(ConnTrack, ClosedTcpLeavesSooner) {
  auto ct = Make();
  FlowTuple c = Tcp("10.0.1.3", 40000, "10.15.2.4", 80);
  ASSERT_GE(ct->Insert(c, kTcpSyn, 0, 1), 0);
  ASSERT_GE(ct->Lookup(c.Reversed(), kTcpSyn | kTcpAck, 1), 0);
  ASSERT_GE(ct->Lookup(c, kTcpFin | kTcpAck, 2), 0);
  int32_t h = ct->Lookup(c.Reversed(), kTcpFin | kTcpAck, 3);
  ASSERT_GE(h, 0);
  EXPECT_EQ(ct->entry(h).tcp, TcpState::kClosed);
  EXPECT_GE(ct->Lookup(c, kTcpAck, 5 * kSecond), 0);  // the last ACK, within the closed timeout
  EXPECT_EQ(ct->Lookup(c, kTcpAck, 16 * kSecond), ConnTrack::kMiss);
}

TEST(ConnTrack, RstClosesAndANewSynStartsOver) {
  auto ct = Make();
  FlowTuple c = Tcp("10.0.1.3", 40000, "10.15.2.4", 80);
  ASSERT_GE(ct->Insert(c, kTcpSyn, 0, 1), 0);
  int32_t h = ct->Lookup(c.Reversed(), kTcpRst, 1);
  ASSERT_GE(h, 0);
  EXPECT_EQ(ct->entry(h).tcp, TcpState::kClosed);
  EXPECT_EQ(ct->Lookup(c, kTcpSyn, 2), ConnTrack::kMiss);  // re-evaluated as new
}

TEST(ConnTrack, FullTableRefusesNewButKeepsEstablished) {
  auto ct = Make(64);
  std::vector<FlowTuple> flows;
  for (uint16_t i = 0; i < 64; ++i) {
    flows.push_back(Tcp("10.0.1.3", static_cast<uint16_t>(1000 + i), "10.15.2.4", 80));
    ASSERT_GE(ct->Insert(flows.back(), kTcpSyn, 0, 1), 0) << i;
  }
  EXPECT_EQ(ct->Insert(Tcp("10.0.1.3", 9999, "10.15.2.4", 80), kTcpSyn, 0, 1), ConnTrack::kFull);
  for (const FlowTuple& f : flows) EXPECT_GE(ct->Lookup(f.Reversed(), kTcpAck, 1), 0);
}

TEST(ConnTrack, SweepReclaimsExpiredEntries) {
  auto ct = Make();
  for (uint16_t i = 0; i < 100; ++i) {
    ASSERT_GE(ct->Insert(Tcp("10.0.1.3", static_cast<uint16_t>(1000 + i), "10.15.2.4", 80), kTcpSyn,
                         0, 1),
              0);
  }
  ASSERT_GE(ct->Insert(Tcp("10.0.1.3", 5000, "10.15.2.4", 80), kTcpSyn, 700 * kSecond, 1), 0);
  uint32_t removed = 0;
  for (int i = 0; i < 20; ++i) removed += ct->Sweep(701 * kSecond, 16);
  EXPECT_EQ(removed, 100u);
  EXPECT_EQ(ct->size(), 1u);
}

// The cuckoo table against a std::map of the same connections: random inserts (up to capacity,
// so entries are moved to make room), lookups from both directions, removals, re-inserts.
TEST(ConnTrack, AgreesWithAMapUnderRandomInsertsAndRemovals) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("SVPC_SEED")) seed = std::strtoull(s, nullptr, 10);
  std::printf("ConnTrack differential test: SVPC_SEED=%llu\n",
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  constexpr uint32_t kCapacity = 20'000;
  auto ct = Make(kCapacity);
  using Key = std::tuple<uint32_t, uint32_t, uint32_t, uint16_t, uint16_t, uint8_t>;
  auto canonical = [](const FlowTuple& t) {
    const bool low = t.src < t.dst || (t.src == t.dst && t.src_port <= t.dst_port);
    return low ? Key{t.network, t.src, t.dst, t.src_port, t.dst_port, t.protocol}
               : Key{t.network, t.dst, t.src, t.dst_port, t.src_port, t.protocol};
  };
  std::map<Key, FlowTuple> live;
  std::vector<FlowTuple> seen;
  auto random_flow = [&] {
    // Small ranges so flows collide in addresses and ports, and some are reverses of others.
    return FlowTuple{static_cast<uint32_t>(rng() % 3),
                     0x0a000000u + static_cast<uint32_t>(rng() % 200),
                     0x0a000000u + static_cast<uint32_t>(rng() % 200),
                     static_cast<uint16_t>(rng() % 64),
                     static_cast<uint16_t>(rng() % 64),
                     static_cast<uint8_t>(rng() % 2 ? 6 : 17)};
  };
  for (int step = 0; step < 200'000; ++step) {
    const uint32_t op = rng() % 10;
    FlowTuple f = !seen.empty() && rng() % 2 ? seen[rng() % seen.size()] : random_flow();
    if (rng() % 2) f = f.Reversed();
    if (op < 5) {
      const int32_t h = ct->Insert(f, 0, 0, 1);
      if (live.count(canonical(f)) || live.size() < kCapacity) {
        ASSERT_GE(h, 0) << "step " << step << " live " << live.size();
        live[canonical(f)] = f;
        seen.push_back(f);
      } else {
        ASSERT_EQ(h, ConnTrack::kFull) << "step " << step;
      }
    } else if (op < 8) {
      const int32_t h = ct->Lookup(f, 0, 0);
      auto it = live.find(canonical(f));
      ASSERT_EQ(h >= 0, it != live.end()) << "step " << step;
      if (h >= 0) {
        const FlowTuple& opened = it->second;
        ASSERT_EQ(ct->IsInitiator(h, f), f.src == opened.src && f.src_port == opened.src_port &&
                                             f.dst == opened.dst && f.dst_port == opened.dst_port);
      }
    } else {
      const int32_t h = ct->Lookup(f, 0, 0);
      if (h >= 0) ct->Remove(h);
      live.erase(canonical(f));
    }
    ASSERT_EQ(ct->size(), live.size()) << "step " << step;
  }
  for (const auto& [key, flow] : live) ASSERT_GE(ct->Lookup(flow.Reversed(), 0, 0), 0);
}

TEST(ConnTrack, ReachesItsCapacityWithRandomFlows) {
  constexpr uint32_t kCapacity = 100'000;
  auto ct = Make(kCapacity);
  std::mt19937_64 rng(7);
  uint32_t inserted = 0;
  while (inserted < kCapacity) {
    FlowTuple f{1,
                static_cast<uint32_t>(rng()),
                static_cast<uint32_t>(rng()),
                static_cast<uint16_t>(rng()),
                443,
                6};
    ASSERT_GE(ct->Insert(f, kTcpSyn, 0, 1), 0) << inserted;
    ++inserted;
  }
  EXPECT_EQ(ct->size(), kCapacity);
  EXPECT_EQ(ct->Insert(FlowTuple{1, 1, 2, 3, 4, 6}, kTcpSyn, 0, 1), ConnTrack::kFull);
}

TEST(ConnTrack, ReportsItsMemory) {
  auto ct = Make(4096);
  EXPECT_GT(ct->BytesPerEntry(), double{sizeof(ConnEntry)});
}

}  // namespace
}  // namespace svpc::firewall
