#include "bgp/speaker_config.h"

#include <set>

#include "bgp/tcp_md5.h"

namespace svpc::bgp {

std::vector<std::string> ValidateSpeakerConfig(const SpeakerConfig& config) {
  std::vector<std::string> problems;
  if (config.local_asn == 0) problems.push_back("local_asn is 0");
  if (config.router_id == 0) problems.push_back("router_id is 0.0.0.0");
  std::set<std::string> names;
  std::set<Ipv4> addresses;
  for (const auto& peer : config.peers) {
    std::string where = "peer " + (peer.name.empty() ? std::string("(unnamed)") : peer.name);
    if (peer.name.empty()) problems.push_back("a peer has no name");
    if (!names.insert(peer.name).second) problems.push_back(where + ": name used twice");
    if (peer.peer_address == 0) problems.push_back(where + ": peer_address is 0.0.0.0");
    if (!addresses.insert(peer.peer_address).second) {
      problems.push_back(where + ": peer_address " + FormatIpv4(peer.peer_address) +
                         " used by another peer");
    }
    if (peer.peer_asn == 0) problems.push_back(where + ": peer_asn is 0");
    if (peer.peer_port == 0) problems.push_back(where + ": peer_port is 0");
    if (peer.hold_seconds > 65535 || (peer.hold_seconds > 0 && peer.hold_seconds < 3)) {
      problems.push_back(where + ": hold_seconds " + std::to_string(peer.hold_seconds) +
                         " (must be 0 or 3..65535)");
    }
    if (peer.hold_seconds > 0 && peer.keepalive_seconds == 0) {
      problems.push_back(where + ": keepalive_seconds is 0 with a hold time");
    }
    if (peer.connect_retry_seconds == 0) problems.push_back(where + ": connect_retry_seconds is 0");
    if (peer.md5_password.size() > kTcpMd5MaxKeyLength) {
      problems.push_back(where + ": md5_password longer than " +
                         std::to_string(kTcpMd5MaxKeyLength) + " characters");
    }
  }
  return problems;
}

}  // namespace svpc::bgp
