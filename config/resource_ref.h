#pragma once
// Compute Engine resource references: URLs and partial paths in, the canonical forms listed at the
// top of model.h out. Pure string functions; no knowledge of which resources exist.

#include <optional>
#include <string>
#include <string_view>

namespace svpc::config {

enum class RefKind {
  kNetwork,
  kSubnetwork,
  kInstance,
  kRoute,
  kFirewall,
  kVpnTunnel,
  kInterconnectAttachment,
  kForwardingRule,
  kGateway,
  kRouter,
  kAddress,
};

// A path split into its parts. Parts the text did not name are empty: "global/networks/n" has no
// project, a bare "n" has no scope either.
struct ResourcePath {
  std::string project;
  std::string scope;     // "global", "regions" or "zones"
  std::string location;  // region or zone name; empty for global resources
  std::string collection;
  std::string name;
};

// Accepts full URLs (https://www.googleapis.com/compute/v1/..., https://compute.googleapis.com/...,
// Cloud Asset names //compute.googleapis.com/...), partial paths (projects/P/regions/R/C/N,
// regions/R/C/N, global/C/N) and bare names. Returns nullopt for any other shape.
std::optional<ResourcePath> ParseResourcePath(std::string_view text);

// The canonical reference: projects/P/global/C/N, projects/P/regions/R/C/N, projects/P/zones/Z/C/N.
std::string MakeRef(RefKind kind, std::string_view project, std::string_view location,
                    std::string_view name);

// The result of canonicalising a reference: `ref`, or `error` (a complete reason text).
struct RefResult {
  std::string ref;
  std::string error;
  bool ok() const { return error.empty(); }
};

// Canonicalises `text` as a reference to a resource of `kind`. A partial path or bare name takes
// its project from `project` and, for regional/zonal kinds, a bare name takes its region/zone from
// `location`.
RefResult CanonicalRef(RefKind kind, std::string_view text, std::string_view project,
                       std::string_view location = {});

// "subnetwork", "VPN tunnel", ... for messages.
std::string_view RefNoun(RefKind kind);
// "projects/PROJECT/regions/REGION/subnetworks/NAME", ... for messages.
std::string_view RefShape(RefKind kind);
// "networks", "subnetworks", ...
std::string_view RefCollection(RefKind kind);
// "global", "regions" or "zones".
std::string_view RefScope(RefKind kind);

// The last segment of a URL or path ("https://.../regions/us-west1" -> "us-west1").
std::string LastUrlSegment(std::string_view text);

// "us-west1-a" -> "us-west1"; nullopt when `zone` has no "-suffix".
std::optional<std::string> RegionOfZone(std::string_view zone);

// The name part of a canonical reference (its last segment).
std::string RefName(std::string_view ref);

// GCP resource names: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsValidResourceName(std::string_view name);

// Removes "https://host/", "//host/" and a following "compute/VERSION/" in front of a path.
std::string_view StripUrlPrefix(std::string_view text);

}  // namespace svpc::config
