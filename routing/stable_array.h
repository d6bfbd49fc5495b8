#pragma once
// An array whose elements never move: fixed-size chunks allocated on demand, found through a
// chunk table allocated once. Lock-free readers may hold references to elements while the single
// writer grows the array (a chunk is allocated before any index in it is published to readers).
// Capacity: kMaxChunks << kShift elements. Cost: one extra dependent read per access (the chunk
// table lives inside the object: 32 KiB with the defaults).

#include <cstdint>

namespace svpc::routing {

template <typename T, uint32_t kShift = 12, uint32_t kMaxChunks = 4096>
class StableArray {
 public:
  static constexpr uint32_t kChunk = 1u << kShift;
  static constexpr uint64_t kCapacity = uint64_t{kMaxChunks} << kShift;

  StableArray() = default;
  ~StableArray() {
    for (uint32_t c = 0; c < chunks_allocated_; ++c) delete[] chunks_[c];
  }
  StableArray(const StableArray&) = delete;
  StableArray& operator=(const StableArray&) = delete;

  T& operator[](uint32_t i) const noexcept { return chunks_[i >> kShift][i & (kChunk - 1)]; }

  // Writer: makes indices [0, n) valid. False when n exceeds the capacity.
  bool Reserve(uint64_t n) {
    if (n > kCapacity) return false;
    while (uint64_t{chunks_allocated_} << kShift < n) {
      chunks_[chunks_allocated_] = new T[kChunk]();
      ++chunks_allocated_;
    }
    return true;
  }
  uint64_t capacity() const { return uint64_t{chunks_allocated_} << kShift; }

 private:
  T* chunks_[kMaxChunks] = {};  // inline: an access is one load from here, then the element
  uint32_t chunks_allocated_ = 0;
};

}  // namespace svpc::routing
