// Feature preprocessing fitted on training data only: a pipeline of steps whose fitted statistics
// are exported as named tensors, so a checkpoint can save them and eval/predict apply exactly the
// transform the model was trained with.
//
//   HEARTH_ASSIGN_OR_RETURN(Preprocessor pre, Preprocessor::Parse("scale(1/255), standardize"));
//   HEARTH_ASSIGN_OR_RETURN(Tensor x_train, pre.FitApply(train.features));
//   HEARTH_ASSIGN_OR_RETURN(Tensor x_test, pre.Apply(test.features));   // train statistics
//   save(pre.Description(), pre.State());   // "scale(0.00392156886),standardize", tensors
//   ... Preprocessor::FromState(description, tensors) in another process.
//
// The training rows may also be spread over several processes (the ranks of a data-parallel
// job): each fits on its part with FitPart and a FitReducer that combines the parts' statistics,
// and all end up with exactly the statistics Fit computes on all the rows in one process.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/data/dataset.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

enum class PreprocessKind : uint8_t {
  // Per feature: (x - mean) / std over the training rows (population std). A constant feature
  // gets std 1, so it becomes 0 rather than NaN.
  kStandardize,
  // Per feature: (x - min) / (max - min) over the training rows, so training values land in
  // [0, 1]; other data may fall outside. A constant feature becomes 0.
  kMinMax,
  // x * factor (e.g. 1/255 for 8-bit pixels). Nothing to fit.
  kScale,
  // Replaces each listed column of [N, F] features (integer-valued categories) with one 0/1
  // column per category seen at fit, in sorted order, at the column's position. A category not
  // seen at fit sets none of them (scikit-learn's handle_unknown="ignore"), or, with
  // min_frequency, the infrequent categories' column. A CSV column a one-hot step consumes may
  // hold text: the reader gives each category a code (csv.h).
  kOneHot,
  // Fills missing values (NaN: an empty cell or a missing-value token in the CSV) in the listed
  // columns (all when none are listed) with a statistic of the column's training values (mean,
  // median, most frequent) or a constant, as sklearn's SimpleImputer. With add_indicator, a 0/1
  // column "was missing" is appended, at the end in column order, for every listed column that
  // had missing values in training (sklearn's add_indicator, features="missing-only").
  kImpute,
  // Per feature: (x - median) / (q75 - q25) over the training rows, as sklearn's RobustScaler;
  // an interquartile range of 0 becomes 1. Quantiles interpolate linearly (numpy.percentile).
  kRobustScale,
  // Per listed feature (all when none are listed): clamps to the [lower, upper] quantiles of the
  // training rows (0.01 and 0.99 by default), so outliers in any data stay within what training
  // saw.
  kClip,
  // log(1 + x), for skewed non-negative features; a value <= -1 is an error. Nothing to fit.
  kLog1p,
  // Removes the features that are constant over the training rows.
  kDropConstant,
  // Keeps each listed category column as one number, its category's code: the texts' sorted
  // order (csv.h), -1 for a category the model does not know (scikit-learn's OrdinalEncoder with
  // handle_unknown="use_encoded_value", unknown_value=-1). Nothing to fit.
  kOrdinal,
};

// How kImpute fills a column.
enum class ImputeStrategy : uint8_t {
  kMean,
  kMedian,
  kMostFrequent,  // the smallest of the most frequent values, as sklearn
  kConstant,      // PreprocessStep::fill_value
};

// One step as configured, before fitting.
struct PreprocessStep {
  PreprocessKind kind = PreprocessKind::kStandardize;
  float factor = 1.0f;  // kScale
  // kOneHot, kOrdinal, kImpute, kClip: 0-based columns of this step's input (kImpute, kClip:
  // none means all).
  std::vector<int64_t> columns;
  ImputeStrategy strategy = ImputeStrategy::kMean;  // kImpute
  float fill_value = 0.0f;                          // kImpute with kConstant
  bool add_indicator = false;                       // kImpute
  float lower = 0.01f, upper = 0.99f;               // kClip: quantiles, 0 <= lower < upper <= 1
  // kOneHot: categories seen fewer times in training share one "infrequent" column, first in the
  // column's block (scikit-learn's min_frequency); 0 or 1 keeps every category.
  int64_t min_frequency = 0;

  static PreprocessStep Standardize() { return {PreprocessKind::kStandardize, 1.0f, {}}; }
  static PreprocessStep MinMax() { return {PreprocessKind::kMinMax, 1.0f, {}}; }
  static PreprocessStep Scale(float factor) { return {PreprocessKind::kScale, factor, {}}; }
  static PreprocessStep OneHot(std::vector<int64_t> columns) {
    return {PreprocessKind::kOneHot, 1.0f, std::move(columns)};
  }
  static PreprocessStep Impute(ImputeStrategy strategy, std::vector<int64_t> columns = {},
                               bool add_indicator = false, float fill_value = 0.0f) {
    PreprocessStep step{PreprocessKind::kImpute, 1.0f, std::move(columns)};
    step.strategy = strategy;
    step.add_indicator = add_indicator;
    step.fill_value = fill_value;
    return step;
  }
  static PreprocessStep Of(PreprocessKind kind) { return {kind, 1.0f, {}}; }
  static PreprocessStep Clip(float lower, float upper) {
    PreprocessStep step{PreprocessKind::kClip, 1.0f, {}};
    step.lower = lower;
    step.upper = upper;
    return step;
  }
};

// The name of a strategy as the text form writes it: "mean", "median", "most_frequent",
// "constant".
const char* ImputeStrategyName(ImputeStrategy strategy);

// Combines statistics across the parts of a training set for Preprocessor::FitPart when the parts
// live in different processes (an implementation over a dist::Communicator lives in the trainer).
// Every part makes the same calls in the same order with the same sizes, as with MPI collectives,
// and each call returns the combination over all parts on every part.
class FitReducer {
 public:
  virtual ~FitReducer() = default;

  // OK on every part when `local` is OK on every part; otherwise an error on every part, so that
  // no part waits in a later call for one that has given up.
  virtual Status Agree(const Status& local) = 0;
  // Element-wise sum, minimum and maximum over the parts, in place.
  virtual Status Sum(std::span<double> values) = 0;
  virtual Status Min(std::span<float> values) = 0;
  virtual Status Max(std::span<float> values) = 0;
  // The union of every part's `values` (each sorted, without repeats), sorted.
  virtual StatusOr<std::vector<int64_t>> Union(std::span<const int64_t> values) = 0;
  // Every part's `values` (of any length), in part order: for statistics no sum gives exactly,
  // such as medians and quantiles.
  virtual StatusOr<std::vector<std::vector<double>>> Gather(std::span<const double> values) = 0;
};

// The reducer of a training set held in one part: every call returns its input.
FitReducer& SinglePartReducer();

// An ordered list of steps, each fitted on the output of the ones before it.
//
// Copies share the fitted statistics, which are never modified after Fit (Fit replaces them), so
// copies are safe to use from different threads once fitted.
class Preprocessor {
 public:
  // An empty pipeline: Apply returns its input unchanged.
  Preprocessor() = default;

  // Checks the configuration (a finite non-zero scale factor, distinct non-negative one-hot
  // columns).
  static StatusOr<Preprocessor> Create(std::vector<PreprocessStep> steps);
  // From the text form, e.g. "standardize", "scale(1/255), minmax", "onehot(0, 3), standardize",
  // "impute(median, 0, 2)", "impute(constant=-1, indicator)", "robust_scale", "clip(0.01, 0.99)",
  // "log1p", "drop_constant".
  // Steps are separated by commas outside parentheses; a scale factor may be a fraction a/b.
  static StatusOr<Preprocessor> Parse(std::string_view spec);

  // Fits every step on `train` ([N, ...] float32, N > 0).
  Status Fit(const Tensor& train);
  // The rows of a training set of `total_rows` that part `part` of `parts` fits on with FitPart.
  // The parts are disjoint and contiguous, cover every row once, and consist of whole blocks of a
  // fixed division of the rows that Fit uses too (sums are taken per block and then over the
  // blocks in order), so the statistics come out bit for bit the same for any number of parts. A
  // part may be empty when there are fewer blocks than parts.
  static RowRange FitPartRows(int64_t total_rows, int part, int parts);
  // Fits every step on a training set of `total_rows` rows spread over `parts` parts, of which
  // `rows` ([count, ...] float32) are the rows FitPartRows(total_rows, part, parts) of this part:
  // each step's statistics are combined with `reducer` before the next step is fitted on its
  // output. Every part must call it, with the same total_rows and parts. Errors (a non-finite
  // value on one part) are returned on every part; messages number rows within the training set.
  Status FitPart(const Tensor& rows, int64_t total_rows, int part, int parts, FitReducer& reducer);
  // Fit, then the transformed training features.
  StatusOr<Tensor> FitApply(const Tensor& train);
  // Applies the fitted steps in order; returns a new tensor (or `features` itself when there are
  // no steps). FAILED_PRECONDITION before Fit when a step needs fitting; INVALID_ARGUMENT when the
  // features do not match what was fitted (feature shape, unseen one-hot category).
  StatusOr<Tensor> Apply(const Tensor& features) const;
  // Apply, overwriting `features` instead of copying it where a step keeps the shape (standardize,
  // min-max, scale): for rows nobody else holds, such as rows just read from a file. Saves a copy
  // of the data, and the fresh memory for it, on every call.
  StatusOr<Tensor> ApplyInPlace(const Tensor& features) const;

  bool fitted() const;
  bool empty() const { return steps_.empty(); }
  // Whether raw column `column` may be missing (NaN) in the rows given to Apply: an impute step
  // fills it before any step that would refuse a missing value or move the column. The CSV
  // reader and the model server accept missing cells there and nowhere else.
  bool AcceptsMissing(int64_t column) const;
  // Whether raw column `column` may hold category texts: a one-hot or ordinal step takes it, with
  // only impute, ordinal and clip steps of other columns before (which leave the columns where
  // they are; an impute step fills a missing category with the most frequent one or a constant
  // code).
  bool AcceptsCategories(int64_t column) const;
  const std::vector<PreprocessStep>& steps() const { return steps_; }

  // The configuration in the text form Parse reads, with floats printed so they read back
  // exactly: "scale(0.00392156886),standardize". Empty for an empty pipeline.
  std::string Description() const;
  // The fitted statistics, named `preprocess.<step>.<kind>.<statistic>`:
  //   standardize: mean, std (float32, the feature shape; std already 1 for constant features)
  //   minmax: min, range (float32, the feature shape; range 1 for constant features)
  //   onehot: counts (int64 [columns]: categories per column), categories (int64, all columns'
  //   sorted categories concatenated)
  // Copies (changing them does not change the pipeline). Empty before Fit.
  std::vector<NamedTensor> State() const;
  // Rebuilds a fitted pipeline from Description() and State(). `state` may hold other tensors
  // too (a whole checkpoint); those outside the `preprocess.` prefix are ignored, and any missing,
  // unexpected, mis-shaped or invalid statistic is an INVALID_ARGUMENT naming the tensor.
  static StatusOr<Preprocessor> FromState(std::string_view description,
                                          const std::vector<NamedTensor>& state);

 private:
  StatusOr<Tensor> ApplySteps(const Tensor& features, bool overwrite_input) const;
  // Fits every step on rows [first_row, first_row + x.dim(0)) of a training set of total_rows,
  // combining the parts' statistics with `reducer`; the last step's output is computed only when
  // `want_output`.
  StatusOr<Tensor> FitSteps(const Tensor& x, int64_t first_row, int64_t total_rows,
                            FitReducer& reducer, bool want_output);

  std::vector<PreprocessStep> steps_;
  // Per step, its fitted statistics in the order State() lists them; empty until Fit.
  std::vector<std::vector<Tensor>> stats_;
  bool fitted_ = false;
};

}  // namespace hearth
