#include "cli/command_support.h"

#include "control/eal_setup.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;

bool LoadForCommand(const std::string& dir, LoadResult* loaded, std::ostream& err,
                    const std::string& consequence) {
  *loaded = LoadConfig(dir);
  for (const ConfigIssue& w : loaded->warnings) err << "warning: " << FormatIssue(w) << '\n';
  if (loaded->errors.empty()) return true;
  for (const ConfigIssue& e : loaded->errors) err << "error: " << FormatIssue(e) << '\n';
  err << loaded->errors.size() << " error(s)" << consequence << '\n';
  return false;
}

bool StartEalForCommand(const std::string& program, const std::vector<std::string>& eal_args,
                        const Config& config, std::ostream& err) {
  EalRequest eal;
  eal.program = program;
  eal.user_args = eal_args;
  eal.networks = static_cast<uint32_t>(config.networks.size());
  std::string error;
  if (InitEal(eal, &error)) return true;
  err << "error: " << error << '\n';
  return false;
}

}  // namespace svpc::cli
