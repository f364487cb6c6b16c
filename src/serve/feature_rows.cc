#include "serve/feature_rows.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace hearth::serve {
namespace {

std::string Quote(std::string_view s) {
  std::string out;
  json::AppendString(out, s.size() > 60 ? s.substr(0, 60) : s);
  if (s.size() > 60) out += "...";
  return out;
}

}  // namespace

StatusOr<json::Value> ParseRequestBody(std::string_view body, std::string_view example) {
  StatusOr<json::Value> parsed = json::Parse(body, json::ParseOptions{.pack_numbers = true});
  if (!parsed.ok())
    return absl::InvalidArgumentError(
        absl::StrFormat("the body is not JSON: %s", parsed.status().message()));
  if (!parsed->is_object())
    return absl::InvalidArgumentError(absl::StrFormat("the body must be an object: %s", example));
  return parsed;
}

Status CheckRowCount(int64_t rows, int64_t max_rows) {
  if (rows > max_rows)
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%d rows in one request; this server takes at most %d (raise --max-rows, or split the "
        "request)",
        rows, max_rows));
  return absl::OkStatus();
}

Status CheckFitsInBody(int64_t rows, int64_t width, size_t body_bytes) {
  if (rows > static_cast<int64_t>(body_bytes) / std::max<int64_t>(width, 1))
    return absl::InvalidArgumentError(
        absl::StrFormat("%d rows of %d values cannot be in a body of %d bytes; check the shape",
                        rows, width, body_bytes));
  return absl::OkStatus();
}

FeatureRows::FeatureRows(const TrainedModel& model, int64_t unrecorded_width)
    : width_(model.record_shape().rank() > 0 ? model.record_shape().numel() : unrecorded_width),
      names_(model.feature_names()) {
  for (size_t i = 0; i < names_.size(); ++i) index_.emplace(names_[i], static_cast<int64_t>(i));
  for (int64_t j = 0; j < width_; ++j)
    missing_ok_.push_back(model.preprocessor().AcceptsMissing(j));
  const auto& categories = model.feature_categories();
  codes_.resize(categories.size());
  for (size_t j = 0; j < categories.size(); ++j)
    for (size_t k = 0; k < categories[j].size(); ++k)
      codes_[j].emplace(categories[j][k], static_cast<float>(k));
}

const absl::flat_hash_map<std::string, float>* FeatureRows::CodesOf(int64_t feature) const {
  return feature >= 0 && feature < static_cast<int64_t>(codes_.size()) && !codes_[feature].empty()
             ? &codes_[feature]
             : nullptr;
}

bool FeatureRows::MayBeMissing(int64_t feature) const {
  return feature >= 0 && feature < static_cast<int64_t>(missing_ok_.size()) && missing_ok_[feature];
}

int64_t FeatureRows::IndexOf(std::string_view name) const {
  const auto it = index_.find(absl::string_view(name.data(), name.size()));
  return it == index_.end() ? -1 : it->second;
}

Status FeatureRows::TooManyValues(const Span& span) const {
  const std::string what =
      span.what.empty() ? absl::StrFormat("row %d", span.first_row) : std::string(span.what);
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: more values than the %d expected", what, span.limit));
}

std::string FeatureRows::Where(int64_t row_index, int64_t feature) const {
  if (feature >= 0 && feature < static_cast<int64_t>(names_.size()))
    return absl::StrFormat("row %d, field `%s`", row_index, names_[feature]);
  return absl::StrFormat("row %d, feature %d", row_index, feature);
}

StatusOr<float> FeatureRows::EncodeNumber(double value, int64_t row_index, int64_t feature) const {
  const float f = static_cast<float>(value);
  if (!std::isfinite(f))
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %g is out of the float32 range", Where(row_index, feature), value));
  return f;
}

StatusOr<float> FeatureRows::EncodeCell(const json::Value& cell, int64_t row_index,
                                        int64_t feature) const {
  if (const auto* codes = CodesOf(feature);
      codes != nullptr &&
      (cell.type == json::Value::Type::kString || cell.type == json::Value::Type::kNumber)) {
    // A category: its training code, or -1 (unknown: one-hot sets none of its columns). A number
    // is taken as its text, as the CSV reader does ("3" in a column of sizes).
    const auto it = codes->find(absl::string_view(cell.text.data(), cell.text.size()));
    return it == codes->end() ? -1.0f : it->second;
  }
  double v = 0;
  switch (cell.type) {
    case json::Value::Type::kNumber:
      if (!cell.AsDouble(&v))
        return absl::InvalidArgumentError(absl::StrFormat("%s: %s is out of the float32 range",
                                                          Where(row_index, feature), cell.text));
      return EncodeNumber(v, row_index, feature);
    case json::Value::Type::kBool:
      return cell.boolean ? 1.0f : 0.0f;
    case json::Value::Type::kNull:
      if (MayBeMissing(feature)) return std::numeric_limits<float>::quiet_NaN();
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: missing value, and the model's preprocessing has no impute step to fill it; send "
          "a number (or train with an impute step)",
          Where(row_index, feature)));
    case json::Value::Type::kString:
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected a number, got the string %s; the model's preprocessing has no one_hot "
          "step for this field",
          Where(row_index, feature), Quote(cell.text)));
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected a number, got %s", Where(row_index, feature), json::TypeName(cell.type)));
  }
}

Status FeatureRows::Flatten(const json::Value& data, const Span& span,
                            std::vector<float>& out) const {
  const int64_t width = std::max<int64_t>(width_, 1);
  if (data.packed) {
    const int64_t n = static_cast<int64_t>(out.size() - span.start);
    if (n + static_cast<int64_t>(data.numbers.size()) > span.limit) return TooManyValues(span);
    for (size_t i = 0; i < data.numbers.size(); ++i) {
      const int64_t k = n + static_cast<int64_t>(i);
      if (const auto* codes = CodesOf(k % width)) {
        // A number in a category column is its text, as the CSV reader reads it.
        const auto it = codes->find(absl::StrCat(data.numbers[i]));
        out.push_back(it == codes->end() ? -1.0f : it->second);
        continue;
      }
      HEARTH_ASSIGN_OR_RETURN(float v,
                              EncodeNumber(data.numbers[i], span.first_row + k / width, k % width));
      out.push_back(v);
    }
    return absl::OkStatus();
  }
  if (data.is_array()) {
    for (const json::Value& v : data.array) HEARTH_RETURN_IF_ERROR(Flatten(v, span, out));
    return absl::OkStatus();
  }
  const int64_t n = static_cast<int64_t>(out.size() - span.start);
  if (n >= span.limit) return TooManyValues(span);
  HEARTH_ASSIGN_OR_RETURN(float v, EncodeCell(data, span.first_row + n / width, n % width));
  out.push_back(v);
  return absl::OkStatus();
}

Status FeatureRows::AppendValues(const json::Value& data, int64_t limit, std::string_view what,
                                 std::vector<float>& out) const {
  return Flatten(data, Span{out.size(), 0, limit, what}, out);
}

Status FeatureRows::AppendRow(const json::Value& row, int64_t row_index,
                              std::vector<float>& out) const {
  const size_t start = out.size();
  if (row.is_object()) {
    if (names_.empty())
      return absl::InvalidArgumentError(absl::StrFormat(
          "row %d: an object of named fields, but this model was not trained on named columns; "
          "send the row as a list of %d numbers",
          row_index, width_));
    // A field left out is missing: NaN, which the model's impute step fills where it has one.
    out.resize(start + width_, std::numeric_limits<float>::quiet_NaN());
    std::vector<bool> given(static_cast<size_t>(width_), false);
    for (const json::Value::Member& m : row.object) {
      const int64_t j = IndexOf(m.key);
      if (j < 0)
        return absl::InvalidArgumentError(
            absl::StrFormat("row %d: unknown field %s; the model's fields are %s", row_index,
                            Quote(m.key), absl::StrJoin(names_, ", ")));
      if (given[j])
        return absl::InvalidArgumentError(absl::StrFormat("%s: given twice", Where(row_index, j)));
      given[j] = true;
      HEARTH_ASSIGN_OR_RETURN(out[start + j], EncodeCell(m.value, row_index, j));
    }
    for (int64_t j = 0; j < width_; ++j)
      if (!given[j] && !MayBeMissing(j))
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: missing, and the model's preprocessing has no impute step to fill it",
            Where(row_index, j)));
    return absl::OkStatus();
  }
  if (!row.is_array()) {
    if (width_ != 1)
      return absl::InvalidArgumentError(absl::StrFormat(
          "row %d: expected a list of %d values%s, got %s", row_index, width_,
          names_.empty() ? "" : " or an object of named fields", json::TypeName(row.type)));
    HEARTH_ASSIGN_OR_RETURN(float v, EncodeCell(row, row_index, 0));
    out.push_back(v);
    return absl::OkStatus();
  }
  HEARTH_RETURN_IF_ERROR(Flatten(row, Span{start, row_index, width_, {}}, out));
  if (static_cast<int64_t>(out.size() - start) != width_)
    return absl::InvalidArgumentError(
        absl::StrFormat("row %d: %d values, but the model takes %d per row", row_index,
                        out.size() - start, width_));
  return absl::OkStatus();
}

}  // namespace hearth::serve
