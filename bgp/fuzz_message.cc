// libFuzzer target for the BGP decoder: the input is a byte stream as read from a peer, split
// into messages by CheckFrame and decoded under the three session contexts that change decoding
// (4-octet eBGP, 4-octet iBGP, 2-octet eBGP). Built only with clang (bgp/CMakeLists.txt):
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14
//   cmake --build build-fuzz --target bgp_fuzz_message
//   build-fuzz/bgp/bgp_fuzz_message -max_total_time=60 bgp/fuzz_corpus
// Sanitizers find memory errors; the checks below turn broken contracts into crashes.

#include <cstdint>
#include <cstdlib>
#include <span>

#include "bgp/message.h"

namespace {

using svpc::bgp::DecodeContext;
using svpc::bgp::ErrorAction;

constexpr DecodeContext kContexts[] = {
    {true, true, 65002},   // 4-octet AS, external peer AS 65002
    {true, false, 0},      // 4-octet AS, internal peer
    {false, true, 65002},  // 2-octet AS (AS4_PATH), external peer
};

void Check(bool condition) {
  if (!condition) std::abort();
}

void DecodeOne(std::span<const uint8_t> frame) {
  for (const auto& context : kContexts) {
    auto result = svpc::bgp::DecodeMessage(frame, context);
    // Exactly one of: a message, or a NOTIFICATION to send.
    Check(result.message.has_value() == (result.action != ErrorAction::kSessionReset));
    Check((result.action == ErrorAction::kNone) == result.error.empty());
    if (result.action == ErrorAction::kSessionReset) Check(result.notification.code != 0);
    if (result.message && result.action == ErrorAction::kNone) {
      // Whatever decodes cleanly encodes again without trouble.
      auto bytes = svpc::bgp::EncodeMessage(*result.message, {context.four_octet_as});
      Check(bytes.size() >= svpc::bgp::kHeaderSize);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> stream(data, size);
  DecodeOne(stream);  // the whole input as one frame
  while (!stream.empty()) {
    auto check = svpc::bgp::CheckFrame(stream);
    if (check.error || check.length == 0 || check.length > stream.size()) break;
    Check(check.length >= svpc::bgp::kHeaderSize && check.length <= svpc::bgp::kMaxMessageSize);
    DecodeOne(stream.first(check.length));
    stream = stream.subspan(check.length);
  }
  return 0;
}
