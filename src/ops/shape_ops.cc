// Front-ends of reshape, flatten, transpose and permute. Reshapes are views (tensors are always
// contiguous, so they share storage); permutations copy.
#include "absl/strings/str_format.h"
#include "autograd/op_table.h"
#include "hearth/ops.h"
#include "ops/check.h"

namespace hearth {

Tensor reshape(const Tensor& x, const Shape& shape) {
  HEARTH_CHECK_MSG(x.defined(), "reshape: input is an undefined tensor");
  Shape target = shape;
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < target.rank(); ++d) {
    if (target[d] == -1) {
      HEARTH_CHECK_MSG(infer < 0,
                       absl::StrFormat("reshape: more than one -1 in %s", shape.ToString()));
      infer = d;
    } else {
      known *= target[d];
    }
  }
  if (infer >= 0 && known > 0) target[infer] = x.numel() / known;
  HEARTH_CHECK_MSG(target.numel() == x.numel(),
                   absl::StrFormat("reshape: cannot reshape %s (%d elements) into %s",
                                   x.shape().ToString(), x.numel(), shape.ToString()));
  Tensor r = Tensor::View(x.storage(), x.impl()->offset, target, x.dtype());
  if (x.dtype() == DType::kFloat32) Record(OpCode::kReshape, {x}, r);
  return r;
}

Tensor flatten(const Tensor& x, int start_axis) {
  HEARTH_CHECK_MSG(x.defined(), "flatten: input is an undefined tensor");
  const int a = start_axis < 0 ? start_axis + x.rank() : start_axis;
  HEARTH_CHECK_MSG(a >= 0 && a <= x.rank(), absl::StrFormat("flatten: start axis %d out of range "
                                                            "for shape %s",
                                                            start_axis, x.shape().ToString()));
  Shape s;
  int64_t rest = 1;
  for (int d = 0; d < x.rank(); ++d) {
    if (d < a)
      s.push_back(x.shape()[d]);
    else
      rest *= x.shape()[d];
  }
  s.push_back(rest);
  return reshape(x, s);
}

Tensor permute(const Tensor& x, const std::vector<int>& order) {
  ops_internal::RequireFloat("permute", x);
  HEARTH_CHECK_MSG(static_cast<int>(order.size()) == x.rank(),
                   absl::StrFormat("permute: order has %d axes, shape %s has %d", order.size(),
                                   x.shape().ToString(), x.rank()));
  OpAttrs attrs;
  int64_t seen = 0;
  for (size_t d = 0; d < order.size(); ++d) {
    HEARTH_CHECK_MSG(order[d] >= 0 && order[d] < x.rank() && !(seen & (int64_t{1} << order[d])),
                     absl::StrFormat("permute: order is not a permutation of the axes of %s",
                                     x.shape().ToString()));
    seen |= int64_t{1} << order[d];
    attrs.ints[d] = order[d];
  }
  Tensor r = kernels::Permute(x, order);
  Record(OpCode::kPermute, {x}, r, attrs);
  return r;
}

Tensor transpose(const Tensor& x) {
  HEARTH_CHECK_MSG(x.rank() >= 2, absl::StrFormat("transpose: needs rank >= 2, got shape %s",
                                                  x.shape().ToString()));
  std::vector<int> order(x.rank());
  for (int d = 0; d < x.rank(); ++d) order[d] = d;
  std::swap(order[x.rank() - 1], order[x.rank() - 2]);
  return permute(x, order);
}

}  // namespace hearth
