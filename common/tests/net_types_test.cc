#include "common/net_types.h"

#include <gtest/gtest.h>

#include <boost/describe/enum.hpp>

#include "common/enum_names.h"

namespace svpc {
namespace {

TEST(Ipv4, ParsesAndFormats) {
  EXPECT_EQ(ParseIpv4("10.0.1.3"), 0x0a000103u);
  EXPECT_EQ(FormatIpv4(0x0a000103u), "10.0.1.3");
  EXPECT_FALSE(ParseIpv4("10.0.1"));
  EXPECT_FALSE(ParseIpv4("10.0.1.256"));
  EXPECT_FALSE(ParseIpv4("10.0.01.3"));
  EXPECT_FALSE(ParseIpv4("10.0.1.3 "));
  EXPECT_FALSE(ParseIpv4(""));
}

TEST(Prefix, ParsesAndRejectsHostBits) {
  auto p = ParsePrefix("10.0.1.0/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->len, 24);
  EXPECT_TRUE(p->Contains(*ParseIpv4("10.0.1.200")));
  EXPECT_FALSE(p->Contains(*ParseIpv4("10.0.2.1")));
  EXPECT_FALSE(ParsePrefix("10.0.1.1/24"));
  EXPECT_EQ(ParsePrefix("10.0.1.1/24", true)->addr, 0x0a000100u);
  EXPECT_FALSE(ParsePrefix("10.0.1.0/33"));
  EXPECT_EQ(ParsePrefix("0.0.0.0/0")->Mask(), 0u);
  EXPECT_EQ(ParsePrefix("10.1.2.3")->len, 32);
  EXPECT_TRUE(ParsePrefix("10.0.0.0/8")->Overlaps(*ParsePrefix("10.7.1.0/24")));
  EXPECT_EQ(ParsePrefix("10.0.1.0/24")->Last(), *ParseIpv4("10.0.1.255"));
}

TEST(Mac, ParsesFormatsAndDerivesGcpMac) {
  auto mac = ParseMac("42:01:0a:00:01:03");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, GcpMacForIp(*ParseIpv4("10.0.1.3")));
  EXPECT_EQ(FormatMac(*mac), "42:01:0a:00:01:03");
  EXPECT_TRUE(ParseMac("ff:ff:ff:ff:ff:ff")->IsBroadcast());
  EXPECT_FALSE(ParseMac("42:01:0a:00:01"));
  EXPECT_FALSE(ParseMac("42:01:0a:00:01:zz"));
}

}  // namespace
}  // namespace svpc

// common/enum_names.h: counts and GCP-style names from the enumerator list alone.
namespace {
enum class Fruit : uint8_t { kApple, kBloodOrange, kKiwiFruitXl };
BOOST_DESCRIBE_ENUM(Fruit, kApple, kBloodOrange, kKiwiFruitXl)
}  // namespace

TEST(EnumNames, CountAndScreamingSnakeNames) {
  EXPECT_EQ(svpc::kEnumCount<Fruit>, 3);
  EXPECT_STREQ(svpc::EnumName(Fruit::kApple), "APPLE");
  EXPECT_STREQ(svpc::EnumName(Fruit::kBloodOrange), "BLOOD_ORANGE");
  EXPECT_STREQ(svpc::EnumName(Fruit::kKiwiFruitXl), "KIWI_FRUIT_XL");
  EXPECT_STREQ(svpc::EnumName(static_cast<Fruit>(7)), "?");
}
