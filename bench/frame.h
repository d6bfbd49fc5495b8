#pragma once
// The benchmark's frames: Ethernet, IPv4 (checksum set, DF), then TCP (data offset 5, the given
// flags, a 64 KiB window) or UDP, zero payload up to `size` bytes (FCS excluded). Shared by
// svpc-bench (64-byte frames in ring-backed mbufs) and `svpc bench` (frames in pcap files).

#include <cstdint>

#include "bench/workload.h"

namespace svpc::bench {

inline constexpr uint16_t kMinFrameBytes = 64;  // 14 + 20 + 20 and padding to Ethernet's 60
// The network's MTU (GCP's default, 1,460 bytes of IP) plus the Ethernet header: larger frames
// are MTU_EXCEEDED drops, as in GCP.
inline constexpr uint16_t kMaxFrameBytes = 14 + 1460;

// Writes `size` bytes at `p` (kMinFrameBytes <= size <= kMaxFrameBytes). The IP id is the low
// 16 bits of `serial`, the TCP sequence number serial * 7919.
void BuildFrame(uint8_t* p, const FlowSpec& f, uint8_t tcp_flags, uint32_t serial, uint16_t size);

}  // namespace svpc::bench
