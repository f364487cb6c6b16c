// Exact resume through the `hearth` binary: a `hearth train` child killed with SIGKILL right
// after a mid-epoch checkpoint, or stopped with SIGINT (exit 130 after saving), and then continued
// with `hearth train --resume`, must end with the same final checkpoint, bit for bit, as an
// uninterrupted `hearth train` of the same job.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "hearth/report.h"
#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::BitIdentical;
using testing::CheckpointFile;
using testing::ChildProcess;
using testing::kResumeJobStepsPerEpoch;
using testing::LatestStep;
using testing::MetadataInt;
using testing::MustLoadCheckpoint;
using testing::ParseJson;
using testing::ReadFileOrEmpty;
using testing::RunHearth;
using testing::TempDir;

// Long enough (228 updates, ~70 fsync'd checkpoints) that the child is still running when the
// test acts on an early checkpoint.
constexpr int kEpochs = 12;
constexpr int kEverySteps = 4;
constexpr int64_t kTotalSteps = kEpochs * kResumeJobStepsPerEpoch;
// Act once the index names a checkpoint at or after this step.
constexpr int64_t kActAfterStep = 12;
// A child that a stalled test process lets run to the end before it can act is started again.
constexpr int kAttempts = 3;

class ResumeCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::WriteFileOrFail(job(), testing::ResumeJobJson(kEpochs, kEverySteps));
    const testing::CommandResult r = RunHearth({"train", job(), "--out", dir_->file("reference")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    reference_ =
        new Checkpoint(MustLoadCheckpoint(CheckpointFile(dir_->file("reference"), kTotalSteps)));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete dir_;
  }
  static std::string job() { return dir_->file("job.json"); }

  // Starts `hearth train JOB --out run`.
  std::unique_ptr<ChildProcess> StartTraining(const std::string& run,
                                              std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {testing::HearthBinary(), "train", job(), "--out", run};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(argv, run + ".stdout", run + ".stderr");
  }

  // Polls the child's checkpoint index until `ready(latest step)` holds, then returns that step,
  // or -1 when the child exited first or nothing happened within a minute.
  template <typename Ready>
  static int64_t WaitForCheckpoint(ChildProcess& child, const std::string& run, Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (!child.Poll() && std::chrono::steady_clock::now() < deadline) {
      const int64_t latest = LatestStep(run);
      if (latest >= 0 && ready(latest)) return latest;
      ::usleep(200);
    }
    return -1;
  }

  // Freezes the child once the index names a mid-epoch checkpoint, looks again (the index may
  // have moved on before the child stopped), and kills it only while the latest one is
  // mid-epoch, so the resume provably starts inside an epoch. Returns the step of that
  // checkpoint, or -1 when the child finished first.
  static int64_t KillAtAMidEpochCheckpoint(ChildProcess& child, const std::string& run) {
    while (true) {
      const int64_t latest = WaitForCheckpoint(child, run, [](int64_t step) {
        return step >= kActAfterStep && step % kResumeJobStepsPerEpoch != 0;
      });
      if (latest < 0 || !child.Freeze()) return -1;
      const int64_t now = LatestStep(run);
      if (now % kResumeJobStepsPerEpoch != 0) return child.Signal(SIGKILL) ? now : -1;
      if (!child.Thaw()) return -1;
    }
  }

  // `hearth train JOB --resume run --json` to the end; checks its report and the final weights.
  void ResumeToTheEndAndCompare(const std::string& run, int64_t expected_from_step) {
    const testing::CommandResult r = RunHearth({"train", job(), "--resume", run, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::optional<testing::Json> report = ParseJson(r.out);
    ASSERT_TRUE(report.has_value()) << r.out;
    EXPECT_EQ((*report)["resumed_from_step"].number, expected_from_step) << r.out;
    EXPECT_EQ((*report)["steps"].number, kTotalSteps) << r.out;
    EXPECT_FALSE((*report)["interrupted"].boolean) << r.out;
    EXPECT_EQ((*report)["checkpoint"].string, CheckpointFile(run, kTotalSteps));
    EXPECT_TRUE(BitIdentical(*reference_, MustLoadCheckpoint(CheckpointFile(run, kTotalSteps))));
  }

  static TempDir* dir_;
  static Checkpoint* reference_;
};

TempDir* ResumeCliTest::dir_ = nullptr;
Checkpoint* ResumeCliTest::reference_ = nullptr;

TEST_F(ResumeCliTest, SigkillAfterAMidEpochCheckpointThenResumeIsBitIdentical) {
  ASSERT_NE(reference_, nullptr);
  const std::string run = dir_->file("killed");
  int64_t killed_at = -1;
  for (int attempt = 0; attempt < kAttempts && killed_at < 0; ++attempt) {
    std::filesystem::remove_all(run);
    auto child = StartTraining(run, {"--quiet"});
    ASSERT_TRUE(child->started());
    killed_at = KillAtAMidEpochCheckpoint(*child, run);
    if (killed_at >= 0) {
      EXPECT_EQ(child->Wait(), 128 + SIGKILL);
    }
  }
  ASSERT_GE(killed_at, 0) << "hearth train finished " << kAttempts
                          << " times before it could be killed:\n"
                          << ReadFileOrEmpty(run + ".stderr");
  ASSERT_LT(killed_at, kTotalSteps);
  RecordProperty("killed_at_step", static_cast<int>(killed_at));

  const Checkpoint at_kill = MustLoadCheckpoint(CheckpointFile(run, killed_at));
  EXPECT_EQ(MetadataInt(at_kill, ckpt_keys::kStep), killed_at);
  EXPECT_GT(MetadataInt(at_kill, ckpt_keys::kBatchInEpoch), 0) << "not a mid-epoch checkpoint";
  EXPECT_LT(MetadataInt(at_kill, ckpt_keys::kBatchInEpoch), kResumeJobStepsPerEpoch);

  {
    // A record the killed run logged after its last checkpoint (a late step, so that keeping it
    // would break the order); the resumed run logs that stretch again, so resume must drop it.
    std::ofstream log(run + "/metrics.jsonl", std::ios::app);
    log << "{\"type\":\"step\",\"step\":" << kTotalSteps << ",\"loss\":1}\n";
  }
  ResumeToTheEndAndCompare(run, killed_at);
  // The resume cleaned up whatever the kill left half-written.
  for (const auto& entry : std::filesystem::directory_iterator(run)) {
    const std::string name = entry.path().filename().string();
    const bool expected = name == "checkpoints.json" || name == "metrics.jsonl" ||
                          name == "curves.svg" ||
                          (name.rfind("ckpt-", 0) == 0 && name.size() > 17 &&
                           name.substr(name.size() - 12) == ".safetensors");
    EXPECT_TRUE(expected) << "left behind in the run directory: " << name;
  }
  // The log reads like one uninterrupted run: the steps the killed run logged after its last
  // checkpoint were dropped before the resumed run logged them again.
  auto records = ReadMetricsLog(run + "/metrics.jsonl");
  ASSERT_TRUE(records.ok()) << records.status();
  double previous_step = -1;
  for (const MetricsRecord& r : *records) {
    if (r.type() != "step") continue;
    EXPECT_GT(r.Number("step"), previous_step) << "metrics.jsonl repeats step " << r.Number("step");
    previous_step = r.Number("step");
  }
}

TEST_F(ResumeCliTest, SigintSavesACheckpointExitsWith130AndResumes) {
  ASSERT_NE(reference_, nullptr);
  const std::string run = dir_->file("interrupted");
  int64_t seen = -1;
  int exit_code = 0;
  for (int attempt = 0; attempt < kAttempts && exit_code == 0; ++attempt) {
    std::filesystem::remove_all(run);
    auto child = StartTraining(run, {"--json"});
    ASSERT_TRUE(child->started());
    seen = WaitForCheckpoint(*child, run, [](int64_t s) { return s >= kActAfterStep; });
    if (seen < 0) continue;  // finished first: try again
    ASSERT_TRUE(child->Signal(SIGINT));
    exit_code = child->Wait();  // 0 when it finished before the signal
  }
  ASSERT_EQ(exit_code, 130) << ReadFileOrEmpty(run + ".stderr");

  // The --json report says where it stopped, and that step's checkpoint is the latest.
  const std::string out = ReadFileOrEmpty(run + ".stdout");
  const std::optional<testing::Json> report = ParseJson(out);
  ASSERT_TRUE(report.has_value()) << out;
  EXPECT_TRUE((*report)["interrupted"].boolean) << out;
  const auto stopped_at = static_cast<int64_t>((*report)["steps"].number);
  EXPECT_GE(stopped_at, seen);
  ASSERT_LT(stopped_at, kTotalSteps);
  RecordProperty("stopped_at_step", static_cast<int>(stopped_at));
  EXPECT_EQ((*report)["checkpoint"].string, CheckpointFile(run, stopped_at));
  EXPECT_EQ(LatestStep(run), stopped_at);
  EXPECT_EQ(MetadataInt(MustLoadCheckpoint(CheckpointFile(run, stopped_at)), ckpt_keys::kStep),
            stopped_at);

  ResumeToTheEndAndCompare(run, stopped_at);
}

TEST_F(ResumeCliTest, ResumingAFinishedRunSaysSoAndChangesNothing) {
  ASSERT_NE(reference_, nullptr);
  const std::string run = dir_->file("finished");
  std::filesystem::copy(dir_->file("reference"), run, std::filesystem::copy_options::recursive);
  const testing::CommandResult r = RunHearth({"train", job(), "--resume", run});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string finished =
      absl::StrFormat("%s had already finished its %d epochs at step %d: nothing left to train",
                      run, kEpochs, kTotalSteps);
  EXPECT_NE(r.err.find(finished), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(absl::StrFormat("done: epoch %d/%d", kEpochs, kEpochs)), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("resuming"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(absl::StrFormat(
                "nothing trained: the run had already finished at step %d (%d epochs)", kTotalSteps,
                kEpochs)),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("examples/s"), std::string::npos) << r.out;
  EXPECT_EQ(LatestStep(run), kTotalSteps);
  EXPECT_TRUE(BitIdentical(*reference_, MustLoadCheckpoint(CheckpointFile(run, kTotalSteps))));
}

}  // namespace
}  // namespace hearth
