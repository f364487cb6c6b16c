// CSV reader (RFC 4180): numeric feature columns and a classification or regression label.
//
// Error messages name `file:line:column` (column = 1-based field number) and say what was
// expected, e.g. `train.csv:17:3: expected a number in column "petal_len", got "abc"` or
// `train.csv:17: expected 5 fields, got 4`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hearth/data/dataset.h"
#include "hearth/status.h"

namespace hearth {

// A CSV column, by header name or by 0-based index (negative counts from the end, -1 is the last
// column): `{"species"}`, `{4}`, `{-1}`.
class ColumnRef {
 public:
  // Implicit, so option lists read naturally: `options.label_columns = {"species"};`.
  ColumnRef(int index) : index_(index), by_name_(false) {}                 // NOLINT
  ColumnRef(const char* name) : name_(name), by_name_(true) {}             // NOLINT
  ColumnRef(std::string name) : name_(std::move(name)), by_name_(true) {}  // NOLINT

  bool by_name() const { return by_name_; }
  const std::string& name() const { return name_; }
  int index() const { return index_; }
  // `"species"` or `#4`, for messages.
  std::string ToString() const;

 private:
  std::string name_;
  int index_ = 0;
  bool by_name_;
};

struct CsvOptions {
  char delimiter = ',';
  // The first record names the columns. Columns can be chosen by name only when it does.
  bool has_header = true;
  // Empty: no labels. Classification takes exactly one column; regression takes one (labels
  // [N]) or more (labels [N, k]).
  std::vector<ColumnRef> label_columns;
  LabelKind label_kind = LabelKind::kClassification;
  // Empty: every column that is not a label, in file order.
  std::vector<ColumnRef> feature_columns;
  // The mapping a model was trained with (Dataset::class_names): label strings map through it,
  // and a label not in it is an error. Without it, integer labels are kept as they are and string
  // labels get ids in sorted order of the distinct strings, so every rank of a distributed job
  // derives the same mapping whatever rows it reads first.
  std::optional<std::vector<std::string>> class_names;
  // When > 0, every class id must lie in [0, num_classes).
  int64_t num_classes = 0;
  // Cell texts (compared after trimming spaces and tabs) that mean "missing", besides an empty
  // cell: pandas' na_values by default (DefaultMissingValues).
  std::vector<std::string> missing_values = DefaultMissingValues();
  // Whether feature j (0-based, in feature order) may be missing: such a cell becomes NaN there.
  // Empty, or false: a missing cell is an error that names the impute step to add. Labels may
  // never be missing.
  std::function<bool(int64_t)> missing_allowed;
  // Whether feature j may be a category column. Reading training data (categories_fixed false),
  // such a column whose cells are all numbers stays numeric (integer categories keep their
  // values); one with any other text becomes a text column: every cell a category ("Paris", "3"),
  // coded in the sorted order of the distinct texts, so every rank of a distributed job derives
  // the same codes. Elsewhere text is an error that names the step to add.
  std::function<bool(int64_t)> category_allowed;
  // With categories_fixed, the mapping a model was trained with (Dataset::feature_categories):
  // a column it gives categories for maps its texts through them (a text they lack becomes -1,
  // unknown), and every other column is numeric.
  std::vector<std::vector<std::string>> feature_categories;
  bool categories_fixed = false;

  static std::vector<std::string> DefaultMissingValues();
};

// Reads a CSV file (plain or gzip-compressed). Unquoted fields are trimmed of surrounding spaces
// and tabs; quoted fields keep them. Empty lines are skipped; a missing cell (empty, or one of
// missing_values) is NaN where missing_allowed says so and an error elsewhere.
// NOT_FOUND when the file does not exist; INVALID_ARGUMENT for malformed data.
StatusOr<Dataset> ReadCsv(const std::string& path, const CsvOptions& options);

// The same on text already in memory; `source` names it in error messages.
StatusOr<Dataset> ParseCsv(std::string_view text, std::string_view source,
                           const CsvOptions& options);

}  // namespace hearth
