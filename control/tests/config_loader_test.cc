#include "control/config_loader.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "control/tests/test_support.h"

namespace svpc::control {
namespace {

TEST(ConfigLoaderTest, LoadsHybridFixture) {
  LoadResult result = LoadConfig(FixturePath("hybrid"));
  ASSERT_TRUE(result.ok()) << AllIssues(result);
  std::cout << AllIssues(result);
}

}  // namespace
}  // namespace svpc::control
