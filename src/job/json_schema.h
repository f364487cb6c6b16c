// Checks a parsed JSON document against a protobuf message type before protobuf's own JSON parser
// sees it, so mistakes are reported with their line, column and field path, and so the JSON
// parser's leniencies (a string accepted as a boolean, a lone object taken as a one-element list)
// become errors instead of surprises.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "google/protobuf/descriptor.h"

namespace hearth::job_internal {

// Every problem found, each "line:column: field.path: problem": unknown fields (with the closest
// valid name), repeated keys, two members of one oneof, values of the wrong JSON type, enum names
// that do not exist, integers out of range or with a fraction. Field names are accepted as
// written in the .proto (snake_case) or in protobuf's lowerCamelCase JSON form.
std::vector<std::string> CheckJsonAgainstSchema(const json::Value& root,
                                                const google::protobuf::Descriptor& type);

// The value at a protobuf-style field path such as "model.layers[2].conv2d" (keys as written in
// the file), or nullopt.
std::optional<json::Pos> LocatePath(const json::Value& root, std::string_view path);

// Names of the enum's values except the *_UNSPECIFIED zero value, comma-separated.
std::string EnumValueList(const google::protobuf::EnumDescriptor& type);
// Names of the message's fields, comma-separated.
std::string FieldList(const google::protobuf::Descriptor& type);

}  // namespace hearth::job_internal
