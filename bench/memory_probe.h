#pragma once
// What this machine's memory costs, printed with svpc-bench's figures so they can be read
// against it: figure 1 touches one or two lines per packet that are not in cache (the mbuf and
// its frame when every flow has its own mbuf, the connection's bucket), so its cycles follow the
// memory's latency and how many misses the core overlaps, which differ widely between a shared
// VM and a lab server.

#include <cstddef>
#include <string>

namespace svpc::bench {

struct MemoryProbe {
  size_t bytes = 0;
  // TSC cycles per load, random cache lines of the region: each load's address from the last
  // (latency), and 16 such chains interleaved (what overlapping misses buys).
  double dependent_4k = 0;
  double parallel16_4k = 0;
  // The same on 2 MiB pages (MAP_HUGETLB); < 0 when no hugepage was free.
  double dependent_2m = -1;
  double parallel16_2m = -1;
};

// `loads` per measurement (2,000,000: about 1.5 s on a shared VM). `bytes` should be well above
// the last-level cache.
MemoryProbe ProbeMemory(size_t bytes, size_t loads) noexcept;

// One line for the report: "random reads over 64 MiB: ...".
std::string Describe(const MemoryProbe& probe, double tsc_hz);

}  // namespace svpc::bench
