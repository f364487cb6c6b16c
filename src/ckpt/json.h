// A minimal JSON reader and writer helpers for the safetensors header and the checkpoint index.
//
// Internal to ckpt/: no third-party JSON library is available, and these two formats need only a
// value tree. The parser is built for untrusted input: it never reads out of bounds, rejects
// invalid UTF-8, duplicate object keys and nesting deeper than kMaxDepth (so a crafted file cannot
// overflow the stack), and reports the byte offset of the first problem.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hearth/status.h"

namespace hearth::json {

inline constexpr int kMaxDepth = 64;

struct Value {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  // The decoded contents of a string, or the literal text of a number (converted on demand, so
  // integers keep all 64 bits).
  std::string text;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in document order, keys unique

  bool is_string() const { return type == Type::kString; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_number() const { return type == Type::kNumber; }
  // The member named `key` of an object, or nullptr.
  const Value* Find(std::string_view key) const;
  // False unless this is a number that fits: a non-negative integer without fraction or exponent.
  bool AsUint64(uint64_t* out) const;
  bool AsInt64(int64_t* out) const;
  bool AsDouble(double* out) const;
};

// Parses one JSON document (surrounding whitespace allowed). Errors are InvalidArgument with the
// byte offset and what was expected; callers add the file name and a hint.
StatusOr<Value> Parse(std::string_view text);

bool IsValidUtf8(std::string_view s);
// Appends `s` (valid UTF-8) as a quoted JSON string, escaping '"', '\\' and control characters.
void AppendString(std::string& out, std::string_view s);
// Appends the shortest text that reads back as exactly `v` (finite values only).
void AppendDouble(std::string& out, double v);

}  // namespace hearth::json
