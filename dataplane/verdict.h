#pragma once
// What happened to a packet: the verdict, and for drops the cause. Cause names follow Google's
// Connectivity Tests vocabulary where one fits, so GCP users read them without a glossary.

#include <cstdint>

#include <boost/describe/enum.hpp>

#include "common/enum_names.h"

namespace svpc::dataplane {

enum class Verdict : uint8_t {
  kDeliver,  // to an instance NIC
  kForward,  // out of the VPC (VPN tunnel, VLAN attachment, internet) or to a next-hop instance
  kLocal,    // answered or consumed by the fabric itself (ARP)
  kDrop,
};
BOOST_DESCRIBE_ENUM(Verdict, kDeliver, kForward, kLocal, kDrop)
inline constexpr int kVerdictCount = kEnumCount<Verdict>;

// Every enumerator is also listed in BOOST_DESCRIBE_ENUM below: that list gives the names and
// kDropCauseCount.
enum class DropCause : uint8_t {
  kNone,
  kMalformedPacket,         // truncated or inconsistent headers, bad IPv4 header checksum
  kUnsupportedProtocol,     // EtherType other than IPv4 / ARP / 802.1Q (IPv6 is not emulated)
  kUnknownSource,           // no testbed endpoint for (port, VLAN, source MAC)
  kForeignIpDisallowed,     // spoofed source, or a destination the NIC does not own, without
                            // canIpForward
  kFirewallRule,            // an egress or ingress firewall rule (or implied rule) denied it
  kNoRoute,                 // no applicable route in the network
  kUnknownInternalAddress,  // a subnet route matched but no NIC holds the address
  kTrafficTypeBlocked,      // broadcast/multicast, or TCP 25 to outside the VPC
  kNoExternalAddress,       // to the internet from a NIC without an external IP
  kMtuExceeded,             // IPv4 total length above the network's MTU
  kNextHopNotInTestbed,     // the next hop exists in GCP terms but the testbed wires it nowhere
  kTxFailed,                // the output port's queue was full
  kConntrackTableFull,      // a new connection while the connection table is at capacity
};
BOOST_DESCRIBE_ENUM(DropCause, kNone, kMalformedPacket, kUnsupportedProtocol, kUnknownSource,
                    kForeignIpDisallowed, kFirewallRule, kNoRoute, kUnknownInternalAddress,
                    kTrafficTypeBlocked, kNoExternalAddress, kMtuExceeded, kNextHopNotInTestbed,
                    kTxFailed, kConntrackTableFull)
inline constexpr int kDropCauseCount = kEnumCount<DropCause>;

// "DELIVER", "FIREWALL_RULE", ...: the enumerator's name (common/enum_names.h).
inline const char* VerdictName(Verdict v) { return EnumName(v); }
inline const char* DropCauseName(DropCause c) { return EnumName(c); }

}  // namespace svpc::dataplane
