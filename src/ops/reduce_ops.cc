// Front-ends of sum, mean and max over axes, and argmax.
#include <algorithm>

#include "autograd/op_table.h"
#include "hearth/ops.h"
#include "ops/check.h"

namespace hearth {
namespace {

// Sorted, de-duplicated, non-negative axes and their bitmask.
std::vector<int> NormalizeAxes(const char* op, const Tensor& x, std::vector<int> axes,
                               int64_t* mask) {
  for (int& a : axes) a = ops_internal::Axis(op, x, a);
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty())
    for (int d = 0; d < x.rank(); ++d) axes.push_back(d);
  *mask = 0;
  for (int a : axes) *mask |= int64_t{1} << a;
  return axes;
}

Tensor ReduceFrontEnd(OpCode op, const Tensor& x, std::vector<int> axes, bool keepdims) {
  ops_internal::RequireFloat(OpName(op), x);
  OpAttrs attrs;
  axes = NormalizeAxes(OpName(op), x, std::move(axes), &attrs.ints[0]);
  attrs.ints[1] = keepdims;
  // The kernels treat an empty list as "all axes", which is the fast whole-tensor path.
  const std::vector<int> kernel_axes =
      static_cast<int>(axes.size()) == x.rank() ? std::vector<int>{} : axes;
  Tensor r;
  if (op == OpCode::kMax) {
    HEARTH_CHECK_MSG(x.numel() > 0, "max: cannot reduce an empty tensor");
    r = kernels::Max(x, kernel_axes, keepdims);
  } else {
    r = kernels::Sum(x, kernel_axes, keepdims);
    if (op == OpCode::kMean) {
      const int64_t count = x.numel() / std::max<int64_t>(r.numel(), 1);
      float* p = r.f32();
      const float inv = 1.0f / static_cast<float>(count);
      for (int64_t i = 0, n = r.numel(); i < n; ++i) p[i] *= inv;
    }
  }
  Record(op, {x}, r, attrs);
  return r;
}

}  // namespace

Tensor sum(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return ReduceFrontEnd(OpCode::kSum, x, std::move(axes), keepdims);
}
Tensor mean(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return ReduceFrontEnd(OpCode::kMean, x, std::move(axes), keepdims);
}
Tensor max(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return ReduceFrontEnd(OpCode::kMax, x, std::move(axes), keepdims);
}

Tensor argmax(const Tensor& x, int axis) {
  ops_internal::RequireFloat("argmax", x);
  const int a = ops_internal::Axis("argmax", x, axis);
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  Shape out_shape;
  for (int d = 0; d < s.rank(); ++d) {
    if (d < a) outer *= s[d];
    if (d > a) inner *= s[d];
    if (d != a) out_shape.push_back(s[d]);
  }
  const int64_t n = s[a];
  HEARTH_CHECK_MSG(n > 0, "argmax: the reduced axis is empty");
  Tensor out = Tensor::Empty(out_shape, DType::kInt64);
  const float* px = x.f32();
  int64_t* po = out.i64();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* src = px + o * n * inner + i;
      int64_t best = 0;
      for (int64_t j = 1; j < n; ++j)
        if (src[j * inner] > src[best * inner]) best = j;
      po[o * inner + i] = best;
    }
  }
  return out;
}

}  // namespace hearth
