// The loss function and the optimizer (with its schedule) a job spec describes.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "hearth/loss.h"
#include "job/internal.h"

namespace hearth {
namespace {

// Classification labels arrive as int64 class ids; the binary loss wants 0/1 floats.
Tensor ToFloat(const Tensor& labels) {
  if (labels.dtype() == DType::kFloat32) return labels;
  Tensor out = Tensor::Empty(labels.shape(), DType::kFloat32);
  const int64_t* in = labels.i64();
  float* dst = out.f32();
  for (int64_t i = 0; i < labels.numel(); ++i) dst[i] = static_cast<float>(in[i]);
  return out;
}

}  // namespace

StatusOr<LossFn> MakeLossFn(const v1::JobSpec& spec) {
  return MakeLossFn(spec, {});
}

StatusOr<std::vector<float>> ResolveClassWeights(const v1::JobSpec& spec,
                                                 const std::vector<int64_t>& class_counts) {
  const v1::LossSpec& l = spec.loss();
  if (l.class_weights_size() > 0) {
    if (static_cast<size_t>(l.class_weights_size()) != class_counts.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "loss.class_weights: %d weights for %d classes; give one per class, in class-id order",
          l.class_weights_size(), class_counts.size()));
    }
    return std::vector<float>(l.class_weights().begin(), l.class_weights().end());
  }
  if (l.class_weight().empty()) return std::vector<float>{};
  int64_t total = 0;
  for (int64_t n : class_counts) total += n;
  std::vector<float> weights;
  for (size_t c = 0; c < class_counts.size(); ++c) {
    if (class_counts[c] == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "loss.class_weight: \"balanced\" needs every class in the training rows, but class "
          "%d has none; give explicit class_weights",
          c));
    }
    // scikit-learn's compute_class_weight("balanced"): n / (classes * n_c).
    weights.push_back(
        static_cast<float>(static_cast<double>(total) / (static_cast<double>(class_counts.size()) *
                                                         static_cast<double>(class_counts[c]))));
  }
  return weights;
}

StatusOr<LossFn> MakeLossFn(const v1::JobSpec& spec, const std::vector<float>& class_weights) {
  if (spec.task() == v1::CLUSTERING)
    return absl::InvalidArgumentError("loss: task CLUSTERING (k-means) has no loss function");
  job_internal::ErrorList errors;
  job_internal::CheckLoss(spec, errors);
  HEARTH_RETURN_IF_ERROR(errors.ToStatus());
  Tensor weights;
  if (!class_weights.empty()) {
    weights = Tensor::Empty(Shape{static_cast<int64_t>(class_weights.size())});
    std::copy(class_weights.begin(), class_weights.end(), weights.f32());
  }
  switch (EffectiveLoss(spec)) {
    case v1::MSE:
      return LossFn([](const Tensor& p, const Tensor& y) { return mse_loss(p, y); });
    case v1::MAE:
      return LossFn([](const Tensor& p, const Tensor& y) { return mae_loss(p, y); });
    case v1::HUBER: {
      const float delta = spec.loss().has_delta() ? static_cast<float>(spec.loss().delta()) : 1.0f;
      return LossFn([delta](const Tensor& p, const Tensor& y) { return huber_loss(p, y, delta); });
    }
    case v1::CROSS_ENTROPY:
      return LossFn([weights](const Tensor& p, const Tensor& y) {
        return cross_entropy_loss(p, y, weights);
      });
    case v1::BINARY_CROSS_ENTROPY:
      return LossFn([weights](const Tensor& p, const Tensor& y) {
        return binary_cross_entropy_with_logits(p, ToFloat(y), weights);
      });
    default:
      break;
  }
  return absl::InvalidArgumentError("task: required to choose a loss");
}

OptimizerConfig ToOptimizerConfig(const v1::OptimizerSpec& s) {
  OptimizerConfig c;
  if (!s.name().empty()) c.name = s.name();
  if (s.has_lr()) c.lr = s.lr();
  if (s.has_momentum()) c.momentum = s.momentum();
  if (s.has_dampening()) c.dampening = s.dampening();
  if (s.has_nesterov()) c.nesterov = s.nesterov();
  if (s.has_weight_decay()) c.weight_decay = s.weight_decay();
  if (s.has_beta1()) c.beta1 = s.beta1();
  if (s.has_beta2()) c.beta2 = s.beta2();
  if (s.has_eps()) c.eps = s.eps();
  if (s.has_alpha()) c.alpha = s.alpha();
  if (s.has_centered()) c.centered = s.centered();
  return c;
}

ScheduleConfig ToScheduleConfig(const v1::ScheduleSpec& s) {
  ScheduleConfig c;
  if (!s.name().empty()) c.name = s.name();
  if (s.has_step_size()) c.step_size = s.step_size();
  if (s.has_gamma()) c.gamma = s.gamma();
  if (s.has_total_steps()) c.total_steps = s.total_steps();
  if (s.has_min_lr()) c.min_lr = s.min_lr();
  if (s.has_warmup_steps()) c.warmup_steps = s.warmup_steps();
  if (s.has_warmup_start_factor()) c.warmup_start_factor = s.warmup_start_factor();
  return c;
}

StatusOr<std::unique_ptr<Optimizer>> MakeOptimizerFromSpec(const v1::JobSpec& spec,
                                                           int64_t steps_per_epoch) {
  if (spec.task() == v1::CLUSTERING)
    return absl::InvalidArgumentError("optimizer: task CLUSTERING (k-means) has no optimizer");
  job_internal::ErrorList errors;
  job_internal::CheckOptimizer(spec, errors);
  HEARTH_RETURN_IF_ERROR(errors.ToStatus());
  ScheduleConfig schedule = ToScheduleConfig(spec.schedule());
  if (absl::AsciiStrToLower(schedule.name) == "cosine" && !spec.schedule().has_total_steps()) {
    if (steps_per_epoch <= 0)
      return absl::InvalidArgumentError(
          "schedule.total_steps: not given, so the cosine spans the whole run, whose length is "
          "not known here (pass steps_per_epoch, or set total_steps)");
    // At least one step, so a warm-up as long as the run still leaves a valid cosine.
    schedule.total_steps =
        std::max<int64_t>(1, spec.epochs() * steps_per_epoch - schedule.warmup_steps);
  }
  return MakeOptimizer(ToOptimizerConfig(spec.optimizer()), schedule);
}

}  // namespace hearth
