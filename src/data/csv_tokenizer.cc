// CsvTokenizer: one pass over the text per record, quoted fields found with memchr.
#include "data/csv_tokenizer.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace hearth::data_internal {

CsvTokenizer::CsvTokenizer(std::string_view text, std::string_view source, char delimiter,
                           int64_t first_line)
    : text_(text), source_(source), delimiter_(delimiter), line_(first_line) {
  // A UTF-8 byte order mark (Excel writes one) is not part of the first column's name.
  if (first_line == 1 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

Status CsvTokenizer::Error(int64_t line, size_t field, const std::string& what) const {
  return absl::InvalidArgumentError(absl::StrCat(source_, ":", line, ":", field, ": ", what));
}

StatusOr<bool> CsvTokenizer::Next(std::vector<std::string_view>* fields) {
  const char* s = text_.data();
  const size_t n = text_.size();
  for (;;) {
    if (pos_ >= n) return false;
    if (s[pos_] == '\n') {
      ++pos_;
      ++line_;
    } else if (s[pos_] == '\r' && pos_ + 1 < n && s[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
    } else {
      break;
    }
  }
  record_line_ = line_;
  spans_.clear();
  scratch_.clear();
  size_t field = 0;
  size_t p = pos_;
  for (;;) {
    ++field;
    while (p < n && IsSpace(s[p])) ++p;
    if (p < n && s[p] == '"') {
      const int64_t open_line = line_;
      const size_t start = ++p;
      size_t end = 0;
      bool escaped = false;
      for (;;) {
        const void* found = std::memchr(s + p, '"', n - p);
        const size_t quote = found ? static_cast<size_t>(static_cast<const char*>(found) - s) : n;
        line_ += std::count(s + p, s + quote, '\n');
        if (found == nullptr) {
          return Error(open_line, field,
                       "unterminated quoted field: no closing '\"' before the "
                       "end of the file");
        }
        if (quote + 1 < n && s[quote + 1] == '"') {
          escaped = true;
          p = quote + 2;
          continue;
        }
        end = quote;
        p = quote + 1;
        break;
      }
      if (fields != nullptr) {
        if (escaped) {
          const size_t offset = scratch_.size();
          for (size_t i = start; i < end; ++i) {
            scratch_.push_back(s[i]);
            if (s[i] == '"') ++i;  // the second quote of ""
          }
          spans_.push_back({true, offset, scratch_.size() - offset});
        } else {
          spans_.push_back({false, start, end - start});
        }
      }
      while (p < n && IsSpace(s[p])) ++p;
      if (p < n && s[p] != delimiter_ && s[p] != '\n') {
        return Error(line_, field,
                     absl::StrCat("expected a delimiter or the end of the line after a closing "
                                  "quote, got '",
                                  absl::CHexEscape(absl::string_view(s + p, 1)), "'"));
      }
    } else {
      const size_t start = p;
      while (p < n && s[p] != delimiter_ && s[p] != '\n') ++p;
      size_t end = p;
      while (end > start && IsSpace(s[end - 1])) --end;
      if (fields != nullptr) spans_.push_back({false, start, end - start});
    }
    if (p < n && s[p] == delimiter_) {
      ++p;
      continue;
    }
    if (p < n) {  // the '\n' ending the record
      ++p;
      ++line_;
    }
    break;
  }
  pos_ = p;
  if (fields != nullptr) {
    fields->clear();
    for (const Span& span : spans_) {
      fields->emplace_back((span.in_scratch ? scratch_.data() : s) + span.offset, span.size);
    }
  }
  return true;
}

}  // namespace hearth::data_internal
