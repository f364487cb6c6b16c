// A recursive-descent JSON parser with a depth limit, and the string/number writers.
#include "ckpt/json.h"

#include <charconv>
#include <string_view>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hearth::json {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  StatusOr<Value> ParseDocument() {
    Value v;
    HEARTH_RETURN_IF_ERROR(ParseValue(v, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("end of the document");
    return v;
  }

 private:
  Status Error(std::string_view expected) const {
    if (pos_ >= s_.size())
      return absl::InvalidArgumentError(
          absl::StrFormat("JSON ends early at byte %d: expected %s", pos_, expected));
    return absl::InvalidArgumentError(absl::StrFormat("JSON error at byte %d (%s): expected %s",
                                                      pos_, Shown(s_[pos_]), expected));
  }

  static std::string Shown(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return absl::StrFormat("'%c'", c);
    return absl::StrFormat("byte 0x%02x", u);
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool Consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool ConsumeWord(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status ParseValue(Value& v, int depth) {
    if (depth > kMaxDepth)
      return absl::InvalidArgumentError(
          absl::StrCat("JSON nests deeper than ", kMaxDepth, " levels at byte ", pos_));
    SkipSpace();
    if (pos_ >= s_.size()) return Error("a value");
    const char c = s_[pos_];
    if (c == '{') return ParseObject(v, depth);
    if (c == '[') return ParseArray(v, depth);
    if (c == '"') {
      v.type = Value::Type::kString;
      return ParseString(v.text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(v);
    if (ConsumeWord("true") || ConsumeWord("false")) {
      v.type = Value::Type::kBool;
      v.boolean = c == 't';
      return absl::OkStatus();
    }
    if (ConsumeWord("null")) {
      v.type = Value::Type::kNull;
      return absl::OkStatus();
    }
    return Error("a value");
  }

  Status ParseObject(Value& v, int depth) {
    v.type = Value::Type::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (Consume('}')) return absl::OkStatus();
    std::unordered_set<std::string> keys;
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("a string key");
      const size_t key_pos = pos_;
      std::string key;
      HEARTH_RETURN_IF_ERROR(ParseString(key));
      if (!keys.insert(key).second)
        return absl::InvalidArgumentError(absl::StrCat(
            "JSON has the key \"", key, "\" twice in one object (byte ", key_pos, ")"));
      SkipSpace();
      if (!Consume(':')) return Error("':'");
      Value member;
      HEARTH_RETURN_IF_ERROR(ParseValue(member, depth + 1));
      v.object.emplace_back(std::move(key), std::move(member));
      SkipSpace();
      if (Consume('}')) return absl::OkStatus();
      if (!Consume(',')) return Error("',' or '}'");
    }
  }

  Status ParseArray(Value& v, int depth) {
    v.type = Value::Type::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (Consume(']')) return absl::OkStatus();
    for (;;) {
      v.array.emplace_back();
      HEARTH_RETURN_IF_ERROR(ParseValue(v.array.back(), depth + 1));
      SkipSpace();
      if (Consume(']')) return absl::OkStatus();
      if (!Consume(',')) return Error("',' or ']'");
    }
  }

  bool ReadHex4(uint32_t* out) {
    if (s_.size() - pos_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    pos_ += 4;
    *out = v;
    return true;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  Status ParseString(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= s_.size()) return Error("'\"' closing the string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (static_cast<unsigned char>(c) < 0x20) return Error("an escaped control character");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return Error("an escape sequence");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!ReadHex4(&cp)) return Error("4 hex digits after \\u");
          if (cp >= 0xdc00 && cp <= 0xdfff) return Error("a high surrogate before a low one");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo;
            if (!ConsumeWord("\\u") || !ReadHex4(&lo) || lo < 0xdc00 || lo > 0xdfff)
              return Error("a \\u low surrogate after a high surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          --pos_;
          return Error("one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
      }
    }
  }

  Status ParseNumber(Value& v) {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t before = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > before;
    };
    Consume('-');
    if (Consume('0')) {
      // A leading zero stands alone.
    } else if (!digits()) {
      return Error("a digit");
    }
    if (Consume('.') && !digits()) return Error("a digit after '.'");
    if (Consume('e') || Consume('E')) {
      if (!Consume('+')) Consume('-');
      if (!digits()) return Error("a digit in the exponent");
    }
    v.type = Value::Type::kNumber;
    v.text = std::string(s_.substr(start, pos_ - start));
    return absl::OkStatus();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

const Value* Value::Find(std::string_view key) const {
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

bool Value::AsUint64(uint64_t* out) const {
  if (type != Type::kNumber || text.empty() || text[0] == '-') return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool Value::AsInt64(int64_t* out) const {
  if (type != Type::kNumber) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool Value::AsDouble(double* out) const {
  if (type != Type::kNumber) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

StatusOr<Value> Parse(std::string_view text) {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("JSON is not valid UTF-8");
  return Parser(text).ParseDocument();
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < static_cast<size_t>(len)) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Reject overlong forms, surrogates and code points past U+10FFFF.
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  out += '"';
}

void AppendDouble(std::string& out, double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  HEARTH_CHECK(ec == std::errc());
  out.append(buf, ptr);
}

}  // namespace hearth::json
