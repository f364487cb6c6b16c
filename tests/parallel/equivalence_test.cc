// N workers with global batch B train like 1 worker with batch B: to float tolerance by default,
// bit for bit in deterministic mode. Also k-means and evaluation across ranks.
#include <filesystem>

#include "parallel/parallel_test_util.h"

namespace hearth::testing {
namespace {

class EquivalenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    csv_ = dir_.file("three_class.csv");
    WriteFileOrFail(csv_, ThreeClassCsv());
  }
  // Trains `job_json` on `ranks` workers into <dir>/<name> and returns that directory.
  std::string Train(const std::string& name, const std::string& job_json, int ranks) {
    const std::string job = dir_.file(name + ".json");
    WriteFileOrFail(job, job_json);
    const std::string out = dir_.file(name);
    CommandResult r = ranks == 1 ? RunHearth({"train", job, "--out", out, "--quiet"})
                                 : MpiHearth(ranks, {"train", job, "--out", out, "--quiet"});
    EXPECT_EQ(r.exit_code, 0) << name << " on " << ranks << " ranks:\n" << r.out << r.err;
    return out;
  }

  TempDir dir_;
  std::string csv_;
};

TEST_F(EquivalenceTest, TwoAndThreeWorkersMatchOneAfterTwentySteps) {
  const std::string job = MlpJob(csv_, 2);
  const Checkpoint one = MustLoadCheckpoint(CheckpointFile(Train("one", job, 1), 20));
  for (int ranks : {2, 3}) {
    const std::string run = Train(absl::StrFormat("n%d", ranks), job, ranks);
    const Checkpoint many = MustLoadCheckpoint(CheckpointFile(run, 20));
    EXPECT_EQ(MetadataInt(many, "workers"), ranks);
    EXPECT_LE(MaxRelativeDifference(many, one), 1e-5) << ranks << " workers";
  }
}

// Cross-validation under mpirun: every rank trains the same folds, and each fold's last
// checkpoint matches the one-process run's.
TEST_F(EquivalenceTest, CrossValidationOnTwoWorkersMatchesOneFoldByFold) {
  std::string job = MlpJob(csv_, 1);
  job.replace(job.find("\"validation_fraction\": 0.2"), 26, "\"folds\": 3, \"stratify\": true");
  const std::string one = Train("cv1", job, 1);
  const std::string two = Train("cv2", job, 2);
  for (int fold = 0; fold < 3; ++fold) {
    // 200 training rows per fold: 9 steps of global batch 24.
    const Checkpoint a = MustLoadCheckpoint(CheckpointFile(FoldRunDir(one, fold), 9));
    const Checkpoint b = MustLoadCheckpoint(CheckpointFile(FoldRunDir(two, fold), 9));
    EXPECT_EQ(MetadataInt(b, "workers"), 2);
    EXPECT_LE(MaxRelativeDifference(b, a), 1e-5) << "fold " << fold;
  }
  EXPECT_TRUE(std::filesystem::exists(JoinPath(two, kCrossValidationFileName)));
}

// Balanced sampling: the epoch's examples come from every rank's copy of the labels, so two
// workers play the one order one process plays.
TEST_F(EquivalenceTest, BalancedSamplingOnTwoWorkersMatchesOne) {
  std::string job = MlpJob(csv_, 2);
  job.replace(job.find("\"validation_fraction\": 0.2"), 26,
              "\"validation_fraction\": 0.2, \"sampling\": \"BALANCED\"");
  const Checkpoint one = MustLoadCheckpoint(CheckpointFile(Train("b1", job, 1), 20));
  const Checkpoint two = MustLoadCheckpoint(CheckpointFile(Train("b2", job, 2), 20));
  EXPECT_EQ(MetadataInt(two, "workers"), 2);
  EXPECT_LE(MaxRelativeDifference(two, one), 1e-5);
  const Checkpoint uniform =
      MustLoadCheckpoint(CheckpointFile(Train("u1", MlpJob(csv_, 2), 1), 20));
  EXPECT_GT(MaxRelativeDifference(uniform, one), 1e-3) << "the sampling changed nothing";
}

TEST_F(EquivalenceTest, DeterministicModeIsBitIdenticalForOneTwoAndFourWorkers) {
  // Dropout too: its masks follow the micro-shard, not the rank.
  const std::string job = MlpJob(csv_, 2, R"("deterministic": true,)", /*dropout=*/true);
  const std::string one = Train("det1", job, 1);
  for (int ranks : {2, 4}) {
    const std::string run = Train(absl::StrFormat("det%d", ranks), job, ranks);
    for (int64_t step : {10, 20})
      EXPECT_TRUE(SameTensorBits(MustLoadCheckpoint(CheckpointFile(run, step)),
                                 MustLoadCheckpoint(CheckpointFile(one, step))))
          << ranks << " workers, step " << step;
  }
}

TEST_F(EquivalenceTest, DeterministicModeRejectsThreeWorkers) {
  const std::string job = dir_.file("det.json");
  WriteFileOrFail(job, MlpJob(csv_, 1, R"("deterministic": true,)"));
  CommandResult r = MpiHearth(3, {"train", job, "--out", dir_.file("det3"), "--quiet"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "power-of-two number of workers")) << r.err;
}

TEST_F(EquivalenceTest, ValidationMetricsCoverTheWholeSetOnEveryWorkerCount) {
  // The trained weights agree to 1e-5, so metrics over the whole validation set must agree too;
  // evaluating rank 0's share alone would not.
  const std::string job = dir_.file("eval.json");
  WriteFileOrFail(job, MlpJob(csv_, 1));
  CommandResult one = RunHearth({"train", job, "--out", dir_.file("e1"), "--json"});
  CommandResult three = MpiHearth(3, {"train", job, "--out", dir_.file("e3"), "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(three.exit_code, 0) << three.err;
  const std::optional<Json> a = ParseJson(one.out), b = ParseJson(three.out);
  ASSERT_TRUE(a && b) << one.out << three.out;
  for (const char* metric : {"loss", "accuracy", "f1_macro"})
    EXPECT_NEAR((*a)["validation_metrics"][metric].number,
                (*b)["validation_metrics"][metric].number, 1e-4)
        << metric;
  EXPECT_EQ((*b)["workers"].number, 3);
}

TEST_F(EquivalenceTest, DistributedKMeansFindsTheSingleProcessCentroids) {
  const std::string job = absl::StrFormat(R"({
  "name": "parallel-kmeans", "task": "CLUSTERING", "seed": 3,
  "data": {"train": {"path": "%s", "feature_columns": ["a", "b", "c", "d"]}},
  "model": {"kmeans": {"k": 3, "n_init": 2, "max_iter": 50}}
})",
                                          csv_);
  const std::string single = Train("km1", job, 1);
  const std::string three = Train("km3", job, 3);
  const Checkpoint one = MustLoadCheckpoint(CheckpointFile(single, LatestStep(single)));
  const Checkpoint many = MustLoadCheckpoint(CheckpointFile(three, LatestStep(three)));
  const Tensor* a = one.Find("kmeans.centroids");
  const Tensor* b = many.Find("kmeans.centroids");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->shape(), b->shape());
  for (int64_t i = 0; i < a->numel(); ++i) EXPECT_NEAR(a->f32()[i], b->f32()[i], 1e-5) << i;
}

}  // namespace
}  // namespace hearth::testing

namespace hearth::testing {
namespace {

// Stop a 2-worker run mid-epoch, resume it on 4: the result is bit-identical to one process
// training straight through (deterministic mode makes the comparison exact).
TEST(ResumeAcrossWorkerCounts, TwoWorkersStopFourResumeOneMatches) {
  TempDir dir;
  const std::string csv = dir.file("data.csv");
  WriteFileOrFail(csv, ThreeClassCsv());
  std::string spec = MlpJob(csv, 3, R"("deterministic": true,)", /*dropout=*/true);
  spec.replace(spec.find("\"every_steps\": 10"), 17, "\"every_steps\": 7");
  const std::string job = dir.file("job.json");
  WriteFileOrFail(job, spec);

  ASSERT_EQ(RunHearth({"train", job, "--out", dir.file("straight"), "--quiet"}).exit_code, 0);
  const std::string run = dir.file("resumed");
  ASSERT_EQ(MpiHearth(2, {"train", job, "--out", run, "--quiet"}).exit_code, 0);
  // Roll the 2-worker run back to its mid-epoch checkpoint at step 14 (epoch 2, batch 4), as if
  // it had been killed there: keep that file only and let the index be rebuilt from it.
  for (const char* later : {"ckpt-20", "ckpt-21", "ckpt-28", "ckpt-30", "ckpt-7", "ckpt-10"})
    std::filesystem::remove(run + "/" + later + ".safetensors");
  std::filesystem::remove(run + "/checkpoints.json");
  ASSERT_EQ(LatestStep(run), -1);

  CommandResult resumed = MpiHearth(4, {"train", job, "--resume", run});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_TRUE(Contains(resumed.out + resumed.err, "resuming")) << resumed.err;
  EXPECT_TRUE(Contains(resumed.out + resumed.err, "saved by 2 workers and continues on 4"))
      << resumed.out << resumed.err;
  EXPECT_TRUE(SameTensorBits(MustLoadCheckpoint(CheckpointFile(run, 30)),
                             MustLoadCheckpoint(CheckpointFile(dir.file("straight"), 30))));
}

}  // namespace
}  // namespace hearth::testing
