// `svpc validate` on the fixtures: the summary of a valid directory, every error of a broken one.
#include "cli/cmd_validate.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "config/tests/test_support.h"

namespace svpc::cli {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

using config::FixturePath;

TEST(ValidateCommandTest, PrintsSummaryWhenValid) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunValidate(FixturePath("hybrid"), out, err), 0);
  std::string text = out.str();
  EXPECT_NE(text.find("projects: 4 (1 host, 3 service, 0 standalone)"), std::string::npos) << text;
  EXPECT_NE(text.find("networks: 1, subnetworks: 3, instances: 3, firewall rules: 4, routes: 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("testbed: 2 ports, 5 endpoints"), std::string::npos) << text;
  EXPECT_NE(text.find("network projects/host-prj/global/networks/shared-net (custom mode, GLOBAL "
                      "routing, MTU 1460)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("subnetwork subnet-2                10.15.2.0/24       us-east1"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("instance   instance-c              10.7.1.50          us-east1-c  nic0  project "
                "svc-c"),
      std::string::npos)
      << text;
  EXPECT_NE(err.str().find("warning: host/assets.ndjson: "), std::string::npos) << err.str();
}

TEST(ValidateCommandTest, PrintsEveryErrorAndFails) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunValidate(FixturePath("broken"), out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(
      err.str().find("error: malformed.json: invalid JSON: syntax error (line 4, column 3)\n"),
      std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find(": 6 errors, 0 warnings\n"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace svpc::cli
