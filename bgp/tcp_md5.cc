#include "bgp/tcp_md5.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace svpc::bgp {

std::string SetTcpMd5Key(int fd, Ipv4 peer, std::string_view key) {
  if (key.size() > kTcpMd5MaxKeyLength) {
    return "TCP MD5 key of " + std::to_string(key.size()) + " octets (at most " +
           std::to_string(kTcpMd5MaxKeyLength) + ")";
  }
  struct tcp_md5sig md5;
  std::memset(&md5, 0, sizeof(md5));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(peer);
  std::memcpy(&md5.tcpm_addr, &addr, sizeof(addr));
  md5.tcpm_keylen = static_cast<uint16_t>(key.size());
  std::memcpy(md5.tcpm_key, key.data(), key.size());
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)) != 0) {
    int err = errno;
    // Removing a key that was never installed is not an error worth reporting.
    if (key.empty() && err == ENOENT) return {};
    return std::string("setsockopt(TCP_MD5SIG) for ") + FormatIpv4(peer) + ": " +
           std::strerror(err);
  }
  return {};
}

}  // namespace svpc::bgp
