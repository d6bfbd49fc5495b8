#pragma once
// The loaded model (control/model.h) written back as Compute Engine REST v1 JSON: what the API's
// GET/list methods return and what `svpc export` writes. Loading what these functions produce
// gives the same model (tests/export_round_trip_test.cc checks it on the examples).

#include <boost/json.hpp>

#include <map>
#include <string>

#include "control/model.h"

namespace svpc::api {

// "https://www.googleapis.com/compute/v1/" + canonical reference, as GCP's selfLinks read.
inline constexpr std::string_view kComputeUrlBase = "https://www.googleapis.com/compute/v1/";
std::string SelfLink(std::string_view ref);

// A stable numeric id ("id" of every resource): a 64-bit hash of the canonical reference, in
// decimal as GCP prints ids. GCP's ids are random; a hash keeps exports reproducible.
std::string ResourceId(std::string_view ref);

boost::json::object NetworkJson(const control::Network& network, const control::Config& config);
boost::json::object SubnetworkJson(const control::Subnetwork& subnet);
boost::json::object InstanceJson(const control::Instance& instance);
boost::json::object FirewallJson(const control::Firewall& firewall);
boost::json::object RouteJson(const control::Route& route);
boost::json::object RouterJson(const control::Router& router);
boost::json::object FirewallPolicyJson(const control::FirewallPolicy& policy);
boost::json::object AddressJson(const control::Address& address, const control::Config& config);
boost::json::object SharedVpcJson(const control::SharedVpc& shared);
boost::json::object TestbedJson(const control::Testbed& testbed);

// The whole configuration as a directory: relative path -> file content (pretty JSON). One file
// per resource under projects/PROJECT/... (hierarchical firewall policies under
// firewallPolicies/), plus shared-vpc.json and testbed.json. tokens.json is never written.
std::map<std::string, std::string> ConfigFiles(const control::Config& config);

// Writes ConfigFiles(config) under `dir` (created if needed; existing files of the same names are
// replaced, others left). False with `error` on an I/O failure.
bool WriteConfigDir(const control::Config& config, const std::string& dir, std::string* error);

// Pretty-printed JSON with two-space indentation and a final newline.
std::string PrettyJson(const boost::json::value& value);

}  // namespace svpc::api
