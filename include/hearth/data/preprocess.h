// Feature preprocessing fitted on training data only: a pipeline of steps whose fitted statistics
// are exported as named tensors, so a checkpoint can save them and eval/predict apply exactly the
// transform the model was trained with.
//
//   HEARTH_ASSIGN_OR_RETURN(Preprocessor pre, Preprocessor::Parse("scale(1/255), standardize"));
//   HEARTH_ASSIGN_OR_RETURN(Tensor x_train, pre.FitApply(train.features));
//   HEARTH_ASSIGN_OR_RETURN(Tensor x_test, pre.Apply(test.features));   // train statistics
//   save(pre.Description(), pre.State());   // "scale(0.00392156886),standardize", tensors
//   ... Preprocessor::FromState(description, tensors) in another process.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
  // seen at fit is an error at apply time.
  kOneHot,
};

// One step as configured, before fitting.
struct PreprocessStep {
  PreprocessKind kind = PreprocessKind::kStandardize;
  float factor = 1.0f;           // kScale
  std::vector<int64_t> columns;  // kOneHot: 0-based columns of this step's input

  static PreprocessStep Standardize() { return {PreprocessKind::kStandardize, 1.0f, {}}; }
  static PreprocessStep MinMax() { return {PreprocessKind::kMinMax, 1.0f, {}}; }
  static PreprocessStep Scale(float factor) { return {PreprocessKind::kScale, factor, {}}; }
  static PreprocessStep OneHot(std::vector<int64_t> columns) {
    return {PreprocessKind::kOneHot, 1.0f, std::move(columns)};
  }
};

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
  // From the text form, e.g. "standardize", "scale(1/255), minmax", "onehot(0, 3), standardize".
  // Steps are separated by commas outside parentheses; a scale factor may be a fraction a/b.
  static StatusOr<Preprocessor> Parse(std::string_view spec);

  // Fits every step on `train` ([N, ...] float32, N > 0).
  Status Fit(const Tensor& train);
  // Fit, then the transformed training features.
  StatusOr<Tensor> FitApply(const Tensor& train);
  // Applies the fitted steps in order; returns a new tensor (or `features` itself when there are
  // no steps). FAILED_PRECONDITION before Fit when a step needs fitting; INVALID_ARGUMENT when the
  // features do not match what was fitted (feature shape, unseen one-hot category).
  StatusOr<Tensor> Apply(const Tensor& features) const;

  bool fitted() const;
  bool empty() const { return steps_.empty(); }
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
  // Fits every step; the last step's output is computed only when `want_output`.
  StatusOr<Tensor> FitSteps(const Tensor& train, bool want_output);

  std::vector<PreprocessStep> steps_;
  // Per step, its fitted statistics in the order State() lists them; empty until Fit.
  std::vector<std::vector<Tensor>> stats_;
  bool fitted_ = false;
};

}  // namespace hearth
