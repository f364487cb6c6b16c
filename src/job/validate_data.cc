// Validation of the `data` section: sources, their format-specific settings and labels, the
// validation split and the preprocessing steps.
#include <cmath>
#include <set>

#include "job/internal.h"

namespace hearth::job_internal {
namespace {

// Settings that only CSV sources use, so a non-CSV source can name the misplaced ones.
void CheckNotCsv(const v1::DataSource& s, const std::string& p, v1::DataFormat format,
                 ErrorList& errors) {
  const std::string why =
      absl::StrFormat("only used by CSV sources (this one is %s): remove it", FormatName(format));
  if (!s.delimiter().empty()) errors.Add(FieldPath(p, "delimiter"), why);
  if (s.has_has_header()) errors.Add(FieldPath(p, "has_header"), why);
  if (s.has_label_column()) errors.Add(FieldPath(p, "label_column"), why + " (use labels_path)");
  if (s.has_label_index()) errors.Add(FieldPath(p, "label_index"), why + " (use labels_path)");
  if (!s.feature_columns().empty()) errors.Add(FieldPath(p, "feature_columns"), why);
  if (!s.feature_indices().empty()) errors.Add(FieldPath(p, "feature_indices"), why);
}

void CheckCsv(const v1::DataSource& s, const std::string& p, ErrorList& errors) {
  if (!s.labels_path().empty())
    errors.Add(FieldPath(p, "labels_path"),
               "only used by IDX and NPY sources: a CSV source takes its label from label_column "
               "or label_index");
  const std::string& d = s.delimiter();
  if (!d.empty() && d.size() != 1) {
    errors.Addf(FieldPath(p, "delimiter"), "must be a single character, got \"%s\"", d);
  } else if (d == "\"" || d == "\n" || d == "\r") {
    errors.Add(FieldPath(p, "delimiter"), "cannot be a double quote or a line break");
  }
  const bool header = !s.has_has_header() || s.has_header();
  if (s.has_label_column() && s.label_column().empty())
    errors.Add(FieldPath(p, "label_column"), "must not be empty");
  if (s.has_label_column() && !header)
    errors.Add(FieldPath(p, "label_column"),
               "columns can be named only when has_header is true: use label_index");
  if (!s.feature_columns().empty() && !header)
    errors.Add(FieldPath(p, "feature_columns"),
               "columns can be named only when has_header is true: use feature_indices");
  if (!s.feature_columns().empty() && !s.feature_indices().empty())
    errors.Add(FieldPath(p, "feature_indices"), "set feature_columns or feature_indices, not both");
  std::set<std::string> names;
  for (int i = 0; i < s.feature_columns_size(); ++i) {
    const std::string& c = s.feature_columns(i);
    const std::string path = IndexPath(FieldPath(p, "feature_columns"), i);
    if (c.empty()) errors.Add(path, "must not be empty");
    if (!names.insert(c).second) errors.Addf(path, "\"%s\" is listed twice", c);
    if (s.has_label_column() && c == s.label_column())
      errors.Addf(path, "\"%s\" is the label column: a label cannot also be a feature", c);
  }
  std::set<int> indices;
  for (int i = 0; i < s.feature_indices_size(); ++i) {
    const int c = s.feature_indices(i);
    const std::string path = IndexPath(FieldPath(p, "feature_indices"), i);
    if (!indices.insert(c).second) errors.Addf(path, "column %d is listed twice", c);
    if (s.has_label_index() && c == s.label_index())
      errors.Addf(path, "column %d is the label column: a label cannot also be a feature", c);
  }
}

// Supervised tasks need labels in every source; clustering takes none.
void CheckLabels(const v1::DataSource& s, const std::string& p, v1::DataFormat format,
                 v1::Task task, ErrorList& errors) {
  const bool csv = format == v1::CSV;
  const bool has_labels =
      csv ? s.label_case() != v1::DataSource::LABEL_NOT_SET : !s.labels_path().empty();
  if (IsSupervised(task) && !has_labels) {
    if (csv) {
      errors.Addf(FieldPath(p, "label_column"),
                  "required for task %s: the name of the column holding the labels (or set "
                  "label_index)",
                  TaskName(task));
    } else {
      errors.Addf(FieldPath(p, "labels_path"),
                  "required for task %s: the %s file holding the labels", TaskName(task),
                  FormatName(format));
    }
  }
  if (task == v1::CLUSTERING && has_labels) {
    const char* field = !csv ? "labels_path" : s.has_label_index() ? "label_index" : "label_column";
    errors.Add(FieldPath(p, field),
               "task CLUSTERING takes no labels: remove it (and list the features to cluster with "
               "feature_columns if the file has other columns)");
  }
}

void CheckSource(const v1::DataSource& s, const std::string& p, v1::Task task, ErrorList& errors) {
  if (s.path().empty()) errors.Add(FieldPath(p, "path"), "required: the file to read");
  if (!v1::DataFormat_IsValid(s.format())) {
    errors.Addf(FieldPath(p, "format"), "invalid value %d (expected CSV, IDX or NPY)",
                static_cast<int>(s.format()));
    return;
  }
  const v1::DataFormat format = ResolveFormat(s);
  if (format == v1::DATA_FORMAT_UNSPECIFIED) {
    if (!s.path().empty())
      errors.Addf(FieldPath(p, "format"),
                  "cannot infer the format of \"%s\" from its name (known: *.csv, *.npy, *-ubyte, "
                  "*.idx, optionally .gz): set format to CSV, IDX or NPY",
                  s.path());
    return;
  }
  if (format == v1::CSV) {
    CheckCsv(s, p, errors);
  } else {
    CheckNotCsv(s, p, format, errors);
  }
  if (IsSupervised(task) || task == v1::CLUSTERING) CheckLabels(s, p, format, task, errors);
}

// 0-based, distinct column indices.
void CheckColumns(const google::protobuf::RepeatedField<int32_t>& columns, const std::string& path,
                  ErrorList& errors) {
  std::set<int> seen;
  for (int j = 0; j < columns.size(); ++j) {
    if (columns[j] < 0) errors.Addf(IndexPath(path, j), "must be >= 0, got %d", columns[j]);
    if (!seen.insert(columns[j]).second)
      errors.Addf(IndexPath(path, j), "column %d is listed twice", columns[j]);
  }
}

void CheckPreprocessing(const v1::DataSpec& data, ErrorList& errors) {
  for (int i = 0; i < data.preprocessing_size(); ++i) {
    const v1::PreprocessStep& step = data.preprocessing(i);
    const std::string p = IndexPath("data.preprocessing", i);
    switch (step.step_case()) {
      case v1::PreprocessStep::STEP_NOT_SET:
        errors.Add(p,
                   "empty step: set one of standardize, min_max, scale, one_hot, impute, "
                   "robust_scale, clip, log1p, drop_constant, ordinal");
        break;
      case v1::PreprocessStep::kScale: {
        const double f = step.scale().factor();
        // Features are float32: the factor must survive the conversion too.
        const float f32 = static_cast<float>(f);
        if (!std::isfinite(f) || f == 0 || !std::isfinite(f32) || f32 == 0.0f)
          errors.Addf(FieldPath(p, "scale.factor"),
                      "must be finite and non-zero (as a float32), got %g", f);
        break;
      }
      case v1::PreprocessStep::kOneHot:
        if (step.one_hot().columns().empty())
          errors.Add(FieldPath(p, "one_hot.columns"),
                     "list at least one column (0-based feature index)");
        CheckColumns(step.one_hot().columns(), FieldPath(p, "one_hot.columns"), errors);
        if (step.one_hot().min_frequency() < 0)
          errors.Addf(FieldPath(p, "one_hot.min_frequency"), "must be >= 0, got %d",
                      step.one_hot().min_frequency());
        break;
      case v1::PreprocessStep::kOrdinal:
        if (step.ordinal().columns().empty())
          errors.Add(FieldPath(p, "ordinal.columns"),
                     "list at least one column (0-based feature index)");
        CheckColumns(step.ordinal().columns(), FieldPath(p, "ordinal.columns"), errors);
        break;
      case v1::PreprocessStep::kImpute: {
        const v1::Impute& impute = step.impute();
        CheckColumns(impute.columns(), FieldPath(p, "impute.columns"), errors);
        if (impute.strategy() != v1::CONSTANT && impute.fill_value() != 0)
          errors.Add(FieldPath(p, "impute.fill_value"),
                     "only used by strategy CONSTANT: remove it or set the strategy");
        const auto f32 = static_cast<float>(impute.fill_value());
        if (!std::isfinite(impute.fill_value()) || !std::isfinite(f32))
          errors.Addf(FieldPath(p, "impute.fill_value"), "must be finite (as a float32), got %g",
                      impute.fill_value());
        break;
      }
      case v1::PreprocessStep::kClip: {
        const double lower = step.clip().has_lower() ? step.clip().lower() : 0.01;
        const double upper = step.clip().has_upper() ? step.clip().upper() : 0.99;
        CheckColumns(step.clip().columns(), FieldPath(p, "clip.columns"), errors);
        if (!(lower >= 0 && lower < upper && upper <= 1))
          errors.Addf(FieldPath(p, "clip"),
                      "expected quantiles 0 <= lower < upper <= 1, got lower %g and upper %g",
                      lower, upper);
        break;
      }
      case v1::PreprocessStep::kStandardize:
      case v1::PreprocessStep::kMinMax:
      case v1::PreprocessStep::kRobustScale:
      case v1::PreprocessStep::kLog1P:
      case v1::PreprocessStep::kDropConstant:
        break;
    }
  }
}

}  // namespace

// data.folds and data.fold: k-fold cross-validation's bounds and what it excludes.
void CheckFolds(const v1::JobSpec& spec, ErrorList& errors) {
  const v1::DataSpec& data = spec.data();
  if (data.folds() == 0) {
    if (data.has_fold()) errors.Add("data.fold", "picks a fold of data.folds: set data.folds");
    return;
  }
  if (data.folds() < 2 || data.folds() > kMaxFolds) {
    errors.Addf("data.folds", "must be 0 (no cross-validation) or 2 to %d, got %d", kMaxFolds,
                data.folds());
    return;
  }
  if (spec.task() == v1::CLUSTERING)
    errors.Add("data.folds",
               "cross-validation scores held-out labels; a CLUSTERING task has none: remove it");
  if (data.has_validation())
    errors.Add("data.folds", "each fold validates on its own part: remove data.validation");
  if (data.validation_fraction() > 0)
    errors.Add("data.folds",
               "each fold validates on its own part: remove data.validation_fraction");
  if (data.has_fold() && (data.fold() < 0 || data.fold() >= data.folds()))
    errors.Addf("data.fold", "must be in [0, %d) (data.folds), got %d", data.folds(), data.fold());
}

// data.sampling: balanced epochs need classes, a shuffle, and no second correction by weights.
void CheckSampling(const v1::JobSpec& spec, ErrorList& errors) {
  const v1::DataSpec& data = spec.data();
  if (data.sampling() != v1::BALANCED) return;
  if (spec.task() != v1::CLASSIFICATION) {
    errors.Add("data.sampling", "BALANCED balances classes; only a CLASSIFICATION task has them");
    return;
  }
  if (data.has_shuffle() && !data.shuffle())
    errors.Add("data.sampling", "BALANCED draws every epoch at random: remove data.shuffle: false");
  if (!spec.loss().class_weight().empty() || spec.loss().class_weights_size() > 0)
    errors.Add("data.sampling",
               "BALANCED and loss.class_weight(s) both correct the class imbalance, and together "
               "overcorrect it: keep one");
}

void CheckData(const v1::JobSpec& spec, ErrorList& errors) {
  if (!spec.has_data()) {
    errors.Add("data", "required: at least data.train.path");
    return;
  }
  const v1::DataSpec& data = spec.data();
  if (!data.has_train()) {
    errors.Add("data.train", "required: the training examples (at least a path)");
  } else {
    CheckSource(data.train(), "data.train", spec.task(), errors);
  }
  if (data.has_validation()) CheckSource(data.validation(), "data.validation", spec.task(), errors);
  if (data.has_test()) CheckSource(data.test(), "data.test", spec.task(), errors);

  const double f = data.validation_fraction();
  if (!(f >= 0 && f < 1)) {
    errors.Addf("data.validation_fraction", "must be in [0, 1), got %g", f);
  } else if (f > 0 && data.has_validation()) {
    errors.Add("data.validation_fraction",
               "set data.validation or data.validation_fraction, not both");
  }
  if (data.deduplicate() && data.has_train() && ResolveFormat(data.train()) != v1::CSV)
    errors.Add("data.deduplicate", "only CSV training data can be deduplicated: remove it");
  if (data.stratify() && spec.task() != v1::CLASSIFICATION)
    errors.Add("data.stratify", "only a CLASSIFICATION task has classes to stratify by");
  if (data.stratify() && data.validation_fraction() == 0 && data.folds() == 0)
    errors.Add("data.stratify",
               "stratifies the validation split: set data.validation_fraction or data.folds");
  CheckFolds(spec, errors);
  CheckSampling(spec, errors);
  CheckPreprocessing(data, errors);
}

}  // namespace hearth::job_internal
