// `hearth export CHECKPOINT --format onnx`: a trained model as an ONNX graph (opset 13) that any
// ONNX runtime runs with Hearth's results. The graph holds the whole path from raw features to
// predictions, so an application gives it the rows as `hearth predict` reads them:
//
//   input          float32 [N, F]: F raw features per row (the checkpoint's record, flattened)
//   -> the saved preprocessing (standardize, minmax, scale, onehot), with its fitted statistics
//   -> the layers (dense, conv2d, max/avg pooling, flatten, activations; dropout is a no-op)
//   -> classification: probabilities float32 [N, C] and class_id int64 [N]
//      regression:     values float32 [N, outputs]
//      clustering:     distances float32 [N, k] (Euclidean), class_id int64 [N], distance [N]
//
// The class names, feature names and task go into the model's metadata_props ("hearth.*").
// Written through the protobuf messages of Debian's libonnx-dev (onnx/onnx-ml.proto).
//
// What the graph cannot say: an unseen one-hot category is an error in Hearth and an all-zero
// encoding in the graph.
#pragma once

#include <string>

#include "hearth/status.h"

namespace hearth::onnx_export {

inline constexpr int kOpset = 13;

// The serialized ModelProto for the checkpoint at `checkpoint_path`. INVALID_ARGUMENT or
// DATA_LOSS for a checkpoint that does not load; UNIMPLEMENTED naming the layer (and what to do)
// for a model with a part that has no ONNX form yet.
StatusOr<std::string> ExportOnnx(const std::string& checkpoint_path);

}  // namespace hearth::onnx_export
