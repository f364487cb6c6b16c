// Where a gradient rule puts the gradient of one input: an accumulator that either owns its buffer
// or writes into caller memory (a view into the flat gradient arena).
#pragma once

#include "core/kernels.h"
#include "hearth/tensor.h"

namespace hearth {

class GradSink {
 public:
  GradSink() = default;
  // Writes into `target` (overwriting on the first contribution unless `accumulate`).
  static GradSink Bound(const Tensor& target, bool accumulate) {
    GradSink s;
    s.value_ = target;
    s.bound_ = true;
    s.written_ = accumulate;
    return s;
  }

  // Adds a contribution shaped like the input. May keep `g` by reference (no copy).
  void Add(const Tensor& g) {
    if (!written_) {
      written_ = true;
      if (bound_) {
        value_.CopyFrom(g);
      } else {
        value_ = g;
        owned_ = false;
      }
      return;
    }
    MakeWritable();
    kernels::AddInPlace(value_, g);
  }

  // For rules that can write their result directly (a GEMM's beta): returns the buffer to write
  // and sets *beta to 0 (overwrite) or 1 (accumulate).
  float* Prepare(const Shape& shape, float* beta) {
    if (!written_) {
      written_ = true;
      if (!bound_) {
        value_ = Tensor::Empty(shape);
        owned_ = true;
      }
      *beta = 0.0f;
      return value_.f32();
    }
    MakeWritable();
    *beta = 1.0f;
    return value_.f32();
  }

  bool written() const { return written_; }
  const Tensor& value() const { return value_; }
  // Zero-fills a bound target that received no contribution.
  void FinishUnwritten() {
    if (bound_ && !written_) value_.Fill(0.0f);
  }

 private:
  void MakeWritable() {
    if (!bound_ && !owned_) {
      value_ = value_.Clone();
      owned_ = true;
    }
  }

  Tensor value_;
  bool bound_ = false;
  bool written_ = false;
  bool owned_ = false;
};

}  // namespace hearth
