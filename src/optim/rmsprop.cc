// RMSprop: the kernel (torch.optim.RMSprop's single-tensor update) and the optimizer applying it.
#include "hearth/optim.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "optim/kernels.h"

namespace hearth {
namespace optim_internal {
namespace {

template <bool kDecay, bool kCentered, bool kMomentum>
void RmsPropLoop(float* __restrict param, const float* __restrict grad,
                 float* __restrict square_avg, float* __restrict momentum_buffer,
                 float* __restrict grad_avg, int64_t n, const RmsPropCoeffs& c) {
  const float neg_lr = c.neg_lr, alpha = c.alpha, oma = c.one_minus_alpha, eps = c.eps;
  const float wd = c.weight_decay, mu = c.momentum;
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if constexpr (kDecay) g = g + wd * param[i];           // grad.add(param, alpha=weight_decay)
    const float sa = square_avg[i] * alpha + oma * g * g;  // .mul_(alpha).addcmul_(g, g, 1 - alpha)
    square_avg[i] = sa;
    float avg;
    if constexpr (kCentered) {
      const float ga = grad_avg[i] * alpha + oma * g;  // grad_avg.mul_(alpha).add_(g, 1 - alpha)
      grad_avg[i] = ga;
      avg = std::sqrt(sa + -1.0f * ga * ga);  // square_avg.addcmul(ga, ga, value=-1).sqrt_()
    } else {
      avg = std::sqrt(sa);
    }
    avg = avg + eps;
    if constexpr (kMomentum) {
      const float b = momentum_buffer[i] * mu + g / avg;  // buf.mul_(momentum).addcdiv_(g, avg)
      momentum_buffer[i] = b;
      param[i] = param[i] + neg_lr * b;  // param.add_(buf, alpha=-lr)
    } else {
      param[i] = param[i] + neg_lr * g / avg;  // param.addcdiv_(g, avg, value=-lr)
    }
  }
}

template <bool kDecay>
void RmsPropDispatch(float* param, const float* grad, float* square_avg, float* momentum_buffer,
                     float* grad_avg, int64_t n, const RmsPropCoeffs& c) {
  float* sa = square_avg;
  float* mb = momentum_buffer;
  float* ga = grad_avg;
  if (c.centered) {
    if (c.has_momentum) return RmsPropLoop<kDecay, true, true>(param, grad, sa, mb, ga, n, c);
    return RmsPropLoop<kDecay, true, false>(param, grad, sa, mb, ga, n, c);
  }
  if (c.has_momentum) return RmsPropLoop<kDecay, false, true>(param, grad, sa, mb, ga, n, c);
  RmsPropLoop<kDecay, false, false>(param, grad, sa, mb, ga, n, c);
}

}  // namespace

RmsPropCoeffs MakeRmsPropCoeffs(double lr, double alpha, double eps, double weight_decay,
                                double momentum, bool centered) {
  RmsPropCoeffs c;
  c.neg_lr = static_cast<float>(-lr);
  c.alpha = static_cast<float>(alpha);
  c.one_minus_alpha = static_cast<float>(1.0 - alpha);
  c.eps = static_cast<float>(eps);
  c.weight_decay = static_cast<float>(weight_decay);
  c.momentum = static_cast<float>(momentum);
  c.has_momentum = momentum > 0.0;
  c.centered = centered;
  return c;
}

void RmsPropKernel(float* __restrict param, const float* __restrict grad,
                   float* __restrict square_avg, float* __restrict momentum_buffer,
                   float* __restrict grad_avg, int64_t n, const RmsPropCoeffs& c) {
  if (c.weight_decay != 0.0f)
    return RmsPropDispatch<true>(param, grad, square_avg, momentum_buffer, grad_avg, n, c);
  RmsPropDispatch<false>(param, grad, square_avg, momentum_buffer, grad_avg, n, c);
}

}  // namespace optim_internal

namespace {

// Slot order: square_avg, then momentum_buffer and grad_avg when the options need them.
std::vector<std::string> RmsPropSlots(const RMSpropOptions& options) {
  std::vector<std::string> slots = {"square_avg"};
  if (options.momentum > 0.0) slots.push_back("momentum_buffer");
  if (options.centered) slots.push_back("grad_avg");
  return slots;
}

}  // namespace

RMSprop::RMSprop(const RMSpropOptions& options)
    : Optimizer(options.lr, RmsPropSlots(options)), options_(options) {
  const absl::Status status = ValidateOptions(options);
  HEARTH_CHECK_MSG(status.ok(), std::string(status.message()));
}

std::string RMSprop::Describe() const {
  return absl::StrFormat(
      "RMSprop(lr=%g, alpha=%g, eps=%g, weight_decay=%g, momentum=%g, centered=%s)", options_.lr,
      options_.alpha, options_.eps, options_.weight_decay, options_.momentum,
      options_.centered ? "true" : "false");
}

void RMSprop::Update(const Span& span) const {
  const auto c = optim_internal::MakeRmsPropCoeffs(span.lr, options_.alpha, options_.eps,
                                                   options_.weight_decay, options_.momentum,
                                                   options_.centered);
  float* momentum_buffer = c.has_momentum ? span.slots[1] : nullptr;
  float* grad_avg = c.centered ? span.slots[c.has_momentum ? 2 : 1] : nullptr;
  optim_internal::RmsPropKernel(span.param, span.grad, span.slots[0], momentum_buffer, grad_avg,
                                span.n, c);
}

}  // namespace hearth
