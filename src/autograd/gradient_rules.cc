// Every gradient rule, in one place: given d loss / d output, add d loss / d input to each input's
// sink. Rules run with recording disabled and call kernels directly.
#include <cmath>

#include "absl/strings/str_format.h"
#include "autograd/tape.h"
#include "hearth/status.h"

namespace hearth {
namespace {

using kernels::Binary;

// out[i] = f(a[i], b[i]) over equal shapes.
template <typename F>
Tensor Zip(const Tensor& a, const Tensor& b, F f) {
  Tensor out = Tensor::Empty(a.shape());
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* po = out.f32();
  for (int64_t i = 0, n = a.numel(); i < n; ++i) po[i] = f(pa[i], pb[i]);
  return out;
}

template <typename F>
Tensor Zip3(const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  Tensor out = Tensor::Empty(a.shape());
  const float* pa = a.f32();
  const float* pb = b.f32();
  const float* pc = c.f32();
  float* po = out.f32();
  for (int64_t i = 0, n = a.numel(); i < n; ++i) po[i] = f(pa[i], pb[i], pc[i]);
  return out;
}

// Adds a gradient computed at the broadcast output shape, summed down to the input's shape.
void AddReduced(GradSink* sink, const Tensor& g, const Tensor& input) {
  if (sink) sink->Add(kernels::SumToShape(g, input.shape()));
}

// The reduced axes of a sum/mean/max, unpacked from the attrs bitmask.
std::vector<int> Axes(const OpAttrs& attrs, int rank) {
  std::vector<int> axes;
  for (int d = 0; d < rank; ++d)
    if (attrs.ints[0] & (int64_t{1} << d)) axes.push_back(d);
  return axes;
}

// The shape a reduction's output has with keepdims, so it broadcasts against the input.
Shape KeepdimsShape(const Shape& in, const std::vector<int>& axes) {
  Shape s = in;
  for (int a : axes) s[a] = 1;
  return s;
}

Tensor AsShape(const Tensor& t, const Shape& shape) {
  return Tensor::View(t.storage(), t.impl()->offset, shape, t.dtype());
}

void MatmulRule(const Node& node, const Tensor& g, GradSink* sinks[3]) {
  const Tensor& a = node.inputs[0];
  const Tensor& b = node.inputs[1];
  const int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  const int64_t batch = a.numel() / (m * k);
  const bool shared_b = b.rank() == 2;
  float beta;
  if (sinks[0]) {  // dA = g @ B^T
    float* da = sinks[0]->Prepare(a.shape(), &beta);
    if (shared_b) {
      kernels::Gemm(false, true, batch * m, k, n, 1.0f, g.f32(), n, b.f32(), n, beta, da, k);
    } else {
      for (int64_t i = 0; i < batch; ++i)
        kernels::Gemm(false, true, m, k, n, 1.0f, g.f32() + i * m * n, n, b.f32() + i * k * n, n,
                      beta, da + i * m * k, k);
    }
  }
  if (sinks[1]) {  // dB = A^T @ g (summed over the batch when B is shared)
    float* db = sinks[1]->Prepare(b.shape(), &beta);
    if (shared_b) {
      kernels::Gemm(true, false, k, n, batch * m, 1.0f, a.f32(), k, g.f32(), n, beta, db, n);
    } else {
      for (int64_t i = 0; i < batch; ++i)
        kernels::Gemm(true, false, k, n, m, 1.0f, a.f32() + i * m * k, k, g.f32() + i * m * n, n,
                      beta, db + i * k * n, n);
    }
  }
}

void LinearRule(const Node& node, const Tensor& g, GradSink* sinks[3]) {
  const Tensor& x = node.inputs[0];
  const Tensor& w = node.inputs[1];
  const int64_t rows = x.dim(0), in = w.dim(0), out = w.dim(1);
  float beta;
  if (sinks[1]) {
    float* dw = sinks[1]->Prepare(w.shape(), &beta);
    kernels::Gemm(true, false, in, out, rows, 1.0f, x.f32(), in, g.f32(), out, beta, dw, out);
  }
  if (sinks[2]) {
    float* db = sinks[2]->Prepare(Shape{out}, &beta);
    if (beta == 0.0f)
      for (int64_t j = 0; j < out; ++j) db[j] = 0.0f;
    const float* pg = g.f32();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < out; ++j) db[j] += pg[r * out + j];
  }
  if (sinks[0]) {
    float* dx = sinks[0]->Prepare(x.shape(), &beta);
    kernels::Gemm(false, true, rows, in, out, 1.0f, g.f32(), out, w.f32(), out, beta, dx, in);
  }
}

void Conv2dRule(const Node& node, const Tensor& g, GradSink* sinks[3]) {
  const kernels::Window2d& win = node.attrs.window;
  float beta;
  if (sinks[1]) {
    float* dw = sinks[1]->Prepare(node.inputs[1].shape(), &beta);
    kernels::Conv2dWeightGrad(g, node.saved, win, dw, beta);
  }
  if (sinks[2]) {
    float* db = sinks[2]->Prepare(node.inputs[2].shape(), &beta);
    kernels::Conv2dBiasGrad(g, win, db, beta);
  }
  if (sinks[0]) sinks[0]->Add(kernels::Conv2dInputGrad(g, node.inputs[1], win));
}

void SoftmaxCrossEntropyRule(const Node& node, const Tensor& g, GradSink* sinks[3]) {
  if (!sinks[0]) return;
  // d/dlogits mean(w_y CE) = w_y (softmax - onehot) / N, scaled by the incoming scalar gradient.
  const Tensor& probs = node.saved;
  const Tensor& labels = node.inputs[1];
  const int64_t n = probs.dim(0), c = probs.dim(1);
  float beta;
  float* d = sinks[0]->Prepare(probs.shape(), &beta);
  const float scale = g.item() / static_cast<float>(n);
  const float* p = probs.f32();
  const int64_t* y = labels.i64();
  // Class weights, when given, are the third input (never differentiated).
  const float* w = node.num_inputs > 2 ? node.inputs[2].f32() : nullptr;
  for (int64_t r = 0; r < n; ++r) {
    const float row_scale = w != nullptr ? w[y[r]] * scale : scale;
    for (int64_t j = 0; j < c; ++j) {
      const float v = (p[r * c + j] - (j == y[r] ? 1.0f : 0.0f)) * row_scale;
      d[r * c + j] = beta == 0.0f ? v : d[r * c + j] + v;
    }
  }
}

}  // namespace

void ApplyGradientRule(const Node& node, const Tensor& g, GradSink* sinks[3]) {
  const Tensor& x = node.inputs[0];
  const Tensor& y = node.output;
  switch (node.op) {
    case OpCode::kAdd:
      AddReduced(sinks[0], g, x);
      AddReduced(sinks[1], g, node.inputs[1]);
      return;
    case OpCode::kSub:
      AddReduced(sinks[0], g, x);
      if (sinks[1]) AddReduced(sinks[1], kernels::UnaryOp(kernels::Unary::kNeg, g), node.inputs[1]);
      return;
    case OpCode::kMul: {
      const Tensor& b = node.inputs[1];
      if (sinks[0]) AddReduced(sinks[0], kernels::BinaryOp(Binary::kMul, g, b, g.shape()), x);
      if (sinks[1]) AddReduced(sinks[1], kernels::BinaryOp(Binary::kMul, g, x, g.shape()), b);
      return;
    }
    case OpCode::kDiv: {
      const Tensor& b = node.inputs[1];
      if (sinks[0]) AddReduced(sinks[0], kernels::BinaryOp(Binary::kDiv, g, b, g.shape()), x);
      if (sinks[1]) {  // -g * y / b
        Tensor gy = Zip(g, y, [](float gv, float yv) { return -gv * yv; });
        AddReduced(sinks[1], kernels::BinaryOp(Binary::kDiv, gy, b, g.shape()), b);
      }
      return;
    }
    case OpCode::kNeg:
      sinks[0]->Add(kernels::UnaryOp(kernels::Unary::kNeg, g));
      return;
    case OpCode::kExp:
      sinks[0]->Add(Zip(g, y, [](float gv, float yv) { return gv * yv; }));
      return;
    case OpCode::kLog:
      sinks[0]->Add(Zip(g, x, [](float gv, float xv) { return gv / xv; }));
      return;
    case OpCode::kSqrt:
      sinks[0]->Add(Zip(g, y, [](float gv, float yv) { return gv * 0.5f / yv; }));
      return;
    case OpCode::kPow: {
      const float p = node.attrs.floats[0];
      sinks[0]->Add(Zip(g, x, [p](float gv, float xv) { return gv * p * std::pow(xv, p - 1.0f); }));
      return;
    }
    case OpCode::kSquare:
      sinks[0]->Add(Zip(g, x, [](float gv, float xv) { return gv * 2.0f * xv; }));
      return;
    case OpCode::kAbs:
      sinks[0]->Add(
          Zip(g, x, [](float gv, float xv) { return xv > 0.0f ? gv : (xv < 0.0f ? -gv : 0.0f); }));
      return;
    case OpCode::kRelu:
      sinks[0]->Add(Zip(g, y, [](float gv, float yv) { return yv > 0.0f ? gv : 0.0f; }));
      return;
    case OpCode::kSigmoid:
      sinks[0]->Add(Zip(g, y, [](float gv, float yv) { return gv * yv * (1.0f - yv); }));
      return;
    case OpCode::kTanh:
      sinks[0]->Add(Zip(g, y, [](float gv, float yv) { return gv * (1.0f - yv * yv); }));
      return;
    case OpCode::kClamp: {
      const float lo = node.attrs.floats[0], hi = node.attrs.floats[1];
      sinks[0]->Add(
          Zip(g, x, [lo, hi](float gv, float xv) { return (xv >= lo && xv <= hi) ? gv : 0.0f; }));
      return;
    }
    case OpCode::kSoftmax: {  // y * (g - sum(g * y))
      const int axis = static_cast<int>(node.attrs.ints[0]);
      Tensor gy = Zip(g, y, [](float gv, float yv) { return gv * yv; });
      Tensor s = kernels::Sum(gy, {axis}, true);
      Tensor centered = kernels::BinaryOp(Binary::kSub, g, s, g.shape());
      sinks[0]->Add(Zip(centered, y, [](float cv, float yv) { return cv * yv; }));
      return;
    }
    case OpCode::kLogSoftmax: {  // g - softmax * sum(g)
      const int axis = static_cast<int>(node.attrs.ints[0]);
      Tensor s = kernels::BroadcastTo(kernels::Sum(g, {axis}, true), g.shape());
      sinks[0]->Add(
          Zip3(g, y, s, [](float gv, float yv, float sv) { return gv - std::exp(yv) * sv; }));
      return;
    }
    case OpCode::kMatmul:
      MatmulRule(node, g, sinks);
      return;
    case OpCode::kLinear:
      LinearRule(node, g, sinks);
      return;
    case OpCode::kSum:
    case OpCode::kMean: {
      const std::vector<int> axes = Axes(node.attrs, x.rank());
      Tensor expanded = kernels::BroadcastTo(AsShape(g, KeepdimsShape(x.shape(), axes)), x.shape());
      if (node.op == OpCode::kMean) {
        const float count = static_cast<float>(x.numel() / std::max<int64_t>(y.numel(), 1));
        expanded = kernels::Scale(expanded, 1.0f / count);
      }
      sinks[0]->Add(expanded);
      return;
    }
    case OpCode::kMax: {
      // Ties share the gradient equally (as PyTorch's amax).
      const std::vector<int> axes = Axes(node.attrs, x.rank());
      const Shape keep = KeepdimsShape(x.shape(), axes);
      Tensor ymax = kernels::BroadcastTo(AsShape(y, keep), x.shape());
      Tensor mask = Zip(x, ymax, [](float xv, float mv) { return xv == mv ? 1.0f : 0.0f; });
      Tensor count = kernels::BroadcastTo(kernels::Sum(mask, axes, true), x.shape());
      Tensor gb = kernels::BroadcastTo(AsShape(g, keep), x.shape());
      sinks[0]->Add(Zip3(mask, count, gb, [](float m, float c, float gv) { return m * gv / c; }));
      return;
    }
    case OpCode::kReshape:
      sinks[0]->Add(AsShape(g, x.shape()));
      return;
    case OpCode::kPermute: {
      std::vector<int> inverse(x.rank());
      for (int d = 0; d < x.rank(); ++d) inverse[node.attrs.ints[d]] = d;
      sinks[0]->Add(kernels::Permute(g, inverse));
      return;
    }
    case OpCode::kConv2d:
      Conv2dRule(node, g, sinks);
      return;
    case OpCode::kMaxPool2d:
      sinks[0]->Add(kernels::MaxPool2dGrad(g, node.saved, node.attrs.window));
      return;
    case OpCode::kAvgPool2d:
      sinks[0]->Add(kernels::AvgPool2dGrad(g, node.attrs.window));
      return;
    case OpCode::kDropout:
      sinks[0]->Add(Zip(g, node.saved, [](float gv, float mv) { return gv * mv; }));
      return;
    case OpCode::kSoftmaxCrossEntropy:
      SoftmaxCrossEntropyRule(node, g, sinks);
      return;
    case OpCode::kCount:
      break;
  }
  HEARTH_CHECK_MSG(false, absl::StrFormat("no gradient rule for op %s", OpName(node.op)));
}

}  // namespace hearth
