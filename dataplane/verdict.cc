#include "dataplane/verdict.h"

namespace svpc::dataplane {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kDeliver:
      return "DELIVER";
    case Verdict::kForward:
      return "FORWARD";
    case Verdict::kLocal:
      return "LOCAL";
    case Verdict::kDrop:
      return "DROP";
  }
  return "?";
}

const char* DropCauseName(DropCause c) {
  switch (c) {
    case DropCause::kNone:
      return "NONE";
    case DropCause::kMalformedPacket:
      return "MALFORMED_PACKET";
    case DropCause::kUnsupportedProtocol:
      return "UNSUPPORTED_PROTOCOL";
    case DropCause::kUnknownSource:
      return "UNKNOWN_SOURCE";
    case DropCause::kForeignIpDisallowed:
      return "FOREIGN_IP_DISALLOWED";
    case DropCause::kFirewallRule:
      return "FIREWALL_RULE";
    case DropCause::kNoRoute:
      return "NO_ROUTE";
    case DropCause::kUnknownInternalAddress:
      return "UNKNOWN_INTERNAL_ADDRESS";
    case DropCause::kTrafficTypeBlocked:
      return "TRAFFIC_TYPE_BLOCKED";
    case DropCause::kNoExternalAddress:
      return "NO_EXTERNAL_ADDRESS";
    case DropCause::kMtuExceeded:
      return "MTU_EXCEEDED";
    case DropCause::kNextHopNotInTestbed:
      return "NEXT_HOP_NOT_IN_TESTBED";
    case DropCause::kTxFailed:
      return "TX_FAILED";
    case DropCause::kConntrackTableFull:
      return "CONNTRACK_TABLE_FULL";
  }
  return "?";
}

}  // namespace svpc::dataplane
