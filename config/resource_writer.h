#pragma once
// The loaded model (config/model.h) written back as Compute Engine REST v1 JSON: what the API's
// GET/list methods return and what `svpc export` writes. Loading what these functions produce
// gives the same model (tests/export_round_trip_test.cc checks it on the examples).

#include <boost/json.hpp>

#include <map>
#include <string>

#include "config/model.h"

namespace svpc::config {

// "https://www.googleapis.com/compute/v1/" + canonical reference, as GCP's selfLinks read.
inline constexpr std::string_view kComputeUrlBase = "https://www.googleapis.com/compute/v1/";
std::string SelfLink(std::string_view ref);

// A stable numeric id ("id" of every resource): a 64-bit hash of the canonical reference, in
// decimal as GCP prints ids. GCP's ids are random; a hash keeps exports reproducible.
std::string ResourceId(std::string_view ref);

boost::json::object NetworkJson(const config::Network& network, const config::Config& config);
boost::json::object SubnetworkJson(const config::Subnetwork& subnet);
boost::json::object InstanceJson(const config::Instance& instance);
boost::json::object FirewallJson(const config::Firewall& firewall);
boost::json::object RouteJson(const config::Route& route);
boost::json::object RouterJson(const config::Router& router);
boost::json::object FirewallPolicyJson(const config::FirewallPolicy& policy);
boost::json::object AddressJson(const config::Address& address, const config::Config& config);
boost::json::object SharedVpcJson(const config::SharedVpc& shared);
boost::json::object TestbedJson(const config::Testbed& testbed);

// The whole configuration as a directory: relative path -> file content (pretty JSON). One file
// per resource under projects/PROJECT/... (hierarchical firewall policies under
// firewallPolicies/), plus shared-vpc.json and testbed.json. tokens.json is never written.
std::map<std::string, std::string> ConfigFiles(const config::Config& config);

// Writes ConfigFiles(config) under `dir` (created if needed; existing files of the same names are
// replaced, others left). False with `error` on an I/O failure.
bool WriteConfigDir(const config::Config& config, const std::string& dir, std::string* error);

// Pretty-printed JSON with two-space indentation and a final newline.
std::string PrettyJson(const boost::json::value& value);

}  // namespace svpc::config
