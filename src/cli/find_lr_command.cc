// `hearth find-lr`: the learning-rate range test on a job spec (run/find_lr.h): a table or JSON
// of rate against loss, an SVG plot, and a suggested rate.
#include <cstdio>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/remote_client.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "run/find_lr.h"

namespace hearth::cli {
namespace {

StatusOr<double> PositiveNumber(const ParsedArgs& args, const std::string& flag, double fallback) {
  if (!args.Has(flag)) return fallback;
  double v = 0;
  if (!absl::SimpleAtod(args.Get(flag), &v) || !(v > 0) || !std::isfinite(v))
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s: expected a positive number, got \"%s\"", flag, args.Get(flag)));
  return v;
}

// job.json -> job-lr.svg beside it.
std::string DefaultPlot(const std::string& job) {
  std::filesystem::path path(job);
  return (path.parent_path() / (path.stem().string() + "-lr.svg")).string();
}

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = FindLrCommand().spec;
  StatusOr<v1::JobSpec> job = LoadJobSpec(args.positionals[0]);
  if (!job.ok()) return Fail(spec, job.status());
  run::LrRangeOptions options;
  StatusOr<double> min_lr = PositiveNumber(args, "min-lr", options.min_lr);
  StatusOr<double> max_lr = PositiveNumber(args, "max-lr", options.max_lr);
  StatusOr<double> steps = PositiveNumber(args, "steps", static_cast<double>(options.steps));
  for (const auto* s : {&min_lr, &max_lr, &steps})
    if (!s->ok()) return Fail(spec, s->status());
  options.min_lr = *min_lr;
  options.max_lr = *max_lr;
  options.steps = static_cast<int64_t>(*steps);
  StatusOr<run::LrRangeResult> result = run::RunLrRangeTest(*job, options);
  if (!result.ok()) return Fail(spec, result.status());
  const std::string plot = args.Get("plot", DefaultPlot(args.positionals[0]));
  if (plot != "-") {
    const std::string svg = run::RenderLrRangeTest(
        *result, absl::StrFormat("learning-rate range test: %s",
                                 job->name().empty() ? args.positionals[0] : job->name()));
    if (Status s = Env::Default().WriteFileAtomically(plot, svg); !s.ok())
      return Fail(
          spec, absl::Status(s.code(), absl::StrFormat("cannot write %s: %s", plot, s.message())));
  }
  if (args.Has("json")) {
    std::string points = "[";
    for (size_t i = 0; i < result->points.size(); ++i) {
      const auto& p = result->points[i];
      points += absl::StrFormat("%s[%.6g,%.6g,%.6g]", i ? "," : "", p.lr, p.loss, p.smoothed_loss);
    }
    JsonObject o;
    o.Add("suggested_lr", result->suggested_lr)
        .Add("steepest_lr", result->steepest_lr)
        .Add("min_loss_lr", result->min_loss_lr)
        .Add("diverged", result->diverged)
        .Raw("points", points + "]");
    if (plot != "-") o.Add("plot", plot);
    std::printf("%s\n", o.str().c_str());
    return 0;
  }
  std::printf("%12s %12s %12s\n", "lr", "loss", "smoothed");
  const size_t every = std::max<size_t>(1, result->points.size() / 25);
  for (size_t i = 0; i < result->points.size(); i += every) {
    const auto& p = result->points[i];
    std::printf("%12.4g %12.5g %12.5g\n", p.lr, p.loss, p.smoothed_loss);
  }
  std::printf(
      "\n%s after %zu steps. The loss fell fastest at lr %.3g and was lowest at %.3g.\n"
      "suggested: \"optimizer\": {\"lr\": %.3g}  (a rate near the lowest point is already too "
      "high to train with)\n",
      result->diverged ? "stopped: the loss blew up" : "done", result->points.size(),
      result->steepest_lr, result->min_loss_lr, result->suggested_lr);
  if (plot != "-") std::printf("plot: %s\n", plot.c_str());
  return 0;
}

}  // namespace

const Command& FindLrCommand() {
  static const Command command{
      {"find-lr",
       "hearth find-lr JOB.json [--min-lr X] [--max-lr X] [--steps N] [--plot FILE] [--json]",
       "suggest a learning rate by a range test",
       "Trains the job's model from its initial weights for N batches while the learning\n"
       "rate grows exponentially from --min-lr to --max-lr (Smith 2017, as fastai's\n"
       "lr_find), on this machine, and reports the smoothed loss against the rate. It\n"
       "stops once the loss blows up, writes the curve as SVG, and suggests the rate\n"
       "halfway down the longest fall of the loss (fastai's \"valley\"). The job's\n"
       "optimizer, batch size, loss and data are used as they are; its schedule is\n"
       "replaced. A larger batch usually wants a larger rate: run it again after changing\n"
       "global_batch_size. See docs/data.md#finding-the-learning-rate.",
       {"JOB"},
       {{"min-lr", "X", "the first rate (default 1e-07)"},
        {"max-lr", "X", "the last rate (default 10)"},
        {"steps", "N", "batches, one rate each (default 100)"},
        {"plot", "FILE", "where to write the SVG (default: JOB-lr.svg beside the job; - for none)"},
        {"json", "",
         "print one JSON object: suggested_lr, steepest_lr, min_loss_lr, diverged, "
         "points [[lr, loss, smoothed]...], plot"}}},
      Run};
  return command;
}

}  // namespace hearth::cli
