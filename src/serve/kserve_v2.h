// The Open Inference Protocol v2 (KServe) over REST, as JSON bodies: server and model metadata
// and infer. https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
//
// An infer request sends either one tensor input (any name, shape [N, features...], FP32, FP64,
// INT64, INT32 or BOOL, `data` flat or nested), or one input per feature column, named by the
// training CSV's header, each of shape [N] or [N, 1] (BYTES for strings). Outputs: serve/outputs.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"
#include "serve/outputs.h"
#include "serve/served_model.h"

namespace hearth::serve::kserve {

std::string ServerMetadata();
// GET /v2/models/NAME[/versions/V]: name, versions served, inputs and outputs.
std::string ModelMetadata(const ServedModel& model, const std::vector<int64_t>& versions);

struct InferCall {
  std::string id;  // echoed back
  std::vector<float> values;
  int64_t rows = 0;
  std::vector<OutputInfo> outputs;  // those asked for, else the defaults
};
// INVALID_ARGUMENT naming the input, field or row on a bad body; RESOURCE_EXHAUSTED past
// `max_rows` rows.
StatusOr<InferCall> ParseInferRequest(const ServedModel& model, std::string_view body,
                                      int64_t max_rows);
std::string InferResponse(const ServedModel& model, const InferCall& call,
                          const Inference& inference);

}  // namespace hearth::serve::kserve
