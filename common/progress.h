#pragma once
// Progress of a long operation (a big replay, loading a big configuration) on a terminal:
// "replay: 1,200,000 / 5,000,000 packets (24%)" rewritten in place at most every 100 ms, and
// nothing at all when the stream is not a terminal (piped, redirected, CI logs).

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace svpc {

class Progress {
 public:
  Progress(std::string what, uint64_t total, std::string unit, FILE* out = stderr)
      : what_(std::move(what)),
        unit_(std::move(unit)),
        total_(total),
        out_(out),
        enabled_(out != nullptr && isatty(fileno(out)) == 1) {}
  ~Progress() { Finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }

  void Update(uint64_t done) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    shown_ = true;
    const unsigned percent = total_ == 0 ? 100 : static_cast<unsigned>(done * 100 / total_);
    std::fprintf(out_, "\r%s: %s / %s %s (%u%%)\x1b[K", what_.c_str(), Grouped(done).c_str(),
                 Grouped(total_).c_str(), unit_.c_str(), percent);
    std::fflush(out_);
  }

  // Clears the line (the caller prints its own summary).
  void Finish() {
    if (!enabled_ || !shown_) return;
    std::fprintf(out_, "\r\x1b[K");
    std::fflush(out_);
    shown_ = false;
  }

 private:
  // 1234567 -> "1,234,567" (built back to front: GCC 12 warns wrongly on string::insert here).
  static std::string Grouped(uint64_t n) {
    std::string out;
    int digits = 0;
    do {
      if (digits > 0 && digits % 3 == 0) out.push_back(',');
      out.push_back(static_cast<char>('0' + n % 10));
      n /= 10;
      ++digits;
    } while (n > 0);
    return std::string(out.rbegin(), out.rend());
  }

  std::string what_;
  std::string unit_;
  uint64_t total_;
  FILE* out_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace svpc
