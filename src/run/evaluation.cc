// Batched evaluation in eval mode.
#include "run/evaluation.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "hearth/autograd.h"
#include "hearth/dist/collectives.h"
#include "hearth/sampler.h"

namespace hearth::run {

MetricOptions MetricOptionsFor(const v1::JobSpec& spec, int64_t num_outputs) {
  MetricOptions options;
  if (spec.task() == v1::CLASSIFICATION) {
    // A single-logit binary model still has two classes.
    options.num_classes = std::max<int64_t>(num_outputs, 2);
  } else if (spec.task() == v1::REGRESSION) {
    options.num_outputs = num_outputs;
  }
  options.seed = spec.seed();
  return options;
}

Status CheckMetricsFit(const v1::JobSpec& spec, int64_t num_outputs) {
  // The metrics refuse what does not fit once they know the classes: make them now.
  const StatusOr<MetricSet> metrics =
      MetricSet::Create(MetricNames(spec), MetricOptionsFor(spec, num_outputs));
  if (metrics.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("metrics: ", metrics.status().message()));
}

StatusOr<MetricResults> Evaluate(const v1::JobSpec& spec, Module& model, const LossFn* loss,
                                 const Dataset& data, int64_t num_outputs, int64_t batch_size,
                                 dist::Communicator* comm, int64_t whole_size,
                                 ReportCollector* report) {
  HEARTH_ASSIGN_OR_RETURN(
      MetricSet metrics, MetricSet::Create(MetricNames(spec), MetricOptionsFor(spec, num_outputs)));
  const bool was_training = model.training();
  model.Eval();
  NoGradGuard no_grad;
  double loss_sum = 0.0;
  const int world = comm != nullptr ? comm->size() : 1;
  const int rank = comm != nullptr ? comm->rank() : 0;
  const bool is_share = whole_size >= 0;
  const int64_t n = is_share ? whole_size : data.size();
  // This rank's rows: [rank * n / world, (rank + 1) * n / world), or all of a share.
  const int64_t first = is_share ? 0 : n * rank / world;
  const int64_t last = is_share ? data.size() : n * (rank + 1) / world;
  std::vector<int64_t> rows;
  for (int64_t start = first; start < last; start += batch_size) {
    const int64_t end = std::min(last, start + batch_size);
    rows.resize(end - start);
    std::iota(rows.begin(), rows.end(), start);
    HEARTH_ASSIGN_OR_RETURN(Tensor x, GatherRows(data.features, rows));
    HEARTH_ASSIGN_OR_RETURN(Tensor y, GatherRows(data.labels, rows));
    Tensor out = model(x);
    if (loss != nullptr) loss_sum += static_cast<double>((*loss)(out, y).item()) * (end - start);
    HEARTH_RETURN_IF_ERROR(metrics.Update(out, y));
    if (report != nullptr) HEARTH_RETURN_IF_ERROR(report->Add(out, y));
  }
  model.Train(was_training);
  if (world > 1) {
    HEARTH_RETURN_IF_ERROR(dist::AllReduceMetrics(*comm, metrics));
    HEARTH_RETURN_IF_ERROR(
        comm->AllReduce(std::span(&loss_sum, 1), dist::ReduceOp::kSum, "allreduce eval loss"));
    if (report != nullptr) HEARTH_RETURN_IF_ERROR(report->Gather(*comm));
  }
  HEARTH_ASSIGN_OR_RETURN(MetricResults results, metrics.Compute());
  if (loss != nullptr && n > 0) results.insert(results.begin(), {"loss", loss_sum / n});
  return results;
}

}  // namespace hearth::run
