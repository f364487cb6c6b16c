// `hearth train JOB.json`: trains locally with a progress bar, saves checkpoints, prints metrics.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/json_writer.h"
#include "hearth/blas.h"
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

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = TrainCommand().spec;
  auto job = LoadJobSpec(args.positionals[0]);
  if (!job.ok()) return Fail(spec, job.status());
  if (Status s = ValidateJobSpec(*job); !s.ok())
    return Fail(
        spec, absl::Status(s.code(), absl::StrFormat("%s: %s", args.positionals[0], s.message())));
  TrainOptions options;
  options.resume = args.Has("resume");
  options.run_dir = args.Get("resume", args.Get("out", DefaultRunDir(*job)));
  if (args.Has("resume") && args.Has("out") && args.Get("out") != args.Get("resume"))
    return Fail(spec, absl::InvalidArgumentError("--resume RUN_DIR already names the run "
                                                 "directory; drop --out"));
  options.progress.quiet = args.Has("quiet") || args.Has("json");
  auto log_every = PositiveFlag(args, "log-every", 100);
  if (!log_every.ok()) return Fail(spec, log_every.status());
  options.progress.plain_every_steps = *log_every;
  auto threads = PositiveFlag(args, "threads", 1, 1024);
  if (!threads.ok()) return Fail(spec, threads.status());
  SetBlasThreads(static_cast<int>(*threads));
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  options.stop_requested = [] { return stop_signal != 0; };

  auto result = Train(*job, options);
  if (!result.ok()) return Fail(spec, result.status());
  if (args.Has("json")) {
    JsonObject out;
    out.Add("run_dir", options.run_dir)
        .Add("steps", result->steps)
        .Add("epochs", result->epochs)
        .Add("wall_seconds", result->wall_seconds)
        .Add("examples_per_second", result->examples_per_second)
        .Add("train_loss", result->train_loss)
        .Add("validation_metrics", result->validation_metrics)
        .Add("test_metrics", result->test_metrics)
        .Add("checkpoint", result->checkpoint)
        .Add("best_checkpoint", result->best_checkpoint)
        .Add("interrupted", result->interrupted)
        .Add("early_stopped", result->early_stopped)
        .Add("resumed_from_step", result->resumed_from_step)
        .Add("blas_core", BlasCoreName());
    std::printf("%s\n", out.str().c_str());
  } else {
    std::printf("trained %lld steps (%lld epochs) in %.1f s, %.0f examples/s\n",
                static_cast<long long>(result->steps), static_cast<long long>(result->epochs),
                result->wall_seconds, result->examples_per_second);
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
       "hearth train JOB.json [--out RUN_DIR | --resume RUN_DIR] [flags]",
       "train a model from a job spec on this machine",
       "Trains the model a job spec describes on this machine, with a progress bar, checkpoints,\n"
       "metrics.jsonl and curves.svg in the run directory. Ctrl-C saves a checkpoint and stops;\n"
       "--resume continues exactly where the run stopped.",
       {"JOB.json"},
       {{"out", "RUN_DIR", "run directory (default runs/<name>-<time>)"},
        {"resume", "RUN_DIR", "continue the run in RUN_DIR from its latest checkpoint"},
        {"threads", "N", "BLAS threads (default 1)"},
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
