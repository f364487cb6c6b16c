// The optimizers' update math: one kernel per optimizer over contiguous float spans, shared by the
// flat-arena path and the per-variable path (and callable from benchmarks).
//
// Coefficients are computed once per span in double, as PyTorch computes its Python scalars, and
// rounded to float; the loops then follow PyTorch's op order term for term.
#pragma once

#include <cstdint>

namespace hearth::optim_internal {

struct SgdCoeffs {
  float neg_lr;
  float momentum;
  float one_minus_dampening;
  float weight_decay;
  bool has_momentum;
  bool nesterov;
  bool first_step;  // the momentum buffer is set to the first (decayed) gradient
};
SgdCoeffs MakeSgdCoeffs(double lr, double momentum, double dampening, double weight_decay,
                        bool nesterov, int64_t step);
// `buf` is unused (may be null) without momentum.
void SgdKernel(float* __restrict param, const float* __restrict grad, float* __restrict buf,
               int64_t n, const SgdCoeffs& c);

struct AdamCoeffs {
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float neg_step_size;          // -lr / (1 - beta1^step)
  float bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  float eps;
  float l2;            // Adam: weight_decay * param added to the gradient
  float decay_factor;  // AdamW: param *= 1 - lr * weight_decay before the update
  bool has_l2;
  bool decoupled;
};
AdamCoeffs MakeAdamCoeffs(double lr, double beta1, double beta2, double eps, double weight_decay,
                          bool decoupled, int64_t step);
void AdamKernel(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
                float* __restrict exp_avg_sq, int64_t n, const AdamCoeffs& c);

struct RmsPropCoeffs {
  float neg_lr;
  float alpha, one_minus_alpha;
  float eps;
  float weight_decay;
  float momentum;
  bool has_momentum;
  bool centered;
};
RmsPropCoeffs MakeRmsPropCoeffs(double lr, double alpha, double eps, double weight_decay,
                                double momentum, bool centered);
// `momentum_buffer` is unused (may be null) without momentum, `grad_avg` unless centered.
void RmsPropKernel(float* __restrict param, const float* __restrict grad,
                   float* __restrict square_avg, float* __restrict momentum_buffer,
                   float* __restrict grad_avg, int64_t n, const RmsPropCoeffs& c);

}  // namespace hearth::optim_internal
