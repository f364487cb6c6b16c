// A strict little JSON reader for checking what the CLI and the trainer write (--json output,
// metrics.jsonl, checkpoints.json). Enough JSON for that: objects, arrays, strings with simple
// escapes (\uXXXX kept as-is), numbers, true/false/null.
#pragma once

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::testing {

struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::map<std::string, Json> object;

  bool is_object() const { return type == Type::kObject; }
  bool Has(const std::string& key) const { return is_object() && object.count(key) > 0; }
  // The member `key`, or a null value when there is none.
  const Json& operator[](const std::string& key) const {
    static const Json kNull;
    auto it = object.find(key);
    return it == object.end() ? kNull : it->second;
  }
};

namespace internal {

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  std::optional<Json> ReadDocument() {
    std::optional<Json> value = ReadValue();
    SkipSpace();
    if (!value || pos_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<std::string> ReadString() {
    if (!Consume('"')) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return std::nullopt;
      const char e = text_[pos_++];
      constexpr std::string_view kEscaped = "ntrbf\"\\/", kMeaning = "\n\t\r\b\f\"\\/";
      if (const size_t k = kEscaped.find(e); k != std::string_view::npos) {
        out += kMeaning[k];
        continue;
      }
      if (e != 'u' || pos_ + 4 > text_.size()) return std::nullopt;
      out.append("\\u").append(text_.substr(pos_, 4));
      pos_ += 4;
    }
    return std::nullopt;
  }

  std::optional<Json> ReadValue() {
    if (++depth_ > 64) return std::nullopt;
    std::optional<Json> v = ReadValueAtDepth();
    --depth_;
    return v;
  }

  std::optional<Json> ReadValueAtDepth() {
    SkipSpace();
    if (pos_ >= text_.size()) return std::nullopt;
    Json v;
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      v.type = Json::Type::kObject;
      if (Consume('}')) return v;
      do {
        std::optional<std::string> key = ReadString();
        if (!key || !Consume(':') || v.object.count(*key)) return std::nullopt;
        std::optional<Json> member = ReadValue();
        if (!member) return std::nullopt;
        v.object[*key] = std::move(*member);
      } while (Consume(','));
      return Consume('}') ? std::optional<Json>(std::move(v)) : std::nullopt;
    }
    if (c == '[') {
      ++pos_;
      v.type = Json::Type::kArray;
      if (Consume(']')) return v;
      do {
        std::optional<Json> item = ReadValue();
        if (!item) return std::nullopt;
        v.array.push_back(std::move(*item));
      } while (Consume(','));
      return Consume(']') ? std::optional<Json>(std::move(v)) : std::nullopt;
    }
    if (c == '"') {
      std::optional<std::string> s = ReadString();
      if (!s) return std::nullopt;
      v.type = Json::Type::kString;
      v.string = std::move(*s);
      return v;
    }
    if (ConsumeWord("true") || ConsumeWord("false")) {
      v.type = Json::Type::kBool;
      v.boolean = c == 't';
      return v;
    }
    if (ConsumeWord("null")) return v;
    // A number: strtod on a bounded copy, then a check that JSON's grammar allowed its first char.
    if (c != '-' && !std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    size_t end = pos_;
    while (end < text_.size() &&
           std::string_view("+-.eE0123456789").find(text_[end]) != std::string_view::npos)
      ++end;
    const std::string digits(text_.substr(pos_, end - pos_));
    char* parsed_end = nullptr;
    v.number = std::strtod(digits.c_str(), &parsed_end);
    if (parsed_end != digits.c_str() + digits.size()) return std::nullopt;
    v.type = Json::Type::kNumber;
    pos_ = end;
    return v;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace internal

// The JSON document `text`, or nullopt when it is not exactly one valid JSON value.
inline std::optional<Json> ParseJson(std::string_view text) {
  return internal::JsonReader(text).ReadDocument();
}

}  // namespace hearth::testing
