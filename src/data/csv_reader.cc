// ReadCsv: resolves the label and feature columns, converts cells to numbers and labels to class
// ids, and reports bad input as file:line:column.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/cells.h"
#include "data/csv_tokenizer.h"
#include "data/file_reader.h"
#include "hearth/data/csv.h"

namespace hearth {
namespace {

using data_internal::CsvTokenizer;
using data_internal::ParseFloat;
using data_internal::ParseInteger;
using data_internal::TrimSpaces;

// Cell text longer than this is cut short in messages.
constexpr size_t kMaxShownChars = 40;
// Lists of names in messages stop after this many.
constexpr size_t kMaxShownNames = 20;

// Cell text for a message: quoted, escaped, and cut short when long.
std::string Quoted(std::string_view text) {
  const bool cut = text.size() > kMaxShownChars;
  const absl::string_view shown(text.data(), cut ? kMaxShownChars : text.size());
  return absl::StrCat("\"", absl::CHexEscape(shown), cut ? "...\"" : "\"");
}

std::string QuotedList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxShownNames; ++i) {
    absl::StrAppend(&out, i > 0 ? ", " : "", Quoted(names[i]));
  }
  if (names.size() > kMaxShownNames) absl::StrAppend(&out, ", ... (", names.size(), " in all)");
  return out;
}

// Turns the label cells of a classification column into class ids (see CsvOptions::class_names
// for the rules), remembering where the first invalid one was.
class ClassLabels {
 public:
  ClassLabels(const std::string& source, const CsvOptions& options, int64_t rows)
      : source_(source), options_(options) {
    if (options.class_names.has_value()) {
      for (size_t i = 0; i < options.class_names->size(); ++i) {
        given_.emplace((*options.class_names)[i], static_cast<int64_t>(i));
      }
      given_ids_.resize(static_cast<size_t>(rows));
    } else {
      ints_.resize(static_cast<size_t>(rows));
      first_seen_.resize(static_cast<size_t>(rows));
    }
  }

  // Checks the caller's mapping before any row is read.
  Status CheckGiven() const {
    if (options_.class_names.has_value() && given_.size() != options_.class_names->size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_,
          ": the given class_names list a name twice: ", QuotedList(*options_.class_names)));
    }
    return absl::OkStatus();
  }

  // The label cell of row `row`, found at `line` and 0-based `column` of the file.
  Status Add(int64_t row, std::string_view text, int64_t line, int64_t column) {
    // Built only for a message: most rows need none.
    const auto where = [&] { return absl::StrCat(source_, ":", line, ":", column + 1); };
    if (options_.class_names.has_value()) {
      int64_t* id_out = &given_ids_[static_cast<size_t>(row)];
      const auto it = given_.find(text);
      if (it != given_.end()) {
        *id_out = it->second;
      } else if (given_.empty()) {
        // The model was trained on integer class ids.
        if (!ParseInteger(text, id_out)) {
          return absl::InvalidArgumentError(absl::StrCat(
              where(),
              ": expected an integer class id (the model was trained on integer labels), "
              "got ",
              Quoted(text)));
        }
        if (*id_out < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(where(), ": class ids must be non-negative, got ", *id_out));
        }
      } else {
        return absl::InvalidArgumentError(absl::StrCat(where(), ": unknown label ", Quoted(text),
                                                       "; the model's classes are ",
                                                       QuotedList(*options_.class_names)));
      }
      if (options_.num_classes > 0 && *id_out >= options_.num_classes) {
        return absl::InvalidArgumentError(RangeMessage(*id_out, where()));
      }
      return absl::OkStatus();
    }
    // Collect both readings until every row is seen: one string label makes them all strings.
    int64_t value = 0;
    if (all_int_ && ParseInteger(text, &value)) {
      ints_[static_cast<size_t>(row)] = value;
      if (value < 0 && first_error_.empty()) {
        first_error_ = absl::StrCat(where(), ": class ids must be non-negative, got ", value);
      } else if (options_.num_classes > 0 && value >= options_.num_classes &&
                 first_error_.empty()) {
        first_error_ = RangeMessage(value, where());
      }
    } else {
      all_int_ = false;
    }
    auto it = seen_.find(text);
    if (it == seen_.end()) {
      it = seen_.emplace(std::string(text), static_cast<int64_t>(seen_.size())).first;
    }
    first_seen_[static_cast<size_t>(row)] = it->second;
    return absl::OkStatus();
  }

  // Writes the ids into `ids` and the class names (when the labels were strings).
  Status Finish(int64_t* ids, std::vector<std::string>* class_names) {
    if (options_.class_names.has_value()) {
      *class_names = *options_.class_names;
      std::copy(given_ids_.begin(), given_ids_.end(), ids);
      return absl::OkStatus();
    }
    if (all_int_) {
      if (!first_error_.empty()) return absl::InvalidArgumentError(first_error_);
      std::copy(ints_.begin(), ints_.end(), ids);
      return absl::OkStatus();
    }
    // std::map iterates in sorted order: that order is the class id.
    std::vector<int64_t> rank(seen_.size());
    class_names->clear();
    for (const auto& [name, first] : seen_) {
      rank[static_cast<size_t>(first)] = static_cast<int64_t>(class_names->size());
      class_names->push_back(name);
    }
    if (options_.num_classes > 0 &&
        static_cast<int64_t>(class_names->size()) > options_.num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ": the label column has ", class_names->size(), " distinct labels (",
          QuotedList(*class_names), ") but num_classes is ", options_.num_classes));
    }
    for (size_t i = 0; i < first_seen_.size(); ++i) {
      ids[i] = rank[static_cast<size_t>(first_seen_[i])];
    }
    return absl::OkStatus();
  }

 private:
  std::string RangeMessage(int64_t id, const std::string& where) const {
    return absl::StrCat(where, ": label ", id, " is out of range [0, ", options_.num_classes,
                        ") (num_classes = ", options_.num_classes, ")");
  }

  const std::string& source_;
  const CsvOptions& options_;
  std::map<std::string, int64_t, std::less<>> given_;
  std::vector<int64_t> given_ids_;  // ids through the caller's mapping, per row
  bool all_int_ = true;
  std::vector<int64_t> ints_;
  std::map<std::string, int64_t, std::less<>> seen_;  // label text -> order of first appearance
  std::vector<int64_t> first_seen_;
  std::string first_error_;
};

// A category feature's cells. With a given mapping each text gets its code (-1 when the mapping
// lacks it). Without one the column is numeric if every cell is a number, and otherwise every
// cell is a text coded by the sorted order of the distinct texts: codes are first written in
// order of first appearance, the numbers kept aside, and Finish decides.
class CategoryColumn {
 public:
  CategoryColumn(const std::vector<std::string>* given, int64_t rows) {
    if (given != nullptr && !given->empty()) {
      given_ = true;
      for (size_t i = 0; i < given->size(); ++i) codes_.emplace((*given)[i], i);
    } else {
      numbers_.resize(static_cast<size_t>(rows), std::numeric_limits<float>::quiet_NaN());
    }
  }

  float Code(int64_t row, std::string_view text) {
    const std::string_view trimmed = TrimSpaces(text);
    if (!given_) {
      float number = 0;
      if (all_numbers_ && ParseFloat(trimmed, &number) && std::isfinite(number))
        numbers_[static_cast<size_t>(row)] = number;
      else
        all_numbers_ = false;
    }
    const auto it = codes_.find(trimmed);
    if (it != codes_.end()) return static_cast<float>(it->second);
    if (given_) return -1.0f;
    const int64_t code = static_cast<int64_t>(codes_.size());
    codes_.emplace(std::string(trimmed), code);
    return static_cast<float>(code);
  }

  // Rewrites column `feature` of [rows, width] `features` as numbers (a column of numbers only) or
  // sorted codes, and returns the categories in code order (none for numbers).
  std::vector<std::string> Finish(float* features, int64_t rows, int64_t width, int64_t feature,
                                  const std::vector<std::string>* given) {
    if (given_) return *given;
    if (all_numbers_) {
      for (int64_t r = 0; r < rows; ++r) {
        float& v = features[r * width + feature];
        if (!std::isnan(v)) v = numbers_[static_cast<size_t>(r)];
      }
      return {};
    }
    std::vector<float> rank(codes_.size());
    std::vector<std::string> names;
    for (const auto& [name, first] : codes_) {  // std::map: sorted
      rank[static_cast<size_t>(first)] = static_cast<float>(names.size());
      names.push_back(name);
    }
    for (int64_t r = 0; r < rows; ++r) {
      float& v = features[r * width + feature];
      if (!std::isnan(v)) v = rank[static_cast<size_t>(v)];
    }
    return names;
  }

 private:
  bool given_ = false;
  bool all_numbers_ = true;
  std::vector<float> numbers_;  // per row, while every cell has been a number
  std::map<std::string, int64_t, std::less<>> codes_;
};

class CsvReader {
 public:
  CsvReader(std::string_view text, std::string_view source, const CsvOptions& options)
      : source_(source), options_(options), tokenizer_(text, source, options.delimiter) {}

  StatusOr<Dataset> Read() {
    HEARTH_RETURN_IF_ERROR(CheckOptions());
    HEARTH_RETURN_IF_ERROR(ReadHeaderAndCount());
    HEARTH_RETURN_IF_ERROR(ResolveColumns());
    return ReadRows();
  }

 private:
  Status Invalid(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": ", what));
  }

  Status CheckOptions() const {
    const char d = options_.delimiter;
    if (d == '"' || d == '\n' || d == '\r' || d == '\0') {
      return Invalid(
          absl::StrCat("invalid delimiter '", absl::CHexEscape(absl::string_view(&d, 1)), "'"));
    }
    if (options_.label_kind == LabelKind::kNone && !options_.label_columns.empty()) {
      return Invalid("label columns are given but label_kind is kNone");
    }
    if (options_.label_kind == LabelKind::kClassification && options_.label_columns.size() > 1) {
      return Invalid(absl::StrCat("classification takes one label column, got ",
                                  options_.label_columns.size()));
    }
    return absl::OkStatus();
  }

  Status ReadHeaderAndCount() {
    std::vector<std::string_view> fields;
    if (options_.has_header) {
      HEARTH_ASSIGN_OR_RETURN(bool any, tokenizer_.Next(&fields));
      if (!any) return Invalid("the file is empty (expected a header row)");
      header_.assign(fields.begin(), fields.end());
      num_columns_ = static_cast<int64_t>(header_.size());
    }
    // Counting first lets the rows be parsed straight into a tensor of the right size.
    CsvTokenizer counter = tokenizer_;
    for (;;) {
      HEARTH_ASSIGN_OR_RETURN(bool any, counter.Next(num_rows_ == 0 ? &fields : nullptr));
      if (!any) break;
      if (num_rows_ == 0 && !options_.has_header) {
        num_columns_ = static_cast<int64_t>(fields.size());
      }
      ++num_rows_;
    }
    if (num_rows_ == 0) {
      return Invalid(options_.has_header ? "no data rows after the header" : "the file is empty");
    }
    return absl::OkStatus();
  }

  std::string ColumnName(int64_t column) const {
    return options_.has_header ? absl::StrCat(" in column ", Quoted(header_[column])) : "";
  }

  StatusOr<int64_t> Resolve(const ColumnRef& ref, const char* role) const {
    if (!ref.by_name()) {
      const int64_t index = ref.index() < 0 ? ref.index() + num_columns_ : ref.index();
      if (index < 0 || index >= num_columns_) {
        return Invalid(absl::StrCat(role, " column index ", ref.index(),
                                    " is out of range: the file has ", num_columns_,
                                    " columns (indices are 0-based; -1 is the last)"));
      }
      return index;
    }
    if (!options_.has_header) {
      return Invalid(absl::StrCat(role, " column ", Quoted(ref.name()),
                                  " is chosen by name, but the file has no header row "
                                  "(has_header is false); choose it by index"));
    }
    int64_t found = -1;
    for (int64_t i = 0; i < num_columns_; ++i) {
      if (header_[i] != ref.name()) continue;
      if (found >= 0) {
        return Invalid(absl::StrCat(role, " column name ", Quoted(ref.name()),
                                    " is ambiguous: columns ", found, " and ", i,
                                    " both have it; choose by index"));
      }
      found = i;
    }
    if (found < 0) {
      return Invalid(absl::StrCat("no column named ", Quoted(ref.name()), " for the ", role,
                                  "; the columns are ", QuotedList(header_)));
    }
    return found;
  }

  Status ResolveColumns() {
    std::vector<bool> is_label(static_cast<size_t>(num_columns_), false);
    for (const ColumnRef& ref : options_.label_columns) {
      HEARTH_ASSIGN_OR_RETURN(int64_t column, Resolve(ref, "label"));
      label_columns_.push_back(column);
      is_label[column] = true;
    }
    if (options_.feature_columns.empty()) {
      for (int64_t i = 0; i < num_columns_; ++i) {
        if (!is_label[i]) feature_columns_.push_back(i);
      }
    } else {
      for (const ColumnRef& ref : options_.feature_columns) {
        HEARTH_ASSIGN_OR_RETURN(int64_t column, Resolve(ref, "feature"));
        if (is_label[column]) {
          return Invalid(absl::StrCat("column ", ref.ToString(),
                                      " is chosen both as a feature and as a label"));
        }
        feature_columns_.push_back(column);
      }
    }
    if (feature_columns_.empty()) return Invalid("no feature columns are left");
    return absl::OkStatus();
  }

  std::string Where(int64_t column) const {
    return absl::StrCat(source_, ":", tokenizer_.record_line(), ":", column + 1);
  }

  bool IsMissing(std::string_view cell) const {
    return data_internal::IsMissingCell(cell, options_.missing_values);
  }

  // The cell of feature `feature` (file column `column`): NaN when missing there is allowed.
  Status ParseFeature(std::string_view cell, int64_t feature, int64_t column, float* value) {
    CategoryColumn* category = categories_[static_cast<size_t>(feature)].get();
    // Most cells are numbers: only one that is not can be a missing-value token.
    if (category == nullptr && ParseFloat(cell, value) && std::isfinite(*value))
      return absl::OkStatus();
    if (!IsMissing(cell)) {
      if (category != nullptr) {
        *value = category->Code(row_, cell);
        return absl::OkStatus();
      }
      return ParseCell(cell, column, value);
    }
    if (options_.missing_allowed && options_.missing_allowed(feature)) {
      *value = std::numeric_limits<float>::quiet_NaN();
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat(
        Where(column), ": missing value", ColumnName(column), " (", Quoted(cell),
        "); fill it in, or add an impute step for feature ", feature,
        " to the job's data.preprocessing, e.g. {\"impute\": {\"strategy\": \"MEDIAN\", "
        "\"columns\": [",
        feature, "]}}"));
  }

  // A float cell, or an error saying what was expected.
  Status ParseCell(std::string_view cell, int64_t column, float* value) const {
    if (ParseFloat(cell, value) && std::isfinite(*value)) return absl::OkStatus();
    if (IsMissing(cell)) {
      return absl::InvalidArgumentError(absl::StrCat(Where(column), ": missing value",
                                                     ColumnName(column), " (", Quoted(cell),
                                                     "); a label must be given in every row"));
    }
    if (!ParseFloat(cell, value)) {
      const auto feature = std::find(feature_columns_.begin(), feature_columns_.end(), column);
      const std::string hint =
          feature == feature_columns_.end()
              ? std::string()
              : absl::StrCat(
                    "; if the column holds categories, add a one_hot (or ordinal) step "
                    "for feature ",
                    feature - feature_columns_.begin(),
                    " to the job's data.preprocessing, e.g. {\"one_hot\": {\"columns\": [",
                    feature - feature_columns_.begin(), "]}}");
      return absl::InvalidArgumentError(absl::StrCat(
          Where(column), ": expected a number", ColumnName(column), ", got ", Quoted(cell), hint));
    }
    if (!std::isfinite(*value)) {
      return absl::InvalidArgumentError(absl::StrCat(Where(column), ": expected a finite number",
                                                     ColumnName(column), ", got ", Quoted(cell)));
    }
    return absl::OkStatus();
  }

  StatusOr<Dataset> ReadRows() {
    Dataset dataset;
    const int64_t num_features = static_cast<int64_t>(feature_columns_.size());
    dataset.features = Tensor::Empty(Shape{num_rows_, num_features});
    float* features = dataset.features.f32();

    const bool classification =
        options_.label_kind == LabelKind::kClassification && !label_columns_.empty();
    const bool regression =
        options_.label_kind == LabelKind::kRegression && !label_columns_.empty();
    const int64_t num_targets = static_cast<int64_t>(label_columns_.size());
    ClassLabels classes(source_, options_, classification ? num_rows_ : 0);
    HEARTH_RETURN_IF_ERROR(classes.CheckGiven());
    if (classification) {
      dataset.labels = Tensor::Empty(Shape{num_rows_}, DType::kInt64);
    } else if (regression) {
      dataset.labels = Tensor::Empty(
          num_targets == 1 ? Shape{num_rows_} : Shape{num_rows_, num_targets}, DType::kFloat32);
    }

    categories_.resize(static_cast<size_t>(num_features));
    for (int64_t j = 0; j < num_features; ++j) {
      const std::vector<std::string>* given = GivenCategories(j);
      const bool text = options_.categories_fixed
                            ? given != nullptr && !given->empty()
                            : options_.category_allowed && options_.category_allowed(j);
      if (text) categories_[j] = std::make_unique<CategoryColumn>(given, num_rows_);
    }

    std::vector<std::string_view> fields;
    for (int64_t row = 0; row < num_rows_; ++row) {
      row_ = row;
      HEARTH_ASSIGN_OR_RETURN(bool any, tokenizer_.Next(&fields));
      HEARTH_CHECK(any);  // the counting pass saw this record
      if (static_cast<int64_t>(fields.size()) != num_columns_) {
        return absl::InvalidArgumentError(
            absl::StrCat(source_, ":", tokenizer_.record_line(), ": expected ", num_columns_,
                         " fields, got ", fields.size(),
                         options_.has_header ? " (as many as the header has)"
                                             : " (as many as the first row has)"));
      }
      float* out = features + row * num_features;
      for (int64_t j = 0; j < num_features; ++j) {
        HEARTH_RETURN_IF_ERROR(
            ParseFeature(fields[feature_columns_[j]], j, feature_columns_[j], &out[j]));
      }
      if (regression) {
        float* targets = dataset.labels.f32() + row * num_targets;
        for (int64_t j = 0; j < num_targets; ++j) {
          HEARTH_RETURN_IF_ERROR(
              ParseCell(fields[label_columns_[j]], label_columns_[j], &targets[j]));
        }
      } else if (classification) {
        const int64_t column = label_columns_[0];
        const std::string_view cell = fields[column];
        if (IsMissing(cell)) {
          return absl::InvalidArgumentError(absl::StrCat(
              Where(column), ": missing value", ColumnName(column), " (", Quoted(cell),
              "); a label must be given in every row: drop the row or fill the label in"));
        }
        HEARTH_RETURN_IF_ERROR(classes.Add(row, cell, tokenizer_.record_line(), column));
      }
    }
    if (classification) {
      HEARTH_RETURN_IF_ERROR(classes.Finish(dataset.labels.i64(), &dataset.class_names));
    }
    if (options_.has_header)
      for (int64_t column : feature_columns_) dataset.feature_names.push_back(header_[column]);
    for (int64_t j = 0; j < num_features; ++j) {
      if (!categories_[j]) continue;
      std::vector<std::string> names =
          categories_[j]->Finish(features, num_rows_, num_features, j, GivenCategories(j));
      if (names.empty()) continue;  // a column of numbers
      dataset.feature_categories.resize(static_cast<size_t>(num_features));
      dataset.feature_categories[j] = std::move(names);
    }
    return dataset;
  }

  const std::vector<std::string>* GivenCategories(int64_t feature) const {
    return feature < static_cast<int64_t>(options_.feature_categories.size())
               ? &options_.feature_categories[feature]
               : nullptr;
  }

  std::string source_;
  const CsvOptions& options_;
  CsvTokenizer tokenizer_;
  std::vector<std::string> header_;
  int64_t num_columns_ = 0;
  int64_t num_rows_ = 0;
  std::vector<int64_t> label_columns_;
  std::vector<int64_t> feature_columns_;
  std::vector<std::unique_ptr<CategoryColumn>> categories_;  // per feature; null: numeric
  int64_t row_ = 0;                                          // the row being read
};

}  // namespace

std::vector<std::string> CsvOptions::DefaultMissingValues() {
  // pandas.read_csv's default na_values (the empty cell is always missing).
  return {"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
          "<NA>", "N/A",      "NA",  "NULL",    "NaN",      "None", "n/a",  "nan",    "null"};
}

std::string ColumnRef::ToString() const {
  return by_name_ ? Quoted(name_) : absl::StrCat("#", index_);
}

StatusOr<Dataset> ParseCsv(std::string_view text, std::string_view source,
                           const CsvOptions& options) {
  return CsvReader(text, source, options).Read();
}

StatusOr<Dataset> ReadCsv(const std::string& path, const CsvOptions& options) {
  HEARTH_ASSIGN_OR_RETURN(std::string text, data_internal::ReadFileToString(path));
  return ParseCsv(text, path, options);
}

}  // namespace hearth
