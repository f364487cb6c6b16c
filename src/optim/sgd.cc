// SGD: the kernel (torch.optim.SGD's single-tensor update) and the optimizer that applies it.
#include "hearth/optim.h"

#include "absl/strings/str_format.h"
#include "optim/kernels.h"

namespace hearth {
namespace optim_internal {
namespace {

// One loop per combination of options, so each inner loop is branch-free and vectorises.
template <bool kDecay, bool kMomentum, bool kNesterov, bool kFirst>
void SgdLoop(float* __restrict param, const float* __restrict grad, float* __restrict buf,
             int64_t n, const SgdCoeffs& c) {
  // Locals, so the compiler need not reload coefficients after every store through `param`.
  const float neg_lr = c.neg_lr, mu = c.momentum, omd = c.one_minus_dampening;
  const float wd = c.weight_decay;
  for (int64_t i = 0; i < n; ++i) {
    float d = grad[i];
    if constexpr (kDecay) d = d + wd * param[i];  // d_p.add(param, alpha=weight_decay)
    if constexpr (kMomentum) {
      float b;
      if constexpr (kFirst) {
        b = d;  // torch.clone(d_p)
      } else {
        b = buf[i] * mu + omd * d;  // buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
      }
      buf[i] = b;
      if constexpr (kNesterov) {
        d = d + mu * b;  // d_p.add(buf, alpha=momentum)
      } else {
        d = b;
      }
    }
    param[i] = param[i] + neg_lr * d;  // param.add_(d_p, alpha=-lr)
  }
}

template <bool kDecay>
void SgdDispatch(float* param, const float* grad, float* buf, int64_t n, const SgdCoeffs& c) {
  if (!c.has_momentum) return SgdLoop<kDecay, false, false, false>(param, grad, buf, n, c);
  if (c.nesterov) {
    if (c.first_step) return SgdLoop<kDecay, true, true, true>(param, grad, buf, n, c);
    return SgdLoop<kDecay, true, true, false>(param, grad, buf, n, c);
  }
  if (c.first_step) return SgdLoop<kDecay, true, false, true>(param, grad, buf, n, c);
  return SgdLoop<kDecay, true, false, false>(param, grad, buf, n, c);
}

}  // namespace

SgdCoeffs MakeSgdCoeffs(double lr, double momentum, double dampening, double weight_decay,
                        bool nesterov, int64_t step) {
  SgdCoeffs c;
  c.neg_lr = static_cast<float>(-lr);
  c.momentum = static_cast<float>(momentum);
  c.one_minus_dampening = static_cast<float>(1.0 - dampening);
  c.weight_decay = static_cast<float>(weight_decay);
  c.has_momentum = momentum != 0.0;
  c.nesterov = nesterov;
  c.first_step = step == 1;
  return c;
}

void SgdKernel(float* __restrict param, const float* __restrict grad, float* __restrict buf,
               int64_t n, const SgdCoeffs& c) {
  if (c.weight_decay != 0.0f) return SgdDispatch<true>(param, grad, buf, n, c);
  SgdDispatch<false>(param, grad, buf, n, c);
}

}  // namespace optim_internal

namespace {

std::vector<std::string> SgdSlots(const SGDOptions& options) {
  if (options.momentum == 0.0) return {};
  return {"momentum_buffer"};
}

}  // namespace

SGD::SGD(const SGDOptions& options) : Optimizer(options.lr, SgdSlots(options)), options_(options) {
  const absl::Status status = ValidateOptions(options);
  HEARTH_CHECK_MSG(status.ok(), std::string(status.message()));
}

std::string SGD::Describe() const {
  return absl::StrFormat("SGD(lr=%g, momentum=%g, dampening=%g, weight_decay=%g, nesterov=%s)",
                         options_.lr, options_.momentum, options_.dampening, options_.weight_decay,
                         options_.nesterov ? "true" : "false");
}

void SGD::Update(const Span& span) const {
  const auto c = optim_internal::MakeSgdCoeffs(span.lr, options_.momentum, options_.dampening,
                                               options_.weight_decay, options_.nesterov, span.step);
  optim_internal::SgdKernel(span.param, span.grad, c.has_momentum ? span.slots[0] : nullptr, span.n,
                            c);
}

}  // namespace hearth
