#include "serve/outputs.h"

#include <algorithm>
#include <cmath>

#include "core/json.h"

namespace hearth::serve {

std::vector<OutputInfo> OutputsOf(const ServedModel& model) {
  const int64_t width = model.model().num_outputs();
  const int64_t raw = model.model().output_width();
  switch (model.task()) {
    case v1::CLASSIFICATION: {
      std::vector<OutputInfo> out;
      if (!model.model().class_names().empty()) out.push_back({"label", "BYTES", 0, true});
      out.push_back({"class_id", "INT64", 0, true});
      // A binary model has one logit but two probabilities.
      out.push_back({"probabilities", "FP32", std::max<int64_t>(width, 2), true});
      out.push_back({"output", "FP32", raw, false});
      return out;
    }
    case v1::REGRESSION:
      return {{"value", "FP32", width, true}, {"output", "FP32", raw, false}};
    default:
      return {{"cluster", "INT64", 0, true},
              {"distance", "FP32", 0, true},
              {"output", "FP32", raw, false}};
  }
}

namespace {

// One row's value; a row of several values as an array, or with `flat` as bare values.
void AppendRow(const OutputInfo& info, const Inference& inference, int64_t row, bool flat,
               std::string& out) {
  const TrainedModel::Prediction& p = inference.predictions[row];
  if (info.name == "label") {
    json::AppendString(out, p.label);
  } else if (info.name == "class_id" || info.name == "cluster") {
    out += std::to_string(p.class_id);
  } else if (info.name == "distance") {
    json::AppendFloat(out, p.distance);
  } else {
    const float* values = nullptr;
    size_t count = 0;
    if (info.name == "probabilities") {
      values = p.probabilities.data();
      count = p.probabilities.size();
    } else if (info.name == "value") {
      values = p.values.data();
      count = p.values.size();
    } else {  // output: the tensor's own width, whatever the metadata says
      const int64_t width =
          inference.outputs.numel() / std::max<int64_t>(inference.outputs.dim(0), 1);
      count = static_cast<size_t>(width);
      values = inference.outputs.f32() + row * width;
    }
    if (!flat) out += '[';
    for (size_t i = 0; i < count; ++i) {
      if (i) out += ',';
      json::AppendFloat(out, values[i]);
    }
    if (!flat) out += ']';
  }
}

}  // namespace

void AppendOutputRow(const OutputInfo& info, const Inference& inference, int64_t row,
                     std::string& out) {
  AppendRow(info, inference, row, /*flat=*/false, out);
}

void AppendOutputData(const OutputInfo& info, const Inference& inference, std::string& out) {
  out += '[';
  const int64_t rows = static_cast<int64_t>(inference.predictions.size());
  for (int64_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    AppendRow(info, inference, r, /*flat=*/true, out);
  }
  out += ']';
}

}  // namespace hearth::serve
