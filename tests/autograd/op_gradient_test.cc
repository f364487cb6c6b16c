// A finite-difference gradient test for every differentiable op.
#include <gtest/gtest.h>

#include "hearth/ops.h"
#include "testing/gradcheck.h"

namespace hearth {
namespace {

using testing::ExpectGradientsMatch;
using testing::RandomTensor;

class OpGradientTest : public ::testing::Test {
 protected:
  Tensor Rand(const Shape& shape, float lo = -1.0f, float hi = 1.0f) {
    return RandomTensor(shape, rng_, lo, hi);
  }
  // Values away from zero, for ops with a kink there (abs, relu).
  Tensor AwayFromZero(const Shape& shape) {
    Tensor t = Rand(shape, 0.2f, 1.0f);
    for (int64_t i = 0; i < t.numel(); ++i)
      if (rng_.Uniform() < 0.5f) t.f32()[i] = -t.f32()[i];
    return t;
  }
  Generator rng_{42};
};

TEST_F(OpGradientTest, Add) {
  ExpectGradientsMatch([](auto& in) { return add(in[0], in[1]); }, {Rand({3, 4}), Rand({3, 4})});
  ExpectGradientsMatch([](auto& in) { return add(in[0], in[1]); }, {Rand({3, 4}), Rand({4})});
  ExpectGradientsMatch([](auto& in) { return add(in[0], in[1]); }, {Rand({3, 1}), Rand({1, 4})});
  ExpectGradientsMatch([](auto& in) { return add(in[0], in[1]); }, {Rand({}), Rand({2, 3})});
}

TEST_F(OpGradientTest, Sub) {
  ExpectGradientsMatch([](auto& in) { return sub(in[0], in[1]); }, {Rand({3, 4}), Rand({4})});
  ExpectGradientsMatch([](auto& in) { return sub(in[0], in[1]); }, {Rand({2, 1, 3}), Rand({4, 1})});
}

TEST_F(OpGradientTest, Mul) {
  ExpectGradientsMatch([](auto& in) { return mul(in[0], in[1]); }, {Rand({3, 4}), Rand({3, 4})});
  ExpectGradientsMatch([](auto& in) { return mul(in[0], in[1]); }, {Rand({2, 3, 4}), Rand({3, 1})});
}

TEST_F(OpGradientTest, Div) {
  ExpectGradientsMatch([](auto& in) { return div(in[0], in[1]); },
                       {Rand({3, 4}), Rand({3, 4}, 0.5f, 2.0f)});
  ExpectGradientsMatch([](auto& in) { return div(in[0], in[1]); }, {Rand({3, 4}), Rand({}, 1, 2)});
}

TEST_F(OpGradientTest, UnaryOps) {
  ExpectGradientsMatch([](auto& in) { return neg(in[0]); }, {Rand({5})});
  ExpectGradientsMatch([](auto& in) { return exp(in[0]); }, {Rand({2, 3})});
  ExpectGradientsMatch([](auto& in) { return log(in[0]); }, {Rand({2, 3}, 0.5f, 2.0f)}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return sqrt(in[0]); }, {Rand({2, 3}, 0.5f, 2.0f)}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return pow(in[0], 3.0f); }, {Rand({2, 3}, 0.5f, 1.5f)}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return pow(in[0], -0.5f); }, {Rand({4}, 0.5f, 1.5f)}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return square(in[0]); }, {Rand({2, 3})});
  ExpectGradientsMatch([](auto& in) { return abs(in[0]); }, {AwayFromZero({2, 3})});
  ExpectGradientsMatch([](auto& in) { return relu(in[0]); }, {AwayFromZero({2, 3})});
  ExpectGradientsMatch([](auto& in) { return sigmoid(in[0]); }, {Rand({2, 3}, -3, 3)});
  ExpectGradientsMatch([](auto& in) { return tanh(in[0]); }, {Rand({2, 3}, -2, 2)});
}

TEST_F(OpGradientTest, Clamp) {
  // Keep values away from the bounds, where the gradient is not defined.
  Tensor x = Tensor::FromVector({-0.9f, -0.3f, 0.1f, 0.35f, 0.8f, -0.6f}, {2, 3});
  ExpectGradientsMatch([](auto& in) { return clamp(in[0], -0.5f, 0.5f); }, {x});
}

TEST_F(OpGradientTest, SoftmaxFamily) {
  ExpectGradientsMatch([](auto& in) { return softmax(in[0]); }, {Rand({3, 5}, -2, 2)}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return softmax(in[0], 0); }, {Rand({3, 5}, -2, 2)}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return log_softmax(in[0]); }, {Rand({3, 5}, -2, 2)}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return log_softmax(in[0], 1); }, {Rand({2, 4, 3}, -2, 2)},
                       1e-3);
}

TEST_F(OpGradientTest, Matmul) {
  ExpectGradientsMatch([](auto& in) { return matmul(in[0], in[1]); }, {Rand({3, 4}), Rand({4, 5})});
  ExpectGradientsMatch([](auto& in) { return matmul(in[0], in[1]); },
                       {Rand({2, 3, 4}), Rand({2, 4, 2})});
  ExpectGradientsMatch([](auto& in) { return matmul(in[0], in[1]); },
                       {Rand({2, 3, 4}), Rand({4, 2})});
}

TEST_F(OpGradientTest, Linear) {
  ExpectGradientsMatch([](auto& in) { return linear(in[0], in[1], in[2]); },
                       {Rand({4, 3}), Rand({3, 5}), Rand({5})});
  ExpectGradientsMatch([](auto& in) { return linear(in[0], in[1], Tensor()); },
                       {Rand({4, 3}), Rand({3, 5})});
}

TEST_F(OpGradientTest, Reductions) {
  ExpectGradientsMatch([](auto& in) { return sum(in[0]); }, {Rand({2, 3, 4})});
  ExpectGradientsMatch([](auto& in) { return sum(in[0], {1}); }, {Rand({2, 3, 4})});
  ExpectGradientsMatch([](auto& in) { return sum(in[0], {0, 2}, true); }, {Rand({2, 3, 4})});
  ExpectGradientsMatch([](auto& in) { return mean(in[0]); }, {Rand({2, 3, 4})});
  ExpectGradientsMatch([](auto& in) { return mean(in[0], {-1}, true); }, {Rand({2, 3, 4})});
  ExpectGradientsMatch([](auto& in) { return max(in[0], {1}); }, {Rand({2, 5, 3})}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return max(in[0]); }, {Rand({2, 5})}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return max(in[0], {0, 2}, true); }, {Rand({3, 2, 4})}, 1e-3);
}

TEST_F(OpGradientTest, ShapeOps) {
  ExpectGradientsMatch([](auto& in) { return reshape(in[0], {3, -1}); }, {Rand({2, 3, 2})});
  ExpectGradientsMatch([](auto& in) { return flatten(in[0]); }, {Rand({2, 3, 2})});
  ExpectGradientsMatch([](auto& in) { return transpose(in[0]); }, {Rand({3, 4})});
  ExpectGradientsMatch([](auto& in) { return permute(in[0], {2, 0, 1}); }, {Rand({2, 3, 4})});
}

TEST_F(OpGradientTest, Conv2d) {
  ExpectGradientsMatch([](auto& in) { return conv2d(in[0], in[1], in[2]); },
                       {Rand({2, 2, 5, 5}), Rand({3, 2, 3, 3}), Rand({3})});
  ExpectGradientsMatch(
      [](auto& in) { return conv2d(in[0], in[1], in[2], {.stride = 2, .padding = 1}); },
      {Rand({1, 2, 6, 5}), Rand({2, 2, 3, 3}), Rand({2})});
  ExpectGradientsMatch(
      [](auto& in) { return conv2d(in[0], in[1], Tensor(), {.stride = 1, .padding = 2}); },
      {Rand({1, 1, 4, 4}), Rand({2, 1, 5, 5})});
}

TEST_F(OpGradientTest, Pooling) {
  // Distinct values so the max is unique in every window.
  Tensor x = Tensor::Empty({2, 2, 4, 6});
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = static_cast<float>((i * 37) % 101) * 0.05f;
  ExpectGradientsMatch([](auto& in) { return max_pool2d(in[0]); }, {x}, 1e-3);
  ExpectGradientsMatch(
      [](auto& in) { return max_pool2d(in[0], {.kernel = 3, .stride = 2, .padding = 1}); }, {x},
      1e-3);
  ExpectGradientsMatch([](auto& in) { return avg_pool2d(in[0]); }, {Rand({2, 2, 4, 6})});
  ExpectGradientsMatch(
      [](auto& in) { return avg_pool2d(in[0], {.kernel = 3, .stride = 1, .padding = 1}); },
      {Rand({1, 2, 4, 4})});
}

TEST_F(OpGradientTest, Dropout) {
  // Re-seeding per call makes the mask identical across the finite-difference evaluations.
  ExpectGradientsMatch(
      [](auto& in) {
        Generator rng(7);
        return dropout(in[0], 0.4f, true, rng);
      },
      {Rand({4, 5})});
}

TEST_F(OpGradientTest, SoftmaxCrossEntropy) {
  Tensor labels = Tensor::FromInt64({0, 2, 1, 2}, {4});
  ExpectGradientsMatch([](auto& in) { return softmax_cross_entropy(in[0], in[1]); },
                       {Rand({4, 3}, -2, 2), labels}, 1e-3);
}

TEST_F(OpGradientTest, SoftmaxCrossEntropyWithClassWeights) {
  Tensor labels = Tensor::FromInt64({0, 2, 1, 2}, {4});
  // Constants of the loss, not inputs to differentiate: captured.
  const Tensor weights = Tensor::FromVector({0.5f, 3.0f, 1.25f});
  ExpectGradientsMatch([weights](auto& in) { return softmax_cross_entropy(in[0], in[1], weights); },
                       {Rand({4, 3}, -2, 2), labels}, 1e-3);
}

}  // namespace
}  // namespace hearth
