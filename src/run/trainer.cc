// Train(): the loop a job runs, in one process or as one rank of a data-parallel job. Every rank
// runs this same loop on its block of each global batch; gradients are averaged between backward
// and the optimizer step (run/gradient_step.h), and rank 0 alone writes the run directory.
#include <cmath>
#include <csignal>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/fault_injection.h"
#include "hearth/async_checkpoint_saver.h"
#include "hearth/blas.h"
#include "hearth/dist/collectives.h"
#include "hearth/dist/model_check.h"
#include "hearth/job.h"
#include "hearth/optim.h"
#include "hearth/sampler.h"
#include "hearth/timeline.h"
#include "hearth/train.h"
#include "run/early_stopping.h"
#include "run/evaluation.h"
#include "run/gradient_step.h"
#include "run/job_data.h"
#include "run/kmeans_training.h"
#include "run/report_files.h"
#include "run/run_common.h"
#include "run/sharded_data.h"
#include "run/state_sync.h"
#include "run/timeline_recording.h"
#include "run/training_state.h"

namespace hearth {
namespace {

using run::JobData;
using run::TrainingPosition;

// The value a monitor name ("val_loss", "loss", "val_accuracy") refers to.
double MonitoredValue(const std::string& monitor, double train_loss, const MetricResults& val) {
  if (monitor == "loss" || monitor == "train_loss") return train_loss;
  if (monitor.rfind("val_", 0) == 0) return run::Find(val, monitor.substr(4));
  return run::Find(val, monitor);
}

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

// The fault-injection points after a training step (docs/reliability.md): this rank waits
// (rank_pause), dies as if killed (rank_exit) or freezes as if hung (rank_stall) right after
// `step`.
void StepFaults(int rank, int64_t step) {
  if (!faults::Enabled()) return;
  const std::string r = std::to_string(rank), s = std::to_string(step);
  faults::MaybePause("rank_pause", {{"rank", r}, {"step", s}});
  faults::MaybeKill("rank_exit", {{"rank", r}, {"step", s}});
  if (faults::Match("rank_stall", {{"rank", r}, {"step", s}})) ::raise(SIGSTOP);
}

// Ends the run's timeline (collective) and says where it is.
Status TellTimeline(run::TimelineRecording& timeline, dist::Communicator& comm,
                    ProgressReporter& progress) {
  HEARTH_ASSIGN_OR_RETURN(const std::string where, timeline.Finish(comm));
  if (!where.empty()) progress.Message(where);
  return absl::OkStatus();
}

std::string RankList(const std::vector<int>& ranks) {
  return absl::StrFormat("rank%s %s", ranks.size() > 1 ? "s" : "", absl::StrJoin(ranks, ", "));
}

}  // namespace

StatusOr<TrainResult> Train(const v1::JobSpec& spec, const TrainOptions& options_in) {
  HEARTH_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (options_in.run_dir.empty()) return absl::InvalidArgumentError("no run directory given");
  std::unique_ptr<dist::Communicator> local_comm;
  dist::Communicator* comm = options_in.comm;
  if (comm == nullptr) {
    local_comm = dist::MakeLocalCommunicator();
    comm = local_comm.get();
  }
  const bool root = comm->is_root();
  const int world = comm->size();
  TrainOptions options = options_in;
  if (!root) options.progress.silent = true;  // one progress display per job
  // Multi-threaded GEMM may split its work differently with another thread count.
  if (spec.deterministic()) SetBlasThreads(1);
  if (root) HEARTH_RETURN_IF_ERROR(Env::Default().CreateDirs(options.run_dir));
  run::TimelineRecording timeline;
  HEARTH_RETURN_IF_ERROR(timeline.Start(*comm));
  // Each rank reads the data itself (with IDX or .npy files, only its own rows); a rank that
  // cannot (a file missing on its machine) stops them all with its error.
  HEARTH_ASSIGN_OR_RETURN(JobData data, run::LoadJobData(spec, *comm));
  if (spec.task() == v1::CLUSTERING) return run::TrainKMeans(spec, options, data, *comm);
  HEARTH_RETURN_IF_ERROR(run::CheckMetricsFit(spec, data.num_outputs));

  StatusOr<std::unique_ptr<Sequential>> built =
      BuildModel(spec, data.example_shape, data.num_outputs, spec.seed());
  HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(*comm, built.status()));
  std::unique_ptr<Sequential> model = *std::move(built);
  ParameterSet params(*model);
  HEARTH_RETURN_IF_ERROR(dist::CollectiveError(dist::CheckSameModel(*comm, params)));
  // One global order of examples; each rank takes its block of every global batch.
  HEARTH_ASSIGN_OR_RETURN(Sampler sampler, run::TrainingSampler(spec, data));
  HEARTH_ASSIGN_OR_RETURN(DataLoader loader,
                          data.shards
                              ? DataLoader::CreatePartial(sampler, spec.global_batch_size())
                              : DataLoader::Create(data.train, sampler, spec.global_batch_size()));
  HEARTH_RETURN_IF_ERROR(loader.SplitEachBatch(comm->rank(), world));
  const int64_t steps_per_epoch = loader.steps_per_epoch();
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                          MakeOptimizerFromSpec(spec, steps_per_epoch));
  HEARTH_ASSIGN_OR_RETURN(const std::vector<float> class_weights,
                          run::TrainingClassWeights(spec, data));
  HEARTH_ASSIGN_OR_RETURN(LossFn loss_fn, MakeLossFn(spec, class_weights));
  auto made_step =
      run::MakeGradientStep(spec, {*model, params, loss_fn, *comm, spec.seed()}, options.reducer);
  if (!made_step.ok()) return dist::CollectiveError(made_step.status());
  std::unique_ptr<run::GradientStep> gradient_step = *std::move(made_step);

  CheckpointManagerOptions manager_options;
  if (spec.checkpoint().has_keep_last()) manager_options.keep_last = spec.checkpoint().keep_last();
  std::unique_ptr<CheckpointManager> manager;
  if (root) {
    HEARTH_ASSIGN_OR_RETURN(
        manager, CheckpointManager::Open(Env::Default(), options.run_dir, manager_options));
  }
  const std::string monitor = CheckpointMonitor(spec);
  const MetricMode monitor_mode = ResolveMonitorMode(monitor, spec.checkpoint().mode());
  run::ModelState model_state{&spec,
                              &data.train.class_names,
                              &data.preprocess,
                              data.example_shape,
                              data.num_outputs,
                              world,
                              data.record_shape,
                              &data.train.feature_names,
                              &data.train.feature_categories,
                              &class_weights};

  TrainResult result;
  result.data_seconds = data.load_seconds;
  result.preprocess_seconds = data.preprocess_seconds;
  result.workers = world;
  TrainingPosition pos;
  run::EarlyStopping early_stopping(spec);
  auto pack = [&] {
    Checkpoint c = run::PackCheckpoint(model_state, pos, &params, optimizer.get(), model.get(), {});
    early_stopping.SaveTo(c);
    return c;
  };
  if (options.resume || world > 1) {
    // Every rank starts from rank 0's state: the latest checkpoint when resuming, else rank 0's
    // freshly initialised weights (also guarding against a different seed on some worker).
    std::string source = "rank 0's initial state";
    if (root && options.resume && manager->Latest()) source = manager->PathOf(*manager->Latest());
    HEARTH_RETURN_IF_ERROR(dist::BroadcastString(*comm, &source, 0, "checkpoint name"));
    auto produce = [&]() -> StatusOr<std::string> {
      if (!options.resume) return SerializeCheckpoint(pack());
      if (!manager->Latest())
        return absl::NotFoundError(absl::StrFormat(
            "%s: no checkpoint to resume from; start the run without --resume", options.run_dir));
      HEARTH_ASSIGN_OR_RETURN(Checkpoint c, manager->LoadLatest());
      return SerializeCheckpoint(c);
    };
    StatusOr<Checkpoint> shared = run::ShareRootCheckpoint(*comm, produce, source);
    if (!shared.ok()) return dist::CollectiveError(shared.status());
    const Checkpoint& c = *shared;
    HEARTH_RETURN_IF_ERROR(run::RestoreParameters(c, params, source));
    HEARTH_RETURN_IF_ERROR(optimizer->LoadState(params, c.tensors));
    HEARTH_RETURN_IF_ERROR(run::RestoreGenerators(c, *model));
    if (options.resume) {
      HEARTH_ASSIGN_OR_RETURN(pos, run::ReadPosition(c, source));
      HEARTH_RETURN_IF_ERROR(early_stopping.RestoreFrom(c, source));
      HEARTH_ASSIGN_OR_RETURN(result.resumed_from_workers, run::ReadWorkers(c, source));
      // The run had already stopped early: there is nothing left to train.
      result.early_stopped = early_stopping.stopped();
      result.resumed = true;
      result.resumed_from_step = pos.step;
    }
  }

  const std::string log_path = JoinPath(options.run_dir, kMetricsLogName);
  std::unique_ptr<MetricsLogWriter> log;
  if (root) {
    if (result.resumed) HEARTH_RETURN_IF_ERROR(TrimMetricsLog(log_path, pos.step));
    HEARTH_ASSIGN_OR_RETURN(log, MetricsLogWriter::Open(log_path));
  }
  const int epochs = spec.epochs();
  const int64_t log_every = spec.log_every_steps() > 0 ? spec.log_every_steps() : 50;
  const int64_t save_every = spec.checkpoint().every_steps();
  ProgressReporter progress(options.progress);
  progress.Start({.total_steps = steps_per_epoch * epochs,
                  .epochs = epochs,
                  .start_step = pos.step,
                  .completed_epochs = static_cast<int>(std::min<int64_t>(pos.epoch, epochs))});
  if (data.duplicates_removed > 0)
    progress.Message(absl::StrFormat("data.deduplicate: dropped %d repeated training row%s",
                                     data.duplicates_removed,
                                     data.duplicates_removed == 1 ? "" : "s"));
  if (world > 1)
    progress.Message(absl::StrFormat(
        "data parallel: %d workers, global batch %d (%d per worker), %d step%s per epoch; "
        "gradients: %s",
        world, spec.global_batch_size(), spec.global_batch_size() / world, steps_per_epoch,
        steps_per_epoch == 1 ? "" : "s", gradient_step->Describe()));
  // A resumed run may have nothing left: all its epochs done, or stopped early.
  result.already_finished = pos.epoch >= epochs || result.early_stopped;
  if (result.already_finished) {
    progress.Message(
        result.early_stopped
            ? absl::StrFormat("%s had already stopped early (%s stopped improving) at step %d: "
                              "nothing left to train. Start a new run (--out) to train again",
                              options.run_dir, early_stopping.monitor(), pos.step)
            : absl::StrFormat("%s had already finished its %d epoch%s at step %d: nothing left "
                              "to train. To train longer, raise \"epochs\" in the job spec and "
                              "resume again",
                              options.run_dir, epochs, epochs == 1 ? "" : "s", pos.step));
  } else if (result.resumed) {
    progress.Message(absl::StrFormat("resuming %s at step %d (epoch %d, batch %d)", options.run_dir,
                                     pos.step, pos.epoch + 1, pos.batch_in_epoch));
    if (result.resumed_from_workers != world)
      progress.Message(absl::StrFormat(
          "the run was saved by %d worker%s and continues on %d: the global batch (%d) and the "
          "order of examples do not depend on the number of workers, so it picks up exactly "
          "where it stopped",
          result.resumed_from_workers, result.resumed_from_workers == 1 ? "" : "s", world,
          spec.global_batch_size()));
  }

  // Rank 0 saves on a thread of its own while training goes on (async_checkpoint_saver.h), so
  // no rank waits for its disk. `settle` waits for the save in flight and names the latest
  // checkpoint; a failed save is reported by the next save or by `settle`.
  std::unique_ptr<AsyncCheckpointSaver> saver;
  if (root) saver = std::make_unique<AsyncCheckpointSaver>(*manager);
  auto save = [&](std::optional<MonitoredMetric> metric) -> Status {
    if (!root) return absl::OkStatus();  // one writer per run directory
    TimelineSpan span("checkpoint", "checkpoint", Timeline::kTraining, pos.step);
    return saver->Save(pos.step, SnapshotCheckpoint(pack()), metric);
  };
  auto settle = [&]() -> Status {
    if (!root) return absl::OkStatus();
    HEARTH_RETURN_IF_ERROR(saver->Wait());
    if (manager->Latest()) result.checkpoint = manager->PathOf(*manager->Latest());
    return absl::OkStatus();
  };
  auto kept = [&]() -> std::string {
    const Status settled = settle();
    std::string name = result.checkpoint.empty() ? "(none yet)" : result.checkpoint;
    if (!settled.ok())
      absl::StrAppend(&name, " (the save after it failed: ", settled.message(), ")");
    return name;
  };
  // With shards, `set` is this rank's share of a set of `size` examples.
  auto evaluate = [&](const Dataset& set, int64_t size) {
    TimelineSpan span("evaluate", "eval", Timeline::kTraining, size);
    return run::Evaluate(spec, *model, &loss_fn, set, data.num_outputs, 1024, comm,
                         data.shards ? size : -1);
  };

  // With shards, this rank's rows of the rest of the epoch, read at its start (the rows of the
  // finished epoch go first, and their memory is reused). Reading the next epoch's on a thread of
  // its own during this one was slower: with one core per rank, its CPU time and page faults
  // stalled every rank's steps (docs/performance.md).
  const int64_t first_epoch = pos.epoch;
  auto load_rows = [&]() -> Status {
    StatusOr<int64_t> resident = data.shards->LoadEpoch(pos.epoch, pos.batch_in_epoch, loader);
    HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(*comm, resident.status()));
    if (pos.epoch == first_epoch)
      progress.Message(absl::StrFormat(
          "rank %d reads only its own rows: %d of %d training examples resident for epoch %d",
          comm->rank(), *resident, data.train_size, pos.epoch + 1));
    return absl::OkStatus();
  };
  // The first rows are read before the clock starts, as a single process reads its whole training
  // set before it (LoadJobData).
  if (data.shards && !result.already_finished) HEARTH_RETURN_IF_ERROR(load_rows());
  const double start = run::WallSeconds();
  int64_t examples_seen = 0;
  model->Train();
  for (; pos.epoch < epochs && !result.early_stopped; ++pos.epoch, pos.batch_in_epoch = 0) {
    if (data.shards && pos.epoch != first_epoch) HEARTH_RETURN_IF_ERROR(load_rows());
    HEARTH_RETURN_IF_ERROR(loader.Seek(pos.epoch, pos.batch_in_epoch));
    progress.StartEpoch(static_cast<int>(pos.epoch) + 1);
    double epoch_loss = 0.0;
    int64_t epoch_examples = 0;
    Batch batch;
    while (true) {
      {
        TimelineSpan span("data", "data");
        if (!loader.Next(&batch)) break;
      }
      // One update, from the step's forward to the optimizer (the data are read before it).
      TimelineSpan step_span("step", "step", Timeline::kTraining, pos.step);
      const bool stop_here = options.stop_requested && options.stop_requested();
      HEARTH_ASSIGN_OR_RETURN(run::StepLoss step, gradient_step->Run(batch, pos.step, stop_here));
      if (!step.nonfinite_loss_ranks.empty())
        return dist::CollectiveError(absl::FailedPreconditionError(absl::StrFormat(
            "the loss became NaN or infinite at step %d (epoch %d, batch %d)%s; lower the "
            "learning rate or add clip_grad_norm. The last good checkpoint is kept: %s",
            pos.step + 1, pos.epoch + 1, batch.step + 1,
            world > 1 ? " on " + RankList(step.nonfinite_loss_ranks) : "", kept())));
      if (!step.gradients_finite)
        return dist::CollectiveError(absl::FailedPreconditionError(absl::StrFormat(
            "the gradients became NaN or infinite at step %d (epoch %d, batch %d); lower the "
            "learning rate or add clip_grad_norm. The last good checkpoint is kept: %s",
            pos.step + 1, pos.epoch + 1, batch.step + 1, kept())));
      const double lr = optimizer->learning_rate();
      {
        TimelineSpan span("optimizer", "compute");
        if (spec.clip_grad_norm() > 0) ClipGradNorm(params, spec.clip_grad_norm());
        optimizer->Step(params);
      }
      ++pos.step;
      StepFaults(comm->rank(), pos.step);
      pos.batch_in_epoch = loader.step();
      const int64_t n = batch.global_size;
      const auto loss_value = static_cast<float>(step.loss);
      examples_seen += n;
      epoch_examples += n;
      epoch_loss += step.loss * n;
      progress.Step(pos.step, loss_value, n);
      if (log && pos.step % log_every == 0) {
        const double elapsed = run::WallSeconds() - start;
        HEARTH_RETURN_IF_ERROR(
            log->Append(StepRecord{pos.step, static_cast<int>(pos.epoch) + 1, loss_value, lr,
                                   examples_seen / elapsed, elapsed}
                            .ToRecord()));
      }
      if (save_every > 0 && pos.step % save_every == 0) HEARTH_RETURN_IF_ERROR(save(std::nullopt));
      if (step.stop_requested) {  // on any rank: every rank sees it in the same step
        HEARTH_RETURN_IF_ERROR(save(std::nullopt));
        HEARTH_RETURN_IF_ERROR(settle());
        progress.Message(
            absl::StrFormat("stopped at step %d; checkpoint %s (continue with --resume)", pos.step,
                            result.checkpoint));
        result.interrupted = true;
        result.steps = pos.step;
        result.epochs = pos.epoch;
        result.wall_seconds = run::WallSeconds() - start;
        HEARTH_RETURN_IF_ERROR(TellTimeline(timeline, *comm, progress));
        return result;
      }
    }
    result.train_loss = epoch_examples > 0 ? epoch_loss / epoch_examples : result.train_loss;
    if (data.validation_size > 0) {
      HEARTH_ASSIGN_OR_RETURN(result.validation_metrics,
                              evaluate(data.validation, data.validation_size));
    }
    MetricResults shown = run::Prefixed(result.validation_metrics, "val_");
    progress.EndEpoch(shown);
    if (log) {
      HEARTH_RETURN_IF_ERROR(
          log->Append(EpochRecord{static_cast<int>(pos.epoch) + 1, pos.step, result.train_loss,
                                  shown, run::WallSeconds() - start}
                          .ToRecord()));
    }
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
  HEARTH_RETURN_IF_ERROR(settle());  // the last save is part of training: timed
  result.wall_seconds = run::WallSeconds() - start;
  result.examples_per_second = examples_seen / std::max(result.wall_seconds, 1e-9);
  if (manager && manager->Best()) result.best_checkpoint = manager->PathOf(*manager->Best());
  if (data.test_size > 0) {
    // The test set's evaluation report, over every rank's rows, goes to <run_dir>/report.
    run::ReportCollector collector;
    HEARTH_ASSIGN_OR_RETURN(result.test_metrics,
                            run::Evaluate(spec, *model, &loss_fn, data.test, data.num_outputs, 1024,
                                          comm, data.shards ? data.test_size : -1, &collector));
    if (root) {
      HEARTH_ASSIGN_OR_RETURN(
          v1::EvaluationReport report,
          collector.Build(spec, data.num_outputs, data.train.class_names, result.test_metrics));
      HEARTH_RETURN_IF_ERROR(
          run::WriteReportFiles(report, JoinPath(options.run_dir, "report")).status());
    }
  }
  HEARTH_RETURN_IF_ERROR(TellTimeline(timeline, *comm, progress));
  progress.Finish(
      run::Prefixed(result.test_metrics.empty() ? result.validation_metrics : result.test_metrics,
                    result.test_metrics.empty() ? "val_" : "test_"));
  if (!log) return result;
  HEARTH_RETURN_IF_ERROR(log->Close());
  HEARTH_ASSIGN_OR_RETURN(auto records, ReadMetricsLog(log_path));
  HEARTH_RETURN_IF_ERROR(WriteTrainingCurves(records, JoinPath(options.run_dir, "curves.svg")));
  return result;
}

}  // namespace hearth
