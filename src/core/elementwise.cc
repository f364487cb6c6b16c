// Elementwise kernels with NumPy broadcasting. Fast paths cover the shapes training hits most:
// equal shapes, a scalar operand, and a row vector broadcast over a matrix (bias).
#include <cmath>

#include "core/kernels.h"
#include "core/strided.h"

namespace hearth::kernels {
namespace {

template <typename F>
void ApplyBinary(F f, const Tensor& a, const Tensor& b, const Tensor& out) {
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* po = out.f32();
  const int64_t n = out.numel();
  const int64_t na = a.numel(), nb = b.numel();
  if (na == n && nb == n) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    return;
  }
  if (nb == 1 && na == n) {
    const float s = pb[0];
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], s);
    return;
  }
  if (na == 1 && nb == n) {
    const float s = pa[0];
    for (int64_t i = 0; i < n; ++i) po[i] = f(s, pb[i]);
    return;
  }
  // Trailing-row broadcast: a [..., C] (op) b [C].
  if (na == n && nb > 0 && n % nb == 0 && b.rank() >= 1 && a.shape().dim(-1) == nb &&
      b.numel() == b.shape().dim(-1)) {
    for (int64_t r = 0; r < n; r += nb)
      for (int64_t j = 0; j < nb; ++j) po[r + j] = f(pa[r + j], pb[j]);
    return;
  }
  BroadcastIndexer ia(a.shape(), out.shape()), ib(b.shape(), out.shape());
  ForEachIndex(out.shape(), [&](int64_t i, const int64_t* index) {
    po[i] = f(pa[ia.Offset(index)], pb[ib.Offset(index)]);
  });
}

template <typename F>
Tensor Map(const Tensor& x, F f) {
  Tensor out = Tensor::Empty(x.shape());
  const float* px = x.f32();
  float* po = out.f32();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) po[i] = f(px[i]);
  return out;
}

}  // namespace

Tensor BinaryOp(Binary op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::Empty(out_shape);
  switch (op) {
    case Binary::kAdd:
      ApplyBinary([](float x, float y) { return x + y; }, a, b, out);
      break;
    case Binary::kSub:
      ApplyBinary([](float x, float y) { return x - y; }, a, b, out);
      break;
    case Binary::kMul:
      ApplyBinary([](float x, float y) { return x * y; }, a, b, out);
      break;
    case Binary::kDiv:
      ApplyBinary([](float x, float y) { return x / y; }, a, b, out);
      break;
  }
  return out;
}

Tensor UnaryOp(Unary op, const Tensor& x) {
  switch (op) {
    case Unary::kNeg:
      return Map(x, [](float v) { return -v; });
    case Unary::kExp:
      return Map(x, [](float v) { return std::exp(v); });
    case Unary::kLog:
      return Map(x, [](float v) { return std::log(v); });
    case Unary::kSqrt:
      return Map(x, [](float v) { return std::sqrt(v); });
    case Unary::kSquare:
      return Map(x, [](float v) { return v * v; });
    case Unary::kAbs:
      return Map(x, [](float v) { return std::fabs(v); });
    case Unary::kRelu:
      return Map(x, [](float v) { return v > 0.0f ? v : 0.0f; });
    case Unary::kSigmoid:
      // Split by sign so exp never overflows.
      return Map(x, [](float v) {
        if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
        const float e = std::exp(v);
        return e / (1.0f + e);
      });
    case Unary::kTanh:
      return Map(x, [](float v) { return std::tanh(v); });
  }
  return {};
}

Tensor PowScalar(const Tensor& x, float exponent) {
  if (exponent == 2.0f) return UnaryOp(Unary::kSquare, x);
  return Map(x, [exponent](float v) { return std::pow(v, exponent); });
}

Tensor Clamp(const Tensor& x, float lo, float hi) {
  return Map(x, [lo, hi](float v) { return v < lo ? lo : (v > hi ? hi : v); });
}

Tensor Scale(const Tensor& x, float scale) {
  return Map(x, [scale](float v) { return v * scale; });
}

void AddInPlace(const Tensor& dst, const Tensor& src) {
  float* __restrict d = dst.f32();
  const float* __restrict s = src.f32();
  for (int64_t i = 0, n = dst.numel(); i < n; ++i) d[i] += s[i];
}

}  // namespace hearth::kernels
