// A diverging run (learning rate 1e6) stops with FailedPrecondition naming NaN/infinite and the
// step, and loses nothing already saved: every checkpoint the index names still loads, and the
// one the message points to holds finite weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CheckpointFile;
using testing::Contains;
using testing::TempDir;

// Linear regression whose loss overflows within a few updates; a checkpoint after each one.
std::string DivergingJob() {
  return R"({
  "name": "diverging",
  "task": "REGRESSION",
  "seed": 42,
  "data": {"train": {"path": "examples/data/linear_regression.csv", "label_column": "y"}},
  "model": {"layers": [{"dense": {"units": 1}}]},
  "optimizer": {"name": "sgd", "lr": 1000000},
  "global_batch_size": 16,
  "epochs": 3,
  "checkpoint": {"every_steps": 1, "keep_last": 100}
})";
}

// The N of "at step N" in `message`, or -1.
int64_t FailedStep(const std::string& message) {
  const size_t at = message.find("at step ");
  int64_t step = -1;
  if (at == std::string::npos || std::sscanf(message.c_str() + at, "at step %ld", &step) != 1)
    return -1;
  return step;
}

TEST(TrainNanLossTest, FailsNamingTheStepAndKeepsEverySavedCheckpoint) {
  TempDir tmp;
  const std::string run = tmp.file("run");
  StatusOr<TrainResult> result =
      testing::TrainQuietly(testing::MustParseSpec(DivergingJob()), run, /*resume=*/false);
  ASSERT_FALSE(result.ok()) << "lr 1e6 did not diverge";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
  const std::string message(result.status().message());
  EXPECT_TRUE(message.find("NaN") != std::string::npos ||
              message.find("infinite") != std::string::npos)
      << message;
  const int64_t step = FailedStep(message);
  ASSERT_GT(step, 1) << message;

  // Every update before the failing one was saved, and each checkpoint still loads.
  EXPECT_EQ(testing::LatestStep(run), step - 1);
  std::optional<testing::Json> index = testing::ReadCheckpointIndex(run);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ((*index)["checkpoints"].array.size(), static_cast<size_t>(step - 1));
  for (const testing::Json& record : (*index)["checkpoints"].array) {
    const std::string path = run + "/" + record["file"].string;
    auto model = TrainedModel::Load(path);
    EXPECT_TRUE(model.ok()) << model.status();
  }
  // The message points to the last checkpoint, whose weights are still finite.
  const std::string last_good = CheckpointFile(run, step - 1);
  EXPECT_TRUE(Contains(message, last_good));
  for (const NamedTensor& t : testing::MustLoadCheckpoint(last_good).tensors) {
    if (t.tensor.dtype() != DType::kFloat32) continue;
    for (int64_t i = 0; i < t.tensor.numel(); ++i)
      ASSERT_TRUE(std::isfinite(t.tensor.f32()[i])) << t.name << "[" << i << "]";
  }
}

TEST(TrainNanLossTest, TheCliExitsWithOneLineNamingTheStep) {
  TempDir tmp;
  const std::string job = tmp.file("diverging.json");
  testing::WriteFileOrFail(job, DivergingJob());
  const testing::CommandResult r = testing::RunHearth({"train", job, "--out", tmp.file("run")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "hearth train: the loss became "));
  EXPECT_GT(FailedStep(r.err), 1) << r.err;
}

}  // namespace
}  // namespace hearth
