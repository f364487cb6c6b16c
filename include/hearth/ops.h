// Differentiable tensor operations. Each is recorded on the active GradientTape when an input is
// tracked; the gradient rules live in one place (src/autograd/gradient_rules.cc).
//
// Shapes follow NumPy broadcasting. A shape mismatch is a programming error: it aborts with the op
// name and both shapes. Code paths driven by user data or job specs validate shapes first.
#pragma once

#include <cstdint>
#include <vector>

#include "hearth/random.h"
#include "hearth/tensor.h"

namespace hearth {

// Elementwise binary ops, with broadcasting.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

// Elementwise unary ops.
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor square(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// Clamps into [lo, hi]; the gradient passes only where the value was inside.
Tensor clamp(const Tensor& x, float lo, float hi);

// Normalisations along one axis (default: the last).
Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);

// [M,K] x [K,N] -> [M,N]; batched: [..., M, K] x [..., K, N] with equal batch dims, or a 2-D right
// operand shared by every batch.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [N, in] @ w [in, out] + b [out], fused (one GEMM with the bias pre-filled).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

// Reductions. Empty `axes` reduces over all axes. Negative axes count from the end.
Tensor sum(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
Tensor max(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);

// Shape ops (they copy: tensors are always contiguous).
Tensor reshape(const Tensor& x, const Shape& shape);  // one dimension may be -1
Tensor flatten(const Tensor& x, int start_axis = 1);  // [N, ...] -> [N, prod(...)]
Tensor transpose(const Tensor& x);                    // swaps the last two axes
Tensor permute(const Tensor& x, const std::vector<int>& order);

// Convolution and pooling on NCHW tensors. Weight is [C_out, C_in, KH, KW]; bias [C_out] or
// undefined.
struct Conv2dOptions {
  int stride = 1;
  int padding = 0;
};
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              Conv2dOptions options = {});
struct Pool2dOptions {
  int kernel = 2;
  int stride = 0;  // 0: same as kernel
  int padding = 0;
};
Tensor max_pool2d(const Tensor& x, Pool2dOptions options = {});
Tensor avg_pool2d(const Tensor& x, Pool2dOptions options = {});  // padding counts as zeros

// Inverted dropout: zeroes with probability p and scales survivors by 1/(1-p); identity when
// !training.
Tensor dropout(const Tensor& x, float p, bool training, Generator& rng);

// Mean softmax cross-entropy of logits [N, C] against int64 class ids [N]. With `class_weights`
// (float32 [C], not differentiated), each row's loss is scaled by its class's weight before the
// mean over the N rows.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels,
                             const Tensor& class_weights = Tensor());

// Operators for readable math. Float operands become scalar tensors.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);

// Not differentiable (never recorded).
Tensor argmax(const Tensor& x, int axis = -1);  // int64 indices, axis removed

// The broadcast result of two shapes, or an error naming the op and both shapes.
bool Broadcastable(const Shape& a, const Shape& b, Shape* out);

}  // namespace hearth
