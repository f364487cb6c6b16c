// The table of differentiable ops: one enum, one names table (pinned by static_assert), and the
// record each op leaves on a tape. Forward kernels are in src/core, front-ends in src/ops, and
// every gradient rule is in src/autograd/gradient_rules.cc.
#pragma once

#include <array>
#include <cstdint>

#include "core/kernels.h"
#include "hearth/tensor.h"

namespace hearth {

enum class OpCode : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kNeg,
  kExp,
  kLog,
  kSqrt,
  kPow,
  kSquare,
  kAbs,
  kRelu,
  kSigmoid,
  kTanh,
  kClamp,
  kSoftmax,
  kLogSoftmax,
  kMatmul,
  kLinear,
  kSum,
  kMean,
  kMax,
  kReshape,
  kPermute,
  kConv2d,
  kMaxPool2d,
  kAvgPool2d,
  kDropout,
  kSoftmaxCrossEntropy,
  kCount,
};

inline constexpr std::array<const char*, static_cast<size_t>(OpCode::kCount)> kOpNames = {
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "exp",
    "log",
    "sqrt",
    "pow",
    "square",
    "abs",
    "relu",
    "sigmoid",
    "tanh",
    "clamp",
    "softmax",
    "log_softmax",
    "matmul",
    "linear",
    "sum",
    "mean",
    "max",
    "reshape",
    "permute",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "dropout",
    "softmax_cross_entropy",
};
constexpr bool AllOpsNamed() {
  for (const char* name : kOpNames)
    if (name == nullptr) return false;
  return true;
}
// The array is sized by kCount, so a new op without a name leaves a null entry.
static_assert(AllOpsNamed(), "every op needs an entry in kOpNames");

inline const char* OpName(OpCode op) {
  const auto i = static_cast<size_t>(op);
  return i < kOpNames.size() ? kOpNames[i] : "unknown";
}

// Op-specific parameters kept for the backward pass.
struct OpAttrs {
  int64_t ints[kMaxRank] = {};  // axes bitmask + keepdims, permutation, ...
  float floats[2] = {};         // exponent, clamp bounds, scale, ...
  kernels::Window2d window = {};
};

// One recorded op. Inputs and output are held so the backward pass can use their values.
struct Node {
  OpCode op;
  uint8_t num_inputs;
  Tensor inputs[3];
  Tensor output;
  Tensor saved;  // op-specific: im2col columns, argmax, dropout mask, probabilities
  OpAttrs attrs;
};

// Records `op` on the active tape if any input is tracked by it. Returns the node, or nullptr when
// nothing was recorded (so callers can skip saving backward-only state).
Node* Record(OpCode op, std::initializer_list<Tensor> inputs, const Tensor& output,
             const OpAttrs& attrs = {});
// Whether an op with these inputs would be recorded (lets an op skip work only backward needs).
bool WouldRecord(std::initializer_list<const Tensor*> inputs);

}  // namespace hearth
