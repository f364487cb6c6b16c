// Threshold curves of a binary scorer, exact and as scikit-learn computes them: the ROC curve and
// its area, the precision-recall curve and average precision, and the reliability (calibration)
// curve. They need every score, so the callers keep them (the ranking metrics and the evaluation
// report hold one double per example and class).
//
//   std::vector<double> scores = ...;       // p(positive) per example, any monotone score
//   std::vector<uint8_t> positive = ...;    // 1 where the example is of the positive class
//   HEARTH_ASSIGN_OR_RETURN(double auc, RocAuc(scores, positive));
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hearth/status.h"

namespace hearth {

// One point of a threshold curve: the examples scoring >= threshold are predicted positive.
struct CurvePoint {
  double x = 0;          // ROC: false positive rate; PR: recall
  double y = 0;          // ROC: true positive rate; PR: precision
  double threshold = 0;  // +inf for the ROC curve's first point (nothing predicted positive)
};

// sklearn.metrics.roc_curve(positive, scores, drop_intermediate=False): (0, 0) at +inf, then one
// point per distinct score, highest first, ending at (1, 1). FAILED_PRECONDITION unless both
// classes occur (the rates are undefined otherwise); INVALID_ARGUMENT for a NaN score or lengths
// that differ.
StatusOr<std::vector<CurvePoint>> RocCurve(std::span<const double> scores,
                                           std::span<const uint8_t> positive);
// The area under RocCurve by the trapezoid rule (sklearn's roc_auc_score): the probability that a
// random positive scores above a random negative, ties counting one half.
StatusOr<double> RocAuc(std::span<const double> scores, std::span<const uint8_t> positive);
// The same from a curve RocCurve returned (no second sort).
double RocArea(std::span<const CurvePoint> roc);

// The points of sklearn.metrics.precision_recall_curve in the opposite order, so recall (x) only
// grows: (recall 0, precision 1) at +inf, then one point per distinct score, highest first.
// FAILED_PRECONDITION without positives.
StatusOr<std::vector<CurvePoint>> PrecisionRecallCurve(std::span<const double> scores,
                                                       std::span<const uint8_t> positive);
// sklearn's average_precision_score: sum over thresholds of (R_k - R_k-1) * P_k, the step-wise
// area under the precision-recall curve (no interpolation). This is what Hearth calls PR-AUC.
StatusOr<double> AveragePrecision(std::span<const double> scores,
                                  std::span<const uint8_t> positive);
// The same from a curve PrecisionRecallCurve returned.
double AveragePrecisionOf(std::span<const CurvePoint> pr);

// One bin of a reliability curve.
struct ReliabilityBin {
  double lo = 0, hi = 1;      // the bin's edges
  double mean_predicted = 0;  // mean score in the bin
  double fraction_positive = 0;
  int64_t count = 0;
};
// sklearn.calibration.calibration_curve(positive, scores, n_bins=bins, strategy="uniform"):
// `bins` equal-width bins over [0, 1] (a score on an inner edge goes to the lower bin), only the
// non-empty ones returned. INVALID_ARGUMENT for a score outside [0, 1] or bins < 1.
StatusOr<std::vector<ReliabilityBin>> ReliabilityCurve(std::span<const double> scores,
                                                       std::span<const uint8_t> positive,
                                                       int bins = 10);

}  // namespace hearth
