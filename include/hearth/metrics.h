// Evaluation metrics computed streaming over batches and mergeable across ranks.
//
// Every metric keeps sufficient statistics, not the data: Update() folds a batch in, Compute()
// finalises. The statistics are exposed as a flat vector of doubles, so distributed evaluation is
//
//   HEARTH_ASSIGN_OR_RETURN(MetricSet metrics, MetricSet::Create({"accuracy", "f1_macro"}, opts));
//   for (each local batch) HEARTH_RETURN_IF_ERROR(metrics.Update(logits, labels));
//   std::vector<double> state = metrics.State();
//   comm.AllReduceSum(state);                      // elementwise sum over ranks
//   HEARTH_RETURN_IF_ERROR(metrics.LoadState(state));
//   HEARTH_ASSIGN_OR_RETURN(MetricResults results, metrics.Compute());
//
// The vectors must have the same length on every rank: they do once each rank has seen a batch
// (the layout follows from the tensors' shapes), and from the start when MetricOptions declares
// num_classes / num_outputs / centroids.
//
// The exception is the silhouette score, which needs the points themselves (summable() is
// false): gather its State() from every rank and Merge() them into one instance.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

// Named results in the order they were asked for (stable for JSON and tables).
using MetricResults = std::vector<std::pair<std::string, double>>;

struct MetricOptions {
  // Classification: the number of classes. 0 takes it from the predictions: C for [N, C], 2 for
  // one column. Needed when predictions are class ids (int64).
  // Inertia without centroids: the number of clusters K (required then).
  int64_t num_classes = 0;
  // Classification scores are logits (softmax; sigmoid for one column) rather than
  // probabilities. Only log_loss and the one-column threshold depend on it.
  bool from_logits = true;
  // log_loss clips the probability of the true class to [eps, 1 - eps] so the loss stays finite.
  double log_loss_eps = 1e-15;
  // precision, recall, f1 and brier_score (two classes only): the class they are about
  // (sklearn's pos_label).
  int64_t pos_label = 1;
  // Regression: the number of target columns k. 0 takes it from the data.
  int64_t num_outputs = 0;
  // Inertia: the cluster centres [K, D]. Undefined: each cluster's mean of the points seen (the
  // k-means inertia at convergence), which needs num_classes = K.
  Tensor centroids;
  // Silhouette: at most this many points are kept (a seeded reservoir sample), since the score
  // costs O(points^2 * D).
  int64_t silhouette_max_points = 2000;
  uint64_t seed = 0;
};

// A streaming metric. The meaning of Update's arguments depends on the family:
//   classification: predictions = scores [N, C] (logits or probabilities), one score per example
//                   for binary tasks ([N] or [N, 1]: the positive class), or int64 class ids [N];
//                   targets = int64 class ids [N].
//   regression:     predictions and targets float32 [N] or [N, k] ([N] and [N, 1] match).
//   clustering:     predictions = int64 cluster ids [N]; targets = the points float32 [N, D].
// Not thread-safe.
class Metric {
 public:
  virtual ~Metric() = default;

  virtual std::string_view name() const = 0;
  // InvalidArgument for tensors of the wrong shape or dtype, or labels out of range; a rejected
  // batch leaves the statistics unchanged.
  virtual Status Update(const Tensor& predictions, const Tensor& targets) = 0;
  // FailedPrecondition when nothing was seen (or too little: r2 needs two examples, silhouette
  // two clusters).
  virtual StatusOr<double> Compute() const = 0;
  virtual void Reset() = 0;

  // The sufficient statistics. Empty until the layout is known (see the file comment).
  virtual std::vector<double> State() const = 0;
  // Replaces the statistics with `state` (e.g. after an allreduce). InvalidArgument when its
  // length does not fit this metric's layout.
  virtual Status LoadState(std::span<const double> state) = 0;
  // Whether states combine by elementwise sum. True for all but the silhouette.
  virtual bool summable() const { return true; }
  // Folds another instance's State() into this one (a sum when summable()). Merging an empty
  // state is a no-op; merging into an empty metric adopts the other's layout.
  virtual Status Merge(std::span<const double> other);
};

// Every name MakeMetric() accepts, in this order:
//   accuracy         fraction of examples whose predicted class is the label.
//   precision_macro, recall_macro, f1_macro: unweighted means of the per-class values over the
//                    classes that occur (see ConfusionMatrix).
//   precision_micro, recall_micro, f1_micro: from the pooled counts; all equal the accuracy.
//   precision_weighted, recall_weighted, f1_weighted: the per-class values weighted by each
//                    class's support (true examples), as sklearn's average="weighted".
//   precision, recall, f1: of the class MetricOptions::pos_label, for two classes only (sklearn's
//                    average="binary"); FailedPrecondition for more.
//   log_loss         mean over examples of -log p(true class), p clipped to [eps, 1 - eps].
//   brier_score      mean over examples of (p(pos_label) - [label == pos_label])^2, two classes
//                    only (sklearn's brier_score_loss).
//   roc_auc          area under the ROC curve (sklearn's roc_auc_score): of pos_label's
//                    probability for two classes; for more, one-vs-rest per class, averaged over
//                    the classes present in the labels (multi_class="ovr", average="macro").
//   pr_auc           average precision (sklearn's average_precision_score), the step-wise area
//                    under the precision-recall curve; binary or one-vs-rest macro as roc_auc.
//                    Both keep every example's probabilities (C + 1 doubles each), so they are
//                    exact but not summable: ranks gather their states (dist::AllReduceMetrics).
//   mse, rmse, mae   mean squared error, its square root, mean absolute error. With k target
//                    columns each is computed per column and averaged (sklearn's
//                    multioutput="uniform_average"; rmse is the mean of the per-column roots).
//   r2               1 - SS_res / SS_tot per column, averaged. A constant target column scores 1
//                    if predicted exactly and 0 otherwise (sklearn's force_finite). SS_tot comes
//                    from streamed sums (sum y^2 - (sum y)^2 / n) in double precision, which loses
//                    digits when the targets' mean is huge next to their spread.
//   mape             mean over examples of |y - y_hat| / max(|y|, machine epsilon) per column,
//                    averaged (sklearn's mean_absolute_percentage_error: a fraction, not a
//                    percentage, and huge where y is 0).
//   inertia          sum over points of the squared distance to the centre of their cluster
//                    (MetricOptions::centroids, or the clusters' means).
//   silhouette       mean over points of (b - a) / max(a, b) with Euclidean distances, a the mean
//                    distance to the rest of the point's cluster and b the smallest mean distance
//                    to another cluster; 0 for a point alone in its cluster (as sklearn). Exact,
//                    O(n^2 * D), up to silhouette_max_points points; beyond that it is computed
//                    on a uniform random sample of that many points (a reservoir sample seeded by
//                    MetricOptions::seed; as sklearn's `sample_size`). Needs 2 <= clusters <
//                    points.
const std::vector<std::string>& MetricNames();

// InvalidArgument listing the valid names for an unknown one, or for options the metric needs
// and lacks (inertia without centroids or num_classes).
StatusOr<std::unique_ptr<Metric>> MakeMetric(std::string_view name,
                                             const MetricOptions& options = {});

// Several metrics updated together; the distributed recipe in the file comment.
class MetricSet {
 public:
  // InvalidArgument for an unknown or repeated name.
  static StatusOr<MetricSet> Create(const std::vector<std::string>& names,
                                    const MetricOptions& options = {});

  // Updates every metric. On error the metrics before the failing one have taken the batch:
  // Reset() before reusing the set.
  Status Update(const Tensor& predictions, const Tensor& targets);
  // Every metric's value, in the order of `names`.
  StatusOr<MetricResults> Compute() const;
  void Reset();

  // The summable metrics' states concatenated (non-summable ones are left out: gather them
  // through metrics()).
  std::vector<double> State() const;
  // Splits `state` by each summable metric's current layout. InvalidArgument if a metric's layout
  // is not known yet or the total length differs.
  Status LoadState(std::span<const double> state);
  // Whether State() covers every metric.
  bool summable() const;

  const std::vector<std::unique_ptr<Metric>>& metrics() const { return metrics_; }

 private:
  std::vector<std::unique_ptr<Metric>> metrics_;
};

// A C x C confusion matrix: rows are true classes, columns predicted ones (as in sklearn).
//
// Per-class precision (recall) of a class that was never predicted (never present) is 0, as with
// sklearn's zero_division=0; F1 is 0 when precision + recall is 0. Macro averages run over the
// classes that occur in the targets or the predictions, as sklearn does when `labels` is not
// given, so declaring more classes than the data holds does not drag them down. Micro precision,
// recall and F1 all equal the accuracy for single-label classification.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes);

  // Counts (true, predicted) pairs. InvalidArgument for a class outside [0, C) or a length
  // mismatch.
  Status Add(std::span<const int64_t> labels, std::span<const int64_t> predicted);

  int64_t num_classes() const { return num_classes_; }
  double count(int64_t true_class, int64_t predicted_class) const {
    return counts_[true_class * num_classes_ + predicted_class];
  }
  // Row-major C * C counts (the summable state).
  const std::vector<double>& counts() const { return counts_; }
  std::vector<double>& mutable_counts() { return counts_; }
  double total() const;

  double Accuracy() const;
  double Precision(int64_t c) const;
  double Recall(int64_t c) const;
  double F1(int64_t c) const;
  double MacroPrecision() const;
  double MacroRecall() const;
  double MacroF1() const;
  // The true examples of class c (its row's sum).
  double Support(int64_t c) const;
  // Per-class values weighted by support (sklearn's average="weighted").
  double WeightedPrecision() const;
  double WeightedRecall() const;
  double WeightedF1() const;

 private:
  // Whether class c appears as a label or a prediction.
  bool Occurs(int64_t c) const;
  double MacroMean(double (ConfusionMatrix::*score)(int64_t) const) const;
  double WeightedMean(double (ConfusionMatrix::*score)(int64_t) const) const;

  int64_t num_classes_;
  std::vector<double> counts_;
};

// The predicted class of each example: argmax of [N, C] scores (first maximum on ties), score > 0
// (logits) or > 0.5 (probabilities) for a single column, or the ids themselves for int64 [N].
// `num_classes` (0 = from the shape) bounds int64 ids. InvalidArgument for other shapes.
StatusOr<std::vector<int64_t>> PredictedClasses(const Tensor& predictions, bool from_logits,
                                                int64_t num_classes = 0);

// Every class's probability per example, row-major [N, C] in double precision: softmax of [N, C]
// logits (or the probabilities as given), and [1 - p, p] for one score per example ([N] or
// [N, 1]: sigmoid of a logit, or p). INVALID_ARGUMENT for other shapes or class ids.
StatusOr<std::vector<double>> ClassProbabilities(const Tensor& predictions, bool from_logits,
                                                 int64_t* num_classes);

// The mean and the population standard deviation (divisor n, numpy's default) of `values`, as
// cross-validation summarises its folds' scores; both 0 for no values.
struct MeanAndStd {
  double mean = 0;
  double std = 0;
};
MeanAndStd MeanAndPopulationStd(std::span<const double> values);

}  // namespace hearth
