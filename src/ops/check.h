// Shape checks shared by the op front-ends. A failure names the op and the shapes involved.
#pragma once

#include "absl/strings/str_format.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth::ops_internal {

inline void RequireFloat(const char* op, const Tensor& t) {
  HEARTH_CHECK_MSG(t.defined(), absl::StrFormat("%s: input is an undefined tensor", op));
  HEARTH_CHECK_MSG(t.dtype() == DType::kFloat32,
                   absl::StrFormat("%s: expected a float32 tensor, got %s with shape %s", op,
                                   DTypeName(t.dtype()), t.shape().ToString()));
}

inline void RequireRank(const char* op, const Tensor& t, int rank, const char* what) {
  HEARTH_CHECK_MSG(t.rank() == rank, absl::StrFormat("%s: %s must have rank %d, got shape %s", op,
                                                     what, rank, t.shape().ToString()));
}

// Normalises a possibly negative axis.
inline int Axis(const char* op, const Tensor& t, int axis) {
  const int a = axis < 0 ? axis + t.rank() : axis;
  HEARTH_CHECK_MSG(
      a >= 0 && a < t.rank(),
      absl::StrFormat("%s: axis %d is out of range for shape %s", op, axis, t.shape().ToString()));
  return a;
}

}  // namespace hearth::ops_internal
