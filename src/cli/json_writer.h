// Builds the one-line JSON objects that `--json` prints for scripts.
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace hearth::cli {

class JsonObject {
 public:
  JsonObject& Add(const std::string& key, const std::string& value) {
    return Raw(key, Quote(value));
  }
  JsonObject& Add(const std::string& key, const char* value) {
    return Add(key, std::string(value));
  }
  JsonObject& Add(const std::string& key, double value) {
    // JSON has no NaN or infinity.
    return Raw(key, std::isfinite(value) ? absl::StrFormat("%.9g", value) : "null");
  }
  JsonObject& Add(const std::string& key, int64_t value) { return Raw(key, std::to_string(value)); }
  JsonObject& Add(const std::string& key, int value) { return Raw(key, std::to_string(value)); }
  JsonObject& Add(const std::string& key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonObject& Add(const std::string& key, const std::vector<std::pair<std::string, double>>& m) {
    JsonObject o;
    for (const auto& [k, v] : m) o.Add(k, v);
    return Raw(key, o.str());
  }
  JsonObject& Raw(const std::string& key, const std::string& json) {
    fields_.push_back(Quote(key) + ":" + json);
    return *this;
  }
  std::string str() const {
    std::string s = "{";
    for (size_t i = 0; i < fields_.size(); ++i) s += (i ? "," : "") + fields_[i];
    return s + "}";
  }

  static std::string Quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        out += absl::StrFormat("\\u%04x", c);
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  }

 private:
  std::vector<std::string> fields_;
};

}  // namespace hearth::cli
