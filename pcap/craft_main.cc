// svpc-craft TRAFFIC_JSON OUT_DIR: writes OUT_DIR/<port>.pcap for every port in the traffic
// description (format in pcap/README.md).
// Exit codes: 0 done, 1 output could not be written, 2 bad usage or bad traffic description.

#include <cstdio>
#include <string>
#include <string_view>

#include "pcap/craft.h"

namespace {

constexpr int kExitOutputError = 1;
constexpr int kExitInputError = 2;

void PrintUsage(std::FILE* to) {
  std::fputs(
      "usage: svpc-craft TRAFFIC_JSON OUT_DIR\n"
      "Writes OUT_DIR/<port>.pcap (Ethernet, nanosecond timestamps) for every port named in\n"
      "TRAFFIC_JSON. The format is described in pcap/README.md.\n",
      to);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    PrintUsage(stdout);
    return 0;
  }
  if (argc != 3) {
    PrintUsage(stderr);
    return kExitInputError;
  }
  svpc::pcap::CraftedTraffic traffic;
  std::string error;
  if (!svpc::pcap::CraftFile(argv[1], traffic, &error)) {
    std::fprintf(stderr, "svpc-craft: %s\n", error.c_str());
    return kExitInputError;
  }
  if (!svpc::pcap::WritePortCaptures(traffic, argv[2], &error)) {
    std::fprintf(stderr, "svpc-craft: %s\n", error.c_str());
    return kExitOutputError;
  }
  for (const auto& [port, packets] : traffic) {
    std::printf("%s/%s.pcap: %zu packets\n", argv[2], port.c_str(), packets.size());
  }
  return 0;
}
