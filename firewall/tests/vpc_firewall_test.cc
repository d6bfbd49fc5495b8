#include "firewall/vpc_firewall.h"

#include <gtest/gtest.h>

namespace svpc::firewall {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIcmp = 1;

Prefix P(const char* text) { return *ParsePrefix(text); }
Ipv4 Ip(const char* text) { return *ParseIpv4(text); }

FlowKey Tcp(const char* src, const char* dst, uint16_t dport) {
  return FlowKey{Ip(src), Ip(dst), kTcp, true, 40000, dport};
}

Rule Allow(std::string name, uint32_t priority, Direction dir = Direction::kIngress) {
  Rule r;
  r.name = std::move(name);
  r.priority = priority;
  r.direction = dir;
  r.action = Action::kAllow;
  r.protocols = {ProtocolMatch{-1, {}}};
  return r;
}

Rule Deny(std::string name, uint32_t priority, Direction dir = Direction::kIngress) {
  Rule r = Allow(std::move(name), priority, dir);
  r.action = Action::kDeny;
  return r;
}

const std::vector<uint32_t> kNoIds;
const Identity kPlain{kNoIds, kNoIds};

std::string Winner(const RuleSet& set, Direction dir, const FlowKey& key,
                   const Identity& target = kPlain, const Identity* remote = nullptr) {
  auto applicable = set.RulesFor(dir, target);
  Decision d = set.Evaluate(dir, applicable, key, remote);
  std::string name = d.rule == kImpliedRule ? ImpliedRuleName(dir) : set.rule(d.rule).name;
  return name + (d.action == Action::kAllow ? ":allow" : ":deny");
}

TEST(VpcFirewall, ImpliedRulesAllowEgressDenyIngress) {
  RuleSet set(std::vector<Rule>{});
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 80)),
            "implied-deny-ingress:deny");
  EXPECT_EQ(Winner(set, Direction::kEgress, Tcp("10.0.1.3", "10.15.2.4", 80)),
            "implied-allow-egress:allow");
}

TEST(VpcFirewall, LowestPriorityNumberWins) {
  Rule allow = Allow("allow-web", 900);
  Rule deny = Deny("deny-all", 1000);
  RuleSet set({deny, allow});
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("1.2.3.4", "10.0.1.3", 80)), "allow-web:allow");
}

TEST(VpcFirewall, DenyBeatsAllowAtEqualPriority) {
  RuleSet set({Allow("allow", 1000), Deny("deny", 1000)});
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("1.2.3.4", "10.0.1.3", 80)), "deny:deny");
}

TEST(VpcFirewall, SourceRangesAndPorts) {
  Rule r = Allow("allow-ssh-from-corp", 1000);
  r.source_ranges = {P("192.168.0.0/16")};
  r.protocols = {ProtocolMatch{kTcp, {PortRange{22, 22}, PortRange{8000, 8080}}}};
  RuleSet set({r});
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("192.168.4.5", "10.0.1.3", 22)),
            "allow-ssh-from-corp:allow");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("192.168.4.5", "10.0.1.3", 8080)),
            "allow-ssh-from-corp:allow");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("192.168.4.5", "10.0.1.3", 23)),
            "implied-deny-ingress:deny");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("172.16.4.5", "10.0.1.3", 22)),
            "implied-deny-ingress:deny");
  FlowKey udp{Ip("192.168.4.5"), Ip("10.0.1.3"), kUdp, true, 1, 22};
  EXPECT_EQ(Winner(set, Direction::kIngress, udp), "implied-deny-ingress:deny");
}

TEST(VpcFirewall, RuleWithPortsDoesNotMatchPacketWithoutPorts) {
  Rule r = Allow("allow-tcp-80", 1000);
  r.protocols = {ProtocolMatch{kTcp, {PortRange{80, 80}}}};
  RuleSet set({r});
  FlowKey later_fragment{Ip("1.1.1.1"), Ip("10.0.1.3"), kTcp, false, 0, 0};
  EXPECT_EQ(Winner(set, Direction::kIngress, later_fragment), "implied-deny-ingress:deny");
}

TEST(VpcFirewall, IcmpAndAllProtocols) {
  Rule icmp = Allow("allow-icmp", 1000);
  icmp.protocols = {ProtocolMatch{kIcmp, {}}};
  RuleSet set({icmp});
  FlowKey ping{Ip("10.0.1.3"), Ip("10.15.2.4"), kIcmp, false, 0, 0};
  EXPECT_EQ(Winner(set, Direction::kIngress, ping), "allow-icmp:allow");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 1)),
            "implied-deny-ingress:deny");
}

TEST(VpcFirewall, TargetTagsAndServiceAccountsSelectInstances) {
  Rule tagged = Allow("allow-web-tag", 1000);
  tagged.target_tags = {7};
  Rule by_sa = Allow("allow-db-sa", 1000);
  by_sa.target_service_accounts = {3};
  RuleSet set({tagged, by_sa});
  std::vector<uint32_t> web_tags{2, 7};
  std::vector<uint32_t> db_sas{3};
  Identity web{web_tags, kNoIds};
  Identity db{kNoIds, db_sas};
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("1.1.1.1", "10.0.1.3", 80), web),
            "allow-web-tag:allow");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("1.1.1.1", "10.0.1.3", 80), db),
            "allow-db-sa:allow");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("1.1.1.1", "10.0.1.3", 80), kPlain),
            "implied-deny-ingress:deny");
}

TEST(VpcFirewall, SourceTagsMatchOnlyInstancePeers) {
  Rule r = Allow("allow-from-web", 1000);
  r.source_tags = {7};
  r.source_ranges = {P("192.168.0.0/24")};
  RuleSet set({r});
  std::vector<uint32_t> web_tags{7};
  Identity web{web_tags, kNoIds};
  // From a tagged instance: matches by tag even though the address is outside the range.
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 80), kPlain, &web),
            "allow-from-web:allow");
  // Same address, but not an instance peer (e.g. arriving from on-prem): no tag match.
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 80), kPlain, nullptr),
            "implied-deny-ingress:deny");
  // Ranges OR tags: the range alone is enough.
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("192.168.0.9", "10.15.2.4", 80)),
            "allow-from-web:allow");
}

TEST(VpcFirewall, SourceServiceAccounts) {
  Rule r = Allow("allow-from-sa", 1000);
  r.source_service_accounts = {5};
  RuleSet set({r});
  std::vector<uint32_t> sas{1, 5};
  Identity peer{kNoIds, sas};
  std::vector<uint32_t> other_sas{1};
  Identity other{kNoIds, other_sas};
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 80), kPlain, &peer),
            "allow-from-sa:allow");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 80), kPlain, &other),
            "implied-deny-ingress:deny");
}

TEST(VpcFirewall, EgressDestinationRanges) {
  Rule deny = Deny("deny-to-onprem", 1000, Direction::kEgress);
  deny.destination_ranges = {P("192.168.0.0/16")};
  RuleSet set({deny});
  EXPECT_EQ(Winner(set, Direction::kEgress, Tcp("10.0.1.3", "192.168.1.1", 80)),
            "deny-to-onprem:deny");
  EXPECT_EQ(Winner(set, Direction::kEgress, Tcp("10.0.1.3", "10.15.2.4", 80)),
            "implied-allow-egress:allow");
  // Egress rules are not consulted for ingress.
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("10.0.1.3", "192.168.1.1", 80)),
            "implied-deny-ingress:deny");
}

TEST(VpcFirewall, IngressDestinationRangesNarrowTheRule) {
  Rule r = Allow("allow-to-alias", 1000);
  r.destination_ranges = {P("10.0.1.128/25")};
  RuleSet set({r});
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("1.1.1.1", "10.0.1.130", 80)),
            "allow-to-alias:allow");
  EXPECT_EQ(Winner(set, Direction::kIngress, Tcp("1.1.1.1", "10.0.1.3", 80)),
            "implied-deny-ingress:deny");
}

}  // namespace
}  // namespace svpc::firewall
