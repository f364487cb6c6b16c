// Front-ends of the elementwise ops and the arithmetic operators.
#include "absl/strings/str_format.h"
#include "autograd/op_table.h"
#include "hearth/ops.h"
#include "ops/check.h"

namespace hearth {
namespace {

using ops_internal::RequireFloat;

Tensor BinaryFrontEnd(OpCode op, kernels::Binary kind, const Tensor& a, const Tensor& b) {
  const char* name = OpName(op);
  RequireFloat(name, a);
  RequireFloat(name, b);
  Shape out;
  HEARTH_CHECK_MSG(Broadcastable(a.shape(), b.shape(), &out),
                   absl::StrFormat("%s: shapes %s and %s cannot be broadcast together", name,
                                   a.shape().ToString(), b.shape().ToString()));
  Tensor r = kernels::BinaryOp(kind, a, b, out);
  Record(op, {a, b}, r);
  return r;
}

Tensor UnaryFrontEnd(OpCode op, kernels::Unary kind, const Tensor& x) {
  RequireFloat(OpName(op), x);
  Tensor r = kernels::UnaryOp(kind, x);
  Record(op, {x}, r);
  return r;
}

}  // namespace

bool Broadcastable(const Shape& a, const Shape& b, Shape* out) {
  const int rank = std::max(a.rank(), b.rank());
  Shape result;
  for (int d = 0; d < rank; ++d) {
    const int da = d - (rank - a.rank()), db = d - (rank - b.rank());
    const int64_t x = da >= 0 ? a[da] : 1, y = db >= 0 ? b[db] : 1;
    if (x != y && x != 1 && y != 1) return false;
    result.push_back(x == 1 ? y : x);
  }
  *out = result;
  return true;
}

Tensor add(const Tensor& a, const Tensor& b) {
  return BinaryFrontEnd(OpCode::kAdd, kernels::Binary::kAdd, a, b);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return BinaryFrontEnd(OpCode::kSub, kernels::Binary::kSub, a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return BinaryFrontEnd(OpCode::kMul, kernels::Binary::kMul, a, b);
}
Tensor div(const Tensor& a, const Tensor& b) {
  return BinaryFrontEnd(OpCode::kDiv, kernels::Binary::kDiv, a, b);
}

Tensor neg(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kNeg, kernels::Unary::kNeg, x);
}
Tensor exp(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kExp, kernels::Unary::kExp, x);
}
Tensor log(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kLog, kernels::Unary::kLog, x);
}
Tensor sqrt(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kSqrt, kernels::Unary::kSqrt, x);
}
Tensor square(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kSquare, kernels::Unary::kSquare, x);
}
Tensor abs(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kAbs, kernels::Unary::kAbs, x);
}
Tensor relu(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kRelu, kernels::Unary::kRelu, x);
}
Tensor sigmoid(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kSigmoid, kernels::Unary::kSigmoid, x);
}
Tensor tanh(const Tensor& x) {
  return UnaryFrontEnd(OpCode::kTanh, kernels::Unary::kTanh, x);
}

Tensor pow(const Tensor& x, float exponent) {
  RequireFloat("pow", x);
  Tensor r = kernels::PowScalar(x, exponent);
  OpAttrs attrs;
  attrs.floats[0] = exponent;
  Record(OpCode::kPow, {x}, r, attrs);
  return r;
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  RequireFloat("clamp", x);
  HEARTH_CHECK_MSG(lo <= hi, absl::StrFormat("clamp: lo %g is greater than hi %g", lo, hi));
  Tensor r = kernels::Clamp(x, lo, hi);
  OpAttrs attrs;
  attrs.floats[0] = lo;
  attrs.floats[1] = hi;
  Record(OpCode::kClamp, {x}, r, attrs);
  return r;
}

Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
Tensor operator-(const Tensor& x) {
  return neg(x);
}
Tensor operator+(const Tensor& a, float b) {
  return add(a, Tensor::Scalar(b));
}
Tensor operator-(const Tensor& a, float b) {
  return sub(a, Tensor::Scalar(b));
}
Tensor operator*(const Tensor& a, float b) {
  return mul(a, Tensor::Scalar(b));
}
Tensor operator/(const Tensor& a, float b) {
  return div(a, Tensor::Scalar(b));
}
Tensor operator+(float a, const Tensor& b) {
  return add(Tensor::Scalar(a), b);
}
Tensor operator-(float a, const Tensor& b) {
  return sub(Tensor::Scalar(a), b);
}
Tensor operator*(float a, const Tensor& b) {
  return mul(Tensor::Scalar(a), b);
}
Tensor operator/(float a, const Tensor& b) {
  return div(Tensor::Scalar(a), b);
}

}  // namespace hearth
