// Hearth's one JSON reader, with writer helpers: job specs (for their diagnostics), the
// safetensors header, the checkpoint index and metrics.jsonl.
//
// No third-party JSON library is available, and these formats need only a value tree. The parser
// is strict RFC 8259 and built for untrusted input: it never reads out of bounds, rejects invalid
// UTF-8 and unpaired surrogates, and rejects nesting deeper than kMaxDepth (so a crafted file
// cannot overflow the stack). Every value and key remembers its line and column, so errors can
// point into the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth::json {

inline constexpr int kMaxDepth = 64;

struct Pos {
  int line = 1;
  int column = 1;  // in characters (UTF-8 code points), 1-based
};

struct Value {
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  struct Member;

  Type type = Type::kNull;
  Pos pos;
  bool boolean = false;
  // The decoded contents of a string, or the literal text of a number (converted on demand, so
  // integers keep all 64 bits).
  std::string text;
  std::vector<Value> array;
  // With ParseOptions::pack_numbers, an array of numbers only: its values, `array` empty and
  // `packed` set (a tensor's data, read without a Value per number).
  std::vector<double> numbers;
  bool packed = false;
  std::vector<Member> object;  // in document order (repeated keys only if the parse allowed them)

  bool is_string() const { return type == Type::kString; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_number() const { return type == Type::kNumber; }
  // The first member named `key` of an object, or nullptr.
  const Value* Find(std::string_view key) const;
  // False unless this is a number that fits: a non-negative integer without fraction or exponent.
  bool AsUint64(uint64_t* out) const;
  bool AsInt64(int64_t* out) const;
  bool AsDouble(double* out) const;
};

struct Value::Member {
  std::string key;
  Pos key_pos;
  Value value;
};

// "an object", "a string", ... for messages.
const char* TypeName(Value::Type type);

struct ParseOptions {
  // A job spec keeps repeated keys, so its checks can name them (protobuf takes the last); the
  // checkpoint formats reject them.
  bool allow_repeated_keys = false;
  // Arrays of numbers go to Value::numbers as doubles (for large numeric payloads: one Value per
  // number costs several times the parse). Integers past 2^53 lose precision there.
  bool pack_numbers = false;
};

// Parses one JSON document (surrounding whitespace allowed). Errors are InvalidArgument
// "LINE:COLUMN: problem"; callers add the file name and a hint.
StatusOr<Value> Parse(std::string_view text, const ParseOptions& options = {});

bool IsValidUtf8(std::string_view s);
// Appends `s` (valid UTF-8) as a quoted JSON string, escaping '"', '\\' and control characters.
void AppendString(std::string& out, std::string_view s);
// Appends the shortest text that reads back as exactly `v` (finite values only).
void AppendDouble(std::string& out, double v);
// The same for a float32 (its own shortest form: 0.1f prints as 0.1); `null` when not finite, as
// JSON has no NaN or infinity.
void AppendFloat(std::string& out, float v);

}  // namespace hearth::json
