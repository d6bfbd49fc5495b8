#include "config/api_changes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "config/resource_writer.h"

namespace svpc::config {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::optional<std::string> Lookup(const FileMap& files, const std::string& path) {
  auto it = files.find(path);
  if (it == files.end()) return std::nullopt;
  return it->second;
}

std::string Errno(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

bool FsyncPath(const fs::path& path, int flags, std::string* error) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    *error = Errno("cannot open", path);
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  if (!ok) *error = Errno("cannot fsync", path);
  ::close(fd);
  return ok;
}

// YYYYMMDDTHHMMSS.mmmZ: sorts as time does, valid in any file system.
std::string UtcStamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", text, static_cast<int>(ms));
  return out;
}

}  // namespace

ApiChanges WithWrite(const ApiChanges& changes, const FileMap& before, const FileMap& after) {
  ApiChanges next = changes;
  std::set<std::string> paths;
  for (const auto& [path, text] : before) paths.insert(path);
  for (const auto& [path, text] : after) paths.insert(path);
  for (const std::string& path : paths) {
    std::optional<std::string> old_text = Lookup(before, path);
    std::optional<std::string> new_text = Lookup(after, path);
    if (old_text == new_text) continue;
    auto it = next.find(path);
    if (it == next.end()) {
      next.emplace(path, FileChange{old_text, new_text});
      continue;
    }
    it->second.current = new_text;
    if (it->second.current == it->second.base) next.erase(it);
  }
  return next;
}

MergeResult Merge(const ApiChanges& changes, const FileMap& theirs) {
  MergeResult result;
  result.files = theirs;
  for (const auto& [path, change] : changes) {
    const std::optional<std::string> dir_text = Lookup(theirs, path);
    if (dir_text == change.current) {
      ++result.already;  // the directory holds the API's version (an export into it)
    } else if (dir_text == change.base) {
      ++result.reapplied;
      if (change.current) {
        result.files[path] = *change.current;
      } else {
        result.files.erase(path);
      }
      result.changes.emplace(path, change);
    } else {
      result.conflicts.push_back(MergeConflict{path, change.current});
    }
  }
  return result;
}

bool WriteFileDurably(const fs::path& path, const std::string& text, std::string* error) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = Errno("cannot create", tmp);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = Errno("cannot write", tmp);
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    *error = Errno("cannot fsync", tmp);
    ::close(fd);
    return false;
  }
  if (::close(fd) != 0) {
    *error = Errno("cannot close", tmp);
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = Errno("cannot rename over", path);
    return false;
  }
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  return FsyncPath(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, error);
}

ApiState::OpenStatus ApiState::Open(std::string* error) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    *error = "cannot create the state directory " + dir_.string() + ": " + ec.message();
    return OpenStatus::kUnusable;
  }
  if (fs::exists(file(), ec)) {
    std::ifstream in(file(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || in.bad()) {
      *error = "cannot read " + file().string();
      return OpenStatus::kCorrupt;
    }
    std::string parse_error;
    if (!Parse(text.str(), &changes_, &parse_error)) {
      *error = file().string() + ": " + parse_error;
      return OpenStatus::kCorrupt;
    }
  }
  // Written back at once: proves the directory takes writes before any API change counts on it.
  std::string write_error;
  if (!Save(changes_, &write_error)) {
    *error = "the state directory " + dir_.string() + " cannot be written: " + write_error;
    return OpenStatus::kUnusable;
  }
  return OpenStatus::kOk;
}

bool ApiState::Save(const ApiChanges& changes, std::string* error) {
  if (!WriteFileDurably(file(), Serialize(changes), error)) return false;
  changes_ = changes;
  return true;
}

bool ApiState::SaveConflicts(const std::vector<MergeConflict>& conflicts,
                             std::vector<std::string>* written, std::string* error) {
  if (conflicts.empty()) return true;
  fs::path base = dir_ / "conflicts" / UtcStamp();
  std::error_code ec;
  for (int n = 1; fs::exists(base, ec); ++n) {
    base = dir_ / "conflicts" / (UtcStamp() + "-" + std::to_string(n));
  }
  for (const MergeConflict& conflict : conflicts) {
    const fs::path path = base / (conflict.path + (conflict.ours ? "" : ".deleted"));
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      *error = "cannot create " + path.parent_path().string() + ": " + ec.message();
      return false;
    }
    if (!WriteFileDurably(path, conflict.ours.value_or(""), error)) return false;
    written->push_back(path.string());
  }
  return true;
}

std::string ApiState::Serialize(const ApiChanges& changes) {
  json::object entries;
  for (const auto& [path, change] : changes) {
    json::object entry;
    entry["base"] = change.base ? json::value(*change.base) : json::value(nullptr);
    entry["current"] = change.current ? json::value(*change.current) : json::value(nullptr);
    entries[path] = std::move(entry);
  }
  return PrettyJson(json::object{{"version", 1}, {"changes", std::move(entries)}});
}

bool ApiState::Parse(const std::string& text, ApiChanges* changes, std::string* error) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) {
    *error = "not JSON: " + ec.message();
    return false;
  }
  const json::object* root = doc.if_object();
  if (root == nullptr || !root->contains("version") || !(*root).at("version").is_int64() ||
      (*root).at("version").as_int64() != 1) {
    *error = "expected {\"version\": 1, \"changes\": {...}}";
    return false;
  }
  const json::value* entries = root->if_contains("changes");
  if (entries == nullptr || !entries->is_object()) {
    *error = "\"changes\" must be an object";
    return false;
  }
  ApiChanges out;
  for (const auto& [key, value] : entries->as_object()) {
    const json::object* entry = value.if_object();
    auto text_of = [&](const char* field, std::optional<std::string>* into) {
      const json::value* v = entry ? entry->if_contains(field) : nullptr;
      if (v == nullptr || !(v->is_null() || v->is_string())) return false;
      if (v->is_string()) *into = std::string(v->as_string());
      return true;
    };
    FileChange change;
    if (!text_of("base", &change.base) || !text_of("current", &change.current)) {
      *error = "changes[\"" + std::string(key) + "\"]: base and current must be strings or null";
      return false;
    }
    const std::string path(key);
    if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos) {
      *error = "changes[\"" + path + "\"]: not a relative path inside the configuration";
      return false;
    }
    out.emplace(path, std::move(change));
  }
  *changes = std::move(out);
  return true;
}

}  // namespace svpc::config
