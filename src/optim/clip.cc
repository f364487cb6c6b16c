// Gradient clipping by global L2 norm (torch.nn.utils.clip_grad_norm_), over the flat gradient
// arena in one pass or over a list of gradient tensors.
#include "hearth/optim.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "hearth/nn.h"

namespace hearth {
namespace {

// In double, so large float gradients cannot overflow the sum; eight independent partial sums let
// the loop vectorise without reassociating one accumulator.
double SumOfSquares(const float* __restrict x, int64_t n) {
  double partial[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) partial[j] += static_cast<double>(x[i + j]) * x[i + j];
  }
  double total = 0.0;
  for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  for (double p : partial) total += p;
  return total;
}

void Scale(float* __restrict x, int64_t n, float factor) {
  for (int64_t i = 0; i < n; ++i) x[i] *= factor;
}

void CheckMaxNorm(double max_norm) {
  HEARTH_CHECK_MSG(std::isfinite(max_norm) && max_norm >= 0.0,
                   absl::StrFormat("ClipGradNorm: max_norm = %g", max_norm));
}

// The factor to scale by, or 1 when the norm is within bounds or not finite.
float ClipFactor(double norm, double max_norm) {
  if (!std::isfinite(norm)) return 1.0f;
  const double coef = max_norm / (norm + 1e-6);
  return coef < 1.0 ? static_cast<float>(coef) : 1.0f;
}

}  // namespace

double ClipGradNorm(ParameterSet& params, double max_norm) {
  CheckMaxNorm(max_norm);
  const int64_t n = params.numel();
  if (n == 0) return 0.0;
  float* grads = params.flat_grads().f32();
  const double norm = std::sqrt(SumOfSquares(grads, n));
  const float factor = ClipFactor(norm, max_norm);
  if (factor != 1.0f) Scale(grads, n, factor);
  return norm;
}

double ClipGradNorm(const std::vector<Tensor>& grads, double max_norm) {
  CheckMaxNorm(max_norm);
  double sum = 0.0;
  for (const Tensor& g : grads) {
    if (!g.defined()) continue;
    HEARTH_CHECK_MSG(g.dtype() == DType::kFloat32, "ClipGradNorm: gradients must be float32");
    sum += SumOfSquares(g.f32(), g.numel());
  }
  const double norm = std::sqrt(sum);
  const float factor = ClipFactor(norm, max_norm);
  if (factor != 1.0f) {
    for (const Tensor& g : grads) {
      if (g.defined()) Scale(g.f32(), g.numel(), factor);
    }
  }
  return norm;
}

}  // namespace hearth
