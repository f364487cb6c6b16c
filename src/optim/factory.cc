// Optimizers and schedules from job-spec configs: every user mistake comes back as
// InvalidArgument naming the field, never as an abort.
#include "hearth/optim.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace hearth {
namespace {

absl::Status NotUsedBy(const char* field, const std::string& optimizer, const char* hint = "") {
  return absl::InvalidArgumentError(
      absl::StrFormat("optimizer.%s: not used by %s%s", field, optimizer, hint));
}

// A field the chosen optimizer ignores must keep its default, so a misplaced setting is reported.
absl::Status CheckUnusedFields(const OptimizerConfig& c, const std::string& name) {
  const OptimizerConfig d;
  const bool sgd = name == "sgd", adam = name == "adam" || name == "adamw",
             rmsprop = name == "rmsprop";
  if (!sgd && !rmsprop && c.momentum != d.momentum)
    return NotUsedBy("momentum", name, " (its first-moment decay is beta1)");
  if (!sgd && c.dampening != d.dampening) return NotUsedBy("dampening", name);
  if (!sgd && c.nesterov != d.nesterov) return NotUsedBy("nesterov", name);
  if (!adam && c.beta1 != d.beta1) return NotUsedBy("beta1", name);
  if (!adam && c.beta2 != d.beta2) return NotUsedBy("beta2", name);
  if (sgd && c.eps != d.eps) return NotUsedBy("eps", name);
  if (!rmsprop && c.alpha != d.alpha) return NotUsedBy("alpha", name);
  if (!rmsprop && c.centered != d.centered) return NotUsedBy("centered", name);
  return absl::OkStatus();
}

absl::Status BadSchedule(const char* field, const char* requirement, double got) {
  return absl::InvalidArgumentError(
      absl::StrFormat("schedule.%s: must be %s, got %g", field, requirement, got));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerConfig& config) {
  const std::string name = absl::AsciiStrToLower(config.name);
  if (name != "sgd" && name != "adam" && name != "adamw" && name != "rmsprop")
    return absl::InvalidArgumentError(absl::StrFormat(
        "optimizer.name: unknown optimizer '%s' (expected sgd, adam, adamw or rmsprop)",
        config.name));
  HEARTH_RETURN_IF_ERROR(CheckUnusedFields(config, name));

  if (name == "sgd") {
    const SGDOptions options{.lr = config.lr,
                             .momentum = config.momentum,
                             .dampening = config.dampening,
                             .weight_decay = config.weight_decay.value_or(0.0),
                             .nesterov = config.nesterov};
    HEARTH_RETURN_IF_ERROR(ValidateOptions(options));
    return std::make_unique<SGD>(options);
  }
  if (name == "adam") {
    const AdamOptions options{.lr = config.lr,
                              .beta1 = config.beta1,
                              .beta2 = config.beta2,
                              .eps = config.eps,
                              .weight_decay = config.weight_decay.value_or(0.0)};
    HEARTH_RETURN_IF_ERROR(ValidateOptions(options));
    return std::make_unique<Adam>(options);
  }
  if (name == "adamw") {
    const AdamWOptions options{.lr = config.lr,
                               .beta1 = config.beta1,
                               .beta2 = config.beta2,
                               .eps = config.eps,
                               .weight_decay = config.weight_decay.value_or(1e-2)};
    HEARTH_RETURN_IF_ERROR(ValidateOptions(options));
    return std::make_unique<AdamW>(options);
  }
  const RMSpropOptions options{.lr = config.lr,
                               .alpha = config.alpha,
                               .eps = config.eps,
                               .weight_decay = config.weight_decay.value_or(0.0),
                               .momentum = config.momentum,
                               .centered = config.centered};
  HEARTH_RETURN_IF_ERROR(ValidateOptions(options));
  return std::make_unique<RMSprop>(options);
}

absl::Status ValidateOptimizerConfig(const OptimizerConfig& config) {
  // Building an optimizer allocates no state until its first step, so this is cheap.
  return MakeOptimizer(config).status();
}

absl::StatusOr<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerConfig& config,
                                                         const ScheduleConfig& schedule) {
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer, MakeOptimizer(config));
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<LearningRateSchedule> lr,
                          MakeSchedule(schedule, config.lr));
  optimizer->SetSchedule(std::move(lr));
  return optimizer;
}

absl::Status ValidateScheduleConfig(const ScheduleConfig& config, double base_lr) {
  const std::string name = absl::AsciiStrToLower(config.name);
  if (name != "constant" && name != "step" && name != "exponential" && name != "cosine")
    return absl::InvalidArgumentError(absl::StrFormat(
        "schedule.name: unknown schedule '%s' (expected constant, step, exponential or cosine)",
        config.name));
  if (!(base_lr >= 0.0) || !std::isfinite(base_lr))
    return absl::InvalidArgumentError(
        absl::StrFormat("optimizer.lr: must be >= 0 and finite, got %g", base_lr));
  if (name == "step" && config.step_size <= 0)
    return BadSchedule("step_size", "> 0 for the step schedule",
                       static_cast<double>(config.step_size));
  if ((name == "step" || name == "exponential") && !(config.gamma > 0.0 && config.gamma <= 1.0))
    return BadSchedule("gamma", "in (0, 1]", config.gamma);
  if (name == "cosine") {
    if (config.total_steps <= 0)
      return BadSchedule("total_steps", "> 0 for the cosine schedule",
                         static_cast<double>(config.total_steps));
    if (!(config.min_lr >= 0.0 && config.min_lr <= base_lr))
      return absl::InvalidArgumentError(absl::StrFormat(
          "schedule.min_lr: must be in [0, lr = %g], got %g", base_lr, config.min_lr));
  }
  if (config.warmup_steps < 0)
    return BadSchedule("warmup_steps", ">= 0", static_cast<double>(config.warmup_steps));
  if (!(config.warmup_start_factor >= 0.0 && config.warmup_start_factor <= 1.0))
    return BadSchedule("warmup_start_factor", "in [0, 1]", config.warmup_start_factor);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LearningRateSchedule>> MakeSchedule(const ScheduleConfig& config,
                                                                   double base_lr) {
  HEARTH_RETURN_IF_ERROR(ValidateScheduleConfig(config, base_lr));
  const std::string name = absl::AsciiStrToLower(config.name);
  std::unique_ptr<LearningRateSchedule> schedule;
  if (name == "constant") {
    schedule = std::make_unique<ConstantSchedule>(base_lr);
  } else if (name == "step") {
    schedule = std::make_unique<StepSchedule>(base_lr, config.step_size, config.gamma);
  } else if (name == "exponential") {
    schedule = std::make_unique<ExponentialSchedule>(base_lr, config.gamma);
  } else {
    schedule = std::make_unique<CosineSchedule>(base_lr, config.total_steps, config.min_lr);
  }
  if (config.warmup_steps > 0)
    schedule = std::make_unique<WarmupSchedule>(std::move(schedule), config.warmup_steps,
                                                config.warmup_start_factor);
  return schedule;
}

}  // namespace hearth
