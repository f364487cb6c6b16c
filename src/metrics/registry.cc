// Metrics by name, and MetricSet: several metrics updated, merged and computed together.
#include <set>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "metrics/metric_impl.h"

namespace hearth {

using metrics_internal::ClassificationKind;
using metrics_internal::RegressionKind;

const std::vector<std::string>& MetricNames() {
  static const std::vector<std::string> names = {"accuracy",
                                                 "precision_macro",
                                                 "recall_macro",
                                                 "f1_macro",
                                                 "precision_micro",
                                                 "recall_micro",
                                                 "f1_micro",
                                                 "precision_weighted",
                                                 "recall_weighted",
                                                 "f1_weighted",
                                                 "precision",
                                                 "recall",
                                                 "f1",
                                                 "log_loss",
                                                 "brier_score",
                                                 "roc_auc",
                                                 "pr_auc",
                                                 "mse",
                                                 "rmse",
                                                 "mae",
                                                 "r2",
                                                 "mape",
                                                 "inertia",
                                                 "silhouette"};
  return names;
}

StatusOr<std::unique_ptr<Metric>> MakeMetric(std::string_view name, const MetricOptions& options) {
  static const std::pair<std::string_view, ClassificationKind> kClassification[] = {
      {"accuracy", ClassificationKind::kAccuracy},
      {"precision_macro", ClassificationKind::kPrecisionMacro},
      {"recall_macro", ClassificationKind::kRecallMacro},
      {"f1_macro", ClassificationKind::kF1Macro},
      {"precision_micro", ClassificationKind::kPrecisionMicro},
      {"recall_micro", ClassificationKind::kRecallMicro},
      {"f1_micro", ClassificationKind::kF1Micro},
      {"precision_weighted", ClassificationKind::kPrecisionWeighted},
      {"recall_weighted", ClassificationKind::kRecallWeighted},
      {"f1_weighted", ClassificationKind::kF1Weighted},
      {"precision", ClassificationKind::kPrecisionBinary},
      {"recall", ClassificationKind::kRecallBinary},
      {"f1", ClassificationKind::kF1Binary},
      {"log_loss", ClassificationKind::kLogLoss},
      {"brier_score", ClassificationKind::kBrier},
  };
  static const std::pair<std::string_view, RegressionKind> kRegression[] = {
      {"mse", RegressionKind::kMse}, {"rmse", RegressionKind::kRmse}, {"mae", RegressionKind::kMae},
      {"r2", RegressionKind::kR2},   {"mape", RegressionKind::kMape},
  };
  for (const auto& [n, kind] : kClassification) {
    if (n != name) continue;
    if (options.num_classes < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected num_classes >= 0 (0: from the predictions), got %d", name,
                          options.num_classes));
    }
    if (options.pos_label < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected pos_label >= 0, got %d", name, options.pos_label));
    }
    if (!(options.log_loss_eps > 0 && options.log_loss_eps < 0.5)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected 0 < log_loss_eps < 0.5, got %g", name, options.log_loss_eps));
    }
    return metrics_internal::MakeClassificationMetric(std::string(name), kind, options);
  }
  for (const auto& [n, kind] : kRegression) {
    if (n != name) continue;
    if (options.num_outputs < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected num_outputs >= 0 (0: from the data), got %d", name, options.num_outputs));
    }
    return metrics_internal::MakeRegressionMetric(std::string(name), kind, options);
  }
  if (name == "roc_auc" || name == "pr_auc") {
    if (options.pos_label < 0)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected pos_label >= 0, got %d", name, options.pos_label));
    return metrics_internal::MakeRankingMetric(std::string(name),
                                               name == "roc_auc"
                                                   ? metrics_internal::RankingKind::kRocAuc
                                                   : metrics_internal::RankingKind::kPrAuc,
                                               options);
  }
  if (name == "inertia") return metrics_internal::MakeInertiaMetric(options);
  if (name == "silhouette") return metrics_internal::MakeSilhouetteMetric(options);
  return absl::InvalidArgumentError(absl::StrFormat("unknown metric \"%s\"; expected one of: %s",
                                                    name, absl::StrJoin(MetricNames(), ", ")));
}

StatusOr<MetricSet> MetricSet::Create(const std::vector<std::string>& names,
                                      const MetricOptions& options) {
  MetricSet set;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrFormat("metric \"%s\" is listed twice", name));
    }
    HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Metric> metric, MakeMetric(name, options));
    set.metrics_.push_back(std::move(metric));
  }
  return set;
}

Status MetricSet::Update(const Tensor& predictions, const Tensor& targets) {
  for (const auto& metric : metrics_) {
    HEARTH_RETURN_IF_ERROR(metric->Update(predictions, targets));
  }
  return absl::OkStatus();
}

StatusOr<MetricResults> MetricSet::Compute() const {
  MetricResults results;
  for (const auto& metric : metrics_) {
    HEARTH_ASSIGN_OR_RETURN(const double value, metric->Compute());
    results.emplace_back(std::string(metric->name()), value);
  }
  return results;
}

void MetricSet::Reset() {
  for (const auto& metric : metrics_) metric->Reset();
}

std::vector<double> MetricSet::State() const {
  std::vector<double> state;
  for (const auto& metric : metrics_) {
    if (!metric->summable()) continue;
    const std::vector<double> part = metric->State();
    state.insert(state.end(), part.begin(), part.end());
  }
  return state;
}

Status MetricSet::LoadState(std::span<const double> state) {
  // Check every length before loading anything, so a mismatch leaves the set unchanged.
  std::vector<size_t> sizes;
  size_t total = 0;
  for (const auto& metric : metrics_) {
    if (!metric->summable()) continue;
    const size_t size = metric->State().size();
    if (size == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "metric set: %s has no state layout yet (no batch seen); declare num_classes or "
          "num_outputs in MetricOptions so every rank has one",
          metric->name()));
    }
    sizes.push_back(size);
    total += size;
  }
  if (total != state.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "metric set: expected a state of %d values, got %d (ranks with different layouts?)", total,
        state.size()));
  }
  size_t offset = 0;
  size_t i = 0;
  for (const auto& metric : metrics_) {
    if (!metric->summable()) continue;
    HEARTH_RETURN_IF_ERROR(metric->LoadState(state.subspan(offset, sizes[i])));
    offset += sizes[i++];
  }
  return absl::OkStatus();
}

bool MetricSet::summable() const {
  for (const auto& metric : metrics_) {
    if (!metric->summable()) return false;
  }
  return true;
}

}  // namespace hearth
