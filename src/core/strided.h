// N-d index iteration and broadcast offsets, for the general (slow) paths of the kernels.
#pragma once

#include <cstdint>

#include "hearth/shape.h"

namespace hearth::kernels {

// Maps an index of the broadcast output shape to an element offset of one (smaller) operand.
class BroadcastIndexer {
 public:
  BroadcastIndexer(const Shape& operand, const Shape& out) : rank_(out.rank()) {
    int64_t strides[kMaxRank];
    ContiguousStrides(operand, strides);
    const int shift = out.rank() - operand.rank();
    for (int d = 0; d < rank_; ++d) {
      const int od = d - shift;
      strides_[d] = (od < 0 || operand[od] == 1) ? 0 : strides[od];
    }
  }
  int64_t Offset(const int64_t* index) const {
    int64_t off = 0;
    for (int d = 0; d < rank_; ++d) off += index[d] * strides_[d];
    return off;
  }

 private:
  int rank_;
  int64_t strides_[kMaxRank] = {};
};

// Calls f(flat_index, nd_index) for every element of `shape` in row-major order.
template <typename F>
void ForEachIndex(const Shape& shape, F f) {
  const int64_t n = shape.numel();
  int64_t index[kMaxRank] = {};
  for (int64_t i = 0; i < n; ++i) {
    f(i, index);
    for (int d = shape.rank() - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace hearth::kernels
