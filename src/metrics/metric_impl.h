// Internal: the metric families behind MakeMetric(), and input checks they share.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/metrics.h"

namespace hearth::metrics_internal {

enum class ClassificationKind {
  kAccuracy,
  kPrecisionMacro,
  kRecallMacro,
  kF1Macro,
  kPrecisionMicro,
  kRecallMicro,
  kF1Micro,
  kPrecisionWeighted,
  kRecallWeighted,
  kF1Weighted,
  kPrecisionBinary,
  kRecallBinary,
  kF1Binary,
  kLogLoss,
  kBrier,
};
enum class RegressionKind { kMse, kRmse, kMae, kR2, kMape };
enum class RankingKind { kRocAuc, kPrAuc };

// InvalidArgument for a binary-only kind (precision, recall, f1, brier_score) when more than two
// classes are declared, naming what to use instead.
StatusOr<std::unique_ptr<Metric>> MakeClassificationMetric(std::string name,
                                                           ClassificationKind kind,
                                                           const MetricOptions& options);
std::unique_ptr<Metric> MakeRegressionMetric(std::string name, RegressionKind kind,
                                             const MetricOptions& options);
// ROC-AUC or average precision over every example's scores (not summable).
std::unique_ptr<Metric> MakeRankingMetric(std::string name, RankingKind kind,
                                          const MetricOptions& options);
StatusOr<std::unique_ptr<Metric>> MakeInertiaMetric(const MetricOptions& options);
StatusOr<std::unique_ptr<Metric>> MakeSilhouetteMetric(const MetricOptions& options);

// A tensor's values as doubles, for float32 or int64 tensors.
std::vector<double> ToDoubles(const Tensor& t);

// Class or cluster ids: int64 [N] or [N, 1]. InvalidArgument naming `metric` and `what` otherwise.
StatusOr<std::span<const int64_t>> Ids(const Tensor& t, std::string_view metric,
                                       std::string_view what);

// `status` with "<metric>: " in front of its message.
Status InMetric(std::string_view metric, const Status& status);

// "<metric>: no examples were seen".
Status NothingSeen(std::string_view metric);

}  // namespace hearth::metrics_internal
