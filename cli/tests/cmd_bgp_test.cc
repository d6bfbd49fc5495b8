// `svpc bgp`: svpcd's BGP status file printed as a table (sessions; learned routes with
// --routes) or passed through as JSON; unreadable or foreign files are a clear error.

#include "cli/cmd_bgp.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/cloud_router.h"

namespace svpc::cli {

// The configuration model's types (config/) and the engine's control (control/) read unqualified
// here.
using namespace svpc::config;
using namespace svpc::control;
namespace {

std::string WriteStatus(const std::string& text) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("svpc-bgp-test-" + std::to_string(::getpid()) + ".json"))
                         .string();
  std::ofstream(path) << text;
  return path;
}

PeerReport Report() {
  PeerReport r;
  r.router = "projects/host-prj/regions/us-east1/routers/cr-east";
  r.region = "us-east1";
  r.status.name = "onprem";
  r.status.peer_address = *ParseIpv4("169.254.0.2");
  r.status.state = bgp::SessionState::kEstablished;
  r.status.uptime_seconds = 3725;
  r.status.prefixes_received = 1;
  r.status.prefixes_advertised = 2;
  r.peer_asn = 65010;
  r.local_asn = 64512;
  r.learned.push_back(
      {*ParsePrefix("192.168.0.0/16"), *ParseIpv4("169.254.0.2"), 50, true, {65010, 65011}});
  r.advertised.push_back({*ParsePrefix("10.15.2.0/24"), *ParseIpv4("169.254.0.1"), 100});
  return r;
}

TEST(CmdBgpTest, TableShowsSessionsAndLearnedRoutes) {
  const std::string path = WriteStatus(BgpStatusJson({Report()}));
  std::ostringstream out, err;
  ASSERT_EQ(RunBgp(path, "", /*routes=*/true, out, err), 0) << err.str();
  const std::string text = out.str();
  EXPECT_NE(text.find("ROUTER   REGION    PEER    PEER_IP      PEER_ASN  STATE        UPTIME"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cr-east  us-east1  onprem  169.254.0.2  65010     Established  1:02:05"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cr-east  onprem  192.168.0.0/16  169.254.0.2  50   65010 65011"),
            std::string::npos)
      << text;
  std::remove(path.c_str());
}

TEST(CmdBgpTest, JsonIsTheStatusFile) {
  const std::string path = WriteStatus(BgpStatusJson({Report()}));
  std::ostringstream out, err;
  ASSERT_EQ(RunBgp(path, "json", false, out, err), 0);
  EXPECT_NE(out.str().find("\"prefixesAdvertised\":2"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("\"destRange\":\"10.15.2.0/24\",\"med\":100"), std::string::npos);
  std::remove(path.c_str());
}

TEST(CmdBgpTest, MissingOrForeignFilesAreErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(RunBgp("/nonexistent/bgp.json", "", false, out, err), 2);
  EXPECT_NE(err.str().find("start svpcd with --bgp-status"), std::string::npos);
  const std::string path = WriteStatus("{\"ports\": {}}");
  EXPECT_EQ(RunBgp(path, "", false, out, err), 2);
  EXPECT_NE(err.str().find("is not svpcd's BGP status"), std::string::npos);
  EXPECT_EQ(RunBgp(path, "yaml", false, out, err), 2);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace svpc::cli
