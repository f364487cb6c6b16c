// Reading a spec's data sources through the data module, and the preprocessing pipeline.
#include <algorithm>

#include "job/internal.h"

namespace hearth {
namespace {

LabelKind LabelKindFor(v1::Task task) {
  switch (task) {
    case v1::CLASSIFICATION:
      return LabelKind::kClassification;
    case v1::REGRESSION:
      return LabelKind::kRegression;
    default:
      return LabelKind::kNone;
  }
}

CsvOptions ToCsvOptions(const v1::DataSource& s, LabelKind kind,
                        const std::vector<std::string>& class_names) {
  CsvOptions o;
  if (!s.delimiter().empty()) o.delimiter = s.delimiter()[0];
  o.has_header = !s.has_has_header() || s.has_header();
  o.label_kind = kind;
  if (kind != LabelKind::kNone) {
    if (s.has_label_column()) o.label_columns.push_back(ColumnRef(s.label_column()));
    if (s.has_label_index()) o.label_columns.push_back(ColumnRef(s.label_index()));
  }
  for (const std::string& c : s.feature_columns()) o.feature_columns.push_back(ColumnRef(c));
  for (int c : s.feature_indices()) o.feature_columns.push_back(ColumnRef(c));
  if (!class_names.empty()) o.class_names = class_names;
  if (!s.missing_values().empty())
    o.missing_values.assign(s.missing_values().begin(), s.missing_values().end());
  return o;
}

}  // namespace

StatusOr<Dataset> ReadDataSource(const v1::JobSpec& spec, const v1::DataSource& source,
                                 const std::vector<std::string>& class_names,
                                 const std::vector<std::vector<std::string>>* feature_categories) {
  const LabelKind kind = LabelKindFor(spec.task());
  switch (ResolveFormat(source)) {
    case v1::CSV: {
      CsvOptions options = ToCsvOptions(source, kind, class_names);
      // Missing cells and category texts are read where the job's preprocessing takes them (an
      // invalid pipeline takes neither; validation reports it).
      StatusOr<Preprocessor> pre = MakePreprocessor(spec);
      if (pre.ok()) {
        options.missing_allowed = [pre = *pre](int64_t feature) {
          return pre.AcceptsMissing(feature);
        };
        options.category_allowed = [pre = *std::move(pre)](int64_t feature) {
          return pre.AcceptsCategories(feature);
        };
      }
      if (feature_categories != nullptr) {
        options.feature_categories = *feature_categories;
        options.categories_fixed = true;
      }
      return ReadCsv(source.path(), options);
    }
    case v1::IDX:
    case v1::NPY: {
      ArrayReadOptions options;
      options.label_kind = kind;
      const std::string labels = kind == LabelKind::kNone ? "" : source.labels_path();
      if (ResolveFormat(source) == v1::IDX) return ReadIdxDataset(source.path(), labels, options);
      return ReadNpyDataset(source.path(), labels, options);
    }
    default:
      break;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "data source \"%s\": cannot infer its format from the name: set format to CSV, IDX or NPY",
      source.path()));
}

namespace {

// The labels file a source's task reads ("" for none).
std::string LabelsPathFor(const v1::JobSpec& spec, const v1::DataSource& source) {
  return LabelKindFor(spec.task()) == LabelKind::kNone ? "" : source.labels_path();
}

Status NotAnArraySource(const v1::DataSource& source) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "data source \"%s\": only IDX and NPY files can be read by row", source.path()));
}

// Records, per-record shape and compression of one IDX or .npy file.
StatusOr<ArraySourceInfo> InspectArrayFile(v1::DataFormat format, const std::string& path) {
  ArraySourceInfo info;
  std::vector<int64_t> dims;
  if (format == v1::IDX) {
    HEARTH_ASSIGN_OR_RETURN(IdxInfo idx, ReadIdxInfo(path));
    dims = std::move(idx.dims);
    info.gzip = idx.gzip;
  } else {
    HEARTH_ASSIGN_OR_RETURN(NpyInfo npy, ReadNpyInfo(path));
    if (npy.shape.empty())
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: must have a first (row) axis, got a 0-d array", path));
    dims = std::move(npy.shape);
    info.gzip = npy.gzip;
  }
  info.records = dims[0];
  for (size_t i = 1; i < dims.size(); ++i) info.record_shape.push_back(dims[i]);
  return info;
}

}  // namespace

StatusOr<ArraySourceInfo> InspectArraySource(const v1::JobSpec& spec,
                                             const v1::DataSource& source) {
  const v1::DataFormat format = ResolveFormat(source);
  if (format != v1::IDX && format != v1::NPY) return NotAnArraySource(source);
  HEARTH_ASSIGN_OR_RETURN(ArraySourceInfo info, InspectArrayFile(format, source.path()));
  const std::string labels = LabelsPathFor(spec, source);
  if (!labels.empty()) {
    HEARTH_ASSIGN_OR_RETURN(ArraySourceInfo label_info, InspectArrayFile(format, labels));
    if (label_info.records != info.records)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: %d label records, but %s has %d records", labels, label_info.records,
                          source.path(), info.records));
    info.gzip = info.gzip || label_info.gzip;
  }
  return info;
}

StatusOr<Dataset> ReadDataSourceRows(const v1::JobSpec& spec, const v1::DataSource& source,
                                     std::span<const int64_t> rows,
                                     std::shared_ptr<Storage> reuse_features) {
  const v1::DataFormat format = ResolveFormat(source);
  if (format != v1::IDX && format != v1::NPY) return NotAnArraySource(source);
  ArrayReadOptions options;
  options.label_kind = LabelKindFor(spec.task());
  options.reuse_features = std::move(reuse_features);
  const std::string labels = LabelsPathFor(spec, source);
  if (format == v1::IDX) return ReadIdxDatasetRows(source.path(), labels, rows, options);
  return ReadNpyDatasetRows(source.path(), labels, rows, options);
}

StatusOr<Preprocessor> MakePreprocessor(const v1::JobSpec& spec) {
  std::vector<PreprocessStep> steps;
  for (const v1::PreprocessStep& s : spec.data().preprocessing()) {
    switch (s.step_case()) {
      case v1::PreprocessStep::kStandardize:
        steps.push_back(PreprocessStep::Standardize());
        break;
      case v1::PreprocessStep::kMinMax:
        steps.push_back(PreprocessStep::MinMax());
        break;
      case v1::PreprocessStep::kScale:
        steps.push_back(PreprocessStep::Scale(static_cast<float>(s.scale().factor())));
        break;
      case v1::PreprocessStep::kOneHot:
        steps.push_back(PreprocessStep::OneHot(
            std::vector<int64_t>(s.one_hot().columns().begin(), s.one_hot().columns().end())));
        steps.back().min_frequency = s.one_hot().min_frequency();
        break;
      case v1::PreprocessStep::kImpute: {
        static constexpr std::pair<v1::ImputeStrategy, ImputeStrategy> kStrategies[] = {
            {v1::IMPUTE_STRATEGY_UNSPECIFIED, ImputeStrategy::kMean},
            {v1::MEAN, ImputeStrategy::kMean},
            {v1::MEDIAN, ImputeStrategy::kMedian},
            {v1::MOST_FREQUENT, ImputeStrategy::kMostFrequent},
            {v1::CONSTANT, ImputeStrategy::kConstant}};
        ImputeStrategy strategy = ImputeStrategy::kMean;
        for (const auto& [from, to] : kStrategies)
          if (s.impute().strategy() == from) strategy = to;
        steps.push_back(PreprocessStep::Impute(
            strategy,
            std::vector<int64_t>(s.impute().columns().begin(), s.impute().columns().end()),
            s.impute().add_indicator(), static_cast<float>(s.impute().fill_value())));
        break;
      }
      case v1::PreprocessStep::kRobustScale:
        steps.push_back(PreprocessStep::Of(PreprocessKind::kRobustScale));
        break;
      case v1::PreprocessStep::kClip:
        steps.push_back(PreprocessStep::Clip(
            static_cast<float>(s.clip().has_lower() ? s.clip().lower() : 0.01),
            static_cast<float>(s.clip().has_upper() ? s.clip().upper() : 0.99)));
        steps.back().columns.assign(s.clip().columns().begin(), s.clip().columns().end());
        break;
      case v1::PreprocessStep::kLog1P:
        steps.push_back(PreprocessStep::Of(PreprocessKind::kLog1p));
        break;
      case v1::PreprocessStep::kDropConstant:
        steps.push_back(PreprocessStep::Of(PreprocessKind::kDropConstant));
        break;
      case v1::PreprocessStep::kOrdinal:
        steps.push_back(PreprocessStep::Of(PreprocessKind::kOrdinal));
        steps.back().columns.assign(s.ordinal().columns().begin(), s.ordinal().columns().end());
        break;
      case v1::PreprocessStep::STEP_NOT_SET:
        return absl::InvalidArgumentError(absl::StrFormat(
            "data.preprocessing[%d]: empty step: set one of standardize, min_max, scale, "
            "one_hot, impute, robust_scale, clip, log1p, drop_constant, ordinal",
            steps.size()));
    }
  }
  StatusOr<Preprocessor> pre = Preprocessor::Create(std::move(steps));
  if (!pre.ok())
    return absl::InvalidArgumentError(
        absl::StrFormat("data.preprocessing: %s", pre.status().message()));
  return pre;
}

Shape ExampleShape(const Dataset& data) {
  Shape shape;
  for (int i = 1; i < data.features.rank(); ++i) shape.push_back(data.features.dim(i));
  return shape;
}

int64_t NumOutputs(const v1::JobSpec& spec, const Dataset& train) {
  if (!train.labels.defined()) return 0;
  if (spec.task() == v1::CLASSIFICATION) {
    if (!train.class_names.empty()) return static_cast<int64_t>(train.class_names.size());
    if (train.labels.dtype() != DType::kInt64 || train.labels.numel() == 0) return 0;
    const int64_t* y = train.labels.i64();
    return *std::max_element(y, y + train.labels.numel()) + 1;
  }
  if (spec.task() == v1::REGRESSION) return train.labels.rank() >= 2 ? train.labels.dim(1) : 1;
  return 0;
}

}  // namespace hearth
