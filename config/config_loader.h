#pragma once
// Loads a configuration directory (Compute Engine REST JSON, gcloud list output, Cloud Asset
// Inventory NDJSON, plus shared-vpc.json and testbed.json) into a validated Config. The format is
// described in control/README.md.

#include <filesystem>
#include <string>
#include <vector>

#include "config/config_issue.h"
#include "config/model.h"

namespace svpc::config {

// `config` is usable only when ok(): a configuration with any error is never half-loaded (the
// loader then leaves `config` empty).
struct LoadResult {
  Config config;
  std::vector<ConfigIssue> errors;
  std::vector<ConfigIssue> warnings;
  bool ok() const { return errors.empty(); }
};

// Loads and validates every file of `dir`. Collects every issue it can find rather than stopping at
// the first; never throws for bad input. Cost: linear in the input, plus O(n log n) range checks.
LoadResult LoadConfig(const std::filesystem::path& dir);

}  // namespace svpc::config
