// How a client's values become the raw feature rows a model was trained on: rows as lists in
// feature order, as objects keyed by the training CSV's column names (in any order), or as one
// tensor. Every error names the row and the field and says what was expected, so a protocol can
// return it as a 400 body unchanged.
//
// The model's preprocessing decides which values it can take: numbers; category texts where a
// one_hot step takes them (mapped to the training codes; one the model never saw is "unknown" and
// sets no one-hot column); and a missing value (JSON null, or a named field left out) where an
// impute step fills it. Anything else is refused with the step that would accept it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/json.h"
#include "hearth/status.h"
#include "hearth/train.h"

namespace hearth::serve {

// A request body as JSON (numbers in arrays packed), or INVALID_ARGUMENT "the body is not JSON:
// LINE:COLUMN: ..." / "the body must be an object: <example>".
StatusOr<json::Value> ParseRequestBody(std::string_view body, std::string_view example);
// RESOURCE_EXHAUSTED past the server's --max-rows, naming the flag.
Status CheckRowCount(int64_t rows, int64_t max_rows);
// Sizes before allocation: `rows` rows of `width` values claim rows * width values, and a body of
// `body_bytes` holds fewer than that many numbers (each takes a byte at least). INVALID_ARGUMENT
// before anything is allocated for a claim the body cannot back.
Status CheckFitsInBody(int64_t rows, int64_t width, size_t body_bytes);

class FeatureRows {
 public:
  // The layout of `model`'s rows: `width` raw values per row, named when it was trained on CSV.
  // A model whose record shape was never recorded (TrainedModel::record_shape) takes
  // `unrecorded_width` values per row, the caller's best knowledge (0: none).
  explicit FeatureRows(const TrainedModel& model, int64_t unrecorded_width = 0);

  int64_t width() const { return width_; }
  const std::vector<std::string>& names() const { return names_; }
  // The feature's position by column name, or -1.
  int64_t IndexOf(std::string_view name) const;

  // Appends one row to `out` (width() values): a list in feature order (nested lists are
  // flattened: an image as [[...], ...]), an object keyed by column names, or a bare number for
  // a one-feature model. `row` numbers the row (from 0) in errors.
  Status AppendRow(const json::Value& row, int64_t row_index, std::vector<float>& out) const;
  // Appends the values of one cell (a number, or a nested list of them) in order, refusing more
  // than `limit` values: a tensor input's `data`.
  Status AppendValues(const json::Value& data, int64_t limit, std::string_view what,
                      std::vector<float>& out) const;
  // One value for feature `feature` of row `row_index`.
  StatusOr<float> EncodeCell(const json::Value& cell, int64_t row_index, int64_t feature) const;
  StatusOr<float> EncodeNumber(double value, int64_t row_index, int64_t feature) const;
  // The number of elements of a list `data`, packed or not.
  static size_t ListSize(const json::Value& data) {
    return data.packed ? data.numbers.size() : data.array.size();
  }

  // "row 3, field `age`" (or "feature 7" when the columns have no names).
  std::string Where(int64_t row_index, int64_t feature) const;
  // Whether the model's preprocessing fills a missing value of `feature`.
  bool MayBeMissing(int64_t feature) const;

 private:
  // Where flattened values land: value k after `start` is feature k % width of row
  // first_row + k / width; at most `limit` values; `what` names the whole in errors (empty: "row
  // <first_row>", formatted only for the error).
  struct Span {
    size_t start;
    int64_t first_row;
    int64_t limit;
    std::string_view what;
  };
  Status TooManyValues(const Span& span) const;
  Status Flatten(const json::Value& data, const Span& span, std::vector<float>& out) const;
  // Feature `feature`'s category codes, or nullptr for a numeric feature.
  const absl::flat_hash_map<std::string, float>* CodesOf(int64_t feature) const;

  int64_t width_ = 0;
  std::vector<std::string> names_;
  std::vector<bool> missing_ok_;  // per feature: MayBeMissing
  // Per feature, category text -> code (empty for numeric features).
  std::vector<absl::flat_hash_map<std::string, float>> codes_;
  absl::flat_hash_map<std::string, int64_t> index_;  // names_ -> position
};

}  // namespace hearth::serve
