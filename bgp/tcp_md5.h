#pragma once
// TCP MD5 signatures (RFC 2385) through Linux's TCP_MD5SIG socket option: one key per peer
// address. On a listening socket the key is inherited by the connections it accepts.

#include <string>
#include <string_view>

#include "common/net_types.h"

namespace svpc::bgp {

// Longest key Linux accepts (TCP_MD5SIG_MAXKEYLEN).
inline constexpr size_t kTcpMd5MaxKeyLength = 80;

// Installs `key` for segments to and from `peer` on socket `fd`; an empty key removes it.
// Returns an empty string, or what failed ("setsockopt(TCP_MD5SIG): Operation not permitted").
std::string SetTcpMd5Key(int fd, Ipv4 peer, std::string_view key);

}  // namespace svpc::bgp
