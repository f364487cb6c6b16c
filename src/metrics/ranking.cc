// ROC-AUC and PR-AUC (average precision): binary for pos_label, one-vs-rest macro for more
// classes. Both rank every example's scores, so the state is the examples themselves:
// [C, then per example its label and C probabilities]. Ranks gather their states and Merge() them.
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"
#include "hearth/curves.h"
#include "metrics/metric_impl.h"

namespace hearth::metrics_internal {
namespace {

class RankingMetric final : public Metric {
 public:
  RankingMetric(std::string name, RankingKind kind, const MetricOptions& options)
      : name_(std::move(name)), kind_(kind), options_(options) {}

  std::string_view name() const override { return name_; }
  bool summable() const override { return false; }

  Status Update(const Tensor& predictions, const Tensor& targets) override {
    HEARTH_ASSIGN_OR_RETURN(std::span<const int64_t> labels, Ids(targets, name_, "labels"));
    int64_t classes = 0;
    StatusOr<std::vector<double>> probs =
        ClassProbabilities(predictions, options_.from_logits, &classes);
    if (!probs.ok()) return InMetric(name_, probs.status());
    const int64_t declared = classes_ > 0 ? classes_ : options_.num_classes;
    if (declared > 0 && declared != classes)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: predictions %s imply %d classes, expected %d", name_,
                          predictions.shape().ToString(), classes, declared));
    if (static_cast<int64_t>(labels.size()) * classes != static_cast<int64_t>(probs->size()))
      return absl::InvalidArgumentError(absl::StrFormat("%s: %d predictions for %d labels", name_,
                                                        probs->size() / classes, labels.size()));
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] < 0 || labels[i] >= classes)
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: label %d of example %d is outside [0, %d)", name_, labels[i], i, classes));
    }
    classes_ = classes;
    for (size_t i = 0; i < labels.size(); ++i) {
      rows_.push_back(static_cast<double>(labels[i]));
      rows_.insert(rows_.end(), probs->begin() + static_cast<int64_t>(i) * classes,
                   probs->begin() + static_cast<int64_t>(i + 1) * classes);
    }
    return absl::OkStatus();
  }

  StatusOr<double> Compute() const override {
    const int64_t n = examples();
    if (n == 0) return NothingSeen(name_);
    if (classes_ == 2) {
      if (options_.pos_label > 1)
        return absl::FailedPreconditionError(absl::StrFormat(
            "%s: pos_label %d is not one of the two classes", name_, options_.pos_label));
      return OneVsRest(options_.pos_label);
    }
    // One-vs-rest, averaged over the classes that occur (a class with no examples has no curve).
    double sum = 0;
    int64_t counted = 0;
    for (int64_t c = 0; c < classes_; ++c) {
      StatusOr<double> v = OneVsRest(c);
      if (v.status().code() == absl::StatusCode::kFailedPrecondition) continue;
      if (!v.ok()) return v.status();
      sum += *v;
      ++counted;
    }
    if (counted == 0)
      return absl::FailedPreconditionError(
          absl::StrFormat("%s: needs at least two classes among the labels", name_));
    return sum / static_cast<double>(counted);
  }

  void Reset() override {
    rows_.clear();
    classes_ = 0;
  }

  std::vector<double> State() const override {
    if (classes_ == 0) return {};
    std::vector<double> state;
    state.reserve(rows_.size() + 1);
    state.push_back(static_cast<double>(classes_));
    state.insert(state.end(), rows_.begin(), rows_.end());
    return state;
  }

  Status LoadState(std::span<const double> state) override {
    HEARTH_ASSIGN_OR_RETURN(const int64_t classes, CheckState(state));
    classes_ = classes;
    rows_.assign(state.begin() + 1, state.end());
    return absl::OkStatus();
  }

  Status Merge(std::span<const double> other) override {
    if (other.empty()) return absl::OkStatus();
    HEARTH_ASSIGN_OR_RETURN(const int64_t classes, CheckState(other));
    if (classes_ != 0 && classes != classes_)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: cannot merge scores of %d classes into scores of %d", name_, classes, classes_));
    classes_ = classes;
    rows_.insert(rows_.end(), other.begin() + 1, other.end());
    return absl::OkStatus();
  }

 private:
  int64_t examples() const { return classes_ == 0 ? 0 : rows_.size() / (classes_ + 1); }

  StatusOr<int64_t> CheckState(std::span<const double> state) const {
    const double c = state.empty() ? 0 : state[0];
    if (!(c >= 2 && c <= 1e6 && c == std::floor(c)) ||
        (state.size() - 1) % static_cast<size_t>(c + 1) != 0)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected a state of C, then C + 1 values per example, got %d values",
                          name_, state.size()));
    return static_cast<int64_t>(c);
  }

  // The binary score of class c against the rest.
  StatusOr<double> OneVsRest(int64_t c) const {
    const int64_t n = examples();
    std::vector<double> scores(n);
    std::vector<uint8_t> positive(n);
    for (int64_t i = 0; i < n; ++i) {
      const double* row = &rows_[i * (classes_ + 1)];
      positive[i] = static_cast<int64_t>(row[0]) == c ? 1 : 0;
      scores[i] = row[1 + c];
    }
    StatusOr<double> v = kind_ == RankingKind::kRocAuc ? RocAuc(scores, positive)
                                                       : AveragePrecision(scores, positive);
    if (!v.ok()) return InMetric(name_, v.status());
    return v;
  }

  std::string name_;
  RankingKind kind_;
  MetricOptions options_;
  int64_t classes_ = 0;
  std::vector<double> rows_;
};

}  // namespace

std::unique_ptr<Metric> MakeRankingMetric(std::string name, RankingKind kind,
                                          const MetricOptions& options) {
  return std::make_unique<RankingMetric>(std::move(name), kind, options);
}

}  // namespace hearth::metrics_internal
