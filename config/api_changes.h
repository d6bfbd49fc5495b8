#pragma once
// What makes the API's changes durable (api/README.md, "Durability"): an overlay of the
// configuration files (ConfigFiles paths) the API changed, kept in STATE_DIR/api-changes.json:
//   {"version": 1, "changes": {PATH: {"base": TEXT|null, "current": TEXT|null}}}
// base is that file's text in the directory's own export when the API first changed it (null:
// absent), current the API's text (null: deleted). svpcd persists the overlay before it
// publishes an API change, and on start and on SIGHUP merges it over CONFIG_DIR per path
// (Merge): the API's change is kept where the directory still holds its base, dropped where the
// directory already holds it, and where the file was edited since, the directory wins and the
// API's version goes to STATE_DIR/conflicts/.
//
// Writes are atomic: a temporary file, fsync, rename over, fsync of the directory.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace svpc::config {

// Relative path -> file text, as ConfigFiles returns.
using FileMap = std::map<std::string, std::string>;

struct FileChange {
  std::optional<std::string> base;     // nullopt: the file was absent
  std::optional<std::string> current;  // nullopt: the API deleted it
  bool operator==(const FileChange&) const = default;
};
using ApiChanges = std::map<std::string, FileChange>;

// The overlay after an API write that took the served files `before` to `after`.
ApiChanges WithWrite(const ApiChanges& changes, const FileMap& before, const FileMap& after);

// A file the API changed and the directory changed too, differently.
struct MergeConflict {
  std::string path;
  std::optional<std::string> ours;  // the API's version (nullopt: it deleted the file)
};

struct MergeResult {
  FileMap files;                         // the directory's files with the API's changes applied
  ApiChanges changes;                    // the overlay that remains
  size_t reapplied = 0;                  // changes taken over the directory's files
  size_t already = 0;                    // changes the directory already holds (dropped)
  std::vector<MergeConflict> conflicts;  // dropped: the directory wins
};

// Three-way merge of `changes` over the directory's own export `theirs`.
MergeResult Merge(const ApiChanges& changes, const FileMap& theirs);

// Writes `text` to `path` atomically and durably (tmp, fsync, rename, fsync of the directory).
bool WriteFileDurably(const std::filesystem::path& path, const std::string& text,
                      std::string* error);

class ApiState {
 public:
  static constexpr const char* kFileName = "api-changes.json";

  explicit ApiState(std::filesystem::path dir) : dir_(std::move(dir)) {}

  enum class OpenStatus {
    kOk,
    kUnusable,  // the directory cannot be created or written: `error` says why
    kCorrupt,   // api-changes.json cannot be read or parsed: `error` says why
  };
  // Creates the directory, reads the overlay (none yet: empty) and checks it can be written.
  OpenStatus Open(std::string* error);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path file() const { return dir_ / kFileName; }
  const ApiChanges& changes() const { return changes_; }

  // Persists `changes` (then they are the store's). False with `error` keeps the old ones.
  bool Save(const ApiChanges& changes, std::string* error);

  // Writes the API's versions of `conflicts` under dir/conflicts/<UTC timestamp>/<path> (a
  // deleted file as <path>.deleted, empty); `written` gets each file's path, in order.
  bool SaveConflicts(const std::vector<MergeConflict>& conflicts, std::vector<std::string>* written,
                     std::string* error);

  static std::string Serialize(const ApiChanges& changes);
  static bool Parse(const std::string& text, ApiChanges* changes, std::string* error);

 private:
  std::filesystem::path dir_;
  ApiChanges changes_;
};

}  // namespace svpc::config
