// `hearth train JOB.json`: trains locally with a progress bar, saves checkpoints, prints metrics.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/json_writer.h"
#include "cli/worker_launcher.h"
#include "google/protobuf/util/json_util.h"
#include "hearth/blas.h"
#include "hearth/dist/collectives.h"
#include "hearth/job.h"
#include "hearth/train.h"

namespace hearth::cli {
namespace {

volatile std::sig_atomic_t stop_signal = 0;
void OnStopSignal(int signal) {
  stop_signal = signal;
}

std::string DefaultRunDir(const v1::JobSpec& spec) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return absl::StrFormat("runs/%s-%s", spec.name().empty() ? "job" : spec.name(), stamp);
}

void PrintMetrics(const char* title, const MetricResults& metrics) {
  if (metrics.empty()) return;
  std::printf("%s:", title);
  for (const auto& [name, value] : metrics) std::printf(" %s=%.4f", name.c_str(), value);
  std::printf("\n");
}

// The value of a positive integer flag (at most `max`), or `fallback` when it is absent.
StatusOr<int64_t> PositiveFlag(const ParsedArgs& args, const std::string& flag, int64_t fallback,
                               int64_t max = std::numeric_limits<int64_t>::max()) {
  if (!args.Has(flag)) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(args.Get(flag), &value) || value < 1 || value > max)
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s: expected a positive integer%s, got \"%s\"", flag,
        max == std::numeric_limits<int64_t>::max() ? "" : absl::StrFormat(" (at most %d)", max),
        args.Get(flag)));
  return value;
}

// `hearth train --workers N` outside mpirun: the same command, N times, through hearthrun.
int RunWorkers(const ParsedArgs& args, const std::string& run_dir, int workers) {
  const CommandSpec& spec = TrainCommand().spec;
  std::error_code error;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", error).string();
  if (error) return Fail(spec, absl::InternalError("cannot find the hearth binary to launch"));
  std::vector<std::string> command = {self, "train", args.positionals[0]};
  command.insert(command.end(), {args.Has("resume") ? "--resume" : "--out", run_dir});
  for (const char* flag : {"threads", "log-every"})
    if (args.Has(flag)) command.insert(command.end(), {std::string("--") + flag, args.Get(flag)});
  for (const char* flag : {"quiet", "json"})
    if (args.Has(flag)) command.push_back(std::string("--") + flag);
  StatusOr<int> exit_code = LaunchWorkers(workers, command);
  if (!exit_code.ok()) return Fail(spec, exit_code.status());
  return *exit_code;
}

// BLAS threads per rank: --threads, else the machine's cores shared among the local ranks.
StatusOr<int> BlasThreads(const ParsedArgs& args, const dist::Communicator& comm) {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  HEARTH_ASSIGN_OR_RETURN(
      int64_t threads, PositiveFlag(args, "threads", std::max(1, cores / comm.local_size()), 1024));
  return static_cast<int>(threads);
}

// The job file, loaded and validated.
StatusOr<v1::JobSpec> LoadValidJob(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(v1::JobSpec job, LoadJobSpec(path));
  if (Status s = ValidateJobSpec(job); !s.ok())
    return absl::Status(s.code(), absl::StrFormat("%s: %s", path, s.message()));
  return job;
}

// The table of a cross-validation: one row per fold, then the mean and standard deviation.
void PrintCrossValidation(const v1::CrossValidationReport& report, const std::string& run_dir) {
  std::printf("cross-validation, %d folds%s:\n", report.folds(),
              report.stratified() ? " (stratified)" : "");
  std::printf("  %-6s", "fold");
  for (const v1::MetricSummary& s : report.summary()) std::printf(" %12s", s.name().c_str());
  std::printf("\n");
  for (const v1::FoldResult& fold : report.fold_results()) {
    std::printf("  %-6d", fold.fold());
    // A fold's metrics are the job's, in the summary's order.
    for (const v1::MetricSummary& s : report.summary()) {
      double value = NAN;
      for (const v1::Metric& m : fold.validation_metrics())
        if (m.name() == s.name()) value = m.value();
      std::printf(" %12.4f", value);
    }
    std::printf("\n");
  }
  for (const char* row : {"mean", "std"}) {
    std::printf("  %-6s", row);
    for (const v1::MetricSummary& s : report.summary())
      std::printf(" %12.4f", row[0] == 'm' ? s.mean() : s.std());
    std::printf("\n");
  }
  std::printf("report: %s\n", JoinPath(run_dir, kCrossValidationFileName).c_str());
}

int FinishCrossValidation(const ParsedArgs& args, const TrainOptions& options,
                          const StatusOr<CrossValidationResult>& result, dist::Communicator& comm) {
  const CommandSpec& spec = TrainCommand().spec;
  if (!result.ok()) {
    if (comm.size() > 1 && !dist::IsCollectiveError(result.status()))
      comm.Abort(
          absl::StrFormat("hearth train: rank %d: %s", comm.rank(), result.status().message()), 1);
    return comm.is_root() ? Fail(spec, result.status()) : 1;
  }
  if (!comm.is_root()) return result->interrupted ? 130 : 0;
  if (args.Has("json")) {
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    std::string report;
    (void)google::protobuf::util::MessageToJsonString(result->report, &report, print);
    JsonObject out;
    out.Add("run_dir", options.run_dir)
        .Raw("cross_validation", report)
        .Add("wall_seconds", result->wall_seconds)
        .Add("interrupted", result->interrupted)
        .Add("workers", result->workers)
        .Add("blas_core", BlasCoreName());
    std::printf("%s\n", out.str().c_str());
  } else {
    if (result->interrupted)
      std::printf("stopped after %d of %d folds (continue with --resume %s)\n",
                  result->report.fold_results_size(), result->report.folds(),
                  options.run_dir.c_str());
    PrintCrossValidation(result->report, options.run_dir);
  }
  return result->interrupted ? 130 : 0;
}

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = TrainCommand().spec;
  StatusOr<v1::JobSpec> job = LoadValidJob(args.positionals[0]);
  if (!dist::LaunchedByMpi()) {
    if (!job.ok()) return Fail(spec, job.status());
  }
  if (args.Has("resume") && args.Has("out") && args.Get("out") != args.Get("resume"))
    return Fail(spec, absl::InvalidArgumentError("--resume RUN_DIR already names the run "
                                                 "directory; drop --out"));
  if (!dist::LaunchedByMpi()) {
    auto workers = PositiveFlag(args, "workers", Workers(*job), 4096);
    if (!workers.ok()) return Fail(spec, workers.status());
    if (*workers > 1)
      return RunWorkers(args, args.Get("resume", args.Get("out", DefaultRunDir(*job))),
                        static_cast<int>(*workers));
  }

  auto comm = dist::CreateCommunicator();
  if (!comm.ok()) return Fail(spec, comm.status());
  const bool root = (*comm)->is_root();
  // Under mpirun every rank reads the job file and finds the same mistakes: they agree, so
  // rank 0 reports them once and every rank stops together (none can be cut short before it).
  if (Status agreed = dist::AgreeOnStatus(**comm, job.status()); !agreed.ok())
    return root ? Fail(spec, agreed) : 1;
  TrainOptions options;
  options.comm = comm->get();
  options.resume = args.Has("resume");
  // Rank 0 names the run directory (the default has a timestamp that may differ between ranks).
  options.run_dir = args.Get("resume", args.Get("out", root ? DefaultRunDir(*job) : ""));
  if (Status s = dist::BroadcastString(**comm, &options.run_dir, 0, "run directory"); !s.ok())
    return Fail(spec, s);
  options.progress.quiet = args.Has("quiet") || args.Has("json");
  auto log_every = PositiveFlag(args, "log-every", 100);
  if (!log_every.ok()) return Fail(spec, log_every.status());
  options.progress.plain_every_steps = *log_every;
  auto reducer = dist::ReducerOptions::FromEnvironment();
  if (!reducer.ok()) return Fail(spec, reducer.status());
  options.reducer = *reducer;
  auto threads = BlasThreads(args, **comm);
  if (!threads.ok()) return Fail(spec, threads.status());
  SetBlasThreads(*threads);
  // SIGUSR1 is what mpirun forwards to every rank (hearth train --workers sends it on Ctrl-C).
  for (int signal : {SIGINT, SIGTERM, SIGUSR1}) std::signal(signal, OnStopSignal);
  options.stop_requested = [] { return stop_signal != 0; };

  if (job->data().folds() > 0 && !job->data().has_fold())
    return FinishCrossValidation(args, options, CrossValidate(*job, options), **comm);
  auto result = Train(*job, options);
  if (!result.ok()) {
    if ((*comm)->size() > 1 && !dist::IsCollectiveError(result.status()))
      (*comm)->Abort(
          absl::StrFormat("hearth train: rank %d: %s", (*comm)->rank(), result.status().message()),
          1);
    return root ? Fail(spec, result.status()) : 1;
  }
  if (!root) return result->interrupted ? 130 : 0;
  if (args.Has("json")) {
    JsonObject out;
    out.Add("run_dir", options.run_dir)
        .Add("steps", result->steps)
        .Add("epochs", result->epochs)
        .Add("wall_seconds", result->wall_seconds)
        .Add("data_seconds", result->data_seconds)
        .Add("preprocess_seconds", result->preprocess_seconds)
        .Add("examples_per_second", result->examples_per_second)
        .Add("train_loss", result->train_loss)
        .Add("validation_metrics", result->validation_metrics)
        .Add("test_metrics", result->test_metrics)
        .Add("checkpoint", result->checkpoint)
        .Add("best_checkpoint", result->best_checkpoint)
        .Add("interrupted", result->interrupted)
        .Add("early_stopped", result->early_stopped)
        .Add("resumed_from_step", result->resumed_from_step)
        .Add("workers", result->workers)
        .Add("blas_core", BlasCoreName());
    std::printf("%s\n", out.str().c_str());
  } else {
    if (result->already_finished) {
      std::printf("nothing trained: the run had already finished at step %lld (%lld epochs)\n",
                  static_cast<long long>(result->steps), static_cast<long long>(result->epochs));
    } else {
      std::printf("trained %lld steps (%lld epochs) in %.1f s, %.0f examples/s\n",
                  static_cast<long long>(result->steps), static_cast<long long>(result->epochs),
                  result->wall_seconds, result->examples_per_second);
    }
    PrintMetrics("validation", result->validation_metrics);
    PrintMetrics("test", result->test_metrics);
    std::printf("checkpoint: %s\n", result->checkpoint.c_str());
  }
  return result->interrupted ? 130 : 0;
}

}  // namespace

const Command& TrainCommand() {
  static const Command command{
      {"train",
       "hearth train JOB.json [--out RUN_DIR | --resume RUN_DIR] [--workers N] [flags]",
       "train a model from a job spec, in one process or several",
       "Trains the model a job spec describes, with a progress bar, checkpoints, metrics.jsonl\n"
       "and curves.svg in the run directory. Ctrl-C saves a checkpoint and stops; --resume\n"
       "continues exactly where the run stopped (with any number of workers).\n"
       "--workers N (or \"workers\" in the job) starts N data-parallel workers on this machine\n"
       "through launch/hearthrun; under mpirun (mpirun -np N hearth train ...) every rank is a\n"
       "worker. Only rank 0 writes the run directory. See docs/running.md.\n"
       "With data.folds (k-fold cross-validation) it trains every fold in turn, each in\n"
       "RUN_DIR/fold-<i>, and prints each metric's mean and standard deviation over the folds\n"
       "(RUN_DIR/cross_validation.json); --resume skips the folds done. See docs/data.md.",
       {"JOB.json"},
       {{"out", "RUN_DIR", "run directory (default runs/<name>-<time>)"},
        {"resume", "RUN_DIR", "continue the run in RUN_DIR from its latest checkpoint"},
        {"workers", "N", "data-parallel workers to start on this machine (default: the job's)"},
        {"threads", "N", "BLAS threads per worker (default: cores / workers on this machine)"},
        {"log-every", "N", "without a terminal, print a progress line every N steps (100)"},
        {"quiet", "", "print only the final results"},
        {"json", "", "print one JSON object with the results (for scripts)"}}},
      Run};
  return command;
}

int Fail(const CommandSpec& spec, const absl::Status& status) {
  std::fprintf(stderr, "hearth %s: %s\n", spec.name.c_str(), std::string(status.message()).c_str());
  return 1;
}

}  // namespace hearth::cli
