// Stage/pipeline tests on synthetic bursts: a hand-built snapshot (one network, two instances,
// a VPN link) and hand-built frames; asserts verdicts, causes, rules, rewrites and counters.
#include "dataplane/pipeline.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

namespace svpc::dataplane {
namespace {

Ipv4 Ip(const char* s) { return *ParseIpv4(s); }

struct Frame {
  std::vector<uint8_t> bytes;
};

void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
void Put32(std::vector<uint8_t>& b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}

std::vector<uint8_t> Ethernet(const MacAddr& src, uint16_t ethertype, int vlan = -1) {
  std::vector<uint8_t> b = {0x42, 0x01, 0x0a, 0x00, 0x01, 0x01};
  b.insert(b.end(), src.bytes.begin(), src.bytes.end());
  if (vlan >= 0) {
    Put16(b, 0x8100);
    Put16(b, static_cast<uint16_t>(vlan));
  }
  Put16(b, ethertype);
  return b;
}

std::vector<uint8_t> Tcp(const char* src, const char* dst, uint16_t dport, int vlan = -1,
                         const MacAddr* mac = nullptr) {
  std::vector<uint8_t> b = Ethernet(mac ? *mac : GcpMacForIp(Ip(src)), 0x0800, vlan);
  size_t ip = b.size();
  std::vector<uint8_t> h = {0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0};
  b.insert(b.end(), h.begin(), h.end());
  Put32(b, Ip(src));
  Put32(b, Ip(dst));
  uint32_t sum = 0;
  for (size_t i = ip; i < ip + 20; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  b[ip + 10] = static_cast<uint8_t>(~sum >> 8);
  b[ip + 11] = static_cast<uint8_t>(~sum & 0xff);
  Put16(b, 40000);
  Put16(b, dport);
  for (int i = 0; i < 8; ++i) b.push_back(0);
  b.push_back(0x50);
  b.push_back(0x02);
  for (int i = 0; i < 6; ++i) b.push_back(0);
  return b;
}

std::vector<uint8_t> ArpRequest(const char* sender, const char* target) {
  MacAddr mac = GcpMacForIp(Ip(sender));
  std::vector<uint8_t> b = Ethernet(mac, 0x0806);
  Put16(b, 1);
  Put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  Put16(b, 1);
  b.insert(b.end(), mac.bytes.begin(), mac.bytes.end());
  Put32(b, Ip(sender));
  for (int i = 0; i < 6; ++i) b.push_back(0);
  Put32(b, Ip(target));
  return b;
}

class PipelineTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (pool_ != nullptr) return;  // shared by every suite derived from this fixture
    pool_ = rte_pktmbuf_pool_create("pipeline_test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }

  void SetUp() override { BuildSnapshot(/*allow_web=*/true, /*generation=*/1); }

  // The fixture's snapshot; without `allow_web` the ingress rule admitting web traffic is gone
  // (a rule change between generations).
  void BuildSnapshot(bool allow_web_rule, uint64_t generation) {
    snap_ = std::make_unique<Snapshot>();
    snap_->generation = generation;
    snap_->port_names = {"vm", "vpn"};
    NetworkInfo net;
    net.ref = "projects/host/global/networks/shared";
    firewall::Rule allow_web;
    allow_web.name = "allow-web";
    allow_web.protocols = {{6, {{80, 80}}}};
    allow_web.source_tags = {1};
    allow_web.source_ranges = {*ParsePrefix("192.168.0.0/16")};
    firewall::Rule deny_egress;
    deny_egress.name = "deny-9999";
    deny_egress.direction = firewall::Direction::kEgress;
    deny_egress.action = firewall::Action::kDeny;
    deny_egress.protocols = {{6, {{9999, 9999}}}};
    net.firewall = allow_web_rule ? firewall::RuleSet({allow_web, deny_egress})
                                  : firewall::RuleSet({deny_egress});
    snap_->networks.push_back(std::move(net));
    AddNic("a", "10.0.1.3", {1}, 0, 10);
    AddNic("b", "10.15.2.4", {}, 0, 20);
    EndpointInfo vpn;
    vpn.kind = EndpointKind::kVpnTunnel;
    vpn.port = 1;
    vpn.mac = *ParseMac("02:00:00:00:00:99");
    vpn.name = "tunnel";
    snap_->endpoints.push_back(vpn);
    std::vector<routing::Route> routes = {
        {"subnet-a", *ParsePrefix("10.0.1.0/24"), 0, {}, routing::NextHopType::kSubnet, 0, true},
        {"subnet-b", *ParsePrefix("10.15.2.0/24"), 0, {}, routing::NextHopType::kSubnet, 0, true},
        {"to-onprem",
         *ParsePrefix("192.168.0.0/16"),
         1000,
         {},
         routing::NextHopType::kVpnTunnel,
         2,
         true}};
    std::vector<routing::OwnedRange> owned = {{*ParsePrefix("10.0.1.3/32"), 0},
                                              {*ParsePrefix("10.15.2.4/32"), 1}};
    std::string error;
    snap_->networks[0].routes = routing::RouteTable::Build(routes, owned, {{1}, {}}, &error);
    ASSERT_TRUE(snap_->networks[0].routes) << error;
    std::vector<firewall::Identity> identities;
    for (NicInfo& nic : snap_->nics) {
      identities.push_back(nic.Identity());
    }
    snap_->networks[0].classifier =
        firewall::Classifier::Build(snap_->networks[0].firewall, identities, &error);
    ASSERT_TRUE(snap_->networks[0].classifier) << error;
    for (uint32_t i = 0; i < snap_->nics.size(); ++i) {
      snap_->nics[i].target_class = snap_->networks[0].classifier->TargetClass(i);
      snap_->nics[i].source_class = snap_->networks[0].classifier->SourceClass(i);
    }
    ASSERT_TRUE(snap_->BuildClassifier(&error)) << error;
    snap_->AllocateWorkerCounters();
  }

  void AddNic(const char* name, const char* ip, std::vector<uint32_t> tags, uint16_t port,
              uint16_t vlan) {
    NicInfo nic;
    nic.instance_ref = std::string("projects/svc/zones/z/instances/") + name;
    nic.ip = Ip(ip);
    nic.tags = std::move(tags);
    nic.mac = GcpMacForIp(nic.ip);
    nic.gateway_mac = GcpMacForIp((nic.ip & 0xffffff00) | 1);
    nic.endpoint = static_cast<int32_t>(snap_->endpoints.size());
    EndpointInfo ep;
    ep.port = port;
    ep.vlan = vlan;
    ep.mac = nic.mac;
    ep.nic = static_cast<int32_t>(snap_->nics.size());
    snap_->endpoints.push_back(ep);
    snap_->nics.push_back(std::move(nic));
  }

  // Runs one frame through `pipeline`; returns its metadata, keeps the output frame.
  PacketMeta Run(const std::vector<uint8_t>& frame, uint16_t in_port) {
    return RunWith(pipeline_, frame, in_port);
  }
  PacketMeta RunWith(const Pipeline& pipeline, const std::vector<uint8_t>& frame,
                     uint16_t in_port) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    // A zero-length frame has nothing to copy (memcpy from an empty vector's null data() is
    // undefined behaviour: UBSan, scripts/test-sanitized.sh).
    if (!frame.empty()) {
      std::memcpy(rte_pktmbuf_append(m, frame.size()), frame.data(), frame.size());
    }
    PacketMeta meta;
    meta.in_port = in_port;
    Burst burst{&m, &meta, 1};
    pipeline.Process(*snap_, burst, counters_);
    const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
    output_.assign(data, data + rte_pktmbuf_data_len(m));
    rte_pktmbuf_free(m);
    return meta;
  }

  static inline rte_mempool* pool_ = nullptr;
  std::unique_ptr<Snapshot> snap_;
  Pipeline pipeline_;
  Counters counters_;
  std::vector<uint8_t> output_;
};

TEST_F(PipelineTest, DeliversAllowedTrafficAndRewritesL2) {
  PacketMeta meta = Run(Tcp("10.0.1.3", "10.15.2.4", 80, 10), 0);
  EXPECT_EQ(meta.verdict, Verdict::kDeliver);
  EXPECT_EQ(meta.src_nic, 0);
  EXPECT_EQ(meta.dst_nic, 1);
  EXPECT_EQ(meta.egress_rule, kImplied);
  EXPECT_EQ(snap_->networks[0].firewall.rule(meta.ingress_rule).name, "allow-web");
  EXPECT_EQ(snap_->networks[0].routes->route(meta.route).name, "subnet-b");
  EXPECT_EQ(meta.out_port, 0);
  // Out on B's VLAN 20, to B's MAC, from B's gateway MAC.
  EXPECT_EQ(MacAddr({output_[0], output_[1], output_[2], output_[3], output_[4], output_[5]}),
            GcpMacForIp(Ip("10.15.2.4")));
  EXPECT_EQ(output_[6 + 5], 0x01);
  EXPECT_EQ((output_[14] << 8 | output_[15]) & 0xfff, 20);
  EXPECT_EQ(counters_.verdicts[static_cast<int>(Verdict::kDeliver)], 1u);
}

TEST_F(PipelineTest, IngressImpliedDenyWhenNoRuleMatches) {
  PacketMeta meta = Run(Tcp("10.15.2.4", "10.0.1.3", 80, 20), 0);  // B has no tag 1
  EXPECT_EQ(meta.verdict, Verdict::kDrop);
  EXPECT_EQ(meta.cause, DropCause::kFirewallRule);
  EXPECT_EQ(meta.ingress_rule, kImplied);
  EXPECT_EQ(counters_.drops[static_cast<int>(DropCause::kFirewallRule)], 1u);
}

TEST_F(PipelineTest, EgressDenyStopsAtTheSender) {
  PacketMeta meta = Run(Tcp("10.0.1.3", "10.15.2.4", 9999, 10), 0);
  EXPECT_EQ(meta.cause, DropCause::kFirewallRule);
  EXPECT_EQ(snap_->networks[0].firewall.rule(meta.egress_rule).name, "deny-9999");
  EXPECT_EQ(meta.ingress_rule, kNotEvaluated);
}

TEST_F(PipelineTest, SpoofedSourceIsDropped) {
  MacAddr a_mac = GcpMacForIp(Ip("10.0.1.3"));
  PacketMeta meta = Run(Tcp("10.0.1.77", "10.15.2.4", 80, 10, &a_mac), 0);
  EXPECT_EQ(meta.cause, DropCause::kForeignIpDisallowed);
  EXPECT_EQ(meta.src_nic, 0);
}

TEST_F(PipelineTest, UnknownSourceAndUnknownInternalAddress) {
  EXPECT_EQ(Run(Tcp("10.0.1.3", "10.15.2.4", 80, 99), 0).cause, DropCause::kUnknownSource);
  EXPECT_EQ(Run(Tcp("10.0.1.3", "10.15.2.99", 80, 10), 0).cause,
            DropCause::kUnknownInternalAddress);
  EXPECT_EQ(Run(Tcp("10.0.1.3", "172.16.0.1", 80, 10), 0).cause, DropCause::kNoRoute);
}

TEST_F(PipelineTest, ForwardsToVpnAndAcceptsFromIt) {
  PacketMeta out = Run(Tcp("10.0.1.3", "192.168.5.5", 443, 10), 0);
  EXPECT_EQ(out.verdict, Verdict::kForward);
  EXPECT_EQ(out.out_port, 1);
  EXPECT_EQ(out.ingress_rule, kNotEvaluated);
  EXPECT_EQ(output_[12], 0x08);  // VLAN tag removed for the untagged VPN link
  PacketMeta in = Run(Tcp("192.168.5.5", "10.15.2.4", 80), 1);
  EXPECT_EQ(in.verdict, Verdict::kDeliver);
  EXPECT_EQ(snap_->networks[0].firewall.rule(in.ingress_rule).name, "allow-web");
  EXPECT_EQ(in.egress_rule, kNotEvaluated);
}

TEST_F(PipelineTest, AnswersArpWithTheGatewayMac) {
  PacketMeta meta = Run(ArpRequest("10.15.2.4", "10.15.2.1"), 0);
  // B's endpoint is on VLAN 20 but this frame is untagged: unknown source.
  EXPECT_EQ(meta.cause, DropCause::kUnknownSource);
  std::vector<uint8_t> tagged = ArpRequest("10.0.1.3", "10.0.1.1");
  std::vector<uint8_t> frame(tagged.begin(), tagged.begin() + 12);
  frame.insert(frame.end(), {0x81, 0x00, 0x00, 10});
  frame.insert(frame.end(), tagged.begin() + 12, tagged.end());
  meta = Run(frame, 0);
  EXPECT_EQ(meta.verdict, Verdict::kLocal);
  EXPECT_EQ(meta.out_port, 0);
  EXPECT_EQ(output_[18 + 7], 2);  // ARP reply
  EXPECT_EQ(MacAddr({output_[26], output_[27], output_[28], output_[29], output_[30], output_[31]}),
            GcpMacForIp(Ip("10.0.1.1")));
}

TEST_F(PipelineTest, MalformedFramesAreCountedDrops) {
  std::vector<uint8_t> good = Tcp("10.0.1.3", "10.15.2.4", 80, 10);
  for (size_t len : {0ul, 5ul, 14ul, 20ul, 30ul, 40ul, 57ul}) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + len);
    EXPECT_EQ(Run(cut, 0).cause, DropCause::kMalformedPacket) << len;
  }
  std::vector<uint8_t> bad_sum = good;
  bad_sum[18 + 10] ^= 0xff;
  EXPECT_EQ(Run(bad_sum, 0).cause, DropCause::kMalformedPacket);
  std::vector<uint8_t> ipv6 = Ethernet(GcpMacForIp(Ip("10.0.1.3")), 0x86dd, 10);
  ipv6.resize(80);
  EXPECT_EQ(Run(ipv6, 0).cause, DropCause::kUnsupportedProtocol);
}

}  // namespace
}  // namespace svpc::dataplane

namespace svpc::dataplane {
namespace {

// Robustness: random mutations and truncations of valid frames never crash, and every packet
// ends with a final verdict that the counters account for.
TEST_F(PipelineTest, MutatedFramesAlwaysGetAVerdict) {
  std::vector<std::vector<uint8_t>> seeds = {Tcp("10.0.1.3", "10.15.2.4", 80, 10),
                                             Tcp("192.168.5.5", "10.15.2.4", 80),
                                             ArpRequest("10.0.1.3", "10.0.1.1")};
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const int kFrames = 20000;
  for (int i = 0; i < kFrames; ++i) {
    std::vector<uint8_t> frame = seeds[next() % seeds.size()];
    int flips = 1 + next() % 4;
    for (int f = 0; f < flips; ++f) frame[next() % frame.size()] = static_cast<uint8_t>(next());
    if (next() % 4 == 0) frame.resize(next() % (frame.size() + 1));
    PacketMeta meta = Run(frame, static_cast<uint16_t>(next() % 2));
    ASSERT_TRUE(meta.done);
    if (meta.verdict == Verdict::kDrop) {
      ASSERT_NE(meta.cause, DropCause::kNone);
    } else if (meta.verdict != Verdict::kLocal) {
      ASSERT_LT(meta.out_port, snap_->port_names.size());
    }
  }
  uint64_t verdicts = 0;
  for (uint64_t v : counters_.verdicts) verdicts += v;
  uint64_t drops = 0;
  for (uint64_t d : counters_.drops) drops += d;
  EXPECT_EQ(verdicts, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(drops, counters_.verdicts[static_cast<int>(Verdict::kDrop)]);
  EXPECT_GT(counters_.drops[static_cast<int>(DropCause::kMalformedPacket)], 0u);
}

}  // namespace
}  // namespace svpc::dataplane

namespace svpc::dataplane {
namespace {

// What tracked connections do when the rules change: GCP lets them continue until idle;
// kRecheck re-evaluates the connection's opening direction against the new rules.
class RuleChangeTest : public PipelineTest, public testing::WithParamInterface<OnRuleChange> {};

TEST_P(RuleChangeTest, TrackedConnectionAfterTheAllowingRuleIsRemoved) {
  std::string error;
  auto conntrack = firewall::ConnTrack::Create(firewall::ConnTrack::Config{}, &error);
  ASSERT_TRUE(conntrack) << error;
  Pipeline pipeline(conntrack.get(), GetParam());
  // On-prem opens a connection to B:80, allowed by allow-web in generation 1.
  PacketMeta open = RunWith(pipeline, Tcp("192.168.5.5", "10.15.2.4", 80), 1);
  ASSERT_EQ(open.verdict, Verdict::kDeliver);
  ASSERT_EQ(snap_->networks[0].firewall.rule(open.ingress_rule).name, "allow-web");
  // Generation 2 drops allow-web; B answers on the tracked connection.
  BuildSnapshot(/*allow_web=*/false, /*generation=*/2);
  std::vector<uint8_t> reply = Tcp("10.15.2.4", "192.168.5.5", 40000, 20);
  reply[18 + 20] = 0;  // source port 80 (Ethernet + VLAN tag, then the IPv4 header)
  reply[18 + 21] = 80;
  PacketMeta answer = RunWith(pipeline, reply, 0);
  if (GetParam() == OnRuleChange::kContinue) {
    EXPECT_EQ(answer.verdict, Verdict::kForward);
    EXPECT_EQ(answer.egress_rule, kTrackingState);
  } else {
    // The opening direction (on-prem -> B:80) is now denied at B by the implied rule; the
    // denial shows on the reply's egress side, and the connection is forgotten.
    EXPECT_EQ(answer.verdict, Verdict::kDrop);
    EXPECT_EQ(answer.cause, DropCause::kFirewallRule);
    EXPECT_EQ(answer.egress_rule, kImplied);
    EXPECT_EQ(conntrack->size(), 0u);
    // A new connection is judged by the new rules too.
    EXPECT_EQ(RunWith(pipeline, Tcp("192.168.5.5", "10.15.2.4", 80), 1).cause,
              DropCause::kFirewallRule);
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, RuleChangeTest,
                         testing::Values(OnRuleChange::kContinue, OnRuleChange::kRecheck));

}  // namespace
}  // namespace svpc::dataplane
