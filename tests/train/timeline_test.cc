// The training timeline (HEARTH_TIMELINE): events written as a Chrome trace-event array that
// reads back, nothing recorded when off, the rank files' names and their merge, and the per-step
// summary and picture of `hearth timeline` on a hand-made trace with known durations.
#include "hearth/timeline.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "ckpt/temp_dir.h"
#include "train/timeline_summary.h"

namespace hearth {
namespace {

using testing::TempDir;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(TimelineTest, RecordsCompleteAndInstantEventsAsATraceThatReadsBack) {
  TempDir dir;
  Timeline& timeline = Timeline::Get();
  timeline.Complete("before", "x", 0, 10);  // off: not recorded
  ASSERT_TRUE(timeline.Start(dir.file("t.json"), 3).ok());
  EXPECT_TRUE(timeline.on());
  EXPECT_FALSE(timeline.Start(dir.file("u.json"), 3).ok()) << "one recording at a time";
  timeline.Complete("forward", "compute", 1'000'000, 1'250'500, Timeline::kTraining, 7);
  timeline.Instant("bucket ready", "comm", 1'100'000, Timeline::kTraining, 1);
  timeline.NameRow(Timeline::kBucketRows + 1, "allreduce bucket 2 of 2 \"big\"");
  { TimelineSpan span("allreduce", "comm", Timeline::kBucketRows + 1, 4096); }
  ASSERT_TRUE(timeline.Stop().ok());
  EXPECT_FALSE(timeline.on());
  timeline.Complete("after", "x", 0, 10);  // off again

  const std::string text = ReadFileOrEmpty(dir.file("t.json"));
  EXPECT_TRUE(Contains(text, "\"name\":\"process_name\",\"ph\":\"M\",\"pid\":3")) << text;
  EXPECT_TRUE(Contains(text, "allreduce bucket 2 of 2 \\\"big\\\"")) << text;
  StatusOr<std::vector<TimelineEvent>> events = ParseTimeline(text, "t.json");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  const TimelineEvent& forward = (*events)[0];
  EXPECT_EQ(forward.name, "forward");
  EXPECT_EQ(forward.rank, 3);
  EXPECT_DOUBLE_EQ(forward.ts_us, 1000.0);
  EXPECT_DOUBLE_EQ(forward.dur_us, 250.5);
  EXPECT_EQ(forward.arg, 7);
  EXPECT_EQ((*events)[1].name, "bucket ready");
  EXPECT_EQ((*events)[1].dur_us, -1);
  EXPECT_EQ((*events)[2].row, Timeline::kBucketRows + 1);
  EXPECT_EQ((*events)[2].arg, 4096);
  EXPECT_GE((*events)[2].dur_us, 0);
}

TEST(TimelineTest, AnUnwritablePathSaysWhichAndWhatToDo) {
  const Status s = Timeline::Get().Start("/nonexistent-dir/t.json", 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(std::string(s.message()),
                       "HEARTH_TIMELINE=/nonexistent-dir/t.json: cannot write the timeline there"))
      << s;
  EXPECT_FALSE(Timeline::Get().on());
}

TEST(TimelineTest, RankFilesAreNamedByRankAndMergeIntoOneTrace) {
  EXPECT_EQ(TimelinePath("run/trace.json", 0, 1), "run/trace.json");
  EXPECT_EQ(TimelinePath("run/trace.json", 1, 2), "run/trace.rank1.json");
  EXPECT_EQ(TimelinePath("run.d/trace", 0, 2), "run.d/trace.rank0");
  TempDir dir;
  const std::string path = dir.file("trace.json");
  EXPECT_EQ(MergeTimelines(path, 2).code(), absl::StatusCode::kNotFound);
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_TRUE(Timeline::Get().Start(TimelinePath(path, rank, 2), rank).ok());
    Timeline::Get().Complete("step", "step", 1000, 2000 + rank);
    ASSERT_TRUE(Timeline::Get().Stop().ok());
  }
  ASSERT_TRUE(MergeTimelines(path, 2).ok());
  StatusOr<std::vector<TimelineEvent>> events = ParseTimeline(ReadFileOrEmpty(path), path);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].rank, 0);
  EXPECT_EQ((*events)[1].rank, 1);
  EXPECT_DOUBLE_EQ((*events)[1].dur_us, 1.001);
}

TEST(TimelineTest, NotATraceIsAnErrorNamingTheFile) {
  EXPECT_TRUE(Contains(std::string(ParseTimeline("{\"a\": 1}", "x.json").status().message()),
                       "x.json: expected a JSON array of trace events"));
  EXPECT_TRUE(Contains(std::string(ParseTimeline("[{\"ph\": \"X\"}]", "x.json").status().message()),
                       "x.json:1:2: expected a trace event with \"name\" and \"ph\""));
  EXPECT_FALSE(ParseTimeline("[1, 2", "x.json").ok());
  // Numbers a crafted file may hold are refused, not cast.
  const std::string huge_pid(
      ParseTimeline(R"([{"name": "a", "ph": "X", "ts": 1, "dur": 1, "pid": 1e300, "tid": 0}])",
                    "x.json")
          .status()
          .message());
  EXPECT_TRUE(Contains(
      huge_pid, "x.json:1:2: event \"a\": expected pid and tid in [0, 1048576] and a finite ts"))
      << huge_pid;
  const std::string negative(
      ParseTimeline(R"([{"name": "a", "ph": "X", "ts": 1, "dur": -5, "pid": 0, "tid": 0}])",
                    "x.json")
          .status()
          .message());
  EXPECT_TRUE(Contains(negative, "needs a finite \"dur\" >= 0")) << negative;
}

// Two steps of 100 us: data 5, forward 20, backward 40, wait 25, optimizer 10, 5 unaccounted,
// and one bucket's allreduce of 30 us; the first step is skipped as warm-up.
std::vector<TimelineEvent> TwoSteps() {
  std::vector<TimelineEvent> events;
  for (int s = 0; s < 3; ++s) {
    const double t = 1000.0 * s;
    const double scale = s == 0 ? 3 : 1;  // the warm-up step is slower
    events.push_back({"data", 0, Timeline::kTraining, t - 5, 5});
    events.push_back({"step", 0, Timeline::kTraining, t, 100 * scale, s});
    events.push_back({"forward", 0, Timeline::kTraining, t, 20 * scale});
    events.push_back({"backward", 0, Timeline::kTraining, t + 20, 40 * scale});
    events.push_back({"bucket ready", 0, Timeline::kTraining, t + 50, -1, 0});
    events.push_back({"allreduce", 0, Timeline::kBucketRows, t + 50, 30, 4096});
    events.push_back({"wait for gradients", 0, Timeline::kTraining, t + 60, 25 * scale});
    events.push_back({"optimizer", 0, Timeline::kTraining, t + 85, 10 * scale});
  }
  return events;
}

TEST(TimelineSummaryTest, EachPhaseOfTheStepAndTheRest) {
  StatusOr<std::vector<RankTimeline>> summary = SummariseTimeline(TwoSteps(), 1);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(summary->size(), 1u);
  const RankTimeline& t = (*summary)[0];
  EXPECT_EQ(t.steps, 2);
  EXPECT_DOUBLE_EQ(t.step_mean_us, 100);
  EXPECT_DOUBLE_EQ(t.data_mean_us, 5);
  std::map<std::string, double> mean;
  double shares = 0;
  for (const PhaseTime& p : t.phases) {
    mean[p.name] = p.mean_us;
    shares += p.share;
  }
  EXPECT_DOUBLE_EQ(mean["forward"], 20);
  EXPECT_DOUBLE_EQ(mean["backward"], 40);
  EXPECT_DOUBLE_EQ(mean["wait for gradients"], 25);
  EXPECT_DOUBLE_EQ(mean["optimizer"], 10);
  EXPECT_DOUBLE_EQ(mean["other"], 5);
  EXPECT_EQ(mean.count("wait for step stats"), 0u) << "phases that never happen are left out";
  EXPECT_DOUBLE_EQ(shares, 1.0);
  ASSERT_EQ(t.bucket_allreduce_median_us.size(), 1u);
  EXPECT_DOUBLE_EQ(t.bucket_allreduce_median_us[0], 30);

  EXPECT_EQ(SummariseTimeline(TwoSteps(), 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(TimelineSummaryTest, ThePictureDrawsEveryLaneAndPhase) {
  const std::string svg = RenderTimelineSvg(TwoSteps(), 1, 2, "trace: steps 2 to 3");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_TRUE(Contains(svg, ">rank 0 training<"));
  EXPECT_TRUE(Contains(svg, ">rank 0 bucket 1<"));
  for (const char* title : {"forward: 20.0 us", "backward: 40.0 us", "allreduce: 30.0 us",
                            "wait for gradients: 25.0 us", "<title>bucket ready</title>"})
    EXPECT_TRUE(Contains(svg, title)) << title;
  EXPECT_FALSE(Contains(svg, "forward: 60.0 us")) << "the skipped step is not drawn";
  EXPECT_TRUE(Contains(svg, ">microseconds<"));
}

}  // namespace
}  // namespace hearth
