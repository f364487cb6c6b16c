// Learning-rate schedules: pure functions of the update number, so resuming a run needs nothing
// but the step count the optimizer already checkpoints.
//
//   auto schedule = std::make_unique<WarmupSchedule>(
//       std::make_unique<CosineSchedule>(/*base_lr=*/0.1, /*total_steps=*/1000),
//       /*warmup_steps=*/100);
//   optimizer.SetSchedule(std::move(schedule));
//
// `step` is 0-based: the first update uses LearningRate(0). Every schedule counts updates
// (batches), not epochs; to decay once per epoch, express the interval in steps (step_size =
// steps_per_epoch).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hearth/status.h"

namespace hearth {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  // The learning rate of update number `step` (>= 0).
  virtual double LearningRate(int64_t step) const = 0;
  // e.g. "StepSchedule(base_lr=0.1, step_size=30, gamma=0.1)".
  virtual std::string Describe() const = 0;
};

// lr(t) = lr.
class ConstantSchedule final : public LearningRateSchedule {
 public:
  explicit ConstantSchedule(double lr);
  double LearningRate(int64_t step) const override;
  std::string Describe() const override;

 private:
  double lr_;
};

// lr(t) = base_lr * gamma^floor(t / step_size), as PyTorch's StepLR.
class StepSchedule final : public LearningRateSchedule {
 public:
  StepSchedule(double base_lr, int64_t step_size, double gamma);
  double LearningRate(int64_t step) const override;
  std::string Describe() const override;

 private:
  double base_lr_;
  int64_t step_size_;
  double gamma_;
};

// lr(t) = base_lr * gamma^t: decays every update (PyTorch's ExponentialLR stepped per batch).
class ExponentialSchedule final : public LearningRateSchedule {
 public:
  ExponentialSchedule(double base_lr, double gamma);
  double LearningRate(int64_t step) const override;
  std::string Describe() const override;

 private:
  double base_lr_;
  double gamma_;
};

// lr(t) = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2 for t < total_steps,
// then min_lr (PyTorch's CosineAnnealingLR closed form, held at the floor instead of rising again).
class CosineSchedule final : public LearningRateSchedule {
 public:
  CosineSchedule(double base_lr, int64_t total_steps, double min_lr = 0.0);
  double LearningRate(int64_t step) const override;
  std::string Describe() const override;

 private:
  double base_lr_;
  int64_t total_steps_;
  double min_lr_;
};

// Linear warm-up in front of any schedule. For t < warmup_steps the rate ramps from
// start_factor * after(0) towards after(0):
//   lr(t) = after(0) * (start_factor + (1 - start_factor) * t / warmup_steps)
// (PyTorch's LinearLR), and then the wrapped schedule runs from its own beginning:
//   lr(t) = after(t - warmup_steps).
// So a cosine over total_steps T behind a warm-up of W steps ends at step W + T.
class WarmupSchedule final : public LearningRateSchedule {
 public:
  WarmupSchedule(std::unique_ptr<LearningRateSchedule> after, int64_t warmup_steps,
                 double start_factor = 0.0);
  double LearningRate(int64_t step) const override;
  std::string Describe() const override;

 private:
  std::unique_ptr<LearningRateSchedule> after_;
  int64_t warmup_steps_;
  double start_factor_;
};

// A schedule as a job spec describes it. Fields that the chosen schedule does not use are ignored.
struct ScheduleConfig {
  std::string name = "constant";     // "constant", "step", "exponential" or "cosine"
  int64_t step_size = 0;             // step: updates between decays (> 0)
  double gamma = 0.1;                // step, exponential: decay factor in (0, 1]
  int64_t total_steps = 0;           // cosine: updates from base_lr down to min_lr (> 0)
  double min_lr = 0.0;               // cosine: the floor, in [0, base_lr]
  int64_t warmup_steps = 0;          // any: linear warm-up length (0: none)
  double warmup_start_factor = 0.0;  // any: warm-up starts at this fraction of base_lr, in [0, 1]
};

// InvalidArgument naming the field ("schedule.gamma: ...") for an unknown name or a bad value.
absl::Status ValidateScheduleConfig(const ScheduleConfig& config, double base_lr);
absl::StatusOr<std::unique_ptr<LearningRateSchedule>> MakeSchedule(const ScheduleConfig& config,
                                                                   double base_lr);

}  // namespace hearth
