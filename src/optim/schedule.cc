// Learning-rate schedules: closed-form functions of the update number.
#include "hearth/schedule.h"

#include <cmath>
#include <numbers>

#include "absl/strings/str_format.h"

namespace hearth {

ConstantSchedule::ConstantSchedule(double lr) : lr_(lr) {
  HEARTH_CHECK_MSG(std::isfinite(lr) && lr >= 0.0, absl::StrFormat("lr = %g", lr));
}

double ConstantSchedule::LearningRate(int64_t step) const {
  HEARTH_CHECK(step >= 0);
  return lr_;
}

std::string ConstantSchedule::Describe() const {
  return absl::StrFormat("ConstantSchedule(lr=%g)", lr_);
}

StepSchedule::StepSchedule(double base_lr, int64_t step_size, double gamma)
    : base_lr_(base_lr), step_size_(step_size), gamma_(gamma) {
  HEARTH_CHECK_MSG(step_size > 0, absl::StrFormat("step_size = %d", step_size));
}

double StepSchedule::LearningRate(int64_t step) const {
  HEARTH_CHECK(step >= 0);
  return base_lr_ * std::pow(gamma_, static_cast<double>(step / step_size_));
}

std::string StepSchedule::Describe() const {
  return absl::StrFormat("StepSchedule(base_lr=%g, step_size=%d, gamma=%g)", base_lr_, step_size_,
                         gamma_);
}

ExponentialSchedule::ExponentialSchedule(double base_lr, double gamma)
    : base_lr_(base_lr), gamma_(gamma) {}

double ExponentialSchedule::LearningRate(int64_t step) const {
  HEARTH_CHECK(step >= 0);
  return base_lr_ * std::pow(gamma_, static_cast<double>(step));
}

std::string ExponentialSchedule::Describe() const {
  return absl::StrFormat("ExponentialSchedule(base_lr=%g, gamma=%g per step)", base_lr_, gamma_);
}

CosineSchedule::CosineSchedule(double base_lr, int64_t total_steps, double min_lr)
    : base_lr_(base_lr), total_steps_(total_steps), min_lr_(min_lr) {
  HEARTH_CHECK_MSG(total_steps > 0, absl::StrFormat("total_steps = %d", total_steps));
}

double CosineSchedule::LearningRate(int64_t step) const {
  HEARTH_CHECK(step >= 0);
  // Held at the floor afterwards: the closed form would climb back up.
  if (step >= total_steps_) return min_lr_;
  const double progress = static_cast<double>(step) / static_cast<double>(total_steps_);
  return min_lr_ + (base_lr_ - min_lr_) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}

std::string CosineSchedule::Describe() const {
  return absl::StrFormat("CosineSchedule(base_lr=%g, total_steps=%d, min_lr=%g)", base_lr_,
                         total_steps_, min_lr_);
}

WarmupSchedule::WarmupSchedule(std::unique_ptr<LearningRateSchedule> after, int64_t warmup_steps,
                               double start_factor)
    : after_(std::move(after)), warmup_steps_(warmup_steps), start_factor_(start_factor) {
  HEARTH_CHECK(after_ != nullptr);
  HEARTH_CHECK_MSG(warmup_steps >= 0, absl::StrFormat("warmup_steps = %d", warmup_steps));
  HEARTH_CHECK_MSG(start_factor >= 0.0 && start_factor <= 1.0,
                   absl::StrFormat("start_factor = %g", start_factor));
}

double WarmupSchedule::LearningRate(int64_t step) const {
  HEARTH_CHECK(step >= 0);
  if (step >= warmup_steps_) return after_->LearningRate(step - warmup_steps_);
  const double fraction = static_cast<double>(step) / static_cast<double>(warmup_steps_);
  return after_->LearningRate(0) * (start_factor_ + (1.0 - start_factor_) * fraction);
}

std::string WarmupSchedule::Describe() const {
  return absl::StrFormat("WarmupSchedule(warmup_steps=%d, start_factor=%g, then %s)", warmup_steps_,
                         start_factor_, after_->Describe());
}

}  // namespace hearth
