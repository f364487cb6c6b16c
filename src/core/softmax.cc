// Softmax and log-softmax along one axis, numerically stable (max subtracted first).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/kernels.h"

namespace hearth::kernels {
namespace {

template <bool kLog>
Tensor SoftmaxImpl(const Tensor& x, int axis) {
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= s[d];
  for (int d = axis + 1; d < s.rank(); ++d) inner *= s[d];
  const int64_t n = s[axis];
  Tensor out = Tensor::Empty(s);
  const float* px = x.f32();
  float* po = out.f32();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* src = px + o * n * inner + i;
      float* dst = po + o * n * inner + i;
      float m = src[0];
      for (int64_t j = 1; j < n; ++j) m = std::max(m, src[j * inner]);
      float total = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        const float e = std::exp(src[j * inner] - m);
        total += e;
        if (!kLog) dst[j * inner] = e;
      }
      if (kLog) {
        const float log_total = std::log(total) + m;
        for (int64_t j = 0; j < n; ++j) dst[j * inner] = src[j * inner] - log_total;
      } else {
        const float inv = 1.0f / total;
        for (int64_t j = 0; j < n; ++j) dst[j * inner] *= inv;
      }
    }
  }
  return out;
}

}  // namespace

Tensor Softmax(const Tensor& x, int axis) {
  return SoftmaxImpl<false>(x, axis);
}
Tensor LogSoftmax(const Tensor& x, int axis) {
  return SoftmaxImpl<true>(x, axis);
}

Tensor Permute(const Tensor& x, const std::vector<int>& order) {
  const Shape& in = x.shape();
  Shape out_shape;
  for (int d : order) out_shape.push_back(in[d]);
  Tensor out = Tensor::Empty(out_shape, x.dtype());
  int64_t in_strides[kMaxRank], strides[kMaxRank];
  ContiguousStrides(in, in_strides);
  for (size_t d = 0; d < order.size(); ++d) strides[d] = in_strides[order[d]];
  const int rank = out_shape.rank();
  const int64_t n = out_shape.numel();
  const int64_t esize = DTypeSize(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  int64_t index[kMaxRank] = {};
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(dst + i * esize, src + offset * esize, static_cast<size_t>(esize));
    for (int d = rank - 1; d >= 0; --d) {
      offset += strides[d];
      if (++index[d] < out_shape[d]) break;
      offset -= strides[d] * out_shape[d];
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace hearth::kernels
