// libFuzzer target for the configuration loader: arbitrary bytes become one file of an otherwise
// valid configuration directory (a copy of tests/scenarios/cloud-router-vlan/config: network,
// subnetworks, instances, firewalls, routes, a Cloud Router, shared-vpc.json, testbed.json), then
// LoadConfig parses and validates the directory (LoadConfig calls ValidateConfig itself).
//
// Input: the first byte picks the file (kFiles[byte % size]): one of the base's files is replaced,
// or an extra resource file (.json, or a Cloud Asset Inventory .ndjson export) is added; the rest
// is the file's content. The base file is restored afterwards, so inputs are independent.
// Contract checked: LoadConfig never throws and never crashes; every issue has a reason.
// Built only with clang (tests/fuzz/CMakeLists.txt); scripts/fuzz.sh builds and runs it.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_loader.h"

#ifndef SVPC_FUZZ_CONFIG_BASE
#error "SVPC_FUZZ_CONFIG_BASE must name the base configuration directory"
#endif

namespace {

namespace fs = std::filesystem;

constexpr const char* kFiles[] = {
    "network.json", "subnetworks.json", "instances.json", "firewalls.json", "routes.json",
    "router.json",  "shared-vpc.json",  "testbed.json",   "extra.json",     "extra.ndjson",
};
constexpr size_t kFileCount = sizeof(kFiles) / sizeof(kFiles[0]);

fs::path* dir = nullptr;

void WriteFile(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    fprintf(stderr, "fuzz_config: cannot write %s\n", path.c_str());
    std::abort();
  }
}

void RemoveDir() {
  if (dir != nullptr) fs::remove_all(*dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  dir = new fs::path(fs::temp_directory_path() / ("svpc-fuzz-config-" + std::to_string(getpid())));
  fs::remove_all(*dir);
  fs::create_directories(*dir);
  for (const auto& entry : fs::directory_iterator(SVPC_FUZZ_CONFIG_BASE)) {
    fs::copy_file(entry.path(), *dir / entry.path().filename());
  }
  std::atexit(RemoveDir);
  svpc::config::LoadResult base = svpc::config::LoadConfig(*dir);
  if (!base.ok()) {
    fprintf(stderr, "fuzz_config: the base configuration does not load\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string name = kFiles[data[0] % kFileCount];
  const fs::path path = *dir / name;
  const fs::path original = fs::path(SVPC_FUZZ_CONFIG_BASE) / name;
  WriteFile(path, data + 1, size - 1);

  svpc::config::LoadResult loaded = svpc::config::LoadConfig(*dir);
  for (const auto* list : {&loaded.errors, &loaded.warnings}) {
    for (const svpc::config::ConfigIssue& issue : *list) {
      if (issue.reason.empty()) std::abort();  // an issue always says why
    }
  }

  if (fs::exists(original)) {
    fs::copy_file(original, path, fs::copy_options::overwrite_existing);
  } else {
    fs::remove(path);
  }
  return 0;
}
