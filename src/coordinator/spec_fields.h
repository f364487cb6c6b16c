// Numeric job-spec fields addressed by path, for sweeps: "optimizer.lr", "global_batch_size",
// "model.layers[0].dense.units". Field names are the proto (snake_case) or JSON (camelCase)
// names; [i] indexes a repeated message field.
#pragma once

#include <string>

#include "google/protobuf/message.h"
#include "hearth/status.h"

namespace hearth::coordinator {

// Sets the numeric field at `path` to `value` (rounded for integer fields). INVALID_ARGUMENT
// naming the path when a segment does not exist, an index is out of range, the field is not a
// number, or an integer value does not fit.
Status SetNumericField(google::protobuf::Message& message, const std::string& path, double value);

// Whether the field at `path` is an integer (so sampled values are rounded).
StatusOr<bool> IsIntegerField(const google::protobuf::Message& message, const std::string& path);

}  // namespace hearth::coordinator
