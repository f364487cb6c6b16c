// Damaged checkpoints are refused cleanly: TrainedModel::Load returns DataLoss or InvalidArgument,
// and `hearth eval`, `predict`, `inspect` and `train --resume` exit 1 with one line on stderr that
// names the file, never crashing and never training on top of the damage.
#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <string>

#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CheckpointFile;
using testing::CommandResult;
using testing::LatestStep;
using testing::OneLineMentioning;
using testing::ReadFileOrEmpty;
using testing::RunHearth;
using testing::TempDir;
using testing::WriteFileOrFail;

constexpr char kData[] = "examples/data/logistic_regression.csv";
constexpr int64_t kFinalStep = 2 * testing::kResumeJobStepsPerEpoch;

enum class Damage { kEmpty, kCutInsideTheLength, kCutInHalf, kCutLastByte, kDataBit, kHeaderByte };

struct DamageCase {
  Damage damage;
  const char* name;
};
void PrintTo(const DamageCase& c, std::ostream* os) {
  *os << c.name;
}

// The checkpoint's bytes with `damage` done to them.
std::string Damaged(std::string bytes, Damage damage) {
  switch (damage) {
    case Damage::kEmpty:
      return "";
    case Damage::kCutInsideTheLength:
      return bytes.substr(0, 5);
    case Damage::kCutInHalf:
      return bytes.substr(0, bytes.size() / 2);
    case Damage::kCutLastByte:
      return bytes.substr(0, bytes.size() - 1);
    case Damage::kDataBit:
      bytes[bytes.size() - 3] ^= 0x04;
      return bytes;
    case Damage::kHeaderByte: {
      // A letter of the run's name inside the header's metadata: still valid JSON, so only the
      // header checksum can tell.
      const size_t at = bytes.find("resume-mlp");
      EXPECT_NE(at, std::string::npos);
      if (at != std::string::npos) bytes[at] = 'R';
      return bytes;
    }
  }
  return bytes;
}

class CliCorruptCheckpointTest : public ::testing::TestWithParam<DamageCase> {
 protected:
  // One short run whose checkpoints the cases damage copies of.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    WriteFileOrFail(job(), testing::ResumeJobJson(2, 5));
    const CommandResult r = RunHearth({"train", job(), "--out", run(), "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(LatestStep(run()), kFinalStep);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string job() { return dir_->file("job.json"); }
  static std::string run() { return dir_->file("run"); }

  // A copy of the run directory in `tmp`, its latest checkpoint damaged.
  static std::string DamagedRunCopy(const TempDir& tmp, Damage damage) {
    const std::string copy = tmp.file("run");
    std::filesystem::copy(run(), copy, std::filesystem::copy_options::recursive);
    const std::string latest = CheckpointFile(copy, kFinalStep);
    WriteFileOrFail(latest, Damaged(ReadFileOrEmpty(latest), damage));
    return copy;
  }

  static TempDir* dir_;
};

TempDir* CliCorruptCheckpointTest::dir_ = nullptr;

TEST_P(CliCorruptCheckpointTest, TrainedModelLoadRefusesIt) {
  TempDir tmp;
  const std::string path = CheckpointFile(DamagedRunCopy(tmp, GetParam().damage), kFinalStep);
  auto model = TrainedModel::Load(path);
  ASSERT_FALSE(model.ok());
  EXPECT_TRUE(model.status().code() == absl::StatusCode::kDataLoss ||
              model.status().code() == absl::StatusCode::kInvalidArgument)
      << model.status();
  EXPECT_TRUE(testing::Contains(model.status().message(), path));
}

TEST_P(CliCorruptCheckpointTest, EvalPredictAndInspectFailWithOneLineNamingTheFile) {
  TempDir tmp;
  const std::string path = CheckpointFile(DamagedRunCopy(tmp, GetParam().damage), kFinalStep);
  const std::vector<std::vector<std::string>> commands = {
      {"eval", path, "--data", kData},     {"eval", path, "--data", kData, "--json"},
      {"predict", path, "--input", kData}, {"inspect", path},
      {"inspect", path, "--json"},
  };
  for (const auto& args : commands) {
    SCOPED_TRACE(args[0] + (args.back() == "--json" ? " --json" : ""));
    const CommandResult r = RunHearth(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;  // not 0, and not a crash (128 + signal)
    EXPECT_TRUE(OneLineMentioning(r.err, path));
    EXPECT_TRUE(OneLineMentioning(r.err, "hearth " + args[0] + ": "));
    EXPECT_EQ(r.out, "");
  }
}

TEST_P(CliCorruptCheckpointTest, ResumeRefusesADamagedLatestCheckpoint) {
  TempDir tmp;
  const std::string copy = DamagedRunCopy(tmp, GetParam().damage);
  const std::string latest = CheckpointFile(copy, kFinalStep);
  const std::string damaged = ReadFileOrEmpty(latest);
  const std::string index = ReadFileOrEmpty(copy + "/checkpoints.json");
  const CommandResult r = RunHearth({"train", job(), "--resume", copy, "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(OneLineMentioning(r.err, latest));
  // Nothing was trained or saved over it: the evidence is left for the user.
  EXPECT_EQ(ReadFileOrEmpty(latest), damaged);
  EXPECT_EQ(ReadFileOrEmpty(copy + "/checkpoints.json"), index);
}

INSTANTIATE_TEST_SUITE_P(Damages, CliCorruptCheckpointTest,
                         ::testing::Values(DamageCase{Damage::kEmpty, "Empty"},
                                           DamageCase{Damage::kCutInsideTheLength, "CutTo5Bytes"},
                                           DamageCase{Damage::kCutInHalf, "CutInHalf"},
                                           DamageCase{Damage::kCutLastByte, "CutLastByte"},
                                           DamageCase{Damage::kDataBit, "FlippedDataBit"},
                                           DamageCase{Damage::kHeaderByte, "ChangedHeaderByte"}),
                         [](const ::testing::TestParamInfo<DamageCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace hearth
