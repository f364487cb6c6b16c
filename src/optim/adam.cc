// Adam and AdamW: one kernel (torch.optim.Adam / AdamW single-tensor update) and the two
// optimizers, which differ only in how weight decay enters.
#include "hearth/optim.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "optim/kernels.h"

namespace hearth {
namespace optim_internal {
namespace {

template <bool kL2, bool kDecoupled>
void AdamLoop(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
              float* __restrict exp_avg_sq, int64_t n, const AdamCoeffs& c) {
  const float b1 = c.beta1, omb1 = c.one_minus_beta1, b2 = c.beta2, omb2 = c.one_minus_beta2;
  const float neg_step = c.neg_step_size, bc2_sqrt = c.bias_correction2_sqrt, eps = c.eps;
  const float l2 = c.l2, decay = c.decay_factor;
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i];
    if constexpr (kDecoupled) p = p * decay;  // param.mul_(1 - lr * weight_decay)
    float g = grad[i];
    if constexpr (kL2) g = g + l2 * p;           // grad.add(param, alpha=weight_decay)
    const float m = exp_avg[i] * b1 + omb1 * g;  // exp_avg.mul_(b1).add_(g, alpha=1 - b1)
    const float v =
        exp_avg_sq[i] * b2 + omb2 * g * g;  // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const float denom = std::sqrt(v) / bc2_sqrt + eps;  // (v.sqrt() / bc2_sqrt).add_(eps)
    param[i] = p + neg_step * m / denom;  // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
}

}  // namespace

AdamCoeffs MakeAdamCoeffs(double lr, double beta1, double beta2, double eps, double weight_decay,
                          bool decoupled, int64_t step) {
  const double steps = static_cast<double>(step);
  AdamCoeffs c;
  c.beta1 = static_cast<float>(beta1);
  c.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  c.beta2 = static_cast<float>(beta2);
  c.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  c.neg_step_size = static_cast<float>(-(lr / (1.0 - std::pow(beta1, steps))));
  c.bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(beta2, steps)));
  c.eps = static_cast<float>(eps);
  c.has_l2 = !decoupled && weight_decay != 0.0;
  c.l2 = c.has_l2 ? static_cast<float>(weight_decay) : 0.0f;
  c.decoupled = decoupled && weight_decay != 0.0;
  c.decay_factor = static_cast<float>(1.0 - lr * weight_decay);
  return c;
}

void AdamKernel(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
                float* __restrict exp_avg_sq, int64_t n, const AdamCoeffs& c) {
  if (c.decoupled) return AdamLoop<false, true>(param, grad, exp_avg, exp_avg_sq, n, c);
  if (c.has_l2) return AdamLoop<true, false>(param, grad, exp_avg, exp_avg_sq, n, c);
  AdamLoop<false, false>(param, grad, exp_avg, exp_avg_sq, n, c);
}

}  // namespace optim_internal

Adam::Adam(const AdamOptions& options)
    : Optimizer(options.lr, {"exp_avg", "exp_avg_sq"}), options_(options) {
  const absl::Status status = ValidateOptions(options);
  HEARTH_CHECK_MSG(status.ok(), std::string(status.message()));
}

std::string Adam::Describe() const {
  return absl::StrFormat("Adam(lr=%g, beta1=%g, beta2=%g, eps=%g, weight_decay=%g)", options_.lr,
                         options_.beta1, options_.beta2, options_.eps, options_.weight_decay);
}

void Adam::Update(const Span& span) const {
  const auto c = optim_internal::MakeAdamCoeffs(span.lr, options_.beta1, options_.beta2,
                                                options_.eps, options_.weight_decay,
                                                /*decoupled=*/false, span.step);
  optim_internal::AdamKernel(span.param, span.grad, span.slots[0], span.slots[1], span.n, c);
}

AdamW::AdamW(const AdamWOptions& options)
    : Optimizer(options.lr, {"exp_avg", "exp_avg_sq"}), options_(options) {
  const absl::Status status = ValidateOptions(options);
  HEARTH_CHECK_MSG(status.ok(), std::string(status.message()));
}

std::string AdamW::Describe() const {
  return absl::StrFormat("AdamW(lr=%g, beta1=%g, beta2=%g, eps=%g, weight_decay=%g)", options_.lr,
                         options_.beta1, options_.beta2, options_.eps, options_.weight_decay);
}

void AdamW::Update(const Span& span) const {
  const auto c = optim_internal::MakeAdamCoeffs(span.lr, options_.beta1, options_.beta2,
                                                options_.eps, options_.weight_decay,
                                                /*decoupled=*/true, span.step);
  optim_internal::AdamKernel(span.param, span.grad, span.slots[0], span.slots[1], span.n, c);
}

}  // namespace hearth
