// Splits CSV text into records of fields (RFC 4180), without copying unquoted fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth::data_internal {

// Quoting follows RFC 4180: a field that starts with '"' ends at the next lone '"'; inside it,
// "" is a literal quote and delimiters and line breaks are data. A quote inside an unquoted field
// is kept as it is. Spaces and tabs (unless the delimiter) around a field are dropped, and lines
// end with "\n" or "\r\n". Empty lines are skipped.
//
// Copyable: a copy continues from the same position, which lets a caller count the remaining
// records with a copy before parsing them.
class CsvTokenizer {
 public:
  // `first_line`: the line number the text starts on (a chunk of a longer file).
  CsvTokenizer(std::string_view text, std::string_view source, char delimiter,
               int64_t first_line = 1);

  // Reads the next record into `*fields`, or only skips it when `fields` is null. Returns false
  // at the end of the text. The views stay valid until the next call (unescaped quoted fields
  // live in the tokenizer; others point into the text).
  StatusOr<bool> Next(std::vector<std::string_view>* fields);

  // The 1-based line on which the last record read starts.
  int64_t record_line() const { return record_line_; }
  // Where the next record (or the blank lines before it) starts: its byte offset and line.
  size_t position() const { return pos_; }
  int64_t line() const { return line_; }

 private:
  struct Span {
    bool in_scratch;
    size_t offset;
    size_t size;
  };
  bool IsSpace(char c) const { return (c == ' ' || c == '\t' || c == '\r') && c != delimiter_; }
  Status Error(int64_t line, size_t field, const std::string& what) const;

  std::string_view text_;
  std::string source_;
  char delimiter_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  int64_t record_line_ = 0;
  std::string scratch_;
  std::vector<Span> spans_;
};

}  // namespace hearth::data_internal
