// CheckpointManager: retention (last K + best), the index, reopening, and that no failed save ever
// costs a checkpoint that was saved before.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ckpt/fault_injecting_env.h"
#include "ckpt/temp_dir.h"
#include "hearth/checkpoint.h"

namespace hearth {
namespace {

using testing::FaultInjectingEnv;
using testing::TempDir;

// A checkpoint whose contents identify the step it was saved at.
Checkpoint At(int64_t step) {
  Checkpoint c;
  c.tensors.push_back({"w", Tensor::Full(Shape{64}, static_cast<float>(step))});
  c.metadata[ckpt_keys::kStep] = std::to_string(step);
  return c;
}

MonitoredMetric Loss(double v) {
  return {"val_loss", v, MetricMode::kMin};
}

std::vector<int64_t> Steps(const CheckpointManager& m) {
  std::vector<int64_t> out;
  for (const CheckpointRecord& r : m.records()) out.push_back(r.step);
  return out;
}

std::vector<std::string> CkptFiles(Env& env, const std::string& dir) {
  std::vector<std::string> out = env.ListDir(dir).value();
  std::erase(out, CheckpointManager::kIndexFile);
  return out;
}

int64_t StepIn(const StatusOr<Checkpoint>& c) {
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? static_cast<int64_t>(c->Find("w")->f32()[0]) : -1;
}

TEST(CheckpointManagerTest, KeepsTheLastKAndDeletesOlderFiles) {
  TempDir tmp;
  Env& env = Env::Default();
  auto m = CheckpointManager::Open(env, tmp.path(), {.keep_last = 2}).value();
  EXPECT_FALSE(m->Latest().has_value());
  EXPECT_EQ(m->LoadLatest().status().code(), absl::StatusCode::kNotFound);
  for (int64_t step : {10, 20, 30, 40}) ASSERT_TRUE(m->Save(step, At(step)).ok());
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{30, 40}));
  EXPECT_EQ(m->Latest()->file, "ckpt-40.safetensors");
  EXPECT_EQ(StepIn(m->LoadLatest()), 40);
  EXPECT_FALSE(m->Best().has_value());
  EXPECT_EQ(CkptFiles(env, tmp.path()),
            (std::vector<std::string>{"ckpt-30.safetensors", "ckpt-40.safetensors"}));
}

TEST(CheckpointManagerTest, KeepsTheBestBeyondTheLastK) {
  TempDir tmp;
  auto m = CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 2}).value();
  const double losses[] = {0.9, 0.3, 0.5, 0.4, 0.6};
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(m->Save((i + 1) * 100, At((i + 1) * 100), Loss(losses[i])).ok());
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{200, 400, 500}));
  ASSERT_TRUE(m->Best().has_value());
  EXPECT_EQ(m->Best()->step, 200);
  EXPECT_EQ(*m->Best()->metric, 0.3);
  EXPECT_EQ(StepIn(m->LoadBest()), 200);
  // A new best releases the old one to ordinary retention.
  ASSERT_TRUE(m->Save(600, At(600), Loss(0.1)).ok());
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{500, 600}));
  EXPECT_EQ(m->Best()->step, 600);
}

TEST(CheckpointManagerTest, MaxModeAndTiesKeepTheEarlier) {
  TempDir tmp;
  auto m = CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 1}).value();
  const MonitoredMetric acc{"accuracy", 0.8, MetricMode::kMax};
  ASSERT_TRUE(m->Save(1, At(1), acc).ok());
  ASSERT_TRUE(m->Save(2, At(2), MonitoredMetric{"accuracy", 0.8, MetricMode::kMax}).ok());
  EXPECT_EQ(m->Best()->step, 1);
  ASSERT_TRUE(m->Save(3, At(3), MonitoredMetric{"accuracy", 0.9, MetricMode::kMax}).ok());
  EXPECT_EQ(m->Best()->step, 3);
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{3}));
}

TEST(CheckpointManagerTest, ReopenReadsTheIndex) {
  TempDir tmp;
  {
    auto m = CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 2}).value();
    ASSERT_TRUE(m->Save(1, At(1), Loss(0.2)).ok());
    ASSERT_TRUE(m->Save(2, At(2), Loss(0.5)).ok());
    ASSERT_TRUE(m->Save(3, At(3), Loss(0.4)).ok());
  }
  auto m = CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 2}).value();
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(m->Latest()->step, 3);
  EXPECT_EQ(m->Best()->step, 1);
  EXPECT_EQ(*m->records()[1].metric, 0.5);
  // The monitor survives the restart too.
  EXPECT_EQ(m->Save(4, At(4), MonitoredMetric{"accuracy", 1, MetricMode::kMax}).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(m->Save(4, At(4), Loss(0.6)).ok());
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{1, 3, 4}));
}

TEST(CheckpointManagerTest, IndexIsReadableJson) {
  TempDir tmp;
  auto m = CheckpointManager::Open(Env::Default(), tmp.path()).value();
  ASSERT_TRUE(m->Save(5, At(5), Loss(0.25)).ok());
  const std::string index =
      Env::Default().ReadFile(tmp.file(CheckpointManager::kIndexFile)).value();
  EXPECT_NE(index.find(R"("monitor": {"name": "val_loss", "mode": "min"})"), std::string::npos)
      << index;
  EXPECT_NE(index.find(R"("latest": "ckpt-5.safetensors")"), std::string::npos) << index;
  EXPECT_NE(index.find(R"("best": "ckpt-5.safetensors")"), std::string::npos) << index;
  EXPECT_NE(index.find(R"({"step": 5, "file": "ckpt-5.safetensors", "metric": 0.25})"),
            std::string::npos)
      << index;
}

TEST(CheckpointManagerTest, RejectsBadArguments) {
  TempDir tmp;
  EXPECT_EQ(CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto m = CheckpointManager::Open(Env::Default(), tmp.path()).value();
  EXPECT_EQ(m->Save(-1, At(1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m->Save(1, At(1), MonitoredMetric{"", 1, MetricMode::kMin}).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(m->Save(1, At(1), Loss(1)).ok());
  const Status s = m->Save(2, At(2), MonitoredMetric{"val_loss", 1, MetricMode::kMax});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("val_loss (min)"), std::string::npos) << s;
}

TEST(CheckpointManagerTest, NanMetricIsRecordedButNeverBest) {
  TempDir tmp;
  auto m = CheckpointManager::Open(Env::Default(), tmp.path()).value();
  ASSERT_TRUE(m->Save(1, At(1), Loss(NAN)).ok());
  EXPECT_FALSE(m->Best().has_value());
  EXPECT_EQ(m->LoadBest().status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(m->Save(2, At(2), Loss(2.0)).ok());
  EXPECT_EQ(m->Best()->step, 2);
  EXPECT_FALSE(m->records()[0].metric.has_value());
}

TEST(CheckpointManagerTest, SavingTheSameStepReplacesIt) {
  TempDir tmp;
  auto m = CheckpointManager::Open(Env::Default(), tmp.path()).value();
  ASSERT_TRUE(m->Save(7, At(7)).ok());
  Checkpoint again = At(7);
  again.tensors[0].tensor.Fill(77);
  ASSERT_TRUE(m->Save(7, again).ok());
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{7}));
  EXPECT_EQ(StepIn(m->LoadLatest()), 77);
}

TEST(CheckpointManagerTest, FullDiskLosesNothing) {
  TempDir tmp;
  FaultInjectingEnv env;
  auto m = CheckpointManager::Open(env, tmp.path(), {.keep_last = 2}).value();
  ASSERT_TRUE(m->Save(1, At(1), Loss(0.5)).ok());
  ASSERT_TRUE(m->Save(2, At(2), Loss(0.7)).ok());
  const std::string index_before = env.ReadFile(tmp.file(CheckpointManager::kIndexFile)).value();

  env.FailWritesAfter(100);
  const Status s = m->Save(3, At(3), Loss(0.1));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("free space"), std::string::npos) << s;
  env.Heal();

  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(m->Best()->step, 1);
  EXPECT_EQ(env.ReadFile(tmp.file(CheckpointManager::kIndexFile)).value(), index_before);
  EXPECT_EQ(CkptFiles(env, tmp.path()),
            (std::vector<std::string>{"ckpt-1.safetensors", "ckpt-2.safetensors"}));
  EXPECT_EQ(StepIn(m->LoadLatest()), 2);
  EXPECT_EQ(StepIn(m->LoadBest()), 1);
  // Once there is space again the run carries on.
  ASSERT_TRUE(m->Save(3, At(3), Loss(0.1)).ok());
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{2, 3}));
}

TEST(CheckpointManagerTest, FailedIndexWriteKeepsEverythingAndIsCleanedUpLater) {
  TempDir tmp;
  FaultInjectingEnv env;
  auto m = CheckpointManager::Open(env, tmp.path(), {.keep_last = 1}).value();
  ASSERT_TRUE(m->Save(1, At(1)).ok());
  // Room for the checkpoint file exactly, so the index write is what fails.
  env.FailWritesAfter(static_cast<int64_t>(SerializeCheckpoint(At(2)).value().size()));
  EXPECT_FALSE(m->Save(2, At(2)).ok());
  env.Heal();
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{1}));
  EXPECT_EQ(StepIn(m->LoadLatest()), 1);
  EXPECT_TRUE(env.FileExists(tmp.file("ckpt-1.safetensors")));
  // A restart sees the old index; the orphaned ckpt-2 goes with the next successful save.
  auto reopened = CheckpointManager::Open(env, tmp.path(), {.keep_last = 1}).value();
  EXPECT_EQ(Steps(*reopened), (std::vector<int64_t>{1}));
  ASSERT_TRUE(reopened->Save(3, At(3)).ok());
  EXPECT_EQ(CkptFiles(env, tmp.path()), (std::vector<std::string>{"ckpt-3.safetensors"}));
}

TEST(CheckpointManagerTest, CrashMidSaveLosesNothingAndReopenCleansUp) {
  TempDir tmp;
  FaultInjectingEnv env;
  {
    auto m = CheckpointManager::Open(env, tmp.path(), {.keep_last = 2}).value();
    ASSERT_TRUE(m->Save(1, At(1)).ok());
    ASSERT_TRUE(m->Save(2, At(2)).ok());
    env.CrashAfter(50);
    EXPECT_FALSE(m->Save(3, At(3)).ok());
  }
  env.Heal();  // the process restarts
  bool saw_torn_temp = false;
  for (const std::string& name : CkptFiles(env, tmp.path()))
    saw_torn_temp |= IsAtomicWriteTempName(name);
  EXPECT_TRUE(saw_torn_temp) << "the crash left a partial temp file, as a real one would";

  auto m = CheckpointManager::Open(env, tmp.path(), {.keep_last = 2}).value();
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(CkptFiles(env, tmp.path()),
            (std::vector<std::string>{"ckpt-1.safetensors", "ckpt-2.safetensors"}));
  EXPECT_EQ(StepIn(m->LoadLatest()), 2);
}

TEST(CheckpointManagerTest, OpenLeavesOtherFilesAlone) {
  TempDir tmp;
  Env& env = Env::Default();
  for (const char* name : {"metrics.json.tmp-1-2", "notes.txt", "ckpt-best.safetensors"})
    ASSERT_TRUE(env.WriteFileAtomically(tmp.file(name), "x").ok());
  auto m = CheckpointManager::Open(env, tmp.path(), {.keep_last = 1}).value();
  ASSERT_TRUE(m->Save(1, At(1)).ok());
  ASSERT_TRUE(m->Save(2, At(2)).ok());
  for (const char* name : {"metrics.json.tmp-1-2", "notes.txt", "ckpt-best.safetensors"})
    EXPECT_TRUE(env.FileExists(tmp.file(name))) << name;
}

TEST(CheckpointManagerTest, TornWriteOnALyingDiskIsCaughtBeforeAnythingIsDeleted) {
  TempDir tmp;
  FaultInjectingEnv env;
  auto m = CheckpointManager::Open(env, tmp.path(), {.keep_last = 1}).value();
  ASSERT_TRUE(m->Save(1, At(1)).ok());
  env.DropWritesAfter(60);  // the file "succeeds" but is truncated
  const Status s = m->Save(2, At(2));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("failed verification"), std::string::npos) << s;
  env.Heal();
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{1}));
  EXPECT_EQ(CkptFiles(env, tmp.path()), (std::vector<std::string>{"ckpt-1.safetensors"}));
  EXPECT_EQ(StepIn(m->LoadLatest()), 1);
}

TEST(CheckpointManagerTest, TornWriteNeverReplacesAGoodFileOfTheSameStep) {
  TempDir tmp;
  FaultInjectingEnv env;
  auto m = CheckpointManager::Open(env, tmp.path()).value();
  ASSERT_TRUE(m->Save(5, At(5)).ok());
  env.DropWritesAfter(60);
  EXPECT_FALSE(m->Save(5, At(6)).ok());
  env.Heal();
  EXPECT_EQ(StepIn(m->LoadLatest()), 5);
}

TEST(CheckpointManagerTest, RebuildsAMissingIndexFromTheFiles) {
  TempDir tmp;
  {
    auto m = CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 3}).value();
    for (int64_t step : {100, 20, 3}) ASSERT_TRUE(m->Save(step, At(step)).ok());
  }
  ASSERT_TRUE(Env::Default().RemoveFile(tmp.file(CheckpointManager::kIndexFile)).ok());
  auto m = CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 3}).value();
  EXPECT_EQ(Steps(*m), (std::vector<int64_t>{3, 20, 100})) << "by step, the best guess";
  EXPECT_EQ(StepIn(m->LoadLatest()), 100);
}

TEST(CheckpointManagerTest, CorruptIndexIsDataLossWithAHint) {
  TempDir tmp;
  ASSERT_TRUE(Env::Default()
                  .WriteFileAtomically(tmp.file(CheckpointManager::kIndexFile), "{\"format\": 3")
                  .ok());
  const Status s = CheckpointManager::Open(Env::Default(), tmp.path()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("delete"), std::string::npos) << s;
  // An index must not be able to point outside the run directory.
  ASSERT_TRUE(Env::Default()
                  .WriteFileAtomically(tmp.file(CheckpointManager::kIndexFile),
                                       R"({"format": "hearth.checkpoints/1", "checkpoints": )"
                                       R"([{"step": 1, "file": "../../etc/passwd"}]})")
                  .ok());
  EXPECT_EQ(CheckpointManager::Open(Env::Default(), tmp.path()).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(CheckpointManagerTest, DamagedLatestNamesTheOtherCheckpoints) {
  TempDir tmp;
  auto m = CheckpointManager::Open(Env::Default(), tmp.path()).value();
  ASSERT_TRUE(m->Save(1, At(1)).ok());
  ASSERT_TRUE(m->Save(2, At(2)).ok());
  std::string bytes = Env::Default().ReadFile(m->PathOf(*m->Latest())).value();
  bytes[bytes.size() - 1] ^= 0x40;  // bit rot after the save
  ASSERT_TRUE(Env::Default().WriteFileAtomically(m->PathOf(*m->Latest()), bytes).ok());
  const Status s = m->LoadLatest().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s;
  EXPECT_NE(s.message().find(tmp.file("ckpt-1.safetensors")), std::string::npos) << s;
}

}  // namespace
}  // namespace hearth
