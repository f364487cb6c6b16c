#include "run/kmeans_training.h"

#include <numeric>

#include "absl/strings/str_format.h"
#include "hearth/dist/collectives.h"
#include "hearth/kmeans.h"
#include "hearth/sampler.h"
#include "run/run_common.h"
#include "run/training_state.h"

namespace hearth::run {
namespace {

// The single record and curves of a k-means run, for the same run-directory layout as training.
Status WriteKMeansLog(const std::string& run_dir, int64_t iterations, double inertia_per_example,
                      const MetricResults& metrics, double seconds) {
  const std::string path = JoinPath(run_dir, kMetricsLogName);
  HEARTH_ASSIGN_OR_RETURN(auto log, MetricsLogWriter::Open(path));
  HEARTH_RETURN_IF_ERROR(log->Append(
      EpochRecord{1, iterations, inertia_per_example, Prefixed(metrics, "val_"), seconds}
          .ToRecord()));
  HEARTH_RETURN_IF_ERROR(log->Close());
  HEARTH_ASSIGN_OR_RETURN(auto records, ReadMetricsLog(path));
  return WriteTrainingCurves(records, JoinPath(run_dir, "curves.svg"));
}

}  // namespace

StatusOr<TrainResult> TrainKMeans(const v1::JobSpec& spec, const TrainOptions& options,
                                  JobData& data, dist::Communicator& comm) {
  const double start = WallSeconds();
  ProgressReporter progress(options.progress);
  progress.Message(
      absl::StrFormat("k-means: %d examples, k=%d", data.train.size(), spec.model().kmeans().k()));
  Tensor x = data.train.features;
  if (x.rank() != 2) x = reshape(x, Shape{x.dim(0), -1});
  KMeans kmeans(MakeKMeansOptions(spec));
  if (comm.size() == 1) {
    HEARTH_RETURN_IF_ERROR(kmeans.Fit(x));
  } else {
    const int64_t n = x.dim(0);
    std::vector<int64_t> rows(n * (comm.rank() + 1) / comm.size() - n * comm.rank() / comm.size());
    std::iota(rows.begin(), rows.end(), n * comm.rank() / comm.size());
    HEARTH_ASSIGN_OR_RETURN(Tensor shard, GatherRows(x, rows));
    HEARTH_RETURN_IF_ERROR(kmeans.FitSharded(
        x, shard, [&](ClusterStats& stats) { return dist::AllReduceClusterStats(comm, stats); }));
  }
  TrainResult result;
  result.data_seconds = data.load_seconds;
  result.preprocess_seconds = data.preprocess_seconds;
  result.steps = kmeans.iterations();
  result.epochs = 1;
  result.wall_seconds = WallSeconds() - start;
  result.examples_per_second = data.train.size() / std::max(result.wall_seconds, 1e-9);
  result.train_loss = kmeans.inertia() / data.train.size();

  MetricOptions metric_options;
  metric_options.centroids = kmeans.centroids();
  metric_options.seed = spec.seed();
  auto evaluate = [&](const Dataset& set) -> StatusOr<MetricResults> {
    HEARTH_ASSIGN_OR_RETURN(MetricSet metrics,
                            MetricSet::Create(MetricNames(spec), metric_options));
    Tensor features =
        set.features.rank() == 2 ? set.features : reshape(set.features, Shape{set.size(), -1});
    HEARTH_ASSIGN_OR_RETURN(Tensor assigned, kmeans.Predict(features));
    HEARTH_RETURN_IF_ERROR(metrics.Update(assigned, features));
    return metrics.Compute();
  };
  HEARTH_ASSIGN_OR_RETURN(result.validation_metrics,
                          evaluate(data.validation.size() > 0 ? data.validation : data.train));
  if (data.test.size() > 0) {
    HEARTH_ASSIGN_OR_RETURN(result.test_metrics, evaluate(data.test));
  }

  if (!comm.is_root()) return result;  // rank 0 writes the run directory
  HEARTH_ASSIGN_OR_RETURN(auto manager,
                          CheckpointManager::Open(Env::Default(), options.run_dir, {}));
  ModelState state;
  state.spec = &spec;
  state.class_names = &data.train.class_names;
  state.preprocess = &data.preprocess;
  state.example_shape = data.example_shape;
  state.record_shape = data.record_shape;
  state.feature_names = &data.train.feature_names;
  Checkpoint c =
      PackCheckpoint(state, {result.steps, 1, 0}, nullptr, nullptr, nullptr, kmeans.centroids());
  HEARTH_RETURN_IF_ERROR(manager->Save(result.steps, c));
  result.checkpoint = result.best_checkpoint = manager->PathOf(*manager->Latest());
  HEARTH_RETURN_IF_ERROR(WriteKMeansLog(options.run_dir, result.steps, result.train_loss,
                                        result.validation_metrics, result.wall_seconds));
  progress.Finish(result.validation_metrics);
  return result;
}

}  // namespace hearth::run
