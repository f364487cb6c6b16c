// `hearth timeline`: where a training step's time goes, from a HEARTH_TIMELINE trace: a table per
// rank (or JSON) and an SVG of a few steps.
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/remote_client.h"
#include "hearth/env.h"
#include "train/timeline_summary.h"

namespace hearth::cli {
namespace {

// trace.json -> trace.svg beside it.
std::string DefaultPicture(const std::string& trace) {
  std::filesystem::path path(trace);
  return (path.parent_path() / (path.stem().string() + ".svg")).string();
}

void PrintRank(const RankTimeline& t) {
  std::printf("rank %d: %lld steps, %.1f us per step (median %.1f), %.1f us reading each batch\n",
              t.rank, static_cast<long long>(t.steps), t.step_mean_us, t.step_median_us,
              t.data_mean_us);
  std::printf("  %-24s %10s %10s %7s\n", "phase", "mean us", "median us", "share");
  for (const PhaseTime& p : t.phases)
    std::printf("  %-24s %10.1f %10.1f %6.1f%%\n", p.name.c_str(), p.mean_us, p.median_us,
                100 * p.share);
  for (size_t b = 0; b < t.bucket_allreduce_median_us.size(); ++b)
    std::printf("  allreduce bucket %-7zu %10s %10.1f   (ready to done, overlapping the above)\n",
                b + 1, "", t.bucket_allreduce_median_us[b]);
}

std::string RankJson(const RankTimeline& t) {
  std::string phases = "[";
  for (size_t i = 0; i < t.phases.size(); ++i) {
    JsonObject p;
    p.Add("name", t.phases[i].name)
        .Add("mean_us", t.phases[i].mean_us)
        .Add("median_us", t.phases[i].median_us)
        .Add("share", t.phases[i].share);
    if (i > 0) phases += ',';
    phases += p.str();
  }
  std::string buckets = "[";
  for (size_t b = 0; b < t.bucket_allreduce_median_us.size(); ++b)
    buckets += absl::StrFormat("%s%.3f", b ? "," : "", t.bucket_allreduce_median_us[b]);
  JsonObject o;
  o.Add("rank", static_cast<int64_t>(t.rank))
      .Add("steps", t.steps)
      .Add("step_mean_us", t.step_mean_us)
      .Add("step_median_us", t.step_median_us)
      .Add("data_mean_us", t.data_mean_us)
      .Raw("phases", phases + "]")
      .Raw("bucket_allreduce_median_us", buckets + "]");
  return o.str();
}

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = TimelineCommand().spec;
  const std::string& path = args.positionals[0];
  StatusOr<std::string> text = Env::Default().ReadFile(path);
  if (!text.ok()) return Fail(spec, text.status());
  StatusOr<std::vector<TimelineEvent>> events = ParseTimeline(*text, path);
  if (!events.ok()) return Fail(spec, events.status());
  StatusOr<int64_t> skip = NonNegativeIntFlag(args, "skip", 5, 1000000);
  StatusOr<int64_t> steps = PositiveIntFlag(args, "steps", 3, 1000);
  for (const auto* s : {&skip, &steps})
    if (!s->ok()) return Fail(spec, s->status());
  StatusOr<std::vector<RankTimeline>> summary = SummariseTimeline(*events, static_cast<int>(*skip));
  if (!summary.ok()) return Fail(spec, summary.status());
  const std::string picture = args.Get("svg", DefaultPicture(path));
  if (picture != "-") {
    const std::string svg = RenderTimelineSvg(
        *events, static_cast<int>(*skip), static_cast<int>(*steps),
        absl::StrFormat("%s: steps %d to %d", std::filesystem::path(path).filename().string(),
                        *skip + 1, *skip + *steps));
    if (Status s = Env::Default().WriteFileAtomically(picture, svg); !s.ok())
      return Fail(spec, absl::Status(s.code(),
                                     absl::StrFormat("cannot write %s: %s", picture, s.message())));
  }
  if (args.Has("json")) {
    std::string ranks = "[";
    for (size_t i = 0; i < summary->size(); ++i) {
      if (i > 0) ranks += ',';
      ranks += RankJson((*summary)[i]);
    }
    JsonObject o;
    o.Raw("ranks", ranks + "]");
    if (picture != "-") o.Add("svg", picture);
    std::printf("%s\n", o.str().c_str());
    return 0;
  }
  for (const RankTimeline& t : *summary) PrintRank(t);
  if (picture != "-") std::printf("picture: %s\n", picture.c_str());
  return 0;
}

}  // namespace

const Command& TimelineCommand() {
  static const Command command{
      {"timeline",
       "hearth timeline TRACE.json [--skip N] [--steps N] [--svg FILE] [--json]",
       "show where the training steps of a timeline went",
       "Reads a timeline recorded with HEARTH_TIMELINE=TRACE.json (Chrome trace events, one\n"
       "process per rank) and prints, per rank, the mean and median time of each phase of a\n"
       "step: forward, backward, the wait for the other ranks' gradients, the step's loss\n"
       "allreduce, the optimizer, checkpoints, and what is left (\"other\"); then each gradient\n"
       "bucket's allreduce from ready to done, which overlaps backward. It draws a few steps\n"
       "of every rank as SVG. The trace itself opens in ui.perfetto.dev or chrome://tracing.\n"
       "See docs/running.md#timeline.",
       {"TRACE.json"},
       {{"skip", "N", "leave out the first N steps, the warm-up (default 5)"},
        {"steps", "N", "steps to draw, after the skipped ones (default 3)"},
        {"svg", "FILE", "where to write the picture (default: TRACE.svg beside it; - for none)"},
        {"json", "",
         "print one JSON object: ranks [{rank, steps, step_mean_us, step_median_us, "
         "data_mean_us, phases [{name, mean_us, median_us, share}], "
         "bucket_allreduce_median_us}], svg"}}},
      Run};
  return command;
}

}  // namespace hearth::cli
