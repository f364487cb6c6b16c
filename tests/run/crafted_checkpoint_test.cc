// Checkpoints that check out (every checksum right) but were crafted: a checkpoint may come from
// anyone who can upload one, so TrainedModel treats everything in it as user input. Each case is
// DATA_LOSS with a message, never a crash or an allocation the file's own size does not bound.
#include <gtest/gtest.h>

#include <string>

#include "run/cli_runner.h"
#include "run/run_test_util.h"
#include "run/training_state.h"

namespace hearth {
namespace {

using testing::TempDir;

class CraftedCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::WriteFileOrFail(dir_->file("job.json"), testing::ResumeJobJson(1, 19));
    const testing::CommandResult r = testing::RunHearth(
        {"train", dir_->file("job.json"), "--out", dir_->file("run"), "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  // The run's checkpoint with metadata `key` set to `value`, saved with fresh checksums, loaded.
  static Status LoadWith(const std::string& key, const std::string& value) {
    Checkpoint c = testing::MustLoadCheckpoint(testing::CheckpointFile(dir_->file("run"), 19));
    c.metadata[key] = value;
    const std::string path = dir_->file("crafted.safetensors");
    HEARTH_RETURN_IF_ERROR(SaveCheckpoint(Env::Default(), path, c));
    return TrainedModel::Load(path).status();
  }
  static std::string Spec() {
    return testing::MustLoadCheckpoint(testing::CheckpointFile(dir_->file("run"), 19))
        .metadata.at(ckpt_keys::kModelSpec);
  }
  static std::string Replaced(std::string text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from << " in " << text;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  }

  static TempDir* dir_;
};

TempDir* CraftedCheckpointTest::dir_ = nullptr;

void ExpectDataLoss(const Status& status, const std::string& part) {
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_TRUE(testing::Contains(status.message(), part)) << status;
}

TEST_F(CraftedCheckpointTest, TheUntouchedCheckpointLoads) {
  EXPECT_TRUE(LoadWith("note", "harmless").ok());
}

TEST_F(CraftedCheckpointTest, AnInvalidEmbeddedSpecIsRefused) {
  ExpectDataLoss(
      LoadWith(ckpt_keys::kModelSpec, Replaced(Spec(), R"("units": 16)", R"("units": 0)")),
      "embedded job spec is not valid");
  // Nine input dimensions used to reach a HEARTH_CHECK (an abort) when the model was built.
  ExpectDataLoss(LoadWith(ckpt_keys::kModelSpec,
                          Replaced(Spec(), R"("model": {)",
                                   R"("model": {"input_shape": [1, 1, 1, 1, 1, 1, 1, 1, 1], )")),
                 "embedded job spec");
}

TEST_F(CraftedCheckpointTest, CountsAndShapesAreChecked) {
  ExpectDataLoss(LoadWith(run::kNumOutputsKey, "abc"), "num_outputs");
  ExpectDataLoss(LoadWith(run::kNumOutputsKey, "-2"), "num_outputs");
  ExpectDataLoss(LoadWith(run::kNumOutputsKey, "99999999999999999999"), "num_outputs");
  ExpectDataLoss(LoadWith(run::kExampleShapeKey, "4000000000,4000000000,4000000000"),
                 "example_shape");
}

TEST_F(CraftedCheckpointTest, CategoryMappingsMustNameAFeatureOfTheRecords) {
  ExpectDataLoss(LoadWith(std::string(run::kFeatureCategoriesPrefix) + "999", "a\nb"),
                 "names no feature");
  ExpectDataLoss(LoadWith(std::string(run::kFeatureCategoriesPrefix) + "x", "a"),
                 "names no feature");
  ExpectDataLoss(LoadWith(std::string(run::kFeatureCategoriesPrefix) + "-1", "a"),
                 "names no feature");
  EXPECT_TRUE(LoadWith(std::string(run::kFeatureCategoriesPrefix) + "0", "a\nb").ok());
}

TEST_F(CraftedCheckpointTest, AModelLargerThanTheStoredWeightsIsRefusedBeforeItIsBuilt) {
  // A valid spec whose model needs far more weights than the file holds: building it first would
  // let a few bytes of metadata allocate gigabytes.
  ExpectDataLoss(
      LoadWith(ckpt_keys::kModelSpec, Replaced(Spec(), R"("units": 16)", R"("units": 100000000)")),
      "parameters but the file holds");
}

}  // namespace
}  // namespace hearth
