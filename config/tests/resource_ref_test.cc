#include "config/resource_ref.h"

#include <gtest/gtest.h>

namespace svpc::config {
namespace {

TEST(ResourceRefTest, CanonicalisesEverySpelling) {
  const std::string want = "projects/host/regions/us-west1/subnetworks/s1";
  for (const char* text :
       {"https://www.googleapis.com/compute/v1/projects/host/regions/us-west1/subnetworks/s1",
        "https://compute.googleapis.com/compute/beta/projects/host/regions/us-west1/subnetworks/s1",
        "//compute.googleapis.com/projects/host/regions/us-west1/subnetworks/s1",
        "projects/host/regions/us-west1/subnetworks/s1", "regions/us-west1/subnetworks/s1", "s1"}) {
    RefResult result = CanonicalRef(RefKind::kSubnetwork, text, "host", "us-west1");
    EXPECT_TRUE(result.ok()) << text << ": " << result.error;
    EXPECT_EQ(result.ref, want) << text;
  }
  EXPECT_EQ(CanonicalRef(RefKind::kNetwork, "net", "p").ref, "projects/p/global/networks/net");
  EXPECT_EQ(CanonicalRef(RefKind::kNetwork, "global/networks/net", "p").ref,
            "projects/p/global/networks/net");
  EXPECT_EQ(CanonicalRef(RefKind::kInstance, "zones/us-east1-b/instances/vm", "p").ref,
            "projects/p/zones/us-east1-b/instances/vm");
  EXPECT_EQ(CanonicalRef(RefKind::kVpnTunnel, "regions/r/vpnTunnels/t", "p").ref,
            "projects/p/regions/r/vpnTunnels/t");
}

TEST(ResourceRefTest, RejectsWrongShapes) {
  EXPECT_EQ(CanonicalRef(RefKind::kNetwork, "projects/p/regions/r/subnetworks/s", "p").error,
            "\"projects/p/regions/r/subnetworks/s\" is not a valid network reference (expected a "
            "URL or projects/PROJECT/global/networks/NAME)");
  EXPECT_FALSE(CanonicalRef(RefKind::kSubnetwork, "s1", "p").ok());  // no region to take
  EXPECT_FALSE(CanonicalRef(RefKind::kNetwork, "net", "").ok());     // no project to take
  EXPECT_FALSE(CanonicalRef(RefKind::kNetwork, "a/b", "p").ok());
  EXPECT_FALSE(CanonicalRef(RefKind::kNetwork, "projects/p/global/networks/", "p").ok());
  EXPECT_FALSE(CanonicalRef(RefKind::kNetwork, "", "p").ok());
}

TEST(ResourceRefTest, Helpers) {
  EXPECT_EQ(LastUrlSegment("https://x/compute/v1/projects/p/regions/us-west1"), "us-west1");
  EXPECT_EQ(LastUrlSegment("us-west1"), "us-west1");
  EXPECT_EQ(RegionOfZone("us-west1-a"), "us-west1");
  EXPECT_EQ(RegionOfZone("europe-west4-c"), "europe-west4");
  EXPECT_EQ(RegionOfZone("zone"), std::nullopt);
  EXPECT_TRUE(IsValidResourceName("subnet-1"));
  EXPECT_FALSE(IsValidResourceName("Subnet"));
  EXPECT_FALSE(IsValidResourceName("1abc"));
  EXPECT_FALSE(IsValidResourceName("abc-"));
  EXPECT_FALSE(IsValidResourceName(std::string(64, 'a')));
}

}  // namespace
}  // namespace svpc::config
