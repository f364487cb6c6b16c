// Front-ends of the neural-network ops: softmax family, convolution, pooling, dropout and the
// fused softmax cross-entropy.
#include <cmath>

#include "absl/strings/str_format.h"
#include "autograd/op_table.h"
#include "hearth/ops.h"
#include "ops/check.h"

namespace hearth {
namespace {

using ops_internal::RequireFloat;

Tensor SoftmaxFrontEnd(OpCode op, const Tensor& x, int axis) {
  RequireFloat(OpName(op), x);
  const int a = ops_internal::Axis(OpName(op), x, axis);
  Tensor r = op == OpCode::kSoftmax ? kernels::Softmax(x, a) : kernels::LogSoftmax(x, a);
  OpAttrs attrs;
  attrs.ints[0] = a;
  Record(op, {x}, r, attrs);
  return r;
}

kernels::Window2d PoolWindow(const char* op, const Tensor& x, const Pool2dOptions& o) {
  RequireFloat(op, x);
  ops_internal::RequireRank(op, x, 4, "input (NCHW)");
  const int stride = o.stride == 0 ? o.kernel : o.stride;
  HEARTH_CHECK_MSG(o.kernel > 0 && stride > 0 && o.padding >= 0 && o.padding * 2 <= o.kernel,
                   absl::StrFormat("%s: invalid kernel %d, stride %d, padding %d", op, o.kernel,
                                   stride, o.padding));
  kernels::Window2d g{};
  g.n = x.dim(0), g.c = x.dim(1), g.h = x.dim(2), g.w = x.dim(3);
  g.kh = g.kw = o.kernel;
  g.stride = stride;
  g.pad = o.padding;
  g.oh = (g.h + 2 * g.pad - g.kh) / stride + 1;
  g.ow = (g.w + 2 * g.pad - g.kw) / stride + 1;
  HEARTH_CHECK_MSG(g.h + 2 * g.pad >= g.kh && g.w + 2 * g.pad >= g.kw,
                   absl::StrFormat("%s: kernel %d is larger than the padded input %s", op, o.kernel,
                                   x.shape().ToString()));
  return g;
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) {
  return SoftmaxFrontEnd(OpCode::kSoftmax, x, axis);
}
Tensor log_softmax(const Tensor& x, int axis) {
  return SoftmaxFrontEnd(OpCode::kLogSoftmax, x, axis);
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
  RequireFloat("conv2d", x);
  RequireFloat("conv2d", weight);
  ops_internal::RequireRank("conv2d", x, 4, "input (NCHW)");
  ops_internal::RequireRank("conv2d", weight, 4, "weight [C_out, C_in, KH, KW]");
  HEARTH_CHECK_MSG(
      x.dim(1) == weight.dim(1),
      absl::StrFormat("conv2d: input %s has %d channels but weight %s expects %d",
                      x.shape().ToString(), x.dim(1), weight.shape().ToString(), weight.dim(1)));
  HEARTH_CHECK_MSG(
      options.stride > 0 && options.padding >= 0,
      absl::StrFormat("conv2d: invalid stride %d or padding %d", options.stride, options.padding));
  kernels::Window2d g{};
  g.n = x.dim(0), g.c = x.dim(1), g.h = x.dim(2), g.w = x.dim(3);
  g.kh = weight.dim(2), g.kw = weight.dim(3);
  g.stride = options.stride;
  g.pad = options.padding;
  g.out_channels = weight.dim(0);
  HEARTH_CHECK_MSG(g.h + 2 * g.pad >= g.kh && g.w + 2 * g.pad >= g.kw,
                   absl::StrFormat("conv2d: kernel %s is larger than the padded input %s",
                                   weight.shape().ToString(), x.shape().ToString()));
  g.oh = (g.h + 2 * g.pad - g.kh) / g.stride + 1;
  g.ow = (g.w + 2 * g.pad - g.kw) / g.stride + 1;
  if (bias.defined()) {
    RequireFloat("conv2d", bias);
    HEARTH_CHECK_MSG(bias.rank() == 1 && bias.dim(0) == g.out_channels,
                     absl::StrFormat("conv2d: bias %s does not match %d output channels",
                                     bias.shape().ToString(), g.out_channels));
  }
  Tensor col = kernels::Im2Col(x, g);
  Tensor out = kernels::Conv2dFromColumns(col, weight, bias, g);
  OpAttrs attrs;
  attrs.window = g;
  if (Node* node = Record(OpCode::kConv2d, {x, weight, bias}, out, attrs)) node->saved = col;
  return out;
}

Tensor max_pool2d(const Tensor& x, Pool2dOptions options) {
  OpAttrs attrs;
  attrs.window = PoolWindow("max_pool2d", x, options);
  Tensor argmax;
  Tensor out = kernels::MaxPool2d(x, attrs.window, &argmax);
  if (Node* node = Record(OpCode::kMaxPool2d, {x}, out, attrs)) node->saved = argmax;
  return out;
}

Tensor avg_pool2d(const Tensor& x, Pool2dOptions options) {
  OpAttrs attrs;
  attrs.window = PoolWindow("avg_pool2d", x, options);
  Tensor out = kernels::AvgPool2d(x, attrs.window);
  Record(OpCode::kAvgPool2d, {x}, out, attrs);
  return out;
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& rng) {
  RequireFloat("dropout", x);
  HEARTH_CHECK_MSG(p >= 0.0f && p < 1.0f,
                   absl::StrFormat("dropout: probability %g must be in [0, 1)", p));
  if (!training || p == 0.0f) return x;
  Tensor mask = Tensor::Empty(x.shape());
  const float keep_scale = 1.0f / (1.0f - p);
  float* pm = mask.f32();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) pm[i] = rng.Uniform() < p ? 0.0f : keep_scale;
  Tensor out = kernels::BinaryOp(kernels::Binary::kMul, x, mask, x.shape());
  if (Node* node = Record(OpCode::kDropout, {x}, out)) node->saved = mask;
  return out;
}

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels,
                             const Tensor& class_weights) {
  RequireFloat("softmax_cross_entropy", logits);
  ops_internal::RequireRank("softmax_cross_entropy", logits, 2, "logits [N, C]");
  HEARTH_CHECK_MSG(labels.defined() && labels.dtype() == DType::kInt64 && labels.rank() == 1 &&
                       labels.dim(0) == logits.dim(0),
                   absl::StrFormat("softmax_cross_entropy: labels must be int64 [%d], got %s %s",
                                   logits.dim(0), labels.defined() ? DTypeName(labels.dtype()) : "",
                                   labels.defined() ? labels.shape().ToString() : "undefined"));
  const int64_t n = logits.dim(0), c = logits.dim(1);
  HEARTH_CHECK_MSG(n > 0, "softmax_cross_entropy: empty batch");
  const bool weighted = class_weights.defined();
  HEARTH_CHECK_MSG(!weighted || (class_weights.dtype() == DType::kFloat32 &&
                                 class_weights.rank() == 1 && class_weights.dim(0) == c),
                   absl::StrFormat("softmax_cross_entropy: class weights must be float32 [%d]", c));
  Tensor log_probs = kernels::LogSoftmax(logits, 1);
  const float* lp = log_probs.f32();
  const int64_t* y = labels.i64();
  const float* w = weighted ? class_weights.f32() : nullptr;
  double total = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    HEARTH_CHECK_MSG(y[r] >= 0 && y[r] < c,
                     absl::StrFormat("softmax_cross_entropy: label %d of row %d is outside [0, %d)",
                                     y[r], r, c));
    total -= (weighted ? w[y[r]] : 1.0f) * lp[r * c + y[r]];
  }
  Tensor loss = Tensor::Scalar(static_cast<float>(total / static_cast<double>(n)));
  Node* node = weighted
                   ? Record(OpCode::kSoftmaxCrossEntropy, {logits, labels, class_weights}, loss)
                   : Record(OpCode::kSoftmaxCrossEntropy, {logits, labels}, loss);
  if (node != nullptr) {
    // Reuse the log-probabilities buffer for the probabilities the backward pass needs.
    float* p = log_probs.f32();
    for (int64_t i = 0, m = n * c; i < m; ++i) p[i] = std::exp(p[i]);
    node->saved = log_probs;
  }
  return loss;
}

}  // namespace hearth
