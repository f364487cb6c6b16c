// CPU kernels on contiguous tensors. These know nothing of autograd: they compute values only.
// Inputs are assumed valid (shapes checked by the op front-ends in src/ops/).
#pragma once

#include <cstdint>
#include <vector>

#include "hearth/tensor.h"

namespace hearth::kernels {

enum class Binary { kAdd, kSub, kMul, kDiv };
enum class Unary { kNeg, kExp, kLog, kSqrt, kSquare, kAbs, kRelu, kSigmoid, kTanh };

// out = a (op) b with NumPy broadcasting to `out_shape`.
Tensor BinaryOp(Binary op, const Tensor& a, const Tensor& b, const Shape& out_shape);
Tensor UnaryOp(Unary op, const Tensor& x);
Tensor PowScalar(const Tensor& x, float exponent);
Tensor Clamp(const Tensor& x, float lo, float hi);
// out = x * scale, elementwise.
Tensor Scale(const Tensor& x, float scale);
// dst += src (same numel).
void AddInPlace(const Tensor& dst, const Tensor& src);

// Reductions over a sorted, de-duplicated axis list (empty = all). Output keeps reduced axes as 1
// when keepdims, otherwise drops them.
Tensor Sum(const Tensor& x, const std::vector<int>& axes, bool keepdims);
Tensor Max(const Tensor& x, const std::vector<int>& axes, bool keepdims);
// Sums a broadcast gradient back down to `shape` (the inverse of broadcasting).
Tensor SumToShape(const Tensor& g, const Shape& shape);
// Broadcasts x (whose shape is broadcast-compatible) up to `shape`.
Tensor BroadcastTo(const Tensor& x, const Shape& shape);

// Softmax and log-softmax along `axis` (non-negative).
Tensor Softmax(const Tensor& x, int axis);
Tensor LogSoftmax(const Tensor& x, int axis);

Tensor Permute(const Tensor& x, const std::vector<int>& order);

// C[M,N] = alpha * op(A) op(B) + beta * C, row-major, through cblas_sgemm.
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace hearth::kernels

namespace hearth::kernels {

// Geometry of a 2-D convolution or pooling window over NCHW input.
struct Window2d {
  int64_t n, c, h, w;  // input
  int64_t kh, kw;      // window
  int64_t stride, pad;
  int64_t oh, ow;        // output spatial size
  int64_t out_channels;  // convolution only
  int64_t patch() const { return c * kh * kw; }
  int64_t out_pixels() const { return oh * ow; }
};

// Unfolds every image into columns: [N, C*KH*KW, OH*OW].
Tensor Im2Col(const Tensor& x, const Window2d& g);
// out[n] = weight[O, K] @ col[n] + bias.
Tensor Conv2dFromColumns(const Tensor& col, const Tensor& weight, const Tensor& bias,
                         const Window2d& g);
// Writes (beta 0) or accumulates (beta 1) d weight [O, K] from the output gradient and columns.
void Conv2dWeightGrad(const Tensor& grad_out, const Tensor& col, const Window2d& g, float* dweight,
                      float beta);
// Writes or accumulates d bias [O].
void Conv2dBiasGrad(const Tensor& grad_out, const Window2d& g, float* dbias, float beta);
// d input [N, C, H, W] (fresh tensor).
Tensor Conv2dInputGrad(const Tensor& grad_out, const Tensor& weight, const Window2d& g);

// Max pooling returns the output and, per output element, the flat input index (within the image
// plane) of the maximum, for the backward pass.
Tensor MaxPool2d(const Tensor& x, const Window2d& g, Tensor* argmax);
Tensor MaxPool2dGrad(const Tensor& grad_out, const Tensor& argmax, const Window2d& g);
// Average pooling; padded cells count as zeros (PyTorch's count_include_pad=True).
Tensor AvgPool2d(const Tensor& x, const Window2d& g);
Tensor AvgPool2dGrad(const Tensor& grad_out, const Window2d& g);

}  // namespace hearth::kernels
