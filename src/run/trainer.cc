// Train(): the loop a job runs. One process for now; the data-parallel issue adds the
// communicator between backward and the optimizer step.
#include <chrono>
#include <cmath>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "hearth/autograd.h"
#include "hearth/job.h"
#include "hearth/optim.h"
#include "hearth/sampler.h"
#include "hearth/train.h"
#include "run/evaluation.h"
#include "run/job_data.h"
#include "run/training_state.h"

namespace hearth {
namespace {

using run::JobData;
using run::TrainingPosition;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Find(const MetricResults& results, const std::string& name) {
  for (const auto& [n, v] : results)
    if (n == name) return v;
  return std::nan("");
}

// The value a monitor name ("val_loss", "loss", "val_accuracy") refers to.
double MonitoredValue(const std::string& monitor, double train_loss, const MetricResults& val) {
  if (monitor == "loss" || monitor == "train_loss") return train_loss;
  if (monitor.rfind("val_", 0) == 0) return Find(val, monitor.substr(4));
  return Find(val, monitor);
}

MetricResults Prefixed(const MetricResults& results, const std::string& prefix) {
  MetricResults out;
  for (const auto& [n, v] : results) out.push_back({prefix + n, v});
  return out;
}

// Early stopping: patience epochs without an improvement of at least min_delta.
class EarlyStopping {
 public:
  explicit EarlyStopping(const v1::JobSpec& spec)
      : enabled_(spec.has_early_stopping()),
        monitor_(EarlyStoppingMonitor(spec)),
        mode_(ResolveMonitorMode(monitor_, spec.early_stopping().mode())),
        patience_(spec.early_stopping().patience()),
        min_delta_(spec.early_stopping().min_delta()) {}

  const std::string& monitor() const { return monitor_; }

  // Returns true when training should stop after this epoch.
  bool Update(double value) {
    if (!enabled_ || std::isnan(value)) return false;
    const bool better = !best_ || (mode_ == MetricMode::kMin ? value < *best_ - min_delta_
                                                             : value > *best_ + min_delta_);
    if (better) {
      best_ = value;
      waited_ = 0;
      return false;
    }
    return ++waited_ >= patience_;
  }
  // Whether an earlier Update already said to stop.
  bool stopped() const { return enabled_ && waited_ >= patience_; }

  // The state rides in each checkpoint, so a resumed run stops after the same epoch as an
  // uninterrupted one.
  void SaveTo(Checkpoint& c) const {
    if (!enabled_) return;
    if (best_) c.metadata[run::kEarlyStoppingBestKey] = absl::StrFormat("%.17g", *best_);
    c.metadata[run::kEarlyStoppingWaitedKey] = std::to_string(waited_);
  }
  Status RestoreFrom(const Checkpoint& c, const std::string& source) {
    auto best = c.metadata.find(run::kEarlyStoppingBestKey);
    auto waited = c.metadata.find(run::kEarlyStoppingWaitedKey);
    double best_value = 0;
    if (best != c.metadata.end()) {
      if (!absl::SimpleAtod(best->second, &best_value))
        return absl::DataLossError(absl::StrFormat("%s: metadata \"%s\" is not a number", source,
                                                   run::kEarlyStoppingBestKey));
      best_ = best_value;
    }
    if (waited != c.metadata.end() && !absl::SimpleAtoi(waited->second, &waited_))
      return absl::DataLossError(absl::StrFormat("%s: metadata \"%s\" is not an integer", source,
                                                 run::kEarlyStoppingWaitedKey));
    return absl::OkStatus();
  }

 private:
  bool enabled_;
  std::string monitor_;
  MetricMode mode_;
  int patience_;
  double min_delta_;
  std::optional<double> best_;
  int waited_ = 0;
};

// A run killed after its last checkpoint logged steps that the resumed run repeats: drop them so
// the log (and its curves) read like one uninterrupted run.
Status TrimMetricsLog(const std::string& path, int64_t last_step) {
  if (!Env::Default().FileExists(path)) return absl::OkStatus();
  HEARTH_ASSIGN_OR_RETURN(std::vector<MetricsRecord> records, ReadMetricsLog(path));
  std::string kept;
  for (const MetricsRecord& r : records) {
    const double step = r.Number("step");
    if (!std::isnan(step) && step > static_cast<double>(last_step)) continue;
    kept += r.ToJson() + "\n";
  }
  return Env::Default().WriteFileAtomically(path, kept);
}

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

StatusOr<TrainResult> TrainKMeans(const v1::JobSpec& spec, const TrainOptions& options,
                                  JobData& data) {
  const double start = Now();
  ProgressReporter progress(options.progress);
  progress.Message(
      absl::StrFormat("k-means: %d examples, k=%d", data.train.size(), spec.model().kmeans().k()));
  Tensor x = data.train.features;
  if (x.rank() != 2) x = reshape(x, Shape{x.dim(0), -1});
  KMeans kmeans(MakeKMeansOptions(spec));
  HEARTH_RETURN_IF_ERROR(kmeans.Fit(x));
  TrainResult result;
  result.steps = kmeans.iterations();
  result.epochs = 1;
  result.wall_seconds = Now() - start;
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

  HEARTH_ASSIGN_OR_RETURN(auto manager,
                          CheckpointManager::Open(Env::Default(), options.run_dir, {}));
  run::ModelState state{&spec, &data.train.class_names, &data.preprocess, data.example_shape, 0};
  Checkpoint c = run::PackCheckpoint(state, {result.steps, 1, 0}, nullptr, nullptr, nullptr,
                                     kmeans.centroids());
  HEARTH_RETURN_IF_ERROR(manager->Save(result.steps, c));
  result.checkpoint = result.best_checkpoint = manager->PathOf(*manager->Latest());
  HEARTH_RETURN_IF_ERROR(WriteKMeansLog(options.run_dir, result.steps, result.train_loss,
                                        result.validation_metrics, result.wall_seconds));
  progress.Finish(result.validation_metrics);
  return result;
}

}  // namespace

StatusOr<TrainResult> Train(const v1::JobSpec& spec, const TrainOptions& options) {
  HEARTH_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (options.run_dir.empty()) return absl::InvalidArgumentError("no run directory given");
  HEARTH_RETURN_IF_ERROR(Env::Default().CreateDirs(options.run_dir));
  HEARTH_ASSIGN_OR_RETURN(JobData data, run::LoadJobData(spec));
  if (spec.task() == v1::CLUSTERING) return TrainKMeans(spec, options, data);

  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Sequential> model,
                          BuildModel(spec, data.example_shape, data.num_outputs, spec.seed()));
  ParameterSet params(*model);
  const int64_t batch_size = spec.global_batch_size();
  HEARTH_ASSIGN_OR_RETURN(
      Sampler sampler, Sampler::Create(data.train.size(), spec.seed(),
                                       spec.data().has_shuffle() ? spec.data().shuffle() : true));
  HEARTH_ASSIGN_OR_RETURN(DataLoader loader, DataLoader::Create(data.train, sampler, batch_size));
  const int64_t steps_per_epoch = loader.steps_per_epoch();
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                          MakeOptimizerFromSpec(spec, steps_per_epoch));
  HEARTH_ASSIGN_OR_RETURN(LossFn loss_fn, MakeLossFn(spec));

  CheckpointManagerOptions manager_options;
  if (spec.checkpoint().has_keep_last()) manager_options.keep_last = spec.checkpoint().keep_last();
  HEARTH_ASSIGN_OR_RETURN(
      auto manager, CheckpointManager::Open(Env::Default(), options.run_dir, manager_options));
  const std::string monitor = CheckpointMonitor(spec);
  const MetricMode monitor_mode = ResolveMonitorMode(monitor, spec.checkpoint().mode());
  run::ModelState model_state{&spec, &data.train.class_names, &data.preprocess, data.example_shape,
                              data.num_outputs};

  TrainResult result;
  TrainingPosition pos;
  EarlyStopping early_stopping(spec);
  if (options.resume) {
    if (!manager->Latest())
      return absl::NotFoundError(absl::StrFormat(
          "%s: no checkpoint to resume from; start the run without --resume", options.run_dir));
    HEARTH_ASSIGN_OR_RETURN(Checkpoint c, manager->LoadLatest());
    const std::string source = manager->PathOf(*manager->Latest());
    HEARTH_RETURN_IF_ERROR(run::RestoreParameters(c, params, source));
    HEARTH_RETURN_IF_ERROR(optimizer->LoadState(params, c.tensors));
    HEARTH_RETURN_IF_ERROR(run::RestoreGenerators(c, *model));
    HEARTH_ASSIGN_OR_RETURN(pos, run::ReadPosition(c, source));
    HEARTH_RETURN_IF_ERROR(early_stopping.RestoreFrom(c, source));
    // The run had already stopped early: there is nothing left to train.
    result.early_stopped = early_stopping.stopped();
    result.resumed = true;
    result.resumed_from_step = pos.step;
  }

  const std::string log_path = JoinPath(options.run_dir, kMetricsLogName);
  if (result.resumed) HEARTH_RETURN_IF_ERROR(TrimMetricsLog(log_path, pos.step));
  HEARTH_ASSIGN_OR_RETURN(auto log, MetricsLogWriter::Open(log_path));
  const int epochs = spec.epochs();
  const int64_t log_every = spec.log_every_steps() > 0 ? spec.log_every_steps() : 50;
  const int64_t save_every = spec.checkpoint().every_steps();
  ProgressReporter progress(options.progress);
  progress.Start(
      {.total_steps = steps_per_epoch * epochs, .epochs = epochs, .start_step = pos.step});
  if (result.resumed)
    progress.Message(absl::StrFormat("resuming %s at step %d (epoch %d, batch %d)", options.run_dir,
                                     pos.step, pos.epoch + 1, pos.batch_in_epoch));

  auto save = [&](std::optional<MonitoredMetric> metric) -> Status {
    Checkpoint c = run::PackCheckpoint(model_state, pos, &params, optimizer.get(), model.get(), {});
    early_stopping.SaveTo(c);
    HEARTH_RETURN_IF_ERROR(manager->Save(pos.step, c, metric));
    result.checkpoint = manager->PathOf(*manager->Latest());
    return absl::OkStatus();
  };

  const double start = Now();
  int64_t examples_seen = 0;
  model->Train();
  for (; pos.epoch < epochs && !result.early_stopped; ++pos.epoch, pos.batch_in_epoch = 0) {
    HEARTH_RETURN_IF_ERROR(loader.Seek(pos.epoch, pos.batch_in_epoch));
    progress.StartEpoch(static_cast<int>(pos.epoch) + 1);
    double epoch_loss = 0.0;
    int64_t epoch_examples = 0;
    Batch batch;
    while (loader.Next(&batch)) {
      GradientTape tape;
      Tensor loss = loss_fn((*model)(batch.features), batch.labels);
      const float loss_value = loss.item();
      if (!std::isfinite(loss_value)) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "the loss became %s at step %d (epoch %d, batch %d); lower the learning rate or add "
            "clip_grad_norm. The last good checkpoint is kept: %s",
            std::isnan(loss_value) ? "NaN" : "infinite", pos.step + 1, pos.epoch + 1,
            batch.step + 1, result.checkpoint.empty() ? "(none yet)" : result.checkpoint));
      }
      tape.gradient_into(loss, params.params(), params.grads());
      if (spec.clip_grad_norm() > 0) {
        const double norm = ClipGradNorm(params, spec.clip_grad_norm());
        if (!std::isfinite(norm))
          return absl::FailedPreconditionError(absl::StrFormat(
              "the gradient norm became %g at step %d; lower the learning rate. The last good "
              "checkpoint is kept: %s",
              norm, pos.step + 1, result.checkpoint.empty() ? "(none yet)" : result.checkpoint));
      }
      const double lr = optimizer->learning_rate();
      optimizer->Step(params);
      ++pos.step;
      pos.batch_in_epoch = loader.step();
      const int64_t n = batch.features.dim(0);
      examples_seen += n;
      epoch_examples += n;
      epoch_loss += static_cast<double>(loss_value) * n;
      progress.Step(pos.step, loss_value, n);
      if (pos.step % log_every == 0) {
        const double elapsed = Now() - start;
        HEARTH_RETURN_IF_ERROR(
            log->Append(StepRecord{pos.step, static_cast<int>(pos.epoch) + 1, loss_value, lr,
                                   examples_seen / elapsed, elapsed}
                            .ToRecord()));
      }
      if (save_every > 0 && pos.step % save_every == 0) HEARTH_RETURN_IF_ERROR(save(std::nullopt));
      if (options.stop_requested && options.stop_requested()) {
        HEARTH_RETURN_IF_ERROR(save(std::nullopt));
        progress.Message(
            absl::StrFormat("stopped at step %d; checkpoint %s (continue with --resume)", pos.step,
                            result.checkpoint));
        result.interrupted = true;
        result.steps = pos.step;
        result.epochs = pos.epoch;
        result.wall_seconds = Now() - start;
        return result;
      }
    }
    result.train_loss = epoch_examples > 0 ? epoch_loss / epoch_examples : result.train_loss;
    if (data.validation.size() > 0) {
      HEARTH_ASSIGN_OR_RETURN(
          result.validation_metrics,
          run::Evaluate(spec, *model, &loss_fn, data.validation, data.num_outputs));
    }
    MetricResults shown = Prefixed(result.validation_metrics, "val_");
    progress.EndEpoch(shown);
    HEARTH_RETURN_IF_ERROR(log->Append(EpochRecord{static_cast<int>(pos.epoch) + 1, pos.step,
                                                   result.train_loss, shown, Now() - start}
                                           .ToRecord()));
    // Decided before the save, so the checkpoint carries this epoch's early-stopping state.
    const bool stop_early = early_stopping.Update(
        MonitoredValue(early_stopping.monitor(), result.train_loss, result.validation_metrics));
    // The epoch is complete: a checkpoint taken now resumes at the next one.
    TrainingPosition at_end = pos;
    ++pos.epoch;
    pos.batch_in_epoch = 0;
    const double value = MonitoredValue(monitor, result.train_loss, result.validation_metrics);
    HEARTH_RETURN_IF_ERROR(save(MonitoredMetric{monitor, value, monitor_mode}));
    pos = at_end;
    if (stop_early) {
      progress.Message(absl::StrFormat("early stopping after epoch %d: %s stopped improving",
                                       pos.epoch + 1, early_stopping.monitor()));
      result.early_stopped = true;
      ++pos.epoch;
      break;
    }
  }
  result.steps = pos.step;
  result.epochs = std::min<int64_t>(pos.epoch, epochs);
  result.wall_seconds = Now() - start;
  result.examples_per_second = examples_seen / std::max(result.wall_seconds, 1e-9);
  if (manager->Best()) result.best_checkpoint = manager->PathOf(*manager->Best());
  if (data.test.size() > 0) {
    HEARTH_ASSIGN_OR_RETURN(result.test_metrics,
                            run::Evaluate(spec, *model, &loss_fn, data.test, data.num_outputs));
  }
  progress.Finish(
      Prefixed(result.test_metrics.empty() ? result.validation_metrics : result.test_metrics,
               result.test_metrics.empty() ? "val_" : "test_"));
  HEARTH_RETURN_IF_ERROR(log->Close());
  HEARTH_ASSIGN_OR_RETURN(auto records, ReadMetricsLog(JoinPath(options.run_dir, kMetricsLogName)));
  HEARTH_RETURN_IF_ERROR(WriteTrainingCurves(records, JoinPath(options.run_dir, "curves.svg")));
  return result;
}

}  // namespace hearth
