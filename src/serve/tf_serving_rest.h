// TensorFlow Serving's REST API: model status and the predict call in its row format.
// https://www.tensorflow.org/tfx/serving/api_rest
//
// `instances` is a list of rows: each a list in feature order (nested for images), an object
// keyed by the training CSV's column names (in any order), or a bare number for a one-feature
// model. The columnar `inputs` form is accepted too: {"inputs": {"age": [..], "income": [..]}}
// or {"inputs": [[...], ...]}. Predictions: one per row, an object of serve/outputs.h's default
// outputs (a regression model's a bare value or list, as TF Serving gives).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"
#include "serve/model_registry.h"
#include "serve/served_model.h"

namespace hearth::serve::tfserving {

// GET /v1/models/NAME[/versions/V]: every version served, AVAILABLE.
std::string ModelStatusJson(const ModelStatus& status, std::optional<int64_t> only);

struct PredictCall {
  std::vector<float> values;
  int64_t rows = 0;
};
StatusOr<PredictCall> ParsePredictRequest(const ServedModel& model, std::string_view body,
                                          int64_t max_rows);
std::string PredictResponse(const ServedModel& model, const Inference& inference);

}  // namespace hearth::serve::tfserving
