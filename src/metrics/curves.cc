// Threshold curves, following scikit-learn's _binary_clf_curve: sort by score (highest first),
// and at each distinct score count the true and false positives at or above it.
#include "hearth/curves.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_format.h"

namespace hearth {
namespace {

// Cumulative counts at each distinct score, highest score first.
struct ThresholdCounts {
  std::vector<double> thresholds;
  std::vector<double> true_positives;
  std::vector<double> false_positives;
};

Status CheckInputs(std::span<const double> scores, std::span<const uint8_t> positive) {
  if (scores.size() != positive.size())
    return absl::InvalidArgumentError(
        absl::StrFormat("%d scores for %d labels", scores.size(), positive.size()));
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i]))
      return absl::InvalidArgumentError(absl::StrFormat("score %d is NaN", i));
  }
  return absl::OkStatus();
}

StatusOr<ThresholdCounts> CountAtThresholds(std::span<const double> scores,
                                            std::span<const uint8_t> positive) {
  HEARTH_RETURN_IF_ERROR(CheckInputs(scores, positive));
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  ThresholdCounts counts;
  double tp = 0, fp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    (positive[i] ? tp : fp) += 1;
    // A threshold closes where the next score differs (or at the end).
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[i]) {
      counts.thresholds.push_back(scores[i]);
      counts.true_positives.push_back(tp);
      counts.false_positives.push_back(fp);
    }
  }
  return counts;
}

}  // namespace

StatusOr<std::vector<CurvePoint>> RocCurve(std::span<const double> scores,
                                           std::span<const uint8_t> positive) {
  HEARTH_ASSIGN_OR_RETURN(ThresholdCounts c, CountAtThresholds(scores, positive));
  const double positives = c.true_positives.empty() ? 0 : c.true_positives.back();
  const double negatives = c.false_positives.empty() ? 0 : c.false_positives.back();
  if (positives == 0 || negatives == 0)
    return absl::FailedPreconditionError(absl::StrFormat(
        "the ROC curve needs both classes, and these %d examples have %d positives and %d "
        "negatives",
        scores.size(), static_cast<int64_t>(positives), static_cast<int64_t>(negatives)));
  std::vector<CurvePoint> curve;
  curve.reserve(c.thresholds.size() + 1);
  curve.push_back({0, 0, std::numeric_limits<double>::infinity()});
  for (size_t k = 0; k < c.thresholds.size(); ++k)
    curve.push_back(
        {c.false_positives[k] / negatives, c.true_positives[k] / positives, c.thresholds[k]});
  return curve;
}

StatusOr<double> RocAuc(std::span<const double> scores, std::span<const uint8_t> positive) {
  HEARTH_ASSIGN_OR_RETURN(std::vector<CurvePoint> curve, RocCurve(scores, positive));
  return RocArea(curve);
}

double RocArea(std::span<const CurvePoint> curve) {
  double area = 0;
  for (size_t k = 1; k < curve.size(); ++k)
    area += (curve[k].x - curve[k - 1].x) * (curve[k].y + curve[k - 1].y) / 2;
  return area;
}

StatusOr<std::vector<CurvePoint>> PrecisionRecallCurve(std::span<const double> scores,
                                                       std::span<const uint8_t> positive) {
  HEARTH_ASSIGN_OR_RETURN(ThresholdCounts c, CountAtThresholds(scores, positive));
  const double positives = c.true_positives.empty() ? 0 : c.true_positives.back();
  if (positives == 0)
    return absl::FailedPreconditionError(
        absl::StrFormat("the precision-recall curve needs positives, and these %d examples have "
                        "none",
                        scores.size()));
  std::vector<CurvePoint> curve;
  curve.reserve(c.thresholds.size() + 1);
  curve.push_back({0, 1, std::numeric_limits<double>::infinity()});
  for (size_t k = 0; k < c.thresholds.size(); ++k) {
    const double predicted = c.true_positives[k] + c.false_positives[k];
    curve.push_back(
        {c.true_positives[k] / positives, c.true_positives[k] / predicted, c.thresholds[k]});
  }
  return curve;
}

StatusOr<double> AveragePrecision(std::span<const double> scores,
                                  std::span<const uint8_t> positive) {
  HEARTH_ASSIGN_OR_RETURN(std::vector<CurvePoint> curve, PrecisionRecallCurve(scores, positive));
  return AveragePrecisionOf(curve);
}

double AveragePrecisionOf(std::span<const CurvePoint> curve) {
  double area = 0;
  for (size_t k = 1; k < curve.size(); ++k) area += (curve[k].x - curve[k - 1].x) * curve[k].y;
  return area;
}

StatusOr<std::vector<ReliabilityBin>> ReliabilityCurve(std::span<const double> scores,
                                                       std::span<const uint8_t> positive,
                                                       int bins) {
  HEARTH_RETURN_IF_ERROR(CheckInputs(scores, positive));
  if (bins < 1)
    return absl::InvalidArgumentError(absl::StrFormat("expected bins >= 1, got %d", bins));
  // numpy.linspace(0, 1, bins + 1): edge k is k * (1 / bins), computed the same way.
  const double step = 1.0 / bins;
  std::vector<double> sum(bins, 0), hits(bins, 0);
  std::vector<int64_t> count(bins, 0);
  for (size_t i = 0; i < scores.size(); ++i) {
    const double p = scores[i];
    if (!(p >= 0 && p <= 1))
      return absl::InvalidArgumentError(absl::StrFormat(
          "score %d is %g; a reliability curve needs probabilities in [0, 1]", i, p));
    // numpy.searchsorted(inner_edges, p, side="left"): the inner edges strictly below p.
    int b = 0;
    while (b < bins - 1 && static_cast<double>(b + 1) * step < p) ++b;
    sum[b] += p;
    hits[b] += positive[i] ? 1 : 0;
    ++count[b];
  }
  std::vector<ReliabilityBin> curve;
  for (int b = 0; b < bins; ++b) {
    if (count[b] == 0) continue;
    curve.push_back({b * step, b + 1 == bins ? 1.0 : (b + 1) * step, sum[b] / count[b],
                     hits[b] / count[b], count[b]});
  }
  return curve;
}

}  // namespace hearth
