// Learning-rate schedules: values at a few steps, computed by hand, and how the optimizer uses
// them.
#include <gtest/gtest.h>

#include "hearth/nn.h"
#include "hearth/optim.h"
#include "hearth/schedule.h"

namespace hearth {
namespace {

constexpr double kTol = 1e-12;

TEST(ScheduleTest, Constant) {
  ConstantSchedule s(0.1);
  EXPECT_EQ(s.LearningRate(0), 0.1);
  EXPECT_EQ(s.LearningRate(1000000), 0.1);
}

TEST(ScheduleTest, StepDecaysEveryStepSize) {
  StepSchedule s(1.0, /*step_size=*/3, /*gamma=*/0.5);
  EXPECT_EQ(s.LearningRate(0), 1.0);
  EXPECT_EQ(s.LearningRate(2), 1.0);
  EXPECT_EQ(s.LearningRate(3), 0.5);
  EXPECT_EQ(s.LearningRate(5), 0.5);
  EXPECT_EQ(s.LearningRate(6), 0.25);
  EXPECT_EQ(s.LearningRate(9), 0.125);
}

TEST(ScheduleTest, ExponentialDecaysEveryStep) {
  ExponentialSchedule s(2.0, 0.5);
  EXPECT_EQ(s.LearningRate(0), 2.0);
  EXPECT_EQ(s.LearningRate(1), 1.0);
  EXPECT_EQ(s.LearningRate(3), 0.25);
  EXPECT_NEAR(ExponentialSchedule(0.1, 0.9).LearningRate(2), 0.081, kTol);
}

TEST(ScheduleTest, CosineReachesMinAndStaysThere) {
  CosineSchedule s(1.0, /*total_steps=*/4);
  EXPECT_NEAR(s.LearningRate(0), 1.0, kTol);
  EXPECT_NEAR(s.LearningRate(1), 0.8535533905932737, kTol);  // (1 + cos(pi/4)) / 2
  EXPECT_NEAR(s.LearningRate(2), 0.5, kTol);
  EXPECT_NEAR(s.LearningRate(3), 0.1464466094067262, kTol);
  EXPECT_NEAR(s.LearningRate(4), 0.0, kTol);
  EXPECT_NEAR(s.LearningRate(100), 0.0, kTol);

  CosineSchedule floor(1.1, 4, /*min_lr=*/0.1);
  EXPECT_NEAR(floor.LearningRate(0), 1.1, kTol);
  EXPECT_NEAR(floor.LearningRate(2), 0.6, kTol);
  EXPECT_NEAR(floor.LearningRate(7), 0.1, kTol);
}

TEST(ScheduleTest, WarmupFromZeroIntoConstant) {
  WarmupSchedule s(std::make_unique<ConstantSchedule>(0.4), /*warmup_steps=*/4);
  EXPECT_NEAR(s.LearningRate(0), 0.0, kTol);
  EXPECT_NEAR(s.LearningRate(1), 0.1, kTol);
  EXPECT_NEAR(s.LearningRate(2), 0.2, kTol);
  EXPECT_NEAR(s.LearningRate(3), 0.3, kTol);
  EXPECT_NEAR(s.LearningRate(4), 0.4, kTol);
  EXPECT_NEAR(s.LearningRate(50), 0.4, kTol);
}

TEST(ScheduleTest, WarmupFromStartFactorThenStep) {
  // Ramps 0.5 -> 1 over two steps, then the step schedule starts from its own step 0.
  WarmupSchedule s(std::make_unique<StepSchedule>(1.0, 2, 0.1), /*warmup_steps=*/2,
                   /*start_factor=*/0.5);
  EXPECT_NEAR(s.LearningRate(0), 0.5, kTol);
  EXPECT_NEAR(s.LearningRate(1), 0.75, kTol);
  EXPECT_NEAR(s.LearningRate(2), 1.0, kTol);
  EXPECT_NEAR(s.LearningRate(3), 1.0, kTol);
  EXPECT_NEAR(s.LearningRate(4), 0.1, kTol);
  EXPECT_NEAR(s.LearningRate(6), 0.01, kTol);
}

TEST(ScheduleTest, WarmupThenCosine) {
  WarmupSchedule s(std::make_unique<CosineSchedule>(1.0, 4), /*warmup_steps=*/2);
  EXPECT_NEAR(s.LearningRate(1), 0.5, kTol);
  EXPECT_NEAR(s.LearningRate(2), 1.0, kTol);
  EXPECT_NEAR(s.LearningRate(4), 0.5, kTol);
  EXPECT_NEAR(s.LearningRate(6), 0.0, kTol);
}

TEST(ScheduleTest, ZeroWarmupIsTheWrappedSchedule) {
  WarmupSchedule s(std::make_unique<ExponentialSchedule>(1.0, 0.5), 0);
  EXPECT_EQ(s.LearningRate(0), 1.0);
  EXPECT_EQ(s.LearningRate(2), 0.25);
}

TEST(ScheduleTest, Describe) {
  WarmupSchedule s(std::make_unique<StepSchedule>(0.1, 30, 0.1), 5);
  EXPECT_EQ(s.Describe(),
            "WarmupSchedule(warmup_steps=5, start_factor=0, then StepSchedule(base_lr=0.1, "
            "step_size=30, gamma=0.1))");
}

TEST(ScheduleTest, OptimizerTakesEachUpdatesRateFromTheSchedule) {
  // Plain SGD with grad 1: each update moves the parameter by exactly that update's rate.
  SGD optimizer(123.0);  // replaced by the schedule
  optimizer.SetSchedule(std::make_unique<StepSchedule>(1.0, 1, 0.5));
  ParameterSet params({{"p", Tensor::FromVector({0.0f})}});
  const std::vector<float> expected = {-1.0f, -1.5f, -1.75f};
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(optimizer.learning_rate(), std::ldexp(1.0, -t));
    params.grads()[0].Fill(1.0f);
    optimizer.Step(params);
    EXPECT_EQ(params.param(0).ToVector()[0], expected[t]);
  }
  optimizer.SetLearningRate(0.25);
  EXPECT_EQ(optimizer.learning_rate(), 0.25);
}

}  // namespace
}  // namespace hearth
