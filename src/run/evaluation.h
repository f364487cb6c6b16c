// Evaluating a model on a dataset: the job's metrics plus the mean loss, in batches, without
// recording anything.
#pragma once

#include "hearth/data.h"
#include "hearth/dist/communicator.h"
#include "hearth/job.h"
#include "hearth/metrics.h"
#include "hearth/nn.h"
#include "run/eval_report.h"

namespace hearth::run {

// The MetricOptions a job's metrics need (class count, outputs, seed).
MetricOptions MetricOptionsFor(const v1::JobSpec& spec, int64_t num_outputs);
// The job's metrics can be computed on data with `num_outputs` model outputs, checked before any
// training: INVALID_ARGUMENT naming the metric and what to use instead (a binary one, say, on
// more than two classes).
Status CheckMetricsFit(const v1::JobSpec& spec, int64_t num_outputs);

// Metrics named by the job (and "loss" when `loss` is given), computed over all of `data`. With
// a communicator of several ranks, each rank evaluates its contiguous share of the rows and the
// metric states (confusion matrices, sums) are allreduced: every rank gets the whole set's
// metrics.
//
// With `whole_size` >= 0, `data` is already this rank's share of a set of whole_size examples
// (a rank that read only its own rows, run/sharded_data.h): it is evaluated entirely and the
// metrics still cover the whole set.
//
// With a `report` collector, the outputs and labels are kept there too, every rank's on every
// rank, for the evaluation report.
StatusOr<MetricResults> Evaluate(const v1::JobSpec& spec, Module& model, const LossFn* loss,
                                 const Dataset& data, int64_t num_outputs,
                                 int64_t batch_size = 1024, dist::Communicator* comm = nullptr,
                                 int64_t whole_size = -1, ReportCollector* report = nullptr);

}  // namespace hearth::run
