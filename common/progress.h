#pragma once
// Progress of a long operation (a big replay, loading a big configuration, `svpc bench`) on a
// terminal: one line rewritten in place, and nothing at all when the stream is not a terminal
// (piped, redirected, CI logs).

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace svpc {

// One line of status rewritten in place on a terminal (a step's name, a count); nothing at all
// when the stream is not a terminal or `on` is false. Cleared when it goes.
class StatusLine {
 public:
  explicit StatusLine(FILE* out = stderr, bool on = true)
      : out_(out), enabled_(on && out != nullptr && isatty(fileno(out)) == 1) {}
  ~StatusLine() { Clear(); }
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  bool enabled() const { return enabled_; }

  void Show(const std::string& text) {
    if (!enabled_) return;
    std::fprintf(out_, "\r%s\x1b[K", text.c_str());
    std::fflush(out_);
    shown_ = true;
  }

  // Clears the line (the caller prints its own summary).
  void Clear() {
    if (!enabled_ || !shown_) return;
    std::fprintf(out_, "\r\x1b[K");
    std::fflush(out_);
    shown_ = false;
  }

 private:
  FILE* out_;
  bool enabled_;
  bool shown_ = false;
};

// Counted progress: "replay: 1,200,000 / 5,000,000 packets (24%)", at most every 100 ms.
class Progress {
 public:
  Progress(std::string what, uint64_t total, std::string unit, FILE* out = stderr)
      : what_(std::move(what)), unit_(std::move(unit)), total_(total), line_(out) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return line_.enabled(); }

  void Update(uint64_t done) {
    if (!line_.enabled()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;  // the first one shows: last_ is 0
    last_ = now;
    const unsigned percent = total_ == 0 ? 100 : static_cast<unsigned>(done * 100 / total_);
    line_.Show(what_ + ": " + Grouped(done) + " / " + Grouped(total_) + " " + unit_ + " (" +
               std::to_string(percent) + "%)");
  }

  // Clears the line (the caller prints its own summary).
  void Finish() {
    line_.Clear();
    last_ = {};
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
  StatusLine line_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace svpc
