#pragma once
// Typed, error-reporting access to the fields of a JSON object. Every wrong type becomes an issue
// naming the file, the resource and the field's JSON path, and the field reads as absent, so one
// bad field never hides the others.

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_issue.h"

namespace svpc::config {

// The issues of one resource (or one entry of shared-vpc.json / testbed.json).
class IssueScope {
 public:
  IssueScope(IssueList& issues, std::string file, std::string resource)
      : issues_(issues), file_(std::move(file)), resource_(std::move(resource)) {}

  void Error(std::string field, std::string reason) {
    issues_.Error(file_, resource_, std::move(field), std::move(reason));
    failed_ = true;
  }
  void Warning(std::string field, std::string reason) {
    issues_.Warning(file_, resource_, std::move(field), std::move(reason));
  }
  bool failed() const { return failed_; }
  const std::string& file() const { return file_; }
  const std::string& resource() const { return resource_; }
  void set_resource(std::string resource) { resource_ = std::move(resource); }

 private:
  IssueList& issues_;
  std::string file_;
  std::string resource_;
  bool failed_ = false;
};

// A view of one JSON object at `path` inside a resource. Null fields read as absent.
class JsonFields {
 public:
  JsonFields(const boost::json::object& object, IssueScope& scope, std::string path = "")
      : object_(&object), scope_(&scope), path_(std::move(path)) {}

  const boost::json::value* Get(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key) != nullptr; }
  // "networkInterfaces[0].networkIP" for key "networkIP" in the view of networkInterfaces[0].
  std::string Path(std::string_view key) const;
  void Error(std::string_view key, std::string reason) const {
    scope_->Error(Path(key), std::move(reason));
  }
  void Warning(std::string_view key, std::string reason) const {
    scope_->Warning(Path(key), std::move(reason));
  }
  IssueScope& scope() const { return *scope_; }

  std::optional<std::string> String(std::string_view key) const;
  std::optional<bool> Bool(std::string_view key) const;
  // A JSON integer, or a string of decimal digits (the Compute API encodes 64-bit integers as
  // strings).
  std::optional<int64_t> Int(std::string_view key) const;
  // Absent -> empty list. Elements of the wrong type are reported and skipped.
  std::vector<std::string> StringList(std::string_view key) const;
  std::optional<JsonFields> Object(std::string_view key) const;
  // Absent -> nullptr.
  const boost::json::array* Array(std::string_view key) const;
  // Elements of an array of objects, each with its own path ("allowed[1]"); others are reported.
  // The index of each element is kept so paths stay right when some are skipped.
  std::vector<std::pair<size_t, JsonFields>> ObjectList(std::string_view key) const;

 private:
  const boost::json::object* object_;
  IssueScope* scope_;
  std::string path_;
};

// "must be a string" style name of the JSON kind, for messages: "a string", "a list", ...
std::string_view JsonKindName(const boost::json::value& value);

}  // namespace svpc::config
