// Reductions (sum, max) over axes, and the broadcast/unbroadcast pair that gradients need.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/kernels.h"
#include "core/strided.h"

namespace hearth::kernels {
namespace {

Shape KeepdimsShape(const Shape& in, const std::vector<int>& axes) {
  Shape out = in;
  if (axes.empty()) {
    for (int d = 0; d < in.rank(); ++d) out[d] = 1;
  } else {
    for (int a : axes) out[a] = 1;
  }
  return out;
}

Shape DropAxes(const Shape& keep, const Shape& in, const std::vector<int>& axes) {
  Shape out;
  for (int d = 0; d < in.rank(); ++d) {
    const bool reduced = axes.empty() || std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced) out.push_back(keep[d]);
  }
  return out;
}

// Collapses the shape into [outer, reduced, inner] when the reduced axes are contiguous.
bool ContiguousAxes(const Shape& in, const std::vector<int>& axes, int64_t* outer, int64_t* mid,
                    int64_t* inner) {
  if (axes.empty()) {
    *outer = 1, *mid = in.numel(), *inner = 1;
    return true;
  }
  for (size_t i = 1; i < axes.size(); ++i)
    if (axes[i] != axes[i - 1] + 1) return false;
  *outer = *mid = *inner = 1;
  for (int d = 0; d < in.rank(); ++d) {
    if (d < axes.front())
      *outer *= in[d];
    else if (d <= axes.back())
      *mid *= in[d];
    else
      *inner *= in[d];
  }
  return true;
}

template <typename Init, typename Combine>
Tensor Reduce(const Tensor& x, const std::vector<int>& axes, bool keepdims, Init init,
              Combine combine) {
  const Shape keep = KeepdimsShape(x.shape(), axes);
  Tensor out = Tensor::Empty(keepdims ? keep : DropAxes(keep, x.shape(), axes));
  const float* px = x.f32();
  float* po = out.f32();
  int64_t outer, mid, inner;
  if (ContiguousAxes(x.shape(), axes, &outer, &mid, &inner)) {
    for (int64_t o = 0; o < outer; ++o) {
      float* dst = po + o * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] = init;
      const float* src = px + o * mid * inner;
      for (int64_t m = 0; m < mid; ++m, src += inner)
        for (int64_t i = 0; i < inner; ++i) dst[i] = combine(dst[i], src[i]);
    }
    return out;
  }
  for (int64_t i = 0, n = out.numel(); i < n; ++i) po[i] = init;
  BroadcastIndexer to_out(keep, x.shape());
  ForEachIndex(x.shape(), [&](int64_t i, const int64_t* index) {
    float& dst = po[to_out.Offset(index)];
    dst = combine(dst, px[i]);
  });
  return out;
}

}  // namespace

Tensor Sum(const Tensor& x, const std::vector<int>& axes, bool keepdims) {
  if (axes.empty() && !keepdims) {
    // Whole-tensor sums (losses) accumulate in double for accuracy.
    double total = 0.0;
    const float* px = x.f32();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) total += px[i];
    return Tensor::Scalar(static_cast<float>(total));
  }
  return Reduce(x, axes, keepdims, 0.0f, [](float acc, float v) { return acc + v; });
}

Tensor Max(const Tensor& x, const std::vector<int>& axes, bool keepdims) {
  return Reduce(x, axes, keepdims, -std::numeric_limits<float>::infinity(),
                [](float acc, float v) { return v > acc ? v : acc; });
}

Tensor SumToShape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int shift = g.rank() - shape.rank();
  std::vector<int> axes;
  for (int d = 0; d < g.rank(); ++d) {
    const int sd = d - shift;
    if (sd < 0 || (shape[sd] == 1 && g.shape()[d] != 1)) axes.push_back(d);
  }
  Tensor reduced =
      axes.empty() ? g : Reduce(g, axes, true, 0.0f, [](float acc, float v) { return acc + v; });
  return Tensor::View(reduced.storage(), reduced.impl()->offset, shape);
}

Tensor BroadcastTo(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Tensor out = Tensor::Empty(shape);
  const float* px = x.f32();
  float* po = out.f32();
  if (x.numel() == 1) {
    for (int64_t i = 0, n = out.numel(); i < n; ++i) po[i] = px[0];
    return out;
  }
  BroadcastIndexer ix(x.shape(), shape);
  ForEachIndex(shape, [&](int64_t i, const int64_t* index) { po[i] = px[ix.Offset(index)]; });
  return out;
}

}  // namespace hearth::kernels
