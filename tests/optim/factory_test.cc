// Optimizers and schedules from job-spec configs: the right type and options, and an
// InvalidArgument naming the field for every bad value.
#include <gtest/gtest.h>

#include "hearth/optim.h"
#include "hearth/schedule.h"

namespace hearth {
namespace {

// The error message of an expected failure ("" when it unexpectedly succeeded).
std::string OptimizerError(const OptimizerConfig& config) {
  const absl::Status status = ValidateOptimizerConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(MakeOptimizer(config).status(), status);
  return std::string(status.message());
}

std::string ScheduleError(const ScheduleConfig& config, double base_lr = 0.1) {
  const absl::Status status = ValidateScheduleConfig(config, base_lr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(MakeSchedule(config, base_lr).status(), status);
  return std::string(status.message());
}

TEST(OptimizerFactoryTest, MakesEachOptimizer) {
  for (const char* name : {"sgd", "adam", "adamw", "rmsprop"}) {
    auto optimizer = MakeOptimizer({.name = name, .lr = 0.5});
    ASSERT_TRUE(optimizer.ok()) << optimizer.status();
    EXPECT_STREQ((*optimizer)->name(), name);
    EXPECT_EQ((*optimizer)->learning_rate(), 0.5);
  }
  auto upper = MakeOptimizer({.name = "AdamW"});
  ASSERT_TRUE(upper.ok());
  EXPECT_STREQ((*upper)->name(), "adamw");
}

TEST(OptimizerFactoryTest, PassesOptions) {
  auto sgd = MakeOptimizer(
      {.name = "sgd", .lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-4});
  ASSERT_TRUE(sgd.ok()) << sgd.status();
  const SGDOptions& o = dynamic_cast<SGD&>(**sgd).options();
  EXPECT_EQ(o.momentum, 0.9);
  EXPECT_TRUE(o.nesterov);
  EXPECT_EQ(o.weight_decay, 1e-4);

  auto rms = MakeOptimizer({.name = "rmsprop", .momentum = 0.5, .alpha = 0.9, .centered = true});
  ASSERT_TRUE(rms.ok()) << rms.status();
  EXPECT_EQ(dynamic_cast<RMSprop&>(**rms).options().alpha, 0.9);
  EXPECT_TRUE(dynamic_cast<RMSprop&>(**rms).options().centered);

  auto adam = MakeOptimizer({.name = "adam", .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6});
  ASSERT_TRUE(adam.ok()) << adam.status();
  EXPECT_EQ(dynamic_cast<Adam&>(**adam).options().beta2, 0.95);
  EXPECT_EQ(dynamic_cast<Adam&>(**adam).options().weight_decay, 0.0);
}

TEST(OptimizerFactoryTest, WeightDecayDefaultsPerOptimizer) {
  auto adamw = MakeOptimizer({.name = "adamw"});
  ASSERT_TRUE(adamw.ok());
  EXPECT_EQ(dynamic_cast<AdamW&>(**adamw).options().weight_decay, 0.01);
  auto no_decay = MakeOptimizer({.name = "adamw", .weight_decay = 0.0});
  ASSERT_TRUE(no_decay.ok());
  EXPECT_EQ(dynamic_cast<AdamW&>(**no_decay).options().weight_decay, 0.0);
}

TEST(OptimizerFactoryTest, UnknownName) {
  EXPECT_EQ(OptimizerError({.name = "adagrad"}),
            "optimizer.name: unknown optimizer 'adagrad' (expected sgd, adam, adamw or rmsprop)");
}

TEST(OptimizerFactoryTest, BadValuesNameTheField) {
  EXPECT_EQ(OptimizerError({.name = "sgd", .lr = -0.1}),
            "optimizer.lr: must be >= 0 and finite, got -0.1");
  EXPECT_EQ(OptimizerError({.name = "adam", .lr = std::nan("")}),
            "optimizer.lr: must be >= 0 and finite, got nan");
  EXPECT_EQ(OptimizerError({.name = "sgd", .momentum = 1.0}),
            "optimizer.momentum: must be in [0, 1), got 1");
  EXPECT_EQ(OptimizerError({.name = "rmsprop", .momentum = -0.5}),
            "optimizer.momentum: must be in [0, 1), got -0.5");
  EXPECT_EQ(OptimizerError({.name = "sgd", .momentum = 0.9, .dampening = 2.0}),
            "optimizer.dampening: must be in [0, 1], got 2");
  EXPECT_EQ(OptimizerError({.name = "adam", .beta1 = 1.0}),
            "optimizer.beta1: must be in [0, 1), got 1");
  EXPECT_EQ(OptimizerError({.name = "adamw", .beta2 = -0.1}),
            "optimizer.beta2: must be in [0, 1), got -0.1");
  EXPECT_EQ(OptimizerError({.name = "adam", .eps = -1e-8}),
            "optimizer.eps: must be >= 0 and finite, got -1e-08");
  EXPECT_EQ(OptimizerError({.name = "sgd", .weight_decay = -0.01}),
            "optimizer.weight_decay: must be >= 0 and finite, got -0.01");
  EXPECT_EQ(OptimizerError({.name = "rmsprop", .alpha = 1.5}),
            "optimizer.alpha: must be in [0, 1), got 1.5");
}

TEST(OptimizerFactoryTest, NesterovNeedsMomentumWithoutDampening) {
  EXPECT_EQ(OptimizerError({.name = "sgd", .nesterov = true}),
            "optimizer.nesterov: needs momentum > 0 and dampening = 0, got momentum 0, "
            "dampening 0");
  EXPECT_NE(OptimizerError({.name = "sgd", .momentum = 0.9, .dampening = 0.1, .nesterov = true})
                .find("optimizer.nesterov"),
            std::string::npos);
}

TEST(OptimizerFactoryTest, SettingsTheOptimizerDoesNotUseAreReported) {
  EXPECT_EQ(OptimizerError({.name = "adam", .momentum = 0.9}),
            "optimizer.momentum: not used by adam (its first-moment decay is beta1)");
  EXPECT_EQ(OptimizerError({.name = "rmsprop", .momentum = 0.9, .nesterov = true}),
            "optimizer.nesterov: not used by rmsprop");
  EXPECT_EQ(OptimizerError({.name = "sgd", .beta1 = 0.5}), "optimizer.beta1: not used by sgd");
  EXPECT_EQ(OptimizerError({.name = "sgd", .eps = 1e-3}), "optimizer.eps: not used by sgd");
  EXPECT_EQ(OptimizerError({.name = "adamw", .centered = true}),
            "optimizer.centered: not used by adamw");
}

TEST(OptimizerFactoryTest, WithSchedule) {
  auto optimizer = MakeOptimizer({.name = "sgd", .lr = 0.2},
                                 {.name = "cosine", .total_steps = 10, .warmup_steps = 4});
  ASSERT_TRUE(optimizer.ok()) << optimizer.status();
  EXPECT_EQ((*optimizer)->learning_rate(), 0.0);

  auto bad = MakeOptimizer({.name = "sgd"}, {.name = "cosine"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ScheduleFactoryTest, MakesEachSchedule) {
  auto constant = MakeSchedule({}, 0.1);
  ASSERT_TRUE(constant.ok());
  EXPECT_EQ((*constant)->LearningRate(100), 0.1);

  auto step = MakeSchedule({.name = "step", .step_size = 2, .gamma = 0.5}, 1.0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ((*step)->LearningRate(4), 0.25);

  auto exponential = MakeSchedule({.name = "Exponential", .gamma = 0.5}, 1.0);
  ASSERT_TRUE(exponential.ok());
  EXPECT_EQ((*exponential)->LearningRate(3), 0.125);

  auto cosine = MakeSchedule({.name = "cosine", .total_steps = 4, .min_lr = 0.1}, 1.1);
  ASSERT_TRUE(cosine.ok());
  EXPECT_NEAR((*cosine)->LearningRate(2), 0.6, 1e-12);

  auto warm = MakeSchedule(
      {.name = "step", .step_size = 1, .gamma = 0.5, .warmup_steps = 2, .warmup_start_factor = 0.5},
      1.0);
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ((*warm)->LearningRate(0), 0.5);
  EXPECT_EQ((*warm)->LearningRate(1), 0.75);
  EXPECT_EQ((*warm)->LearningRate(2), 1.0);
  EXPECT_EQ((*warm)->LearningRate(3), 0.5);
}

TEST(ScheduleFactoryTest, BadValuesNameTheField) {
  EXPECT_EQ(ScheduleError({.name = "onecycle"}),
            "schedule.name: unknown schedule 'onecycle' (expected constant, step, exponential or "
            "cosine)");
  EXPECT_EQ(ScheduleError({.name = "step"}),
            "schedule.step_size: must be > 0 for the step schedule, got 0");
  EXPECT_EQ(ScheduleError({.name = "step", .step_size = 1, .gamma = 0.0}),
            "schedule.gamma: must be in (0, 1], got 0");
  EXPECT_EQ(ScheduleError({.name = "exponential", .gamma = 1.5}),
            "schedule.gamma: must be in (0, 1], got 1.5");
  EXPECT_EQ(ScheduleError({.name = "cosine", .total_steps = -3}),
            "schedule.total_steps: must be > 0 for the cosine schedule, got -3");
  EXPECT_EQ(ScheduleError({.name = "cosine", .total_steps = 3, .min_lr = 0.5}),
            "schedule.min_lr: must be in [0, lr = 0.1], got 0.5");
  EXPECT_EQ(ScheduleError({.warmup_steps = -1}), "schedule.warmup_steps: must be >= 0, got -1");
  EXPECT_EQ(ScheduleError({.warmup_steps = 5, .warmup_start_factor = 2.0}),
            "schedule.warmup_start_factor: must be in [0, 1], got 2");
  EXPECT_EQ(ScheduleError({}, -1.0), "optimizer.lr: must be >= 0 and finite, got -1");
}

}  // namespace
}  // namespace hearth
