// Exact resume in process: Train() stopped through stop_requested at chosen steps (mid-epoch, on
// a periodic checkpoint's step, after an epoch's last batch, several times in a row) and resumed
// with TrainOptions::resume must end with a checkpoint bit-identical to an uninterrupted run's:
// weights, optimizer state, generator state and position.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::BitIdentical;
using testing::CheckpointFile;
using testing::kResumeJobStepsPerEpoch;
using testing::LatestStep;
using testing::MetadataInt;
using testing::MustLoadCheckpoint;
using testing::TempDir;
using testing::TrainQuietly;

constexpr int kEpochs = 4;
constexpr int64_t kTotalSteps = kEpochs * kResumeJobStepsPerEpoch;

v1::JobSpec Spec() {
  return testing::MustParseSpec(testing::ResumeJobJson(kEpochs, 5));
}

class ResumeInProcessTest : public ::testing::TestWithParam<std::vector<int64_t>> {
 protected:
  // One uninterrupted run for every case.
  static void SetUpTestSuite() {
    reference_dir_ = new TempDir();
    const std::string run = reference_dir_->file("run");
    StatusOr<TrainResult> result = TrainQuietly(Spec(), run, /*resume=*/false);
    ASSERT_TRUE(result.ok()) << result.status();
    reference_result_ = new TrainResult(*result);
    reference_ = new Checkpoint(MustLoadCheckpoint(CheckpointFile(run, kTotalSteps)));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete reference_result_;
    delete reference_dir_;
  }

  static TempDir* reference_dir_;
  static TrainResult* reference_result_;
  static Checkpoint* reference_;
};

TempDir* ResumeInProcessTest::reference_dir_ = nullptr;
TrainResult* ResumeInProcessTest::reference_result_ = nullptr;
Checkpoint* ResumeInProcessTest::reference_ = nullptr;

TEST_P(ResumeInProcessTest, StopAndResumeMatchesAnUninterruptedRunBitForBit) {
  ASSERT_NE(reference_, nullptr);
  ASSERT_EQ(reference_result_->steps, kTotalSteps);
  TempDir tmp;
  const std::string run = tmp.file("run");
  int64_t done = 0;
  for (int64_t stop_at : GetParam()) {
    SCOPED_TRACE(absl::StrFormat("stop at step %d", stop_at));
    StatusOr<TrainResult> stopped = TrainQuietly(Spec(), run, /*resume=*/done > 0, stop_at - done);
    ASSERT_TRUE(stopped.ok()) << stopped.status();
    EXPECT_TRUE(stopped->interrupted);
    EXPECT_EQ(stopped->steps, stop_at);
    EXPECT_EQ(stopped->resumed_from_step, done);
    EXPECT_EQ(stopped->checkpoint, CheckpointFile(run, stop_at));
    // The stop saved a checkpoint positioned right after the last update.
    ASSERT_EQ(LatestStep(run), stop_at);
    const Checkpoint saved = MustLoadCheckpoint(CheckpointFile(run, stop_at));
    const int64_t epoch = (stop_at - 1) / kResumeJobStepsPerEpoch;
    EXPECT_EQ(MetadataInt(saved, ckpt_keys::kStep), stop_at);
    EXPECT_EQ(MetadataInt(saved, ckpt_keys::kEpoch), epoch);
    EXPECT_EQ(MetadataInt(saved, ckpt_keys::kBatchInEpoch),
              stop_at - epoch * kResumeJobStepsPerEpoch);
    EXPECT_FALSE(BitIdentical(*reference_, saved)) << "stopped at the end by mistake";
    done = stop_at;
  }

  StatusOr<TrainResult> resumed = TrainQuietly(Spec(), run, /*resume=*/true);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_FALSE(resumed->interrupted);
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->resumed_from_step, done);
  EXPECT_EQ(resumed->steps, kTotalSteps);
  EXPECT_EQ(resumed->epochs, kEpochs);
  EXPECT_EQ(resumed->checkpoint, CheckpointFile(run, kTotalSteps));
  EXPECT_TRUE(BitIdentical(*reference_, MustLoadCheckpoint(CheckpointFile(run, kTotalSteps))));
  // The final validation runs on the same weights, so it agrees exactly too.
  ASSERT_EQ(resumed->validation_metrics.size(), reference_result_->validation_metrics.size());
  for (size_t i = 0; i < resumed->validation_metrics.size(); ++i)
    EXPECT_EQ(resumed->validation_metrics[i], reference_result_->validation_metrics[i]);
}

INSTANTIATE_TEST_SUITE_P(
    StopPoints, ResumeInProcessTest,
    ::testing::Values(std::vector<int64_t>{23},  // mid-epoch 2, between periodic saves
                      std::vector<int64_t>{25},  // on a periodic checkpoint's step
                      std::vector<int64_t>{19},  // after epoch 1's last batch, before its end
                      std::vector<int64_t>{7, 40, 60}),  // stopped and resumed three times
    [](const ::testing::TestParamInfo<std::vector<int64_t>>& info) {
      std::string name = "StopAt";
      for (int64_t s : info.param) absl::StrAppend(&name, "_", s);
      return name;
    });

TEST(ResumeTest, ResumingWithoutACheckpointIsNotFound) {
  TempDir tmp;
  StatusOr<TrainResult> result = TrainQuietly(Spec(), tmp.file("empty-run"), /*resume=*/true);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(testing::Contains(result.status().message(), "no checkpoint to resume from"));
}

TEST(ResumeTest, ResumingAFinishedRunChangesNothing) {
  TempDir tmp;
  const std::string run = tmp.file("run");
  const v1::JobSpec spec = testing::MustParseSpec(testing::ResumeJobJson(1, 0));
  StatusOr<TrainResult> first = TrainQuietly(spec, run, /*resume=*/false);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string final_path = CheckpointFile(run, kResumeJobStepsPerEpoch);
  const std::string before = testing::ReadFileOrEmpty(final_path);
  StatusOr<TrainResult> again = TrainQuietly(spec, run, /*resume=*/true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->steps, kResumeJobStepsPerEpoch);
  EXPECT_EQ(again->resumed_from_step, kResumeJobStepsPerEpoch);
  EXPECT_EQ(LatestStep(run), kResumeJobStepsPerEpoch);
  EXPECT_EQ(testing::ReadFileOrEmpty(final_path), before);
}

TEST(ResumeTest, EarlyStoppingCountsEpochsAcrossAResume) {
  // min_delta is so large that no epoch after the first counts as an improvement: an
  // uninterrupted run stops after epoch 1 + patience.
  std::string json = testing::ResumeJobJson(8, 5);
  json.insert(json.rfind('}'),
              R"(, "early_stopping": {"monitor": "val_loss", "patience": 2, "min_delta": 100})");
  const v1::JobSpec spec = testing::MustParseSpec(json);
  TempDir tmp;
  StatusOr<TrainResult> full = TrainQuietly(spec, tmp.file("full"), /*resume=*/false);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_TRUE(full->early_stopped);
  ASSERT_EQ(full->steps, 3 * kResumeJobStepsPerEpoch);
  // Resuming the finished run trains nothing more.
  StatusOr<TrainResult> again = TrainQuietly(spec, tmp.file("full"), /*resume=*/true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->early_stopped);
  EXPECT_EQ(again->steps, full->steps);
  EXPECT_EQ(again->epochs, full->epochs);
  EXPECT_EQ(LatestStep(tmp.file("full")), full->steps);

  // Stopped inside epoch 2 and at the end of epoch 2, then resumed.
  for (int64_t stop_at : {23, 38}) {
    SCOPED_TRACE(absl::StrFormat("stop at step %d", stop_at));
    const std::string run = tmp.file(absl::StrFormat("stopped-%d", stop_at));
    ASSERT_TRUE(TrainQuietly(spec, run, /*resume=*/false, stop_at).ok());
    StatusOr<TrainResult> resumed = TrainQuietly(spec, run, /*resume=*/true);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_TRUE(resumed->early_stopped);
    EXPECT_EQ(resumed->steps, full->steps);
    EXPECT_EQ(resumed->epochs, full->epochs);
    EXPECT_TRUE(BitIdentical(MustLoadCheckpoint(full->checkpoint),
                             MustLoadCheckpoint(resumed->checkpoint)));
  }
}

}  // namespace
}  // namespace hearth
