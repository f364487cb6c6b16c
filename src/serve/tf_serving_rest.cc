#include "serve/tf_serving_rest.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/json.h"
#include "serve/outputs.h"

namespace hearth::serve::tfserving {
namespace {

Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

// {"inputs": {"col": [v, ...], ...}}: rows from columns.
Status ParseColumnar(const ServedModel& model, const json::Value& inputs, int64_t max_rows,
                     size_t body_bytes, PredictCall& call) {
  const FeatureRows& rows = model.rows();
  if (rows.names().empty())
    return Invalid("`inputs` by column name, but this model was not trained on named columns");
  std::vector<bool> seen(rows.width(), false);
  for (size_t i = 0; i < inputs.object.size(); ++i) {
    const json::Value::Member& m = inputs.object[i];
    const int64_t j = rows.IndexOf(m.key);
    if (j < 0)
      return Invalid(absl::StrFormat("inputs: unknown field `%s`; the model's fields are %s", m.key,
                                     absl::StrJoin(rows.names(), ", ")));
    if (seen[j]) return Invalid(absl::StrFormat("inputs: field `%s` given twice", m.key));
    seen[j] = true;
    if (!m.value.is_array())
      return Invalid(absl::StrFormat("inputs `%s`: expected a list of one value per row", m.key));
    const int64_t n = static_cast<int64_t>(FeatureRows::ListSize(m.value));
    if (i == 0) {
      HEARTH_RETURN_IF_ERROR(CheckRowCount(n, max_rows));
      HEARTH_RETURN_IF_ERROR(CheckFitsInBody(n, rows.width(), body_bytes));
      call.rows = n;
      call.values.assign(n * rows.width(), 0.0f);
    } else if (n != call.rows) {
      return Invalid(absl::StrFormat("inputs `%s`: %d values, but `%s` has %d", m.key, n,
                                     inputs.object[0].key, call.rows));
    }
    for (int64_t r = 0; r < n; ++r) {
      HEARTH_ASSIGN_OR_RETURN(call.values[r * rows.width() + j],
                              m.value.packed ? rows.EncodeNumber(m.value.numbers[r], r, j)
                                             : rows.EncodeCell(m.value.array[r], r, j));
    }
  }
  for (int64_t j = 0; j < rows.width(); ++j)
    if (!seen[j])
      return Invalid(absl::StrFormat(
          "inputs: no values for field `%s`, and the model's preprocessing has no impute step",
          rows.names()[j]));
  return absl::OkStatus();
}

}  // namespace

std::string ModelStatusJson(const ModelStatus& status, std::optional<int64_t> only) {
  std::string out = "{\"model_version_status\":[";
  bool first = true;
  for (auto it = status.versions.rbegin(); it != status.versions.rend(); ++it) {
    if (only && *only != *it) continue;
    out += absl::StrFormat(
        "%s{\"version\":\"%d\",\"state\":\"AVAILABLE\",\"status\":{\"error_code\":\"OK\","
        "\"error_message\":\"\"}}",
        first ? "" : ",", *it);
    first = false;
  }
  out += "]}";
  return out;
}

StatusOr<PredictCall> ParsePredictRequest(const ServedModel& model, std::string_view body,
                                          int64_t max_rows) {
  HEARTH_ASSIGN_OR_RETURN(const json::Value request,
                          ParseRequestBody(body, R"({"instances": [row, ...]})"));
  const json::Value* parsed = &request;
  PredictCall call;
  const json::Value* instances = parsed->Find("instances");
  const json::Value* inputs = parsed->Find("inputs");
  if (instances != nullptr && inputs != nullptr)
    return Invalid("give `instances` (rows) or `inputs` (columns), not both");
  if (inputs != nullptr && inputs->is_object()) {
    HEARTH_RETURN_IF_ERROR(ParseColumnar(model, *inputs, max_rows, body.size(), call));
    return call;
  }
  const json::Value* list = instances != nullptr ? instances : inputs;
  if (list != nullptr && list->packed) {
    // Bare numbers: one per row, for a one-feature model.
    if (model.rows().width() != 1)
      return Invalid(absl::StrFormat(
          "instances: bare numbers are rows of a one-feature model; this one takes %d per row",
          model.rows().width()));
    call.rows = static_cast<int64_t>(list->numbers.size());
    HEARTH_RETURN_IF_ERROR(CheckRowCount(call.rows, max_rows));
    HEARTH_RETURN_IF_ERROR(model.rows().AppendValues(*list, call.rows, "instances", call.values));
    return call;
  }
  if (list == nullptr || !list->is_array() || list->array.empty())
    return Invalid(
        "`instances` is required: a list of rows, each a list of values or an object of named "
        "fields");
  call.rows = static_cast<int64_t>(list->array.size());
  HEARTH_RETURN_IF_ERROR(CheckRowCount(call.rows, max_rows));
  HEARTH_RETURN_IF_ERROR(CheckFitsInBody(call.rows, model.rows().width(), body.size()));
  call.values.reserve(call.rows * model.rows().width());
  for (int64_t r = 0; r < call.rows; ++r)
    HEARTH_RETURN_IF_ERROR(model.rows().AppendRow(list->array[r], r, call.values));
  return call;
}

std::string PredictResponse(const ServedModel& model, const Inference& inference) {
  std::vector<OutputInfo> outputs;
  for (const OutputInfo& o : OutputsOf(model))
    if (o.by_default) outputs.push_back(o);
  std::string out = "{\"predictions\":[";
  out.reserve(64 + 24 * inference.outputs.numel());
  const int64_t rows = static_cast<int64_t>(inference.predictions.size());
  const bool bare = model.task() == v1::REGRESSION;
  for (int64_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    if (bare) {
      // TF Serving gives a regression row as its value, or its list of values.
      const std::vector<float>& v = inference.predictions[r].values;
      if (v.size() == 1) {
        json::AppendFloat(out, v[0]);
      } else {
        AppendOutputRow(outputs[0], inference, r, out);
      }
      continue;
    }
    out += '{';
    for (size_t i = 0; i < outputs.size(); ++i) {
      out += absl::StrFormat("%s\"%s\":", i ? "," : "", outputs[i].name);
      AppendOutputRow(outputs[i], inference, r, out);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace hearth::serve::tfserving
