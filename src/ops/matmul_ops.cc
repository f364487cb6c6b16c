// Front-ends of matmul and the fused linear layer op.
#include "absl/strings/str_format.h"
#include "autograd/op_table.h"
#include "hearth/ops.h"
#include "ops/check.h"

namespace hearth {

Tensor matmul(const Tensor& a, const Tensor& b) {
  ops_internal::RequireFloat("matmul", a);
  ops_internal::RequireFloat("matmul", b);
  const auto mismatch = [&] {
    return absl::StrFormat("matmul: shapes %s and %s are not compatible", a.shape().ToString(),
                           b.shape().ToString());
  };
  HEARTH_CHECK_MSG(a.rank() >= 2 && b.rank() >= 2, mismatch());
  HEARTH_CHECK_MSG(a.dim(-1) == b.dim(-2), mismatch());
  const bool shared_b = b.rank() == 2;
  if (!shared_b) {
    HEARTH_CHECK_MSG(a.rank() == b.rank(), mismatch());
    for (int d = 0; d < a.rank() - 2; ++d)
      HEARTH_CHECK_MSG(a.shape()[d] == b.shape()[d], mismatch());
  }
  const int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  Shape out_shape = a.shape();
  out_shape[a.rank() - 1] = n;
  Tensor out = Tensor::Empty(out_shape);
  const int64_t batch = a.numel() / std::max<int64_t>(m * k, 1);
  if (shared_b) {
    // All batches share B: one GEMM over the stacked rows.
    kernels::Gemm(false, false, batch * m, n, k, 1.0f, a.f32(), k, b.f32(), n, 0.0f, out.f32(), n);
  } else {
    for (int64_t i = 0; i < batch; ++i)
      kernels::Gemm(false, false, m, n, k, 1.0f, a.f32() + i * m * k, k, b.f32() + i * k * n, n,
                    0.0f, out.f32() + i * m * n, n);
  }
  Record(OpCode::kMatmul, {a, b}, out);
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  ops_internal::RequireFloat("linear", x);
  ops_internal::RequireFloat("linear", w);
  ops_internal::RequireRank("linear", x, 2, "input");
  ops_internal::RequireRank("linear", w, 2, "weight");
  HEARTH_CHECK_MSG(x.dim(1) == w.dim(0),
                   absl::StrFormat("linear: input %s does not match weight %s (expected input "
                                   "[N, %d])",
                                   x.shape().ToString(), w.shape().ToString(), w.dim(0)));
  const int64_t rows = x.dim(0), in = w.dim(0), out_features = w.dim(1);
  Tensor out = Tensor::Empty(Shape{rows, out_features});
  float beta = 0.0f;
  if (b.defined()) {
    ops_internal::RequireFloat("linear", b);
    HEARTH_CHECK_MSG(b.rank() == 1 && b.dim(0) == out_features,
                     absl::StrFormat("linear: bias %s does not match weight %s",
                                     b.shape().ToString(), w.shape().ToString()));
    // Pre-filling the bias lets the GEMM add it for free (beta = 1).
    float* po = out.f32();
    const float* pb = b.f32();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < out_features; ++j) po[r * out_features + j] = pb[j];
    beta = 1.0f;
  }
  kernels::Gemm(false, false, rows, out_features, in, 1.0f, x.f32(), in, w.f32(), out_features,
                beta, out.f32(), out_features);
  Record(OpCode::kLinear, {x, w, b}, out);
  return out;
}

}  // namespace hearth
