#pragma once
// Figure 5: a BGP peer announces 100,000 prefixes to a Cloud Router; how long until every one
// is in the data plane's FIB. Both speakers are real (bgp::Speaker over TCP on loopback); the
// Cloud Router side is control::CloudRouters, installing into the compiled snapshot's route
// table with RCU attached, as svpcd does.

#include <cstdint>
#include <vector>

#include "bench/figures.h"

namespace svpc::bench {

struct BgpLoadResult {
  uint32_t prefixes = 0;
  std::vector<double> seconds;           // per repetition: announcement sent -> all in the FIB
  std::vector<double> withdraw_seconds;  // session down -> all gone
  uint32_t verified = 0;                 // lookups checked to hit the learned route
};
BgpLoadResult MeasureBgpLoad(Bench& b, uint32_t prefixes);

}  // namespace svpc::bench
