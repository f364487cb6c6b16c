// `hearth find-lr`: the range test's curve falls and then blows up, its suggestion lies on the
// falling part and trains, the SVG and JSON are written, and bad input is one line of error.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CommandResult;
using testing::Contains;
using testing::ParseJson;
using testing::ReadFileOrEmpty;
using testing::RunHearth;
using testing::TempDir;

constexpr char kMessyJob[] = "examples/jobs/messy_houses.json";

// The messy example's linear regression: the loss stays flat below 1e-3, falls between 1e-2 and
// 1, and diverges above (the hand-picked rate in its spec is 0.05).
TEST(FindLrTest, SuggestsARateOnTheFallingPartOfTheCurve) {
  TempDir dir;
  const CommandResult r = RunHearth({"find-lr", kMessyJob, "--json", "--plot", dir.file("lr.svg")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = ParseJson(r.out);
  ASSERT_TRUE(json.has_value()) << r.out;
  const double suggested = (*json)["suggested_lr"].number;
  const double minimum = (*json)["min_loss_lr"].number;
  EXPECT_TRUE((*json)["diverged"].boolean);
  EXPECT_GT(suggested, 1e-3);
  EXPECT_LT(suggested, 0.2);
  EXPECT_LT(suggested, minimum);
  EXPECT_LT((*json)["steepest_lr"].number, minimum);
  const auto& points = (*json)["points"].array;
  ASSERT_GT(points.size(), 50u);
  ASSERT_LE(points.size(), 100u);
  // The rate grows exponentially from --min-lr; the first points are all at the starting loss
  // and the smallest smoothed loss is a small fraction of it.
  EXPECT_DOUBLE_EQ(points[0].array[0].number, 1e-7);
  const double ratio = points[1].array[0].number / points[0].array[0].number;
  EXPECT_NEAR(points[2].array[0].number / points[1].array[0].number, ratio, 1e-3 * ratio);
  double lowest = INFINITY;
  for (const auto& p : points) lowest = std::min(lowest, p.array[2].number);
  EXPECT_LT(lowest, 0.1 * points[0].array[2].number);

  const std::string svg = ReadFileOrEmpty(dir.file("lr.svg"));
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u) << svg.substr(0, 80);
  EXPECT_TRUE(Contains(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(Contains(svg, "</svg>"));
  EXPECT_TRUE(Contains(svg, "learning-rate range test: messy-houses"));
  EXPECT_TRUE(Contains(svg, "suggested lr"));
}

// The suggested rate trains the model to the fit the hand-picked rate reaches.
TEST(FindLrTest, TheSuggestedRateTrains) {
  TempDir dir;
  CommandResult r = RunHearth({"find-lr", kMessyJob, "--json", "--plot", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double suggested = (*ParseJson(r.out))["suggested_lr"].number;
  std::string spec = ReadFileOrEmpty(kMessyJob);
  const size_t lr = spec.find("\"lr\": ");
  ASSERT_NE(lr, std::string::npos);
  spec.replace(lr, spec.find_first_of(",}", lr) - lr, "\"lr\": " + std::to_string(suggested));
  testing::WriteFileOrFail(dir.file("job.json"), spec);
  r = RunHearth({"train", dir.file("job.json"), "--out", dir.file("run"), "--quiet", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT((*ParseJson(r.out))["validation_metrics"]["r2"].number, 0.8) << r.out;
}

// The table for people, and the plot beside the job by default.
TEST(FindLrTest, PrintsATableAndWritesThePlotBesideTheJob) {
  TempDir dir;
  std::filesystem::copy_file("examples/jobs/logistic_regression.json", dir.file("logit.json"));
  const CommandResult r = RunHearth({"find-lr", dir.file("logit.json"), "--steps", "40"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "done after 40 steps.")) << r.out;
  EXPECT_TRUE(Contains(r.out, "suggested: \"optimizer\": {\"lr\": ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "plot: " + dir.file("logit-lr.svg"))) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("logit-lr.svg")));
}

TEST(FindLrTest, ErrorsAreOneLineNamingTheProblem) {
  CommandResult r = RunHearth({"find-lr", "examples/jobs/kmeans.json", "--plot", "-"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "CLUSTERING")) << r.err;
  r = RunHearth({"find-lr", kMessyJob, "--min-lr", "1", "--max-lr", "0.1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "0 < min_lr < max_lr")) << r.err;
  r = RunHearth({"find-lr", kMessyJob, "--steps", "many"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "--steps")) << r.err;
  r = RunHearth({"find-lr", "/nonexistent.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "/nonexistent.json")) << r.err;
}

}  // namespace
}  // namespace hearth
