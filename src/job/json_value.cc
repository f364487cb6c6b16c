// A strict recursive-descent JSON parser that records positions, for job-spec diagnostics.
#include "job/json_value.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace hearth::job_internal {
namespace {

// Deeper documents are rejected rather than risking the stack; a job spec nests about 6 levels.
constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  StatusOr<JsonValue> Document() {
    SkipSpace();
    if (AtEnd()) return Error("empty document: expected a JSON object");
    JsonValue root;
    HEARTH_RETURN_IF_ERROR(Value(&root, 0));
    SkipSpace();
    if (!AtEnd()) return Error("unexpected text after the end of the document");
    return root;
  }

 private:
  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[i_]; }

  // Positions are asked for in increasing order, so the column is counted incrementally from the
  // last one (a long single-line file stays linear).
  JsonPos Pos() const {
    if (col_line_start_ != line_start_ || col_index_ > i_) {
      col_line_start_ = col_index_ = line_start_;
      column_ = 1;
    }
    // Count code points, not bytes: skip UTF-8 continuation bytes.
    for (; col_index_ < i_ && col_index_ < s_.size(); ++col_index_)
      if ((static_cast<unsigned char>(s_[col_index_]) & 0xC0) != 0x80) ++column_;
    return JsonPos{line_, column_};
  }

  absl::Status Error(const std::string& problem) const { return ErrorAt(Pos(), problem); }
  static absl::Status ErrorAt(JsonPos p, const std::string& problem) {
    return absl::InvalidArgumentError(absl::StrFormat("%d:%d: %s", p.line, p.column, problem));
  }

  void SkipSpace() {
    while (!AtEnd()) {
      const char c = s_[i_];
      if (c == '\n') {
        ++line_;
        line_start_ = ++i_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
      } else {
        break;
      }
    }
  }

  // What the user wrote at the current position, for "unexpected ..." messages.
  std::string Found() const {
    if (AtEnd()) return "the end of the file";
    const char c = s_[i_];
    if (std::isprint(static_cast<unsigned char>(c))) return absl::StrFormat("'%c'", c);
    return absl::StrFormat("byte 0x%02x", static_cast<unsigned char>(c));
  }

  absl::Status Value(JsonValue* out, int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    out->pos = Pos();
    const char c = Peek();
    if (c == '{') return Object(out, depth);
    if (c == '[') return Array(out, depth);
    if (c == '"') {
      out->kind = JsonValue::Kind::kString;
      return String(&out->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return Number(out);
    if (std::isalpha(static_cast<unsigned char>(c))) return Literal(out);
    return Error(absl::StrFormat("expected a value, found %s", Found()));
  }

  absl::Status Object(JsonValue* out, int depth) {
    out->kind = JsonValue::Kind::kObject;
    ++i_;  // '{'
    SkipSpace();
    if (Peek() == '}') {
      ++i_;
      return absl::OkStatus();
    }
    while (true) {
      if (Peek() != '"')
        return Error(absl::StrFormat("expected a quoted key, found %s%s", Found(),
                                     Peek() == '}' ? " (no comma before '}')" : ""));
      JsonValue::Member member;
      member.key_pos = Pos();
      HEARTH_RETURN_IF_ERROR(String(&member.key));
      SkipSpace();
      if (Peek() != ':')
        return Error(
            absl::StrFormat("expected ':' after the key \"%s\", found %s", member.key, Found()));
      ++i_;
      SkipSpace();
      HEARTH_RETURN_IF_ERROR(Value(&member.value, depth + 1));
      out->members.push_back(std::move(member));
      SkipSpace();
      if (Peek() == ',') {
        ++i_;
        SkipSpace();
        continue;
      }
      if (Peek() == '}') {
        ++i_;
        return absl::OkStatus();
      }
      return Error(absl::StrFormat("expected ',' or '}' after the value of \"%s\", found %s",
                                   out->members.back().key, Found()));
    }
  }

  absl::Status Array(JsonValue* out, int depth) {
    out->kind = JsonValue::Kind::kArray;
    ++i_;  // '['
    SkipSpace();
    if (Peek() == ']') {
      ++i_;
      return absl::OkStatus();
    }
    while (true) {
      if (Peek() == ']') return Error("expected a value, found ']' (no comma before ']')");
      JsonValue element;
      HEARTH_RETURN_IF_ERROR(Value(&element, depth + 1));
      out->elements.push_back(std::move(element));
      SkipSpace();
      if (Peek() == ',') {
        ++i_;
        SkipSpace();
        continue;
      }
      if (Peek() == ']') {
        ++i_;
        return absl::OkStatus();
      }
      return Error(absl::StrFormat("expected ',' or ']' in a list, found %s", Found()));
    }
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::Status Hex4(uint32_t* cp) {
    if (i_ + 4 > s_.size()) return Error("expected four hex digits after \\u");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_ + k];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= h - '0';
      } else if (h >= 'a' && h <= 'f') {
        v |= h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        v |= h - 'A' + 10;
      } else {
        return Error("expected four hex digits after \\u");
      }
    }
    i_ += 4;
    *cp = v;
    return absl::OkStatus();
  }

  absl::Status String(std::string* out) {
    const JsonPos start = Pos();
    ++i_;  // '"'
    while (true) {
      if (AtEnd()) return ErrorAt(start, "unterminated string");
      const char c = s_[i_];
      if (c == '"') {
        ++i_;
        return absl::OkStatus();
      }
      if (c == '\n') return ErrorAt(start, "unterminated string (a string cannot span lines)");
      if (static_cast<unsigned char>(c) < 0x20)
        return Error("control character in a string: write it as an escape such as \\t");
      if (c != '\\') {
        out->push_back(c);
        ++i_;
        continue;
      }
      ++i_;
      const char e = Peek();
      ++i_;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          HEARTH_RETURN_IF_ERROR(Hex4(&cp));
          // A high surrogate followed by a low one encodes a code point above U+FFFF.
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(i_, 2) == "\\u") {
            i_ += 2;
            uint32_t low = 0;
            HEARTH_RETURN_IF_ERROR(Hex4(&low));
            if (low >= 0xDC00 && low < 0xE000)
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --i_;
          return Error(absl::StrFormat("invalid escape \\%c in a string", e));
      }
    }
  }

  absl::Status Number(JsonValue* out) {
    const size_t begin = i_;
    auto digits = [&] {
      const size_t from = i_;
      while (!AtEnd() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > from;
    };
    if (Peek() == '-') ++i_;
    if (Peek() == '0') {
      ++i_;
      if (Peek() >= '0' && Peek() <= '9') return Error("a number cannot have leading zeros");
    } else if (!digits()) {
      return Error("expected a digit after '-'");
    }
    if (Peek() == '.') {
      ++i_;
      if (!digits()) return Error("expected a digit after the decimal point");
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++i_;
      if (Peek() == '+' || Peek() == '-') ++i_;
      if (!digits()) return Error("expected a digit in the exponent");
    }
    if (std::isalpha(static_cast<unsigned char>(Peek())) || Peek() == '_')
      return Error(absl::StrFormat("unexpected %s after a number", Found()));
    out->kind = JsonValue::Kind::kNumber;
    out->text = std::string(s_.substr(begin, i_ - begin));
    return absl::OkStatus();
  }

  absl::Status Literal(JsonValue* out) {
    const size_t begin = i_;
    while (!AtEnd() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
    const std::string_view word = s_.substr(begin, i_ - begin);
    if (word == "true" || word == "false") {
      out->kind = JsonValue::Kind::kBool;
      out->text = std::string(word);
      return absl::OkStatus();
    }
    if (word == "null") {
      out->kind = JsonValue::Kind::kNull;
      return absl::OkStatus();
    }
    i_ = begin;
    return Error(absl::StrFormat(
        "unexpected word '%s': strings need double quotes; literals are true, false and null",
        word));
  }

  std::string_view s_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  // Pos()'s cache: the column of byte col_index_ on the line starting at col_line_start_.
  mutable size_t col_line_start_ = 0;
  mutable size_t col_index_ = 0;
  mutable int column_ = 1;
};

}  // namespace

const char* JsonKindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kNull:
      return "null";
    case JsonValue::Kind::kBool:
      return "a boolean";
    case JsonValue::Kind::kNumber:
      return "a number";
    case JsonValue::Kind::kString:
      return "a string";
    case JsonValue::Kind::kArray:
      return "a list";
    case JsonValue::Kind::kObject:
      return "an object";
  }
  return "a value";
}

StatusOr<JsonValue> ParseJson(std::string_view text) {
  return Parser(text).Document();
}

std::optional<JsonPos> LocatePath(const JsonValue& root, std::string_view path) {
  const JsonValue* v = &root;
  JsonPos pos = root.pos;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') ++i;
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      int64_t index = 0;
      if (close == std::string_view::npos ||
          !absl::SimpleAtoi(std::string(path.substr(i + 1, close - i - 1)), &index))
        return std::nullopt;
      if (v->kind != JsonValue::Kind::kArray || index < 0 ||
          index >= static_cast<int64_t>(v->elements.size()))
        return std::nullopt;
      v = &v->elements[index];
      pos = v->pos;
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view key = path.substr(i, end - i);
    if (v->kind != JsonValue::Kind::kObject) return std::nullopt;
    const JsonValue::Member* found = nullptr;
    // The last occurrence, as protobuf keeps the last of repeated keys.
    for (const JsonValue::Member& m : v->members)
      if (m.key == key) found = &m;
    if (found == nullptr) return std::nullopt;
    v = &found->value;
    pos = found->key_pos;
    i = end;
  }
  return pos;
}

}  // namespace hearth::job_internal
