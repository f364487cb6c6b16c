// The JSON parser: recursive descent with positions and a depth limit; the string and number
// writers.
#include "core/json.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "absl/strings/str_format.h"

namespace hearth::json {
namespace {

// The offset of the first byte that is not part of valid UTF-8 (overlong forms, surrogates and
// code points past U+10FFFF included), or npos.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Eight ASCII bytes at a time: the common case of a large request.
    if (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
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
      return i;
    }
    if (n - i < static_cast<size_t>(len)) return i;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += static_cast<size_t>(len);
  }
  return std::string_view::npos;
}

// Reads the JSON number at [p, end) into *out and returns where it ends, or nullptr when the text
// there is not one (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?). Decimals of at most 19
// significant digits with a small exponent convert exactly by Clinger's fast path (one
// correctly rounded multiply or divide of exact doubles); the rest go to std::from_chars. Beyond
// the double range: +-HUGE_VAL (or 0 for underflow), for the caller to refuse or keep.
const char* ReadJsonNumber(const char* p, const char* end, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char* const start = p;
  const bool negative = p < end && *p == '-';
  p += negative;
  uint64_t mantissa = 0;
  int significant = 0;  // digits in `mantissa`, from the first non-zero one
  int exponent = 0;
  bool truncated = false;
  if (p == end || static_cast<unsigned>(*p - '0') > 9) return nullptr;
  if (*p == '0') {
    ++p;
  } else {
    for (; p < end && static_cast<unsigned>(*p - '0') <= 9; ++p) {
      if (significant < 19) {
        mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
        ++significant;
      } else {
        truncated |= *p != '0';
        ++exponent;
      }
    }
  }
  if (p < end && *p == '.') {
    ++p;
    const char* first = p;
    for (; p < end && static_cast<unsigned>(*p - '0') <= 9; ++p) {
      if (significant < 19) {
        mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
        significant += mantissa != 0;  // leading zeros carry no digits
        --exponent;
      } else {
        truncated |= *p != '0';
      }
    }
    if (p == first) return nullptr;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool minus = false;
    if (p < end && (*p == '+' || *p == '-')) minus = *p++ == '-';
    const char* first = p;
    int e = 0;
    for (; p < end && static_cast<unsigned>(*p - '0') <= 9; ++p)
      if (e < 100000) e = e * 10 + (*p - '0');
    if (p == first) return nullptr;
    exponent += minus ? -e : e;
  }
  if (!truncated && mantissa < (uint64_t{1} << 53) && exponent >= -22 && exponent <= 22) {
    double v = static_cast<double>(mantissa);
    v = exponent < 0 ? v / kPow10[-exponent] : v * kPow10[exponent];
    *out = negative ? -v : v;
    return p;
  }
  const auto [stop, ec] = std::from_chars(start, p, *out);
  if (ec == std::errc::result_out_of_range)
    *out = exponent < 0 ? (negative ? -0.0 : 0.0) : (negative ? -HUGE_VAL : HUGE_VAL);
  return p;
}

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : s_(text), options_(options) {}

  StatusOr<Value> Document() {
    SkipSpace();
    if (AtEnd()) return Error("empty document: expected a JSON value");
    Value root;
    HEARTH_RETURN_IF_ERROR(ParseValue(&root, 0));
    SkipSpace();
    if (!AtEnd()) return Error("unexpected text after the end of the document");
    return root;
  }

  // The error for text that is not UTF-8 from byte `offset` on, found before parsing.
  absl::Status InvalidUtf8At(size_t offset) {
    for (; i_ < offset; ++i_) {
      if (s_[i_] == '\n') {
        ++line_;
        line_start_ = i_ + 1;
      }
    }
    return Error(absl::StrFormat("the text is not valid UTF-8 (byte 0x%02x); save it as UTF-8",
                                 static_cast<unsigned char>(s_[offset])));
  }

 private:
  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[i_]; }

  // Positions are asked for in increasing order, so the column is counted incrementally from the
  // last one (a long single-line file stays linear).
  Pos Here() const {
    if (col_line_start_ != line_start_ || col_index_ > i_) {
      col_line_start_ = col_index_ = line_start_;
      column_ = 1;
    }
    // Count code points, not bytes: skip UTF-8 continuation bytes.
    for (; col_index_ < i_ && col_index_ < s_.size(); ++col_index_)
      if ((static_cast<unsigned char>(s_[col_index_]) & 0xC0) != 0x80) ++column_;
    return Pos{line_, column_};
  }

  absl::Status Error(const std::string& problem) const { return ErrorAt(Here(), problem); }

 private:
  static absl::Status ErrorAt(Pos p, const std::string& problem) {
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

  absl::Status ParseValue(Value* out, int depth) {
    if (depth > kMaxDepth) return Error(absl::StrFormat("nested deeper than %d levels", kMaxDepth));
    out->pos = Here();
    const char c = Peek();
    if (c == '{') return Object(out, depth);
    if (c == '[') return Array(out, depth);
    if (c == '"') {
      out->type = Value::Type::kString;
      return String(&out->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return Number(out);
    if (std::isalpha(static_cast<unsigned char>(c))) return Literal(out);
    return Error(absl::StrFormat("expected a value, found %s", Found()));
  }

  absl::Status Object(Value* out, int depth) {
    out->type = Value::Type::kObject;
    ++i_;  // '{'
    SkipSpace();
    if (Peek() == '}') {
      ++i_;
      return absl::OkStatus();
    }
    std::unordered_set<std::string> keys;
    while (true) {
      if (Peek() != '"')
        return Error(absl::StrFormat("expected a quoted key, found %s%s", Found(),
                                     Peek() == '}' ? " (no comma before '}')" : ""));
      Value::Member member;
      member.key_pos = Here();
      HEARTH_RETURN_IF_ERROR(String(&member.key));
      SkipSpace();
      if (Peek() != ':')
        return Error(
            absl::StrFormat("expected ':' after the key \"%s\", found %s", member.key, Found()));
      ++i_;
      SkipSpace();
      // A set, not a scan of the members: a crafted header with many keys stays linear.
      if (!options_.allow_repeated_keys && !keys.insert(member.key).second)
        return ErrorAt(member.key_pos,
                       absl::StrFormat("the key \"%s\" appears twice in one object", member.key));
      HEARTH_RETURN_IF_ERROR(ParseValue(&member.value, depth + 1));
      out->object.push_back(std::move(member));
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
                                   out->object.back().key, Found()));
    }
  }

  absl::Status Array(Value* out, int depth) {
    out->type = Value::Type::kArray;
    ++i_;  // '['
    SkipSpace();
    if (Peek() == ']') {
      ++i_;
      return absl::OkStatus();
    }
    if (options_.pack_numbers && AtNumber()) {
      HEARTH_ASSIGN_OR_RETURN(const bool whole, PackedNumbers(out));
      if (whole) return absl::OkStatus();
    }
    while (true) {
      if (Peek() == ']') return Error("expected a value, found ']' (no comma before ']')");
      Value element;
      HEARTH_RETURN_IF_ERROR(ParseValue(&element, depth + 1));
      out->array.push_back(std::move(element));
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
    const Pos start = Here();
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
          // A high surrogate followed by a low one encodes a code point above U+FFFF; either one
          // alone is not text.
          if (cp >= 0xDC00 && cp < 0xE000)
            return Error("a \\u low surrogate without a high surrogate before it");
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (s_.substr(i_, 2) != "\\u")
              return Error("a \\u high surrogate without a low surrogate after it");
            i_ += 2;
            uint32_t low = 0;
            HEARTH_RETURN_IF_ERROR(Hex4(&low));
            if (low < 0xDC00 || low >= 0xE000)
              return Error("a \\u high surrogate without a low surrogate after it");
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

  absl::Status Number(Value* out) {
    const size_t begin = i_;
    HEARTH_RETURN_IF_ERROR(ScanNumber());
    out->type = Value::Type::kNumber;
    out->text = std::string(s_.substr(begin, i_ - begin));
    return absl::OkStatus();
  }

  // Steps over one number, checking its syntax (RFC 8259).
  absl::Status ScanNumber() {
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
    return absl::OkStatus();
  }

  bool AtNumber() const { return Peek() == '-' || (Peek() >= '0' && Peek() <= '9'); }

  // ParseOptions::pack_numbers: an array that starts with a number is read straight into
  // out->numbers while its elements are numbers. Returns true when the whole array was packed;
  // false, with the numbers so far turned into elements, when another kind of value follows (the
  // caller goes on element by element from there).
  StatusOr<bool> PackedNumbers(Value* out) {
    const char* const limit = s_.data() + s_.size();
    while (true) {
      // Converted first and checked against the grammar after: one pass over the digits. A number
      // from_chars reads differently from JSON (1., -.5, 1e) is scanned again for the error.
      double v = 0;
      const char* end = ReadJsonNumber(s_.data() + i_, limit, &v);
      if (end == nullptr || (end < limit && (std::isalnum(static_cast<unsigned char>(*end)) ||
                                             *end == '_' || *end == '.'))) {
        HEARTH_RETURN_IF_ERROR(ScanNumber());  // says what is wrong
        return Error(absl::StrFormat("unexpected %s after a number", Found()));
      }
      i_ = static_cast<size_t>(end - s_.data());
      out->numbers.push_back(v);
      SkipSpace();
      if (Peek() == ']') {
        ++i_;
        out->packed = true;
        return true;
      }
      if (Peek() != ',')
        return Error(absl::StrFormat("expected ',' or ']' in a list, found %s", Found()));
      ++i_;
      SkipSpace();
      if (AtNumber()) continue;
      for (double n : out->numbers) {
        Value element;
        element.type = Value::Type::kNumber;
        element.pos = out->pos;
        AppendDouble(element.text, n);
        out->array.push_back(std::move(element));
      }
      out->numbers.clear();
      return false;
    }
  }

  absl::Status Literal(Value* out) {
    const size_t begin = i_;
    while (!AtEnd() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
    const std::string_view word = s_.substr(begin, i_ - begin);
    if (word == "true" || word == "false") {
      out->type = Value::Type::kBool;
      out->boolean = word == "true";
      return absl::OkStatus();
    }
    if (word == "null") {
      out->type = Value::Type::kNull;
      return absl::OkStatus();
    }
    i_ = begin;
    return Error(absl::StrFormat(
        "unexpected word '%s': strings need double quotes; literals are true, false and null",
        word));
  }

  std::string_view s_;
  ParseOptions options_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  // Here()'s cache: the column of byte col_index_ on the line starting at col_line_start_.
  mutable size_t col_line_start_ = 0;
  mutable size_t col_index_ = 0;
  mutable int column_ = 1;
};

}  // namespace

const char* TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return "a boolean";
    case Value::Type::kNumber:
      return "a number";
    case Value::Type::kString:
      return "a string";
    case Value::Type::kArray:
      return "a list";
    case Value::Type::kObject:
      return "an object";
  }
  return "a value";
}

const Value* Value::Find(std::string_view key) const {
  for (const Member& m : object)
    if (m.key == key) return &m.value;
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

StatusOr<Value> Parse(std::string_view text, const ParseOptions& options) {
  Parser parser(text, options);
  if (const size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos)
    return parser.InvalidUtf8At(bad);
  return parser.Document();
}

bool IsValidUtf8(std::string_view s) {
  return FirstInvalidUtf8(s) == std::string_view::npos;
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

void AppendFloat(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  HEARTH_CHECK(ec == std::errc());
  out.append(buf, ptr);
}

}  // namespace hearth::json
