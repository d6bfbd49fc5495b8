#pragma once
// What the `svpc` subcommands that compile a configuration share: loading it with its issues
// printed as `svpc validate` prints them, and starting DPDK's EAL.

#include <ostream>
#include <string>
#include <vector>

#include "config/config_loader.h"

namespace svpc::cli {

// LoadConfig(dir) with every warning and error printed to `err` ("warning: FILE: ..."); false
// when there are errors (then also "N error(s)" followed by `consequence`, e.g. "; nothing
// replayed").
bool LoadForCommand(const std::string& dir, config::LoadResult* loaded, std::ostream& err,
                    const std::string& consequence = "");

// InitEal for `program` with the user's EAL options and the configuration's network count;
// prints the reason to `err` and returns false when DPDK does not start.
bool StartEalForCommand(const std::string& program, const std::vector<std::string>& eal_args,
                        const config::Config& config, std::ostream& err);

}  // namespace svpc::cli
