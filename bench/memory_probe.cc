#include "bench/memory_probe.h"

#include <rte_cycles.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

namespace svpc::bench {
namespace {

constexpr size_t kStride = 512;  // one line per 512 bytes: no two probes share a line or prefetch

void* MapRegion(size_t bytes, bool huge) noexcept {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | (huge ? MAP_HUGETLB : 0), -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // Transparent hugepages would make the "4 KiB" case something else.
  if (!huge) madvise(p, bytes, MADV_NOHUGEPAGE);
  return p;
}

// Links every kStride-th line of the region into one random cycle, then follows `chains`
// pointers through it in lock step. TSC cycles per load.
double Chase(char* base, size_t bytes, size_t loads, int chains,
             const std::vector<uint32_t>& order) noexcept {
  const size_t n = bytes / kStride;
  for (size_t i = 0; i < n; ++i) {
    *reinterpret_cast<char**>(base + order[i] * kStride) = base + order[(i + 1) % n] * kStride;
  }
  char* p[16];
  for (int c = 0; c < chains; ++c) p[c] = base + order[n / chains * c] * kStride;
  const size_t steps = loads / chains;
  const uint64_t start = rte_rdtsc_precise();
  for (size_t s = 0; s < steps; ++s) {
    for (int c = 0; c < chains; ++c) p[c] = *reinterpret_cast<char* volatile*>(p[c]);
  }
  const uint64_t cycles = rte_rdtsc_precise() - start;
  return static_cast<double>(cycles) / static_cast<double>(steps * chains);
}

}  // namespace

MemoryProbe ProbeMemory(size_t bytes, size_t loads) noexcept {
  MemoryProbe probe;
  probe.bytes = bytes;
  std::vector<uint32_t> order(bytes / kStride);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
  for (bool huge : {false, true}) {
    void* region = MapRegion(bytes, huge);
    if (region == nullptr) continue;
    char* base = static_cast<char*>(region);
    (huge ? probe.dependent_2m : probe.dependent_4k) = Chase(base, bytes, loads, 1, order);
    (huge ? probe.parallel16_2m : probe.parallel16_4k) = Chase(base, bytes, loads, 16, order);
    munmap(region, bytes);
  }
  return probe;
}

std::string Describe(const MemoryProbe& probe, double tsc_hz) {
  const double ns = 1e9 / tsc_hz;
  char text[320];
  int n = std::snprintf(text, sizeof(text),
                        "random reads over %zu MiB: one at a time %.0f cycles (%.0f ns) each, 16 "
                        "at a time %.0f each, on 4 KiB pages",
                        probe.bytes >> 20, probe.dependent_4k, probe.dependent_4k * ns,
                        probe.parallel16_4k);
  if (probe.dependent_2m >= 0 && n > 0 && static_cast<size_t>(n) < sizeof(text)) {
    std::snprintf(text + n, sizeof(text) - n, "; %.0f (%.0f ns) and %.0f on 2 MiB pages",
                  probe.dependent_2m, probe.dependent_2m * ns, probe.parallel16_2m);
  }
  return text;
}

}  // namespace svpc::bench
