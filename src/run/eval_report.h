// The evaluation report (hearth.v1.EvaluationReport): every metric of the task, the per-class
// table, the confusion matrix and the ROC, precision-recall, reliability and residual data, from a
// model's outputs on a whole labelled set. It needs every example's outputs (the curves rank
// them), so a collector keeps them: 4 bytes per output and 8 per label, per example.
//
//   run::ReportCollector collector;
//   for (each batch) HEARTH_RETURN_IF_ERROR(collector.Add(outputs, labels));
//   HEARTH_RETURN_IF_ERROR(collector.Gather(comm));   // with several ranks
//   HEARTH_ASSIGN_OR_RETURN(v1::EvaluationReport report,
//                           collector.Build(spec, num_outputs, class_names, job_metrics));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/dist/communicator.h"
#include "hearth/metrics.h"
#include "hearth/tensor.h"
#include "hearth/v1/report.pb.h"

namespace hearth::v1 {
class JobSpec;
}

namespace hearth::run {

class ReportCollector {
 public:
  // A batch of model outputs [B, W] (logits for classification, values for regression) and its
  // labels (int64 class ids [B], or float32 targets [B] / [B, k]). INVALID_ARGUMENT when the
  // widths change between batches or the rows differ.
  Status Add(const Tensor& outputs, const Tensor& labels);
  // Replaces this rank's examples with every rank's, in rank order, on every rank.
  Status Gather(dist::Communicator& comm);
  int64_t size() const;

  // The report for a job of `spec` whose model has `num_outputs` outputs (classes or targets).
  // `class_names` name the class ids (empty: the ids themselves); `job_metrics` (the job's
  // metrics and loss, already computed) come first in the report's metrics. A figure the data
  // does not allow (a ROC curve without negatives) is left out with a note, not an error.
  StatusOr<v1::EvaluationReport> Build(const v1::JobSpec& spec, int64_t num_outputs,
                                       const std::vector<std::string>& class_names,
                                       const MetricResults& job_metrics) const;

 private:
  StatusOr<v1::EvaluationReport> BuildClassification(const MetricOptions& options,
                                                     const std::vector<std::string>& class_names,
                                                     v1::EvaluationReport report) const;
  StatusOr<v1::EvaluationReport> BuildRegression(const MetricOptions& options,
                                                 v1::EvaluationReport report) const;
  Tensor OutputsTensor() const;
  Tensor LabelsTensor() const;

  int64_t width_ = 0;        // outputs per example
  int64_t label_width_ = 0;  // label values per example
  bool class_ids_ = false;   // int64 labels
  std::vector<float> outputs_;
  std::vector<double> labels_;
};

}  // namespace hearth::run
