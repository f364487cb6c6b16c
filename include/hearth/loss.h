// Loss functions. Each returns the mean over the batch as a scalar tensor and is differentiable
// (built from primitive ops, or the fused softmax cross-entropy).
#pragma once

#include "hearth/tensor.h"

namespace hearth {

// mean((prediction - target)^2)
Tensor mse_loss(const Tensor& prediction, const Tensor& target);
// mean(|prediction - target|)
Tensor mae_loss(const Tensor& prediction, const Tensor& target);
// Quadratic within `delta` of the target and linear beyond (PyTorch's HuberLoss).
Tensor huber_loss(const Tensor& prediction, const Tensor& target, float delta = 1.0f);
// Logits [N, C] against int64 class ids [N]. `class_weights` (float32 [C], optional): each
// example's loss times its class's weight, then the mean over N (Keras' class_weight).
Tensor cross_entropy_loss(const Tensor& logits, const Tensor& labels,
                          const Tensor& class_weights = Tensor());
// Logits [N] or [N, 1] against float targets in {0, 1}, computed stably from logits.
// `class_weights` (float32 [2], optional): the weights of targets 0 and 1, as above.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        const Tensor& class_weights = Tensor());

}  // namespace hearth
