// A small JSON document model that remembers where every value sits (line and column), so errors
// in a job spec can point into the file. Protobuf's JSON parser does the real mapping; this
// exists only for diagnostics: precise syntax errors, repeated keys, and locating field paths.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hearth/status.h"

namespace hearth::job_internal {

struct JsonPos {
  int line = 1;
  int column = 1;  // in characters (UTF-8 code points), 1-based
};

struct JsonValue {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  struct Member;

  Kind kind = Kind::kNull;
  JsonPos pos;
  // kBool: "true"/"false"; kNumber: the literal as written; kString: the decoded text.
  std::string text;
  std::vector<JsonValue> elements;  // kArray
  std::vector<Member> members;      // kObject, in file order (repeats kept)
};

struct JsonValue::Member {
  std::string key;
  JsonPos key_pos;
  JsonValue value;
};

// "an object", "a string", ... for messages.
const char* JsonKindName(JsonValue::Kind kind);

// Parses strict JSON (RFC 8259). Errors are InvalidArgument "line:column: problem".
StatusOr<JsonValue> ParseJson(std::string_view text);

// The value at a protobuf-style field path such as "model.layers[2].conv2d" (keys as written in
// the file), or nullopt.
std::optional<JsonPos> LocatePath(const JsonValue& root, std::string_view path);

}  // namespace hearth::job_internal
