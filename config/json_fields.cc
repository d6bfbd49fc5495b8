#include "config/json_fields.h"

#include <charconv>

namespace svpc::config {

namespace json = boost::json;

std::string_view JsonKindName(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

const json::value* JsonFields::Get(std::string_view key) const {
  const json::value* value = object_->if_contains(key);
  if (value == nullptr || value->is_null()) return nullptr;
  return value;
}

std::string JsonFields::Path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  if (key.front() == '[') return path_ + std::string(key);
  return path_ + "." + std::string(key);
}

std::optional<std::string> JsonFields::String(std::string_view key) const {
  const json::value* value = Get(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    Error(key, "must be a string, not " + std::string(JsonKindName(*value)));
    return std::nullopt;
  }
  return std::string(value->get_string());
}

std::optional<bool> JsonFields::Bool(std::string_view key) const {
  const json::value* value = Get(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) {
    Error(key, "must be true or false, not " + std::string(JsonKindName(*value)));
    return std::nullopt;
  }
  return value->get_bool();
}

std::optional<int64_t> JsonFields::Int(std::string_view key) const {
  const json::value* value = Get(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) {
    if (value->get_uint64() > static_cast<uint64_t>(INT64_MAX)) {
      Error(key, "is too large");
      return std::nullopt;
    }
    return static_cast<int64_t>(value->get_uint64());
  }
  if (value->is_string()) {
    std::string_view text = value->get_string();
    int64_t number = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size()) return number;
    Error(key, "must be an integer, not \"" + std::string(text) + "\"");
    return std::nullopt;
  }
  Error(key, "must be an integer, not " + std::string(JsonKindName(*value)));
  return std::nullopt;
}

std::vector<std::string> JsonFields::StringList(std::string_view key) const {
  std::vector<std::string> out;
  const json::array* array = Array(key);
  if (array == nullptr) return out;
  for (size_t i = 0; i < array->size(); ++i) {
    const json::value& item = (*array)[i];
    if (!item.is_string()) {
      Error(std::string(key) + "[" + std::to_string(i) + "]",
            "must be a string, not " + std::string(JsonKindName(item)));
      continue;
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

std::optional<JsonFields> JsonFields::Object(std::string_view key) const {
  const json::value* value = Get(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_object()) {
    Error(key, "must be an object, not " + std::string(JsonKindName(*value)));
    return std::nullopt;
  }
  return JsonFields(value->get_object(), *scope_, Path(key));
}

const json::array* JsonFields::Array(std::string_view key) const {
  const json::value* value = Get(key);
  if (value == nullptr) return nullptr;
  if (!value->is_array()) {
    Error(key, "must be a list, not " + std::string(JsonKindName(*value)));
    return nullptr;
  }
  return &value->get_array();
}

std::vector<std::pair<size_t, JsonFields>> JsonFields::ObjectList(std::string_view key) const {
  std::vector<std::pair<size_t, JsonFields>> out;
  const json::array* array = Array(key);
  if (array == nullptr) return out;
  for (size_t i = 0; i < array->size(); ++i) {
    std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    const json::value& item = (*array)[i];
    if (!item.is_object()) {
      Error(item_key, "must be an object, not " + std::string(JsonKindName(item)));
      continue;
    }
    out.emplace_back(i, JsonFields(item.get_object(), *scope_, Path(item_key)));
  }
  return out;
}

}  // namespace svpc::config
