// Building the evaluation report from the examples a collector kept.
#include "run/eval_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hearth/curves.h"
#include "hearth/dist/collectives.h"
#include "hearth/job.h"
#include "run/evaluation.h"

namespace hearth::run {
namespace {

// Every metric of a task, in the order the report lists them after the job's own.
const std::vector<std::string>& ReportMetricNames(v1::Task task) {
  static const std::vector<std::string> kClassification = {
      "accuracy",        "precision",    "recall",   "f1",
      "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
      "recall_weighted", "f1_weighted",  "log_loss", "brier_score",
      "roc_auc",         "pr_auc"};
  static const std::vector<std::string> kRegression = {"mse", "rmse", "mae", "r2", "mape"};
  static const std::vector<std::string> kNone;
  return task == v1::CLASSIFICATION ? kClassification
         : task == v1::REGRESSION   ? kRegression
                                    : kNone;
}

bool Listed(const v1::EvaluationReport& report, std::string_view name) {
  for (const v1::Metric& m : report.metrics())
    if (m.name() == name) return true;
  return false;
}

void AddMetric(v1::EvaluationReport& report, std::string_view name, double value) {
  v1::Metric* m = report.add_metrics();
  m->set_name(std::string(name));
  m->set_value(value);
}

// The task's metrics the job did not ask for. One the data cannot have (a binary metric on more
// classes) is left out; one that cannot be computed on this data gets a note.
void AddTaskMetrics(v1::EvaluationReport& report, const MetricOptions& options,
                    const Tensor& outputs, const Tensor& labels) {
  for (const std::string& name : ReportMetricNames(report.task())) {
    if (Listed(report, name)) continue;
    StatusOr<std::unique_ptr<Metric>> metric = MakeMetric(name, options);
    if (!metric.ok()) continue;
    Status updated = (*metric)->Update(outputs, labels);
    StatusOr<double> value = updated.ok() ? (*metric)->Compute() : StatusOr<double>(updated);
    if (value.ok())
      AddMetric(report, name, *value);
    else
      report.add_notes(std::string(value.status().message()));
  }
}

// Points per curve: 2000, fewer past 10 classes so that a report stays well inside a gRPC
// message (at most 20000 points per kind of curve).
size_t CurveLimit(int64_t classes) {
  return static_cast<size_t>(std::clamp<int64_t>(20000 / std::max<int64_t>(classes, 1), 100, 2000));
}

// At most `limit` points of a curve, evenly spaced along it, keeping both ends.
void SetCurve(v1::Curve& out, const std::vector<CurvePoint>& curve, size_t limit) {
  const size_t n = curve.size();
  const size_t keep = std::min(n, limit);
  for (size_t k = 0; k < keep; ++k) {
    const size_t i = keep == 1 ? 0 : k * (n - 1) / (keep - 1);
    out.add_x(curve[i].x);
    out.add_y(curve[i].y);
  }
}

// np.median.
double Median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<int64_t>(mid), v.end());
  if (v.size() % 2 == 1) return v[mid];
  const double upper = v[mid];
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<int64_t>(mid));
  return (lower + upper) / 2;
}

}  // namespace

Status ReportCollector::Add(const Tensor& outputs, const Tensor& labels) {
  if (!outputs.defined() || outputs.dtype() != DType::kFloat32 || outputs.rank() < 1 ||
      outputs.rank() > 2 || !labels.defined() || labels.rank() < 1 || labels.rank() > 2 ||
      labels.dim(0) != outputs.dim(0))
    return absl::InvalidArgumentError(absl::StrFormat(
        "evaluation report: expected float32 outputs [N, W] and labels [N] or [N, k], got %s "
        "and %s",
        outputs.defined() ? outputs.shape().ToString() : "none",
        labels.defined() ? labels.shape().ToString() : "none"));
  const int64_t n = outputs.dim(0);
  const int64_t width = outputs.rank() == 2 ? outputs.dim(1) : 1;
  const int64_t label_width = labels.rank() == 2 ? labels.dim(1) : 1;
  const bool ids = labels.dtype() == DType::kInt64;
  if (size() > 0 && (width != width_ || label_width != label_width_ || ids != class_ids_))
    return absl::InvalidArgumentError(
        "evaluation report: a batch's outputs or labels differ in width from the ones before");
  width_ = width;
  label_width_ = label_width;
  class_ids_ = ids;
  outputs_.insert(outputs_.end(), outputs.f32(), outputs.f32() + n * width);
  for (int64_t i = 0; i < n * label_width; ++i)
    labels_.push_back(ids ? static_cast<double>(labels.i64()[i]) : labels.f32()[i]);
  return absl::OkStatus();
}

int64_t ReportCollector::size() const {
  return width_ == 0 ? 0 : static_cast<int64_t>(outputs_.size()) / width_;
}

Status ReportCollector::Gather(dist::Communicator& comm) {
  if (comm.size() == 1) return absl::OkStatus();
  std::vector<double> mine = {static_cast<double>(width_), static_cast<double>(label_width_),
                              class_ids_ ? 1.0 : 0.0, static_cast<double>(size())};
  mine.insert(mine.end(), outputs_.begin(), outputs_.end());
  mine.insert(mine.end(), labels_.begin(), labels_.end());
  HEARTH_ASSIGN_OR_RETURN(std::vector<std::vector<double>> all,
                          dist::AllGatherVariable(comm, mine, "gather the evaluation report"));
  ReportCollector merged;
  for (const std::vector<double>& part : all) {
    const auto width = static_cast<int64_t>(part[0]), label_width = static_cast<int64_t>(part[1]);
    const auto n = static_cast<int64_t>(part[3]);
    if (n == 0) continue;
    if (merged.size() > 0 && (width != merged.width_ || label_width != merged.label_width_))
      return absl::InternalError("evaluation report: the ranks' outputs differ in width");
    merged.width_ = width;
    merged.label_width_ = label_width;
    merged.class_ids_ = part[2] != 0;
    merged.outputs_.insert(merged.outputs_.end(), part.begin() + 4, part.begin() + 4 + n * width);
    merged.labels_.insert(merged.labels_.end(), part.begin() + 4 + n * width, part.end());
  }
  *this = std::move(merged);
  return absl::OkStatus();
}

Tensor ReportCollector::OutputsTensor() const {
  Tensor t = Tensor::Empty(Shape{size(), width_}, DType::kFloat32);
  std::copy(outputs_.begin(), outputs_.end(), t.f32());
  return t;
}

Tensor ReportCollector::LabelsTensor() const {
  if (class_ids_) {
    Tensor t = Tensor::Empty(Shape{size()}, DType::kInt64);
    for (size_t i = 0; i < labels_.size(); ++i) t.i64()[i] = static_cast<int64_t>(labels_[i]);
    return t;
  }
  Tensor t = Tensor::Empty(Shape{size(), label_width_}, DType::kFloat32);
  std::copy(labels_.begin(), labels_.end(), t.f32());
  return t;
}

StatusOr<v1::EvaluationReport> ReportCollector::Build(const v1::JobSpec& spec, int64_t num_outputs,
                                                      const std::vector<std::string>& class_names,
                                                      const MetricResults& job_metrics) const {
  v1::EvaluationReport report;
  report.set_task(spec.task());
  report.set_examples(size());
  for (const auto& [name, value] : job_metrics) AddMetric(report, name, value);
  if (size() == 0) {
    report.add_notes("no examples: nothing to report");
    return report;
  }
  const MetricOptions options = MetricOptionsFor(spec, num_outputs);
  if (spec.task() == v1::CLASSIFICATION)
    return BuildClassification(options, class_names, std::move(report));
  if (spec.task() == v1::REGRESSION) return BuildRegression(options, std::move(report));
  return report;
}

StatusOr<v1::EvaluationReport> ReportCollector::BuildClassification(
    const MetricOptions& options, const std::vector<std::string>& class_names,
    v1::EvaluationReport report) const {
  if (!class_ids_)
    return absl::InvalidArgumentError("evaluation report: classification needs class-id labels");
  const Tensor outputs = OutputsTensor();
  const Tensor labels = LabelsTensor();
  AddTaskMetrics(report, options, outputs, labels);

  int64_t classes = 0;
  HEARTH_ASSIGN_OR_RETURN(std::vector<double> probs,
                          ClassProbabilities(outputs, options.from_logits, &classes));
  HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> predicted,
                          PredictedClasses(outputs, options.from_logits, classes));
  const std::span<const int64_t> ids(labels.i64(), static_cast<size_t>(size()));
  ConfusionMatrix matrix(classes);
  HEARTH_RETURN_IF_ERROR(matrix.Add(ids, predicted));
  report.set_pos_label(static_cast<int32_t>(options.pos_label));
  report.mutable_confusion_matrix()->set_classes(static_cast<int32_t>(classes));
  for (double count : matrix.counts())
    report.mutable_confusion_matrix()->add_counts(static_cast<int64_t>(count));

  const int64_t n = size();
  auto class_name = [&](int64_t c) {
    return c < static_cast<int64_t>(class_names.size()) ? class_names[c] : std::to_string(c);
  };
  // Class c's probability against "is class c".
  auto one_vs_rest = [&](int64_t c, std::vector<double>& scores, std::vector<uint8_t>& positive) {
    scores.resize(n);
    positive.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      scores[i] = probs[i * classes + c];
      positive[i] = ids[i] == c ? 1 : 0;
    }
  };
  std::vector<double> scores;
  std::vector<uint8_t> positive;
  for (int64_t c = 0; c < classes; ++c) {
    report.add_class_names(class_name(c));
    v1::ClassScores* row = report.add_classes();
    row->set_name(class_name(c));
    row->set_precision(matrix.Precision(c));
    row->set_recall(matrix.Recall(c));
    row->set_f1(matrix.F1(c));
    row->set_support(static_cast<int64_t>(matrix.Support(c)));
    one_vs_rest(c, scores, positive);
    const StatusOr<std::vector<CurvePoint>> roc = RocCurve(scores, positive);
    if (!roc.ok()) continue;  // the class is absent (or alone): no curves
    // Both classes occur (the ROC curve exists), so the precision-recall curve does too.
    HEARTH_ASSIGN_OR_RETURN(std::vector<CurvePoint> pr, PrecisionRecallCurve(scores, positive));
    const double roc_auc = RocArea(*roc);
    const double pr_auc = AveragePrecisionOf(pr);
    row->set_roc_auc(roc_auc);
    row->set_pr_auc(pr_auc);
    // Two classes have one curve each, of the positive class; more have one per class.
    if (classes == 2 && c != options.pos_label) continue;
    v1::Curve* roc_curve = report.add_roc_curves();
    roc_curve->set_name(class_name(c));
    roc_curve->set_area(roc_auc);
    SetCurve(*roc_curve, *roc, CurveLimit(classes));
    v1::Curve* pr_curve = report.add_pr_curves();
    pr_curve->set_name(class_name(c));
    pr_curve->set_area(pr_auc);
    SetCurve(*pr_curve, pr, CurveLimit(classes));
  }

  // Reliability: of p(pos_label) for two classes, of the top class's probability for more.
  scores.assign(n, 0);
  positive.assign(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    if (classes == 2) {
      scores[i] = probs[i * classes + options.pos_label];
      positive[i] = ids[i] == options.pos_label ? 1 : 0;
    } else {
      scores[i] = probs[i * classes + predicted[i]];
      positive[i] = predicted[i] == ids[i] ? 1 : 0;
    }
  }
  report.set_reliability_of(classes == 2 ? absl::StrCat("p(", class_name(options.pos_label), ")")
                                         : std::string("top-class probability (confidence)"));
  HEARTH_ASSIGN_OR_RETURN(std::vector<ReliabilityBin> bins, ReliabilityCurve(scores, positive));
  for (const ReliabilityBin& b : bins) {
    v1::ReliabilityBin* out = report.add_reliability();
    out->set_lo(b.lo);
    out->set_hi(b.hi);
    out->set_mean_predicted(b.mean_predicted);
    out->set_fraction_positive(b.fraction_positive);
    out->set_count(b.count);
  }
  return report;
}

StatusOr<v1::EvaluationReport> ReportCollector::BuildRegression(const MetricOptions& options,
                                                                v1::EvaluationReport report) const {
  if (class_ids_ || label_width_ != width_)
    return absl::InvalidArgumentError(absl::StrFormat(
        "evaluation report: regression needs as many float targets as outputs (%d and %d)",
        label_width_, width_));
  AddTaskMetrics(report, options, OutputsTensor(), LabelsTensor());
  // sklearn's median_absolute_error: per target column, averaged.
  const int64_t n = size();
  double median_sum = 0;
  std::vector<double> errors(n);
  for (int64_t k = 0; k < width_; ++k) {
    for (int64_t i = 0; i < n; ++i)
      errors[i] =
          std::fabs(labels_[i * width_ + k] - static_cast<double>(outputs_[i * width_ + k]));
    median_sum += Median(errors);
  }
  if (!Listed(report, "median_absolute_error"))
    AddMetric(report, "median_absolute_error", median_sum / static_cast<double>(width_));
  // Every point up to 5000, else an even sample of them.
  constexpr int64_t kMaxPoints = 5000;
  const int64_t total = n * width_;
  const int64_t keep = std::min(total, kMaxPoints);
  for (int64_t j = 0; j < keep; ++j) {
    const int64_t flat = keep == total ? j : j * total / keep;
    v1::ResidualPoint* p = report.add_residuals();
    p->set_actual(labels_[flat]);
    p->set_predicted(outputs_[flat]);
    p->set_column(static_cast<int32_t>(flat % width_));
  }
  return report;
}

}  // namespace hearth::run
