#pragma once
// One problem found in a configuration, and the list the loader and validator fill.

#include <string>
#include <vector>

namespace svpc::config {

// `file` is relative to the configuration directory; `resource` is the canonical reference of the
// resource at fault (or its name, or "line N" / "item N" when it has none yet); `field` is a JSON
// path inside the resource ("networkInterfaces[0].networkIP"). Empty parts are omitted when
// formatted.
struct ConfigIssue {
  std::string file;
  std::string resource;
  std::string field;
  std::string reason;
  bool operator==(const ConfigIssue&) const = default;
};

// "file: resource: field: reason", skipping empty parts.
std::string FormatIssue(const ConfigIssue& issue);

// Errors and warnings collected in order of discovery.
struct IssueList {
  std::vector<ConfigIssue> errors;
  std::vector<ConfigIssue> warnings;

  void Error(std::string file, std::string resource, std::string field, std::string reason) {
    errors.push_back({std::move(file), std::move(resource), std::move(field), std::move(reason)});
  }
  void Warning(std::string file, std::string resource, std::string field, std::string reason) {
    warnings.push_back({std::move(file), std::move(resource), std::move(field), std::move(reason)});
  }
};

}  // namespace svpc::config
