// HEARTH_TIMELINE end to end: `hearth train` on one process and under mpirun records every step's
// phases (and on two ranks each gradient allreduce), rank 0 merges the ranks' files into one
// trace, and `hearth timeline` summarises it. Counts of events, never their durations.
#include <filesystem>
#include <map>

#include "dist/scoped_env.h"
#include "parallel/parallel_test_util.h"
#include "run/mini_json.h"

namespace hearth::testing {
namespace {

// How many events of each name each rank recorded.
std::map<int, std::map<std::string, int>> EventCounts(const std::string& trace) {
  std::map<int, std::map<std::string, int>> counts;
  std::optional<Json> events = ParseJson(ReadFileOrEmpty(trace));
  EXPECT_TRUE(events.has_value() && events->type == Json::Type::kArray) << trace;
  if (!events.has_value()) return counts;
  for (const Json& e : events->array)
    if (e["ph"].string != "M") ++counts[static_cast<int>(e["pid"].number)][e["name"].string];
  return counts;
}

class TimelineE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    csv_ = dir_.file("three_class.csv");
    WriteFileOrFail(csv_, ThreeClassCsv());
    job_ = dir_.file("job.json");
    WriteFileOrFail(job_, MlpJob(csv_, 1));  // 240 training rows, batches of 24: 10 steps
  }
  TempDir dir_;
  std::string csv_, job_;
};

TEST_F(TimelineE2eTest, OneProcessRecordsEveryStepsPhases) {
  const std::string trace = dir_.file("trace.json");
  dist_test::ScopedEnv timeline("HEARTH_TIMELINE", trace);
  const CommandResult r = RunHearth({"train", job_, "--out", dir_.file("run")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "timeline: " + trace + " (open it in ui.perfetto.dev")) << r.err;
  std::map<std::string, int> counts = EventCounts(trace)[0];
  for (const char* phase : {"step", "forward", "backward", "optimizer"})
    EXPECT_EQ(counts[phase], 10) << phase;
  EXPECT_EQ(counts["data"], 11) << "the last read finds the epoch over";
  EXPECT_EQ(counts["evaluate"], 1);  // the validation split after the epoch
  EXPECT_EQ(counts["checkpoint"], 2) << "every 10 steps, and the epoch's end";
  EXPECT_EQ(counts["allreduce"], 0) << "one process reduces nothing";

  const CommandResult shown = RunHearth({"timeline", trace, "--skip", "2", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  std::optional<Json> summary = ParseJson(shown.out);
  ASSERT_TRUE(summary.has_value()) << shown.out;
  ASSERT_EQ((*summary)["ranks"].array.size(), 1u);
  EXPECT_EQ((*summary)["ranks"].array[0]["steps"].number, 8);
  EXPECT_TRUE(std::filesystem::exists(dir_.file("trace.svg")));
}

TEST_F(TimelineE2eTest, TwoRanksRecordTheirAllreducesAndRankZeroMergesThem) {
  const std::string trace = dir_.file("trace.json");
  dist_test::ScopedEnv timeline("HEARTH_TIMELINE", trace);
  const CommandResult r = MpiHearth(2, {"train", job_, "--out", dir_.file("run")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, "timeline: " + trace + ", all 2 ranks")) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir_.file("trace.rank0.json")));
  EXPECT_TRUE(std::filesystem::exists(dir_.file("trace.rank1.json")));
  std::map<int, std::map<std::string, int>> counts = EventCounts(trace);
  ASSERT_EQ(counts.size(), 2u);
  for (auto& [rank, c] : counts) {
    SCOPED_TRACE(rank);
    EXPECT_EQ(c["step"], 10);
    EXPECT_EQ(c["backward"], 10);
    // Overlapped buckets (each announced by "bucket ready"), or one fused allreduce per step
    // when the ranks share one CPU.
    EXPECT_EQ(c["allreduce"], c["bucket ready"]);
    EXPECT_GE(c["allreduce"] + c["allreduce all gradients"], 10);
    EXPECT_EQ(c["wait for step stats"], 10);
  }
  const CommandResult shown = RunHearth({"timeline", trace, "--svg", "-"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(Contains(shown.out, "rank 0: 5 steps")) << shown.out;
  EXPECT_TRUE(Contains(shown.out, "rank 1: 5 steps")) << shown.out;
}

}  // namespace
}  // namespace hearth::testing
