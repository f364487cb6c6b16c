// Loss functions composed from primitive ops, so their gradients come from the op rules.
#include "hearth/loss.h"

#include "absl/strings/str_format.h"
#include "hearth/ops.h"
#include "hearth/status.h"

namespace hearth {
namespace {

void RequireSameShape(const char* loss, const Tensor& prediction, const Tensor& target) {
  HEARTH_CHECK_MSG(prediction.numel() == target.numel(),
                   absl::StrFormat("%s: prediction %s and target %s differ in size", loss,
                                   prediction.shape().ToString(), target.shape().ToString()));
}

// Views the target with the prediction's shape, so [N] and [N, 1] line up without broadcasting
// to [N, N].
Tensor Aligned(const Tensor& target, const Tensor& prediction) {
  return target.shape() == prediction.shape() ? target : reshape(target, prediction.shape());
}

}  // namespace

Tensor mse_loss(const Tensor& prediction, const Tensor& target) {
  RequireSameShape("mse_loss", prediction, target);
  return mean(square(prediction - Aligned(target, prediction)));
}

Tensor mae_loss(const Tensor& prediction, const Tensor& target) {
  RequireSameShape("mae_loss", prediction, target);
  return mean(abs(prediction - Aligned(target, prediction)));
}

Tensor huber_loss(const Tensor& prediction, const Tensor& target, float delta) {
  RequireSameShape("huber_loss", prediction, target);
  HEARTH_CHECK_MSG(delta > 0.0f, absl::StrFormat("huber_loss: delta %g must be > 0", delta));
  Tensor a = abs(prediction - Aligned(target, prediction));
  Tensor q = clamp(a, 0.0f, delta);
  // 0.5 q^2 + delta (|d| - q): quadratic inside delta, linear outside.
  return mean(0.5f * square(q) + delta * (a - q));
}

Tensor cross_entropy_loss(const Tensor& logits, const Tensor& labels, const Tensor& class_weights) {
  return softmax_cross_entropy(logits, labels, class_weights);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        const Tensor& class_weights) {
  RequireSameShape("binary_cross_entropy_with_logits", logits, targets);
  const Tensor y = Aligned(targets, logits);
  // max(x, 0) - x y + log(1 + exp(-|x|)) never overflows.
  const Tensor per_example = relu(logits) - logits * y + log(1.0f + exp(-abs(logits)));
  if (!class_weights.defined()) return mean(per_example);
  HEARTH_CHECK_MSG(class_weights.numel() == 2,
                   "binary_cross_entropy_with_logits: class weights must be [2] (targets 0, 1)");
  const float w0 = class_weights.f32()[0], w1 = class_weights.f32()[1];
  // w0 + (w1 - w0) y: the weight of each example's target.
  return mean(per_example * (w0 + (w1 - w0) * y));
}

}  // namespace hearth
