// AsyncCheckpointSaver: saves land as CheckpointManager's would, from a copy the caller may change
// at once, and a failed save is reported by the next Save or Wait without losing earlier ones.
#include "hearth/async_checkpoint_saver.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ckpt/fault_injecting_env.h"
#include "ckpt/temp_dir.h"

namespace hearth {
namespace {

using testing::FaultInjectingEnv;
using testing::TempDir;

Checkpoint Holding(const Tensor& weights, int64_t step) {
  Checkpoint c;
  c.tensors.push_back({"w", weights});
  c.metadata[ckpt_keys::kStep] = std::to_string(step);
  return c;
}

float FirstWeightIn(const CheckpointManager& m) {
  StatusOr<Checkpoint> c = m.LoadLatest();
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? c->Find("w")->f32()[0] : -1;
}

TEST(AsyncCheckpointSaverTest, SavesLandAsTheManagersWouldOnceWaitReturns) {
  TempDir tmp;
  auto manager = CheckpointManager::Open(Env::Default(), tmp.path(), {.keep_last = 2}).value();
  AsyncCheckpointSaver saver(*manager);
  for (int64_t step : {10, 20, 30}) {
    const Tensor w = Tensor::Full(Shape{256}, static_cast<float>(step));
    ASSERT_TRUE(saver
                    .Save(step, SnapshotCheckpoint(Holding(w, step)),
                          MonitoredMetric{"val_loss", 1.0 / step, MetricMode::kMin})
                    .ok());
  }
  ASSERT_TRUE(saver.Wait().ok());
  ASSERT_EQ(manager->records().size(), 2u);
  EXPECT_EQ(manager->Latest()->step, 30);
  EXPECT_EQ(manager->Best()->step, 30);
  EXPECT_EQ(FirstWeightIn(*manager), 30.0f);
  EXPECT_TRUE(saver.Wait().ok()) << "nothing in flight: OK";
}

TEST(AsyncCheckpointSaverTest, TheSnapshotSharesNothingWithTheLiveTensors) {
  TempDir tmp;
  auto manager = CheckpointManager::Open(Env::Default(), tmp.path()).value();
  AsyncCheckpointSaver saver(*manager);
  Tensor w = Tensor::Full(Shape{1 << 16}, 1.0f);
  ASSERT_TRUE(saver.Save(1, SnapshotCheckpoint(Holding(w, 1)), std::nullopt).ok());
  // Training goes on at once: the optimizer overwrites the parameters in place.
  std::fill_n(w.f32(), w.numel(), 2.0f);
  ASSERT_TRUE(saver.Wait().ok());
  EXPECT_EQ(FirstWeightIn(*manager), 1.0f);
}

TEST(AsyncCheckpointSaverTest, AFailedSaveIsReportedByTheNextSaveAndLosesNothingSavedBefore) {
  TempDir tmp;
  FaultInjectingEnv env;
  auto manager = CheckpointManager::Open(env, tmp.path()).value();
  AsyncCheckpointSaver saver(*manager);
  const Tensor w = Tensor::Full(Shape{64}, 5.0f);
  ASSERT_TRUE(saver.Save(5, SnapshotCheckpoint(Holding(w, 5)), std::nullopt).ok());
  ASSERT_TRUE(saver.Wait().ok());

  env.FailWritesAfter(0);  // the disk is full
  EXPECT_TRUE(saver.Save(6, SnapshotCheckpoint(Holding(w, 6)), std::nullopt).ok())
      << "the write happens later, on the saver's thread";
  const Status next = saver.Save(7, SnapshotCheckpoint(Holding(w, 7)), std::nullopt);
  EXPECT_FALSE(next.ok()) << "the failure of step 6's save must surface";
  EXPECT_TRUE(saver.Wait().ok()) << "step 7's save was not started";
  EXPECT_EQ(manager->Latest()->step, 5);
  EXPECT_EQ(FirstWeightIn(*manager), 5.0f);

  env.Heal();
  ASSERT_TRUE(saver.Save(8, SnapshotCheckpoint(Holding(w, 8)), std::nullopt).ok());
  EXPECT_TRUE(saver.Wait().ok());
  EXPECT_EQ(manager->Latest()->step, 8);
}

}  // namespace
}  // namespace hearth
