// What a Cloud Router advertises to each peer (advertise modes, routing modes, MED) and the
// speaker configuration it runs, from a configuration in memory.

#include "control/cloud_router.h"

#include <gtest/gtest.h>

#include <map>

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

constexpr char kNet[] = "projects/host-prj/global/networks/shared-net";

Subnetwork Subnet(const std::string& name, const std::string& region, const char* range,
                  const char* secondary = nullptr) {
  Subnetwork s;
  s.name = name;
  s.region = region;
  s.network_ref = kNet;
  s.range = *ParsePrefix(range);
  if (secondary != nullptr) s.secondary_ranges.push_back({"pods", *ParsePrefix(secondary)});
  return s;
}

struct Fixture {
  Config config;
  Router router;
  Fixture(const std::string& routing_mode) {
    Network net;
    net.self_ref = kNet;
    net.routing_mode = routing_mode;
    config.networks.push_back(net);
    config.subnetworks.push_back(Subnet("east-a", "us-east1", "10.1.0.0/24", "10.101.0.0/20"));
    config.subnetworks.push_back(Subnet("east-b", "us-east1", "10.2.0.0/24"));
    config.subnetworks.push_back(Subnet("west", "us-west1", "10.3.0.0/24"));
    Subnetwork other = Subnet("elsewhere", "us-east1", "10.9.0.0/24");
    other.network_ref = "projects/host-prj/global/networks/other";
    config.subnetworks.push_back(other);
    router.name = "cr";
    router.region = "us-east1";
    router.network_ref = kNet;
    router.asn = 64512;
    router.interfaces.push_back(
        {"if-0", *ParseIpv4("169.254.0.1"), *ParsePrefix("169.254.0.0/29"), "", ""});
    BgpPeer peer;
    peer.name = "p";
    peer.interface_name = "if-0";
    peer.peer_ip = *ParseIpv4("169.254.0.2");
    peer.peer_asn = 65010;
    peer.advertised_route_priority = 200;
    router.peers.push_back(peer);
  }
  std::map<std::string, uint32_t> Advertised() const {
    std::map<std::string, uint32_t> out;
    for (const bgp::AdvertisedRoute& r : AdvertisedRoutes(config, router, router.peers[0])) {
      EXPECT_EQ(FormatIpv4(r.next_hop), "169.254.0.1");
      out[FormatPrefix(r.prefix)] = r.med;
    }
    return out;
  }
};

TEST(CloudRouterTest, DefaultRegionalAdvertisesOwnRegionSubnetsWithThePeersPriority) {
  Fixture f("REGIONAL");
  EXPECT_EQ(f.Advertised(),
            (std::map<std::string, uint32_t>{
                {"10.1.0.0/24", 200}, {"10.101.0.0/20", 200}, {"10.2.0.0/24", 200}}));
}

TEST(CloudRouterTest, DefaultGlobalAddsOtherRegionsWithTheInterRegionCost) {
  Fixture f("GLOBAL");
  EXPECT_EQ(f.Advertised(), (std::map<std::string, uint32_t>{{"10.1.0.0/24", 200},
                                                             {"10.101.0.0/20", 200},
                                                             {"10.2.0.0/24", 200},
                                                             {"10.3.0.0/24", 200 + 201}}));
}

TEST(CloudRouterTest, CustomModeWithoutGroupsAdvertisesOnlyItsRanges) {
  Fixture f("REGIONAL");
  f.router.advertisement.custom = true;
  f.router.advertisement.ranges = {*ParsePrefix("192.0.2.0/24")};
  EXPECT_EQ(f.Advertised(), (std::map<std::string, uint32_t>{{"192.0.2.0/24", 200}}));
  f.router.advertisement.all_subnets = true;
  EXPECT_EQ(f.Advertised().size(), 4u);
}

TEST(CloudRouterTest, PeerLevelAdvertisementReplacesTheRouters) {
  Fixture f("REGIONAL");
  Advertisement only_range;
  only_range.custom = true;
  only_range.ranges = {*ParsePrefix("198.51.100.0/24")};
  f.router.peers[0].advertisement = only_range;
  EXPECT_EQ(f.Advertised(), (std::map<std::string, uint32_t>{{"198.51.100.0/24", 200}}));
}

TEST(CloudRouterTest, SpeakerConfigFollowsTheRouterAndTheTestbed) {
  Fixture f("REGIONAL");
  f.router.keepalive_seconds = 30;
  f.router.peers[0].md5_key = "k";
  f.router.peers[0].enabled = false;
  CloudRouterLink link;
  link.peer_port = 1179;
  bgp::SpeakerConfig c = SpeakerConfigFor(f.router, link);
  EXPECT_EQ(c.local_asn, 64512u);
  EXPECT_EQ(FormatIpv4(c.listen_address), "169.254.0.1");
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].keepalive_seconds, 30u);
  EXPECT_EQ(c.peers[0].hold_seconds, 90u);  // 3 x keepalive
  EXPECT_EQ(c.peers[0].peer_port, 1179);
  EXPECT_EQ(c.peers[0].md5_password, "k");
  EXPECT_FALSE(c.peers[0].enabled);
  EXPECT_EQ(c.peers[0].max_learned_prefixes, kDefaultMaxLearnedPrefixes);
  link.keepalive_seconds = 1;
  EXPECT_EQ(SpeakerConfigFor(f.router, link).peers[0].hold_seconds, 3u);
}

}  // namespace
}  // namespace svpc::control
