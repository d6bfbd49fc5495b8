#include "config/config_issue.h"

namespace svpc::config {

std::string FormatIssue(const ConfigIssue& issue) {
  std::string out;
  for (const std::string* part : {&issue.file, &issue.resource, &issue.field, &issue.reason}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ": ";
    out += *part;
  }
  return out;
}

}  // namespace svpc::config
