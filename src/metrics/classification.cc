// Classification metrics (accuracy; macro, micro, weighted and binary precision, recall, F1;
// log-loss; Brier score). They share one state layout: the C x C confusion counts, then the summed
// log-loss, then the summed squared error of p(pos_label).
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"
#include "metrics/metric_impl.h"

namespace hearth::metrics_internal {
namespace {

bool IsBinaryOnly(ClassificationKind kind) {
  return kind == ClassificationKind::kPrecisionBinary ||
         kind == ClassificationKind::kRecallBinary || kind == ClassificationKind::kF1Binary ||
         kind == ClassificationKind::kBrier;
}

// What a binary metric says on more classes (or a pos_label past 1), and what to use instead.
Status NotBinaryError(std::string_view name, ClassificationKind kind, int64_t classes,
                      int64_t pos_label, absl::StatusCode code) {
  const std::string instead = kind == ClassificationKind::kBrier
                                  ? std::string("log_loss")
                                  : absl::StrFormat("%s_macro or %s_weighted", name, name);
  return Status(code, absl::StrFormat("%s: a binary metric, for two classes with pos_label 0 or 1 "
                                      "(this data has %d classes, pos_label %d); use %s for more "
                                      "classes",
                                      name, classes, pos_label, instead));
}

// log(1 + exp(x)) without overflow.
double Softplus(double x) {
  return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
}

class ClassificationMetric final : public Metric {
 public:
  ClassificationMetric(std::string name, ClassificationKind kind, const MetricOptions& options)
      : name_(std::move(name)), kind_(kind), options_(options), matrix_(options.num_classes) {}

  std::string_view name() const override { return name_; }

  Status Update(const Tensor& predictions, const Tensor& targets) override {
    HEARTH_ASSIGN_OR_RETURN(std::span<const int64_t> labels, Ids(targets, name_, "labels"));
    HEARTH_ASSIGN_OR_RETURN(const int64_t classes, ClassesOf(predictions));
    StatusOr<std::vector<int64_t>> predicted =
        PredictedClasses(predictions, options_.from_logits, classes);
    if (!predicted.ok()) return InMetric(name_, predicted.status());
    if (predicted->size() != labels.size()) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: %d predictions for %d labels", name_,
                                                        predicted->size(), labels.size()));
    }
    const bool scored =
        kind_ == ClassificationKind::kLogLoss || kind_ == ClassificationKind::kBrier;
    if (scored && predictions.dtype() != DType::kFloat32)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected float32 scores or probabilities, not class ids", name_));
    // Computed before the counts change, so a bad label leaves the state untouched.
    double loss = 0, brier = 0;
    if (kind_ == ClassificationKind::kBrier) {
      if (classes != 2 || options_.pos_label > 1) return NotBinary(classes);
      for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes) break;  // Add() below reports it
        const double p = PositiveProbability(predictions, static_cast<int64_t>(i));
        const double y = labels[i] == options_.pos_label ? 1.0 : 0.0;
        brier += (p - y) * (p - y);
      }
    }
    if (kind_ == ClassificationKind::kLogLoss) {
      for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes) break;  // Add() below reports it
        loss += NegLogLikelihood(predictions, static_cast<int64_t>(i), labels[i]);
      }
    }
    if (matrix_.num_classes() == 0) matrix_ = ConfusionMatrix(classes);
    Status added = matrix_.Add(labels, *predicted);
    if (!added.ok()) return InMetric(name_, added);
    log_loss_sum_ += loss;
    brier_sum_ += brier;
    return absl::OkStatus();
  }

  StatusOr<double> Compute() const override {
    if (matrix_.total() == 0) return NothingSeen(name_);
    switch (kind_) {
      case ClassificationKind::kAccuracy:
      case ClassificationKind::kPrecisionMicro:
      case ClassificationKind::kRecallMicro:
      case ClassificationKind::kF1Micro:
        return matrix_.Accuracy();
      case ClassificationKind::kPrecisionMacro:
        return matrix_.MacroPrecision();
      case ClassificationKind::kRecallMacro:
        return matrix_.MacroRecall();
      case ClassificationKind::kF1Macro:
        return matrix_.MacroF1();
      case ClassificationKind::kPrecisionWeighted:
        return matrix_.WeightedPrecision();
      case ClassificationKind::kRecallWeighted:
        return matrix_.WeightedRecall();
      case ClassificationKind::kF1Weighted:
        return matrix_.WeightedF1();
      case ClassificationKind::kPrecisionBinary:
      case ClassificationKind::kRecallBinary:
      case ClassificationKind::kF1Binary: {
        if (matrix_.num_classes() != 2 || options_.pos_label > 1)
          return NotBinary(matrix_.num_classes());
        const int64_t c = options_.pos_label;
        return kind_ == ClassificationKind::kPrecisionBinary ? matrix_.Precision(c)
               : kind_ == ClassificationKind::kRecallBinary  ? matrix_.Recall(c)
                                                             : matrix_.F1(c);
      }
      case ClassificationKind::kLogLoss:
        return log_loss_sum_ / matrix_.total();
      case ClassificationKind::kBrier:
        return brier_sum_ / matrix_.total();
    }
    return absl::InternalError("unreachable");
  }

  void Reset() override {
    matrix_ = ConfusionMatrix(options_.num_classes);
    log_loss_sum_ = 0;
    brier_sum_ = 0;
  }

  std::vector<double> State() const override {
    if (matrix_.num_classes() == 0) return {};
    std::vector<double> state = matrix_.counts();
    state.push_back(log_loss_sum_);
    state.push_back(brier_sum_);
    return state;
  }

  Status LoadState(std::span<const double> state) override {
    // C * C + 2 values; C may still be unknown here (a rank that has seen nothing).
    constexpr int64_t kSums = 2;
    const auto c = static_cast<int64_t>(
        std::llround(std::sqrt(std::max<double>(0.0, static_cast<double>(state.size()) - kSums))));
    const int64_t want = matrix_.num_classes() > 0 ? matrix_.num_classes() : c;
    if (want == 0 || static_cast<int64_t>(state.size()) != want * want + kSums) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected a state of C * C + 2 values%s, got %d", name_,
          matrix_.num_classes() > 0 ? absl::StrFormat(" with C = %d", matrix_.num_classes()) : "",
          state.size()));
    }
    matrix_ = ConfusionMatrix(want);
    std::copy(state.begin(), state.end() - kSums, matrix_.mutable_counts().begin());
    log_loss_sum_ = state[state.size() - 2];
    brier_sum_ = state.back();
    return absl::OkStatus();
  }

 private:
  // The number of classes the predictions imply, checked against what was declared or seen.
  StatusOr<int64_t> ClassesOf(const Tensor& predictions) const {
    const int64_t known = matrix_.num_classes();
    if (!predictions.defined() || predictions.rank() < 1 || predictions.rank() > 2) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected scores [N, C], one score per example [N], or int64 class ids [N], got %s",
          name_, predictions.defined() ? predictions.shape().ToString() : "no tensor"));
    }
    if (predictions.dtype() == DType::kInt64) {
      if (known == 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: class-id predictions need MetricOptions::num_classes", name_));
      }
      return known;
    }
    const int64_t cols = predictions.rank() == 2 ? predictions.dim(1) : 1;
    const int64_t implied = cols == 1 ? 2 : cols;
    if (known != 0 && known != implied) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: predictions %s imply %d classes, expected %d", name_,
                          predictions.shape().ToString(), implied, known));
    }
    return implied;
  }

  // -log p(label) of example i, with p clipped to [eps, 1 - eps].
  double NegLogLikelihood(const Tensor& predictions, int64_t i, int64_t label) const {
    const float* p = predictions.f32();
    const int64_t cols = predictions.rank() == 2 ? predictions.dim(1) : 1;
    double log_p;
    if (cols == 1) {
      const double s = p[i];
      if (options_.from_logits) {
        log_p = label == 1 ? -Softplus(-s) : -Softplus(s);
      } else {
        log_p = std::log(std::max(label == 1 ? s : 1.0 - s, 0.0));
      }
    } else {
      const float* row = p + i * cols;
      if (options_.from_logits) {
        const double top = *std::max_element(row, row + cols);
        double sum = 0;
        for (int64_t c = 0; c < cols; ++c) sum += std::exp(static_cast<double>(row[c]) - top);
        log_p = static_cast<double>(row[label]) - top - std::log(sum);
      } else {
        log_p = std::log(std::max(static_cast<double>(row[label]), 0.0));
      }
    }
    const double eps = options_.log_loss_eps;
    return -std::clamp(log_p, std::log(eps), std::log1p(-eps));
  }

  // p(pos_label) of example i: from one score per example (the positive class's: sigmoid of a
  // logit, or the probability) or from [N, 2] scores (softmax of logits, or the probability).
  double PositiveProbability(const Tensor& predictions, int64_t i) const {
    const float* p = predictions.f32();
    const int64_t cols = predictions.rank() == 2 ? predictions.dim(1) : 1;
    if (cols == 1) {
      const double s = p[i];
      const double p1 = options_.from_logits ? 1.0 / (1.0 + std::exp(-s)) : s;
      return options_.pos_label == 1 ? p1 : 1.0 - p1;
    }
    const float* row = p + i * cols;
    if (!options_.from_logits) return row[options_.pos_label];
    const double other = row[1 - options_.pos_label], mine = row[options_.pos_label];
    return 1.0 / (1.0 + std::exp(other - mine));
  }

  Status NotBinary(int64_t classes) const {
    return NotBinaryError(name_, kind_, classes, options_.pos_label,
                          absl::StatusCode::kFailedPrecondition);
  }

  std::string name_;
  ClassificationKind kind_;
  MetricOptions options_;
  ConfusionMatrix matrix_;
  double log_loss_sum_ = 0;
  double brier_sum_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<Metric>> MakeClassificationMetric(std::string name,
                                                           ClassificationKind kind,
                                                           const MetricOptions& options) {
  // Refused now when the classes are declared; else when the data shows them.
  if (IsBinaryOnly(kind) && (options.num_classes > 2 || options.pos_label > 1))
    return NotBinaryError(name, kind, options.num_classes, options.pos_label,
                          absl::StatusCode::kInvalidArgument);
  return std::unique_ptr<Metric>(
      std::make_unique<ClassificationMetric>(std::move(name), kind, options));
}

}  // namespace hearth::metrics_internal
