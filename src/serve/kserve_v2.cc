#include "serve/kserve_v2.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/json.h"

namespace hearth::serve::kserve {
namespace {

constexpr const char* kNumberTypes[] = {"FP32", "FP64",   "FP16",   "INT64",  "INT32", "INT16",
                                        "INT8", "UINT64", "UINT32", "UINT16", "UINT8", "BOOL"};

bool IsNumberType(std::string_view t) {
  for (const char* n : kNumberTypes)
    if (t == n) return true;
  return false;
}

Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

// The shape of input `i`, checked: positive dimensions whose product fits.
StatusOr<std::vector<int64_t>> ShapeOf(const json::Value& input, const std::string& what) {
  const json::Value* shape = input.Find("shape");
  if (shape == nullptr || !shape->is_array() || FeatureRows::ListSize(*shape) == 0)
    return Invalid(absl::StrFormat("%s: `shape` is required, e.g. [1, 784] for one row", what));
  std::vector<int64_t> dims;
  int64_t total = 1;
  for (size_t i = 0; i < FeatureRows::ListSize(*shape); ++i) {
    int64_t v = 0;
    bool integer = false;
    if (shape->packed) {
      const double d = shape->numbers[i];
      integer = d >= 1 && d <= static_cast<double>(int64_t{1} << 31) &&
                d == static_cast<double>(static_cast<int64_t>(d));
      if (integer) v = static_cast<int64_t>(d);
    } else {
      integer = shape->array[i].AsInt64(&v);
    }
    if (!integer || v < 1 || v > (int64_t{1} << 31) || total > (int64_t{1} << 40) / v)
      return Invalid(
          absl::StrFormat("%s: `shape` must hold positive integers of a sane size", what));
    total *= v;
    dims.push_back(v);
  }
  return dims;
}

std::string InputName(const json::Value& input) {
  const json::Value* name = input.Find("name");
  return name != nullptr && name->is_string() ? name->text : "";
}

Status ParseTensorInput(const ServedModel& model, const json::Value& input, int64_t max_rows,
                        size_t body_bytes, InferCall& call) {
  const std::string what = absl::StrFormat("inputs[0] `%s`", InputName(input));
  const json::Value* datatype = input.Find("datatype");
  if (datatype == nullptr || !datatype->is_string())
    return Invalid(absl::StrFormat("%s: `datatype` is required (FP32 for features)", what));
  if (!IsNumberType(datatype->text))
    return Invalid(absl::StrFormat(
        "%s: datatype %s; a tensor of features is FP32 (or another number type). Strings go "
        "one input per field, named by column",
        what, datatype->text));
  HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ShapeOf(input, what));
  const int64_t width = model.rows().width();
  int64_t per_row = 1;
  for (size_t i = 1; i < shape.size(); ++i) per_row *= shape[i];
  if (shape.size() < 2 && width != 1)
    return Invalid(
        absl::StrFormat("%s: shape [%s]: the first dimension counts rows; one row is [1, %d]", what,
                        absl::StrJoin(shape, ", "), width));
  if (per_row != width)
    return Invalid(absl::StrFormat("%s: shape [%s] gives %d values per row; the model takes %d",
                                   what, absl::StrJoin(shape, ", "), per_row, width));
  HEARTH_RETURN_IF_ERROR(CheckRowCount(shape[0], max_rows));
  const json::Value* data = input.Find("data");
  if (data == nullptr) return Invalid(absl::StrFormat("%s: `data` is required", what));
  call.rows = shape[0];
  HEARTH_RETURN_IF_ERROR(CheckFitsInBody(shape[0], width, body_bytes));
  call.values.reserve(shape[0] * width);
  HEARTH_RETURN_IF_ERROR(model.rows().AppendValues(*data, shape[0] * width, what, call.values));
  if (static_cast<int64_t>(call.values.size()) != shape[0] * width)
    return Invalid(absl::StrFormat("%s: `data` holds %d values; shape [%s] needs %d", what,
                                   call.values.size(), absl::StrJoin(shape, ", "),
                                   shape[0] * width));
  return absl::OkStatus();
}

// One input per feature column.
Status ParseColumnInputs(const ServedModel& model, const json::Value& inputs, int64_t max_rows,
                         size_t body_bytes, InferCall& call) {
  const FeatureRows& rows = model.rows();
  std::vector<const json::Value*> columns(rows.width(), nullptr);
  for (size_t i = 0; i < inputs.array.size(); ++i) {
    const json::Value& input = inputs.array[i];
    const std::string name = InputName(input);
    const int64_t j = rows.IndexOf(name);
    const std::string what = absl::StrFormat("inputs[%d] `%s`", i, name);
    if (columns[j] != nullptr) return Invalid(absl::StrFormat("%s: given twice", what));
    columns[j] = &input;
    HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ShapeOf(input, what));
    if (shape.size() > 2 || (shape.size() == 2 && shape[1] != 1))
      return Invalid(absl::StrFormat("%s: a column input has shape [N] or [N, 1]", what));
    if (i == 0) {
      HEARTH_RETURN_IF_ERROR(CheckRowCount(shape[0], max_rows));
      HEARTH_RETURN_IF_ERROR(CheckFitsInBody(shape[0], rows.width(), body_bytes));
      call.rows = shape[0];
      call.values.assign(call.rows * rows.width(), 0.0f);
    } else if (shape[0] != call.rows) {
      return Invalid(
          absl::StrFormat("%s: %d rows, but inputs[0] has %d", what, shape[0], call.rows));
    }
    const json::Value* data = input.Find("data");
    if (data == nullptr || !data->is_array())
      return Invalid(absl::StrFormat("%s: `data` is required, a list of one value per row", what));
    // [N] or [N, 1] data: numbers (packed), or values and one-element lists.
    const size_t count = FeatureRows::ListSize(*data);
    if (static_cast<int64_t>(count) != call.rows)
      return Invalid(
          absl::StrFormat("%s: `data` holds %d values for %d rows", what, count, call.rows));
    for (int64_t r = 0; r < call.rows; ++r) {
      float& out = call.values[r * rows.width() + j];
      if (data->packed) {
        HEARTH_ASSIGN_OR_RETURN(out, rows.EncodeNumber(data->numbers[r], r, j));
        continue;
      }
      const json::Value& v = data->array[r];
      if (v.packed && v.numbers.size() == 1) {
        HEARTH_ASSIGN_OR_RETURN(out, rows.EncodeNumber(v.numbers[0], r, j));
        continue;
      }
      HEARTH_ASSIGN_OR_RETURN(
          out, rows.EncodeCell(v.is_array() && v.array.size() == 1 ? v.array[0] : v, r, j));
    }
  }
  std::vector<std::string> missing;
  for (int64_t j = 0; j < rows.width(); ++j)
    if (columns[j] == nullptr) missing.push_back(rows.names()[j]);
  if (!missing.empty())
    return Invalid(absl::StrFormat(
        "inputs: no input for field%s %s, and the model's preprocessing has no impute step",
        missing.size() > 1 ? "s" : "", absl::StrJoin(missing, ", ")));
  return absl::OkStatus();
}

Status ParseOutputs(const ServedModel& model, const json::Value& request, InferCall& call) {
  const std::vector<OutputInfo> all = OutputsOf(model);
  const json::Value* asked = request.Find("outputs");
  if (asked == nullptr) {
    for (const OutputInfo& o : all)
      if (o.by_default) call.outputs.push_back(o);
    return absl::OkStatus();
  }
  if (!asked->is_array())
    return Invalid("`outputs` must be a list such as [{\"name\": \"probabilities\"}]");
  for (size_t i = 0; i < asked->array.size(); ++i) {
    const json::Value* name = asked->array[i].Find("name");
    const OutputInfo* found = nullptr;
    for (const OutputInfo& o : all)
      if (name != nullptr && name->is_string() && o.name == name->text) found = &o;
    if (found == nullptr) {
      std::vector<std::string> names;
      for (const OutputInfo& o : all) names.push_back(o.name);
      return Invalid(absl::StrFormat("outputs[%d]: no such output; this model gives %s", i,
                                     absl::StrJoin(names, ", ")));
    }
    call.outputs.push_back(*found);
  }
  return absl::OkStatus();
}

void AppendShape(std::string& out, int64_t rows, int64_t width) {
  out += absl::StrFormat("[%d", rows);
  if (width > 0) out += absl::StrFormat(",%d", width);
  out += ']';
}

}  // namespace

std::string ServerMetadata() {
  return R"({"name":"hearth","version":"0.1.0","extensions":["model_repository"]})";
}

std::string ModelMetadata(const ServedModel& model, const std::vector<int64_t>& versions) {
  std::string out = "{\"name\":";
  json::AppendString(out, model.name());
  out += ",\"versions\":[";
  for (size_t i = 0; i < versions.size(); ++i)
    out += absl::StrFormat("%s\"%d\"", i ? "," : "", versions[i]);
  out +=
      "],\"platform\":\"hearth\",\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\","
      "\"shape\":[-1";
  for (int64_t d : model.model().record_shape()) out += absl::StrFormat(",%d", d);
  out += "]}";
  for (const std::string& column : model.rows().names()) {
    out += ",{\"name\":";
    json::AppendString(out, column);
    out += ",\"datatype\":\"FP32\",\"shape\":[-1],\"parameters\":{\"column\":true}}";
  }
  out += "],\"outputs\":[";
  const std::vector<OutputInfo> outputs = OutputsOf(model);
  for (size_t i = 0; i < outputs.size(); ++i) {
    out += absl::StrFormat("%s{\"name\":\"%s\",\"datatype\":\"%s\",\"shape\":", i ? "," : "",
                           outputs[i].name, outputs[i].datatype);
    AppendShape(out, -1, outputs[i].width);
    out += '}';
  }
  out += absl::StrFormat("],\"parameters\":{\"task\":\"%s\",\"version\":\"%d\"",
                         v1::Task_Name(model.task()), model.version());
  if (!model.model().class_names().empty()) {
    out += ",\"labels\":[";
    const auto& names = model.model().class_names();
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) out += ',';
      json::AppendString(out, names[i]);
    }
    out += ']';
  }
  out += "}}";
  return out;
}

StatusOr<InferCall> ParseInferRequest(const ServedModel& model, std::string_view body,
                                      int64_t max_rows) {
  HEARTH_ASSIGN_OR_RETURN(const json::Value request,
                          ParseRequestBody(body, R"({"inputs": [{"name": "input", ...}]})"));
  InferCall call;
  if (const json::Value* id = request.Find("id"); id != nullptr && id->is_string())
    call.id = id->text;
  const json::Value* inputs = request.Find("inputs");
  if (inputs == nullptr || !inputs->is_array() || inputs->array.empty())
    return Invalid(
        "`inputs` is required: a list of tensors, e.g. [{\"name\": \"input\", \"shape\": [1, "
        "F], \"datatype\": \"FP32\", \"data\": [...]}]");
  for (size_t i = 0; i < inputs->array.size(); ++i)
    if (!inputs->array[i].is_object())
      return Invalid(absl::StrFormat("inputs[%d]: expected an object", i));
  bool columns = !model.rows().names().empty();
  for (size_t i = 0; i < inputs->array.size() && columns; ++i)
    columns = model.rows().IndexOf(InputName(inputs->array[i])) >= 0;
  if (columns) {
    HEARTH_RETURN_IF_ERROR(ParseColumnInputs(model, *inputs, max_rows, body.size(), call));
  } else if (inputs->array.size() == 1) {
    HEARTH_RETURN_IF_ERROR(ParseTensorInput(model, inputs->array[0], max_rows, body.size(), call));
  } else {
    return Invalid(absl::StrFormat(
        "inputs: %d inputs, but they are not all the model's columns (%s); send one tensor "
        "input or one input per column",
        inputs->array.size(),
        model.rows().names().empty() ? "it has none" : absl::StrJoin(model.rows().names(), ", ")));
  }
  HEARTH_RETURN_IF_ERROR(ParseOutputs(model, request, call));
  return call;
}

std::string InferResponse(const ServedModel& model, const InferCall& call,
                          const Inference& inference) {
  std::string out = "{\"model_name\":";
  out.reserve(256 + 16 * inference.outputs.numel());
  json::AppendString(out, model.name());
  out += absl::StrFormat(",\"model_version\":\"%d\"", model.version());
  if (!call.id.empty()) {
    out += ",\"id\":";
    json::AppendString(out, call.id);
  }
  out += ",\"outputs\":[";
  for (size_t i = 0; i < call.outputs.size(); ++i) {
    const OutputInfo& o = call.outputs[i];
    out += absl::StrFormat("%s{\"name\":\"%s\",\"datatype\":\"%s\",\"shape\":", i ? "," : "",
                           o.name, o.datatype);
    AppendShape(out, call.rows, o.width);
    out += ",\"data\":";
    AppendOutputData(o, inference, out);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace hearth::serve::kserve
