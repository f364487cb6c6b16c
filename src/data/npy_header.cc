// A parser for the small subset of Python literals numpy writes in .npy headers: a dict of
// string keys whose values are strings, True/False and tuples of integers.
#include "data/npy_header.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace hearth::data_internal {
namespace {

class DictParser {
 public:
  explicit DictParser(std::string_view text) : text_(text) {}

  StatusOr<NpyHeaderDict> Parse() {
    NpyHeaderDict dict;
    bool has_descr = false, has_fortran = false, has_shape = false;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{' to open the header dict");
    for (;;) {
      SkipSpace();
      if (Consume('}')) break;
      HEARTH_ASSIGN_OR_RETURN(std::string key, ParseString());
      SkipSpace();
      if (!Consume(':')) return Error(absl::StrCat("expected ':' after key '", key, "'"));
      SkipSpace();
      if (key == "descr") {
        if (Peek() == '[') {
          return absl::InvalidArgumentError(
              "unsupported dtype: structured arrays (a list of fields as descr) are not "
              "supported; save a plain numeric array");
        }
        HEARTH_ASSIGN_OR_RETURN(dict.descr, ParseString());
        has_descr = true;
      } else if (key == "fortran_order") {
        HEARTH_ASSIGN_OR_RETURN(dict.fortran_order, ParseBool());
        has_fortran = true;
      } else if (key == "shape") {
        HEARTH_ASSIGN_OR_RETURN(dict.shape, ParseIntTuple());
        has_shape = true;
      } else {
        return Error(absl::StrCat("unexpected key '", key,
                                  "' (expected 'descr', 'fortran_order' and 'shape')"));
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error("expected ',' or '}' after a value");
    }
    if (!has_descr || !has_fortran || !has_shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("the header dict lacks ", !has_descr     ? "'descr'"
                                                 : !has_fortran ? "'fortran_order'"
                                                                : "'shape'"));
    }
    return dict;
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed header dict at character ", pos_, ": ", what));
  }

  StatusOr<std::string> ParseString() {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') return Error("expected a quoted string");
    ++pos_;
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) return Error("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }

  StatusOr<bool> ParseBool() {
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    return Error("expected True or False");
  }

  StatusOr<std::vector<int64_t>> ParseIntTuple() {
    if (!Consume('(')) return Error("expected '(' to open the shape tuple");
    std::vector<int64_t> values;
    for (;;) {
      SkipSpace();
      if (Consume(')')) break;
      int64_t value = 0;
      const char* first = text_.data() + pos_;
      const auto [ptr, ec] = std::from_chars(first, text_.data() + text_.size(), value);
      if (ec != std::errc() || value < 0) return Error("expected a non-negative integer");
      pos_ += static_cast<size_t>(ptr - first);
      Consume('L');  // Python 2 wrote long integers as 3L
      values.push_back(value);
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume(')')) break;
      return Error("expected ',' or ')' in the shape tuple");
    }
    return values;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<NpyHeaderDict> ParseNpyHeaderDict(std::string_view text) {
  return DictParser(text).Parse();
}

std::string FormatNpyHeader(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dict = absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (");
  for (size_t i = 0; i < shape.size(); ++i) absl::StrAppend(&dict, i > 0 ? ", " : "", shape[i]);
  // A 1-tuple needs its trailing comma to be a tuple in Python.
  absl::StrAppend(&dict, shape.size() == 1 ? ",), }" : "), }");

  // Magic (6) + version (2) + length (2 or 4) + dict + padding spaces + '\n'.
  size_t prefix = 10;
  if (dict.size() + 1 + prefix > 65535) prefix = 12;
  const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  const size_t dict_len = total - prefix;
  dict.append(dict_len - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::string header("\x93NUMPY", 6);
  header.push_back(static_cast<char>(prefix == 10 ? 1 : 2));
  header.push_back('\0');
  for (size_t i = 0; i < prefix - 8; ++i) {
    header.push_back(static_cast<char>((dict_len >> (8 * i)) & 0xFF));
  }
  return header + dict;
}

}  // namespace hearth::data_internal
