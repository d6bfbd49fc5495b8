// Classifier tests: each matching semantic on its own, then the differential test (random
// configurations and packets, Classifier vs the reference RuleSet, action and rule index), then
// configuration changes. Set SVPC_SEED to replay a run; the seed is printed.
#include "firewall/classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace svpc::firewall {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIcmp = 1;
constexpr uint8_t kSctp = 132;

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

// A NIC's tags and service accounts (sorted ids), owning the storage Identity points into.
struct Nic {
  std::vector<uint32_t> tags;
  std::vector<uint32_t> service_accounts;
  Identity identity() const { return Identity{tags, service_accounts}; }
};

std::vector<Identity> IdentitiesOf(const std::vector<Nic>& nics) {
  std::vector<Identity> out;
  for (const Nic& n : nics) out.push_back(n.identity());
  return out;
}

std::string DecisionText(const RuleSet& set, Direction dir, Decision d) {
  std::string name = d.rule == kImpliedRule ? ImpliedRuleName(dir) : set.rule(d.rule).name;
  return name + (d.action == Action::kAllow ? ":allow" : ":deny");
}

// One network compiled both ways. Winner() asks the classifier and checks the reference agrees.
class Compiled {
 public:
  Compiled(std::vector<Rule> rules, std::vector<Nic> nics = {Nic{}},
           const ClassifierOptions& options = {})
      : set_(std::move(rules)), nics_(std::move(nics)) {
    std::string error;
    classifier_ = Classifier::Build(set_, IdentitiesOf(nics_), &error, options);
    EXPECT_NE(classifier_, nullptr) << error;
  }

  // `remote`: index of the sending NIC when it is an instance of this network, else -1.
  std::string Winner(Direction dir, const FlowKey& key, uint32_t target = 0, int remote = -1) {
    Identity remote_identity;
    if (remote >= 0) remote_identity = nics_[remote].identity();
    Decision expected = set_.Evaluate(dir, set_.RulesFor(dir, nics_[target].identity()), key,
                                      remote >= 0 ? &remote_identity : nullptr);
    uint32_t source_class = remote >= 0 ? classifier_->SourceClass(remote) : kNoSourceClass;
    Decision got = classifier_->Classify(dir, classifier_->TargetClass(target), source_class, key);
    EXPECT_EQ(DecisionText(set_, dir, got), DecisionText(set_, dir, expected));
    return DecisionText(set_, dir, got);
  }

  const Classifier& classifier() const { return *classifier_; }

 private:
  RuleSet set_;
  std::vector<Nic> nics_;
  std::unique_ptr<Classifier> classifier_;
};

TEST(Classifier, ImpliedRulesAllowEgressDenyIngress) {
  Compiled c({});
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 80)),
            "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.1.3", "10.15.2.4", 80)),
            "implied-allow-egress:allow");
  EXPECT_EQ(c.classifier().stats().rules[0], 0u);
  EXPECT_EQ(c.classifier().stats().rules[1], 0u);
}

TEST(Classifier, NetworkWithoutNics) {
  std::string error;
  RuleSet set({Allow("a", 1000)});
  auto clf = Classifier::Build(set, {}, &error);
  ASSERT_NE(clf, nullptr) << error;
  EXPECT_EQ(clf->target_classes(), 1u);
  Decision d = clf->Classify(Direction::kIngress, 0, kNoSourceClass, Tcp("1.1.1.1", "2.2.2.2", 1));
  EXPECT_EQ(d.rule, 0);
}

TEST(Classifier, LowestPriorityNumberWins) {
  Compiled c({Deny("deny-all", 1000), Allow("allow-web", 900)});
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.2.3.4", "10.0.1.3", 80)), "allow-web:allow");
}

TEST(Classifier, DenyBeatsAllowAtEqualPriority) {
  Compiled allow_first({Allow("allow", 1000), Deny("deny", 1000)});
  EXPECT_EQ(allow_first.Winner(Direction::kIngress, Tcp("1.2.3.4", "10.0.1.3", 80)), "deny:deny");
  Compiled deny_first({Deny("deny", 1000), Allow("allow", 1000)});
  EXPECT_EQ(deny_first.Winner(Direction::kIngress, Tcp("1.2.3.4", "10.0.1.3", 80)), "deny:deny");
  Compiled egress({Allow("allow", 5, Direction::kEgress), Deny("deny", 5, Direction::kEgress)});
  EXPECT_EQ(egress.Winner(Direction::kEgress, Tcp("1.2.3.4", "10.0.1.3", 80)), "deny:deny");
}

TEST(Classifier, EqualPriorityAndActionReportsTheFirstRuleInConfigurationOrder) {
  Compiled c({Allow("a", 1000), Allow("b", 1000), Deny("c", 1000), Deny("d", 1000)});
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.2.3.4", "10.0.1.3", 80)), "c:deny");
}

TEST(Classifier, DisabledRuleRemovedFromTheRuleSetStopsMatching) {
  // Disabled rules are never passed in: disabling one is a Build without it.
  Rule deny = Deny("deny-ssh", 100);
  deny.protocols = {ProtocolMatch{kTcp, {PortRange{22, 22}}}};
  std::vector<Identity> nics{Identity{}};
  std::string error;
  RuleSet enabled({deny, Allow("allow-all", 1000)});
  auto before = Classifier::Build(enabled, nics, &error);
  ASSERT_NE(before, nullptr) << error;
  EXPECT_EQ(
      before->Classify(Direction::kIngress, 0, kNoSourceClass, Tcp("1.1.1.1", "2.2.2.2", 22)).rule,
      0);
  RuleSet disabled({Allow("allow-all", 1000)});
  auto after = Classifier::Build(disabled, nics, &error);
  ASSERT_NE(after, nullptr) << error;
  Decision d =
      after->Classify(Direction::kIngress, 0, kNoSourceClass, Tcp("1.1.1.1", "2.2.2.2", 22));
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.action, Action::kAllow);
}

TEST(Classifier, SourceRangesAndPortRanges) {
  Rule r = Allow("allow-ssh-from-corp", 1000);
  r.source_ranges = {P("192.168.0.0/16")};
  r.protocols = {ProtocolMatch{kTcp, {PortRange{22, 22}, PortRange{8000, 8080}}}};
  Compiled c({r});
  const char* src = "192.168.4.5";
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp(src, "10.0.1.3", 22)), "allow-ssh-from-corp:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp(src, "10.0.1.3", 21)), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp(src, "10.0.1.3", 23)), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp(src, "10.0.1.3", 7999)), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp(src, "10.0.1.3", 8000)), "allow-ssh-from-corp:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp(src, "10.0.1.3", 8080)), "allow-ssh-from-corp:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp(src, "10.0.1.3", 8081)), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("192.169.0.0", "10.0.1.3", 22)),
            "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("192.167.255.255", "10.0.1.3", 22)),
            "implied-deny-ingress:deny");
  FlowKey udp{Ip(src), Ip("10.0.1.3"), kUdp, true, 1, 22};
  EXPECT_EQ(c.Winner(Direction::kIngress, udp), "implied-deny-ingress:deny");
}

TEST(Classifier, PortRangeEdgesZeroAndMax) {
  Rule low = Allow("low", 1000);
  low.protocols = {ProtocolMatch{kUdp, {PortRange{0, 0}}}};
  Rule high = Allow("high", 1000);
  high.protocols = {ProtocolMatch{kUdp, {PortRange{65535, 65535}}}};
  Rule all_ports = Allow("all-ports", 2000);
  all_ports.protocols = {ProtocolMatch{kTcp, {PortRange{0, 65535}}}};
  Compiled c({low, high, all_ports});
  auto udp = [](uint16_t port) {
    return FlowKey{Ip("1.1.1.1"), Ip("2.2.2.2"), kUdp, true, 9, port};
  };
  EXPECT_EQ(c.Winner(Direction::kIngress, udp(0)), "low:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, udp(1)), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, udp(65535)), "high:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, udp(65534)), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "2.2.2.2", 0)), "all-ports:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "2.2.2.2", 65535)), "all-ports:allow");
  // A range ending just below the top of the port space ends there.
  Rule below_top = Allow("below-top", 1000);
  below_top.protocols = {ProtocolMatch{kSctp, {PortRange{60000, 65534}}}};
  Compiled top({below_top});
  auto sctp = [](uint16_t port) {
    return FlowKey{Ip("1.1.1.1"), Ip("2.2.2.2"), kSctp, true, 9, port};
  };
  EXPECT_EQ(top.Winner(Direction::kIngress, sctp(65534)), "below-top:allow");
  EXPECT_EQ(top.Winner(Direction::kIngress, sctp(65535)), "implied-deny-ingress:deny");
  EXPECT_EQ(top.Winner(Direction::kIngress, sctp(59999)), "implied-deny-ingress:deny");
  // Even 0-65535 names ports: a packet without ports does not match it.
  FlowKey fragment{Ip("1.1.1.1"), Ip("2.2.2.2"), kTcp, false, 0, 0};
  EXPECT_EQ(c.Winner(Direction::kIngress, fragment), "implied-deny-ingress:deny");
}

TEST(Classifier, RuleWithPortsDoesNotMatchPacketWithoutPorts) {
  Rule ports = Deny("deny-tcp-80", 1000);
  ports.protocols = {ProtocolMatch{kTcp, {PortRange{80, 80}}}};
  Rule no_ports = Allow("allow-tcp", 1000);
  no_ports.protocols = {ProtocolMatch{kTcp, {}}};
  Compiled c({ports, no_ports});
  FlowKey later_fragment{Ip("1.1.1.1"), Ip("10.0.1.3"), kTcp, false, 0, 80};
  EXPECT_EQ(c.Winner(Direction::kIngress, later_fragment), "allow-tcp:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "10.0.1.3", 80)), "deny-tcp-80:deny");
  Compiled only_ports({ports});
  EXPECT_EQ(only_ports.Winner(Direction::kIngress, later_fragment), "implied-deny-ingress:deny");
}

TEST(Classifier, ProtocolAllAndNumber) {
  Rule icmp = Allow("allow-icmp", 1000);
  icmp.protocols = {ProtocolMatch{kIcmp, {}}};
  Rule gre = Deny("deny-gre", 1000);
  gre.protocols = {ProtocolMatch{47, {}}};
  Rule all = Allow("allow-all", 2000);
  Compiled c({icmp, gre, all});
  FlowKey ping{Ip("10.0.1.3"), Ip("10.15.2.4"), kIcmp, false, 0, 0};
  EXPECT_EQ(c.Winner(Direction::kIngress, ping), "allow-icmp:allow");
  FlowKey tunnel{Ip("10.0.1.3"), Ip("10.15.2.4"), 47, false, 0, 0};
  EXPECT_EQ(c.Winner(Direction::kIngress, tunnel), "deny-gre:deny");
  FlowKey odd{Ip("10.0.1.3"), Ip("10.15.2.4"), 255, false, 0, 0};
  EXPECT_EQ(c.Winner(Direction::kIngress, odd), "allow-all:allow");
  FlowKey zero{Ip("10.0.1.3"), Ip("10.15.2.4"), 0, false, 0, 0};
  EXPECT_EQ(c.Winner(Direction::kIngress, zero), "allow-all:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("10.0.1.3", "10.15.2.4", 1)), "allow-all:allow");
}

TEST(Classifier, SeveralProtocolEntriesInOneRule) {
  Rule r = Allow("web-and-dns", 1000);
  r.protocols = {ProtocolMatch{kTcp, {PortRange{80, 80}, PortRange{443, 443}}},
                 ProtocolMatch{kUdp, {PortRange{53, 53}}}, ProtocolMatch{kSctp, {}}};
  Compiled c({r});
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "2.2.2.2", 443)), "web-and-dns:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "2.2.2.2", 53)),
            "implied-deny-ingress:deny");
  FlowKey dns{Ip("1.1.1.1"), Ip("2.2.2.2"), kUdp, true, 5353, 53};
  EXPECT_EQ(c.Winner(Direction::kIngress, dns), "web-and-dns:allow");
  FlowKey sctp{Ip("1.1.1.1"), Ip("2.2.2.2"), kSctp, false, 0, 0};
  EXPECT_EQ(c.Winner(Direction::kIngress, sctp), "web-and-dns:allow");
}

TEST(Classifier, TargetTagsAndServiceAccountsSelectInstances) {
  Rule tagged = Allow("allow-web-tag", 1000);
  tagged.target_tags = {7};
  Rule by_sa = Allow("allow-db-sa", 1000);
  by_sa.target_service_accounts = {3};
  // Tag 3 and service account 7 are different things from service account 3 and tag 7.
  std::vector<Nic> nics{Nic{{2, 7}, {}}, Nic{{}, {3}}, Nic{}, Nic{{3}, {7}}};
  Compiled c({tagged, by_sa}, nics);
  FlowKey key = Tcp("1.1.1.1", "10.0.1.3", 80);
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 0), "allow-web-tag:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 1), "allow-db-sa:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 2), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 3), "implied-deny-ingress:deny");
  EXPECT_EQ(c.classifier().TargetClass(2), c.classifier().TargetClass(3));
  EXPECT_NE(c.classifier().TargetClass(0), c.classifier().TargetClass(1));
}

TEST(Classifier, TargetTagsWinOverTargetServiceAccountsWhenBothAreSet) {
  Rule r = Allow("both", 1000, Direction::kEgress);
  r.action = Action::kDeny;
  r.target_tags = {1};
  r.target_service_accounts = {1};
  Compiled c({r}, {Nic{{1}, {}}, Nic{{}, {1}}});
  FlowKey key = Tcp("10.0.1.3", "8.8.8.8", 443);
  EXPECT_EQ(c.Winner(Direction::kEgress, key, 0), "both:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, key, 1), "implied-allow-egress:allow");
}

TEST(Classifier, NicsWithTheSameBehaviourShareAClass) {
  Rule r = Allow("web", 1000);
  r.target_tags = {1, 2};
  Rule s = Allow("from-db", 1000);
  s.source_tags = {9};
  // NICs 0..2 all have a web tag, differing in tags no rule names; NIC 3 has none.
  std::vector<Nic> nics{Nic{{1}, {}}, Nic{{2, 5}, {4}}, Nic{{1, 2, 3}, {}}, Nic{{3}, {}},
                        Nic{{9}, {}}};
  Compiled c({r, s}, nics);
  const Classifier& clf = c.classifier();
  EXPECT_EQ(clf.TargetClass(0), clf.TargetClass(1));
  EXPECT_EQ(clf.TargetClass(0), clf.TargetClass(2));
  EXPECT_NE(clf.TargetClass(0), clf.TargetClass(3));
  EXPECT_EQ(clf.target_classes(), 2u);
  // Senders satisfying no source condition are kNoSourceClass, like non-instance senders.
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(clf.SourceClass(i), kNoSourceClass);
  EXPECT_NE(clf.SourceClass(4), kNoSourceClass);
  EXPECT_EQ(clf.source_classes(), 2u);
}

TEST(Classifier, SourceTagsMatchOnlyInstancePeersOrRanges) {
  Rule r = Allow("allow-from-web", 1000);
  r.source_tags = {7};
  r.source_ranges = {P("192.168.0.0/24")};
  std::vector<Nic> nics{Nic{}, Nic{{7}, {}}, Nic{{6}, {}}};
  Compiled c({r}, nics);
  FlowKey from_instance = Tcp("10.0.1.3", "10.15.2.4", 80);
  // From a tagged instance: matches by tag even though the address is outside the range.
  EXPECT_EQ(c.Winner(Direction::kIngress, from_instance, 0, 1), "allow-from-web:allow");
  // Same address, but not an instance peer: no tag match.
  EXPECT_EQ(c.Winner(Direction::kIngress, from_instance, 0, -1), "implied-deny-ingress:deny");
  // An instance without the tag.
  EXPECT_EQ(c.Winner(Direction::kIngress, from_instance, 0, 2), "implied-deny-ingress:deny");
  // Ranges OR tags: the range alone is enough, from anyone.
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("192.168.0.9", "10.15.2.4", 80), 0, -1),
            "allow-from-web:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("192.168.0.9", "10.15.2.4", 80), 0, 2),
            "allow-from-web:allow");
}

TEST(Classifier, SourceServiceAccounts) {
  Rule r = Allow("allow-from-sa", 1000);
  r.source_service_accounts = {5};
  Rule deny = Deny("deny-from-tag-5", 1000);
  deny.source_tags = {5};
  std::vector<Nic> nics{Nic{}, Nic{{}, {1, 5}}, Nic{{}, {1}}, Nic{{5}, {}}, Nic{{5}, {5}}};
  Compiled c({r, deny}, nics);
  FlowKey key = Tcp("10.0.1.3", "10.15.2.4", 80);
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 0, 1), "allow-from-sa:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 0, 2), "implied-deny-ingress:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 0, 3), "deny-from-tag-5:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 0, 4), "deny-from-tag-5:deny");
  EXPECT_EQ(c.Winner(Direction::kIngress, key, 0, -1), "implied-deny-ingress:deny");
}

TEST(Classifier, EgressDestinationAndSourceRanges) {
  Rule deny = Deny("deny-to-onprem", 1000, Direction::kEgress);
  deny.destination_ranges = {P("192.168.0.0/16"), P("172.16.0.0/12")};
  Rule narrow = Allow("allow-alias-to-onprem", 900, Direction::kEgress);
  narrow.destination_ranges = {P("192.168.1.0/24")};
  narrow.source_ranges = {P("10.0.1.128/25")};
  Compiled c({deny, narrow});
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.1.3", "192.168.1.1", 80)),
            "deny-to-onprem:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.1.130", "192.168.1.1", 80)),
            "allow-alias-to-onprem:allow");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.1.130", "192.168.2.1", 80)),
            "deny-to-onprem:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.1.3", "172.31.255.255", 80)),
            "deny-to-onprem:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.1.3", "10.15.2.4", 80)),
            "implied-allow-egress:allow");
  // Egress rules are not consulted for ingress, nor ingress rules for egress.
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("10.0.1.3", "192.168.1.1", 80)),
            "implied-deny-ingress:deny");
}

TEST(Classifier, EgressRulesIgnoreTheSender) {
  Rule deny = Deny("deny-all-egress", 1000, Direction::kEgress);
  deny.source_tags = {1};  // not a thing for egress: the reference ignores it
  Compiled c({deny}, {Nic{{1}, {}}, Nic{}});
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.1.3", "8.8.8.8", 80), 1),
            "deny-all-egress:deny");
}

TEST(Classifier, AddressRangesAtTheEdgesOfTheAddressSpace) {
  Rule low = Deny("low", 1000, Direction::kEgress);
  low.destination_ranges = {P("0.0.0.0/32")};
  Rule high = Deny("high", 1000, Direction::kEgress);
  high.destination_ranges = {P("255.255.255.254/32")};
  Rule top = Deny("top-half", 2000, Direction::kEgress);
  top.destination_ranges = {P("128.0.0.0/1")};
  Compiled c({low, high, top});
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.0.1", "0.0.0.0", 80)), "low:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.0.1", "0.0.0.1", 80)),
            "implied-allow-egress:allow");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.0.1", "255.255.255.254", 80)), "high:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.0.1", "255.255.255.255", 80)), "top-half:deny");
  EXPECT_EQ(c.Winner(Direction::kEgress, Tcp("10.0.0.1", "127.255.255.255", 80)),
            "implied-allow-egress:allow");
}

TEST(Classifier, IngressDestinationRangesNarrowTheRule) {
  Rule r = Allow("allow-to-alias", 1000);
  r.destination_ranges = {P("10.0.1.128/25")};
  Compiled c({r});
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "10.0.1.130", 80)),
            "allow-to-alias:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "10.0.1.3", 80)),
            "implied-deny-ingress:deny");
}

TEST(Classifier, RulesThatCanNeverMatchAreSkipped) {
  Rule nobody = Deny("target-nobody-has", 10);
  nobody.target_tags = {42};
  Rule no_sender = Deny("source-nobody-has", 10);
  no_sender.source_tags = {42};
  Rule no_protocols = Deny("no-protocols", 10);
  no_protocols.protocols.clear();
  Rule empty_port_range = Deny("empty-port-range", 10);
  empty_port_range.protocols = {ProtocolMatch{kTcp, {PortRange{90, 80}}}};
  Rule beyond_protocols = Deny("protocol-300", 10);
  beyond_protocols.protocols = {ProtocolMatch{300, {}}};
  Compiled c({nobody, no_sender, no_protocols, empty_port_range, beyond_protocols,
              Allow("fallback", 1000)},
             {Nic{{1}, {}}, Nic{{2}, {}}});
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "2.2.2.2", 85), 0, 1), "fallback:allow");
  EXPECT_EQ(c.Winner(Direction::kIngress, Tcp("1.1.1.1", "2.2.2.2", 85), 1, 0), "fallback:allow");
  FlowKey fragment{Ip("1.1.1.1"), Ip("2.2.2.2"), kTcp, false, 0, 85};
  EXPECT_EQ(c.Winner(Direction::kIngress, fragment, 0, 1), "fallback:allow");
}

TEST(Classifier, BurstAgreesWithSingleQueries) {
  std::vector<Rule> rules;
  for (int i = 0; i < 40; ++i) {
    Rule r = (i % 3 == 0 ? Deny : Allow)("r" + std::to_string(i), 1000 + (i % 5) * 10,
                                         i % 2 ? Direction::kIngress : Direction::kEgress);
    r.protocols = {ProtocolMatch{
        kTcp, {PortRange{static_cast<uint16_t>(i * 10), static_cast<uint16_t>(i * 10 + 15)}}}};
    if (i % 4 == 0) r.target_tags = {static_cast<uint32_t>(i % 3)};
    rules.push_back(r);
  }
  std::vector<Nic> nics{Nic{{0}, {}}, Nic{{1}, {}}, Nic{{2}, {}}, Nic{}};
  Compiled c(rules, nics);
  const Classifier& clf = c.classifier();
  std::vector<Classifier::Query> queries;
  for (uint32_t i = 0; i < 150; ++i) {
    queries.push_back(Classifier::Query{Tcp("10.0.0.1", "10.0.0.2", static_cast<uint16_t>(i * 3)),
                                        clf.TargetClass(i % 4), kNoSourceClass});
  }
  for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
    std::vector<Decision> burst(queries.size());
    clf.ClassifyBurst(dir, queries, burst.data());
    for (size_t i = 0; i < queries.size(); ++i) {
      Decision single =
          clf.Classify(dir, queries[i].target_class, queries[i].source_class, queries[i].key);
      EXPECT_EQ(burst[i].rule, single.rule) << i;
      EXPECT_EQ(burst[i].action, single.action) << i;
      c.Winner(dir, queries[i].key, i % 4);
    }
  }
}

// ---- Random configurations ------------------------------------------------------------------

uint64_t SeedFromEnvironment() {
  const char* text = std::getenv("SVPC_SEED");
  uint64_t seed =
      text != nullptr
          ? std::strtoull(text, nullptr, 0)
          : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::printf("SVPC_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t percent) { return Below(100) < percent; }
  uint32_t U32() { return static_cast<uint32_t>(rng_()); }

  std::vector<uint32_t> Ids(uint32_t universe, uint32_t max_count) {
    std::vector<uint32_t> ids;
    uint32_t count = Below(max_count + 1);
    for (uint32_t i = 0; i < count; ++i) ids.push_back(Below(universe));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  Prefix RandomPrefix() {
    static const char* const kPool[] = {
        "0.0.0.0/0",      "10.0.0.0/8",         "10.1.0.0/16", "10.1.2.0/24",
        "10.1.2.3/32",    "10.1.2.128/25",      "10.2.0.0/16", "192.168.0.0/16",
        "192.168.1.0/24", "172.16.0.0/12",      "10.1.3.0/24", "35.1.2.0/24",
        "128.0.0.0/1",    "255.255.255.255/32", "0.0.0.0/32",  "255.255.255.254/32"};
    if (Chance(70)) return P(kPool[Below(std::size(kPool))]);
    uint8_t len = static_cast<uint8_t>(Below(33));
    Ipv4 addr = (10u << 24) | (Below(4) << 16) | (Below(8) << 8) | Below(256);
    if (Chance(20)) addr = U32();
    return Prefix{addr & Prefix::MaskOf(len), len};
  }

  std::vector<Prefix> Prefixes(uint32_t max_count) {
    std::vector<Prefix> out;
    uint32_t count = 1 + Below(max_count);
    for (uint32_t i = 0; i < count; ++i) out.push_back(RandomPrefix());
    return out;
  }

  PortRange RandomPorts() {
    static const PortRange kPool[] = {{22, 22},     {80, 80},       {443, 443},    {1000, 2000},
                                      {0, 0},       {65535, 65535}, {0, 65535},    {1500, 1500},
                                      {1999, 3000}, {443, 8443},    {60000, 65534}};
    if (Chance(75)) return kPool[Below(std::size(kPool))];
    uint16_t first = static_cast<uint16_t>(Below(65536));
    uint16_t last = static_cast<uint16_t>(std::min<uint32_t>(65535, first + Below(200)));
    return PortRange{first, last};
  }

  ProtocolMatch RandomProtocol() {
    static const int16_t kPool[] = {-1, -1, kTcp, kTcp, kTcp, kUdp, kUdp, kIcmp, kSctp, 47};
    ProtocolMatch m;
    m.protocol = Chance(90) ? kPool[Below(std::size(kPool))] : static_cast<int16_t>(Below(256));
    bool ports_likely = m.protocol == kTcp || m.protocol == kUdp || m.protocol == kSctp;
    if (Chance(ports_likely ? 55 : 8)) {
      uint32_t count = 1 + Below(3);
      for (uint32_t i = 0; i < count; ++i) m.ports.push_back(RandomPorts());
    }
    return m;
  }

  Rule RandomRule(uint32_t serial) {
    static const uint32_t kPriorities[] = {0, 1, 500, 1000, 1000, 1000, 1000, 65534, 65535};
    Rule r;
    r.name = "rule-" + std::to_string(serial) + "-" + std::to_string(U32() % 1000);
    r.direction = Chance(50) ? Direction::kIngress : Direction::kEgress;
    r.priority = Chance(90) ? kPriorities[Below(std::size(kPriorities))] : Below(65536);
    r.action = Chance(50) ? Action::kAllow : Action::kDeny;
    uint32_t protocols = Chance(5) ? 0 : 1 + Below(3);
    for (uint32_t i = 0; i < protocols; ++i) r.protocols.push_back(RandomProtocol());
    if (r.direction == Direction::kIngress) {
      if (Chance(50)) r.source_ranges = Prefixes(3);
      if (Chance(30)) r.source_tags = Ids(kTags, 2);
      if (Chance(20)) r.source_service_accounts = Ids(kServiceAccounts, 2);
      if (Chance(20)) r.destination_ranges = Prefixes(2);
    } else {
      if (Chance(70)) r.destination_ranges = Prefixes(3);
      if (Chance(20)) r.source_ranges = Prefixes(2);
    }
    uint32_t target = Below(100);
    if (target < 40) r.target_tags = Ids(kTags, 2);
    if ((target >= 40 && target < 60) || target >= 95) {
      r.target_service_accounts = Ids(kServiceAccounts, 2);
    }
    return r;
  }

  Nic RandomNic() { return Nic{Ids(kTags, 3), Ids(kServiceAccounts, 2)}; }

  // An address near the edges of a range the rules name, or anywhere.
  Ipv4 Address(const std::vector<Rule>& rules) {
    uint32_t pick = Below(10);
    if (pick < 6 && !rules.empty()) {
      const Rule& r = rules[Below(static_cast<uint32_t>(rules.size()))];
      const std::vector<Prefix>& ranges = Chance(50) ? r.source_ranges : r.destination_ranges;
      if (!ranges.empty()) {
        const Prefix& p = ranges[Below(static_cast<uint32_t>(ranges.size()))];
        switch (Below(5)) {
          case 0:
            return p.First();
          case 1:
            return p.Last();
          case 2:
            return p.First() - 1;
          case 3:
            return p.Last() + 1;
          default:
            return p.First() + static_cast<uint32_t>(U32() % p.Size());
        }
      }
    }
    static const char* const kAddresses[] = {"10.1.2.3",  "10.1.2.4",        "192.168.1.1",
                                             "0.0.0.0",   "255.255.255.255", "10.1.2.200",
                                             "172.20.0.1"};
    if (pick < 8) return Ip(kAddresses[Below(std::size(kAddresses))]);
    return U32();
  }

  FlowKey Packet(const std::vector<Rule>& rules) {
    FlowKey key;
    key.src = Address(rules);
    key.dst = Address(rules);
    const ProtocolMatch* m = nullptr;
    if (!rules.empty() && Chance(75)) {
      const Rule& r = rules[Below(static_cast<uint32_t>(rules.size()))];
      if (!r.protocols.empty()) m = &r.protocols[Below(static_cast<uint32_t>(r.protocols.size()))];
    }
    static const uint8_t kProtocols[] = {kTcp, kUdp, kIcmp, kSctp, 47, 0, 255};
    key.protocol = m != nullptr && m->protocol >= 0 && m->protocol <= 255
                       ? static_cast<uint8_t>(m->protocol)
                       : (Chance(85) ? kProtocols[Below(std::size(kProtocols))]
                                     : static_cast<uint8_t>(Below(256)));
    key.has_ports = Chance(80);
    key.src_port = static_cast<uint16_t>(U32());
    if (m != nullptr && !m->ports.empty() && Chance(70)) {
      const PortRange& pr = m->ports[Below(static_cast<uint32_t>(m->ports.size()))];
      uint32_t candidates[] = {pr.first, pr.last, pr.first - 1u, pr.last + 1u,
                               pr.first + Below(pr.last - pr.first + 1u)};
      key.dst_port = static_cast<uint16_t>(candidates[Below(5)]);
    } else {
      static const uint16_t kPorts[] = {22, 80, 443, 0, 65535, 1000, 2000};
      key.dst_port = Chance(60) ? kPorts[Below(std::size(kPorts))] : static_cast<uint16_t>(U32());
    }
    if (!key.has_ports && Chance(50)) key.dst_port = 0;
    return key;
  }

  // Tag and service account universes of the current configuration: small ones make many
  // rules and NICs share labels; large ones make many classes.
  uint32_t kTags = 8;
  uint32_t kServiceAccounts = 5;

 private:
  std::mt19937_64 rng_;
};

// Compares classifier and reference on `packets` random packets; returns mismatches.
uint64_t Differential(Random& random, const std::vector<Rule>& rule_list,
                      const std::vector<Nic>& nics, const Classifier& clf, uint32_t packets,
                      uint64_t seed, uint32_t config) {
  RuleSet set(rule_list);
  std::vector<std::vector<uint32_t>> applicable[2];
  for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
    for (const Nic& n : nics) {
      applicable[static_cast<int>(dir)].push_back(set.RulesFor(dir, n.identity()));
    }
  }
  uint64_t mismatches = 0;
  constexpr uint32_t kBurst = 48;
  std::vector<Classifier::Query> queries;
  std::vector<Decision> expected;
  std::vector<Decision> got(kBurst);
  for (uint32_t done = 0; done < packets; done += kBurst) {
    Direction dir = random.Chance(50) ? Direction::kIngress : Direction::kEgress;
    bool burst = random.Chance(50);
    queries.clear();
    expected.clear();
    for (uint32_t i = 0; i < kBurst; ++i) {
      uint32_t target = random.Below(static_cast<uint32_t>(nics.size()));
      int remote = random.Chance(50)
                       ? static_cast<int>(random.Below(static_cast<uint32_t>(nics.size())))
                       : -1;
      FlowKey key = random.Packet(rule_list);
      Identity remote_identity;
      if (remote >= 0) remote_identity = nics[remote].identity();
      expected.push_back(set.Evaluate(dir, applicable[static_cast<int>(dir)][target], key,
                                      remote >= 0 ? &remote_identity : nullptr));
      queries.push_back(Classifier::Query{key, clf.TargetClass(target),
                                          remote >= 0 ? clf.SourceClass(remote) : kNoSourceClass});
    }
    if (burst) {
      clf.ClassifyBurst(dir, queries, got.data());
    } else {
      for (uint32_t i = 0; i < kBurst; ++i) {
        got[i] =
            clf.Classify(dir, queries[i].target_class, queries[i].source_class, queries[i].key);
      }
    }
    for (uint32_t i = 0; i < kBurst; ++i) {
      if (got[i].rule == expected[i].rule && got[i].action == expected[i].action) continue;
      if (++mismatches <= 5) {
        const FlowKey& k = queries[i].key;
        ADD_FAILURE() << "SVPC_SEED=" << seed << " config " << config << " "
                      << (dir == Direction::kIngress ? "ingress" : "egress") << " "
                      << FormatIpv4(k.src) << " > " << FormatIpv4(k.dst) << " proto "
                      << int{k.protocol} << " ports " << k.has_ports << " dport " << k.dst_port
                      << " tclass " << queries[i].target_class << " sclass "
                      << queries[i].source_class << (burst ? " burst" : " single")
                      << ": classifier " << DecisionText(set, dir, got[i]) << " reference "
                      << DecisionText(set, dir, expected[i]);
      }
    }
  }
  return mismatches;
}

// The acceptance test: >= 1,000,000 random packets over random configurations (up to 300 rules,
// so rows span several words), classifier and reference agreeing on action and rule index for
// every one, also after configuration changes (a rule added, removed or edited, a NIC's
// identity changed) rebuilt from scratch as the control plane does.
TEST(ClassifierDifferential, AgreesWithReferenceOnRandomConfigurations) {
  const uint64_t seed = SeedFromEnvironment();
  RecordProperty("SVPC_SEED", std::to_string(seed));
  Random random(seed);
  uint64_t packets = 0;
  uint64_t mismatches = 0;
  uint32_t config = 0;
  uint32_t serial = 0;
  constexpr uint64_t kPackets = 1'000'000;
  while (packets < kPackets && mismatches == 0) {
    ++config;
    random.kTags = random.Chance(80) ? 8 : 100;
    random.kServiceAccounts = random.Chance(80) ? 5 : 40;
    std::vector<Rule> rules;
    uint32_t size = random.Below(10);
    uint32_t rule_count = size == 0  ? random.Below(4)
                          : size < 7 ? 1 + random.Below(60)
                                     : 60 + random.Below(240);
    for (uint32_t i = 0; i < rule_count; ++i) rules.push_back(random.RandomRule(serial++));
    std::vector<Nic> nics;
    uint32_t nic_count = 1 + random.Below(random.kTags > 8 ? 40 : 10);
    for (uint32_t i = 0; i < nic_count; ++i) nics.push_back(random.RandomNic());

    for (int round = 0; round < 3 && mismatches == 0; ++round) {
      if (round > 0) {  // a configuration change, then a new Build
        uint32_t changes = 1 + random.Below(3);
        for (uint32_t k = 0; k < changes; ++k) {
          uint32_t what = random.Below(10);
          if (what < 3 || rules.empty()) {
            rules.insert(rules.begin() + random.Below(static_cast<uint32_t>(rules.size()) + 1),
                         random.RandomRule(serial++));
          } else if (what < 5) {
            rules.erase(rules.begin() + random.Below(static_cast<uint32_t>(rules.size())));
          } else if (what < 9) {
            Rule& r = rules[random.Below(static_cast<uint32_t>(rules.size()))];
            Rule fresh = random.RandomRule(serial++);
            fresh.name = r.name;
            if (random.Chance(50)) fresh.direction = r.direction;
            r = fresh;
          } else {
            nics[random.Below(static_cast<uint32_t>(nics.size()))] = random.RandomNic();
          }
        }
      }
      std::string error;
      RuleSet set(rules);
      std::unique_ptr<Classifier> clf = Classifier::Build(set, IdentitiesOf(nics), &error);
      ASSERT_NE(clf, nullptr) << error;
      const uint32_t per_round = 2400;
      mismatches += Differential(random, rules, nics, *clf, per_round, seed, config);
      packets += per_round;
    }
  }
  std::printf("%llu packets over %u configurations, %llu mismatches\n",
              static_cast<unsigned long long>(packets), config,
              static_cast<unsigned long long>(mismatches));
  EXPECT_EQ(mismatches, 0u) << "replay with SVPC_SEED=" << seed;
  EXPECT_GE(packets, kPackets);
}

// Large rule sets: rows of many words, many address intervals, early and late matches.
TEST(ClassifierDifferential, TwoThousandRules) {
  Random random(12345);
  random.kTags = 30;
  random.kServiceAccounts = 10;
  std::vector<Rule> rules;
  for (uint32_t i = 0; i < 2000; ++i) rules.push_back(random.RandomRule(i));
  std::vector<Nic> nics;
  for (uint32_t i = 0; i < 100; ++i) nics.push_back(random.RandomNic());
  std::string error;
  RuleSet set(rules);
  auto clf = Classifier::Build(set, IdentitiesOf(nics), &error);
  ASSERT_NE(clf, nullptr) << error;
  EXPECT_GT(clf->stats().row_words[0], 10u);
  EXPECT_EQ(Differential(random, rules, nics, *clf, 50000, 12345, 0), 0u);
}

TEST(Classifier, TablesOverTheByteBudgetAreAnError) {
  Random random(7);
  std::vector<Rule> rules;
  for (uint32_t i = 0; i < 500; ++i) rules.push_back(random.RandomRule(i));
  RuleSet set(rules);
  std::vector<Identity> nics{Identity{}};
  std::string error;
  EXPECT_EQ(Classifier::Build(set, nics, &error, ClassifierOptions{4096}), nullptr);
  EXPECT_NE(error.find("would exceed 4096 bytes"), std::string::npos) << error;
  auto clf = Classifier::Build(set, nics, &error);
  ASSERT_NE(clf, nullptr);
  EXPECT_LT(clf->stats().bytes, size_t{1} << 30);
}

}  // namespace
}  // namespace svpc::firewall
