#pragma once
// Helpers for the configuration tests: fixture directories built from a base plus overrides, and
// assertions on issues.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "config/config_loader.h"

namespace svpc::config {

inline void PrintTo(const ConfigIssue& issue, std::ostream* out) {
  *out << "{\"" << issue.file << "\", \"" << issue.resource << "\", \"" << issue.field << "\", \""
       << issue.reason << "\"}";
}

inline std::string FixturePath(const std::string& name) {
  return std::string(SVPC_CONFIG_FIXTURES) + "/" + name;
}

inline std::string AllIssues(const LoadResult& result) {
  std::string out;
  for (const ConfigIssue& issue : result.errors) out += "error: " + FormatIssue(issue) + "\n";
  for (const ConfigIssue& issue : result.warnings) out += "warning: " + FormatIssue(issue) + "\n";
  return out;
}

// A temporary copy of a fixture directory (or an empty one) that a test may change.
class TempConfigDir {
 public:
  explicit TempConfigDir(const std::string& base = "hybrid") {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("svpc-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
    if (!base.empty()) {
      std::filesystem::copy(FixturePath(base), path_, std::filesystem::copy_options::recursive);
    }
  }
  ~TempConfigDir() { std::filesystem::remove_all(path_); }
  TempConfigDir(const TempConfigDir&) = delete;
  TempConfigDir& operator=(const TempConfigDir&) = delete;

  // Creates or replaces a file (and its folders).
  TempConfigDir& Write(const std::string& rel, const std::string& content) {
    std::filesystem::path file = path_ / rel;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << content;
    return *this;
  }
  TempConfigDir& Remove(const std::string& rel) {
    std::filesystem::remove(path_ / rel);
    return *this;
  }
  LoadResult Load() const { return LoadConfig(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The configuration has exactly this one error (and the config was not handed out).
#define EXPECT_ONLY_ERROR(result, ...)                                      \
  do {                                                                      \
    const ::svpc::config::LoadResult& r_ = (result);                        \
    ASSERT_EQ(r_.errors.size(), 1u) << ::svpc::config::AllIssues(r_);       \
    EXPECT_EQ(r_.errors[0], (::svpc::config::ConfigIssue{__VA_ARGS__}));    \
    EXPECT_TRUE(r_.config.networks.empty() && r_.config.instances.empty()); \
  } while (0)

// The configuration has this error among others.
#define EXPECT_HAS_ERROR(result, ...)                                                    \
  do {                                                                                   \
    const ::svpc::config::LoadResult& r_ = (result);                                     \
    ::svpc::config::ConfigIssue expected_{__VA_ARGS__};                                  \
    EXPECT_NE(std::find(r_.errors.begin(), r_.errors.end(), expected_), r_.errors.end()) \
        << "missing error: " << ::svpc::config::FormatIssue(expected_) << "\nhave:\n"    \
        << ::svpc::config::AllIssues(r_);                                                \
  } while (0)

#define EXPECT_HAS_WARNING(result, ...)                                                        \
  do {                                                                                         \
    const ::svpc::config::LoadResult& r_ = (result);                                           \
    ::svpc::config::ConfigIssue expected_{__VA_ARGS__};                                        \
    EXPECT_NE(std::find(r_.warnings.begin(), r_.warnings.end(), expected_), r_.warnings.end()) \
        << "missing warning: " << ::svpc::config::FormatIssue(expected_) << "\nhave:\n"        \
        << ::svpc::config::AllIssues(r_);                                                      \
  } while (0)

}  // namespace svpc::config
