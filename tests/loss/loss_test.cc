// Losses: values against hand computation, and finite-difference gradients.
#include <gtest/gtest.h>

#include "hearth/loss.h"
#include "hearth/ops.h"
#include "testing/gradcheck.h"

namespace hearth {
namespace {

using testing::ExpectGradientsMatch;

const Tensor kPred = Tensor::FromVector({0.5f, -1.0f, 2.0f, 3.0f}, {4, 1});
const Tensor kTarget = Tensor::FromVector({1.0f, 1.0f, 0.0f, 3.5f});

TEST(LossTest, Values) {
  // residuals: -0.5, -2, 2, -0.5
  EXPECT_NEAR(mse_loss(kPred, kTarget).item(), (0.25f + 4 + 4 + 0.25f) / 4, 1e-6);
  EXPECT_NEAR(mae_loss(kPred, kTarget).item(), (0.5f + 2 + 2 + 0.5f) / 4, 1e-6);
  // Huber(delta 1): 0.125, 1.5, 1.5, 0.125
  EXPECT_NEAR(huber_loss(kPred, kTarget, 1.0f).item(), 3.25f / 4, 1e-6);
  Tensor logits = Tensor::FromVector({0.0f, 0.0f, 0.0f}, {1, 3});
  EXPECT_NEAR(cross_entropy_loss(logits, Tensor::FromInt64({1}, {1})).item(), std::log(3.0f), 1e-6);
  // BCE: -[y log s(x) + (1-y) log(1-s(x))] for x = 0.5, -1, 2, 3 against 1, 1, 0, 1.
  Tensor y = Tensor::FromVector({1.0f, 1.0f, 0.0f, 1.0f});
  const double expected = (0.474077 + 1.313262 + 2.126928 + 0.048587) / 4;
  EXPECT_NEAR(binary_cross_entropy_with_logits(kPred, y).item(), expected, 1e-5);
}

// Keras' class_weight: each example's loss times its class's weight, averaged over the batch.
TEST(LossTest, ClassWeightsScaleEachExampleByItsClass) {
  const Tensor logits = Tensor::FromVector({0.2f, -1.0f, 0.5f, 1.5f, 0.0f, -0.3f}, {3, 2});
  const Tensor labels = Tensor::FromInt64({0, 1, 1}, {3});
  const Tensor weights = Tensor::FromVector({0.75f, 4.0f});
  const Tensor lp = log_softmax(logits, 1);
  const float* l = lp.f32();
  const double expected = -(0.75 * l[0] + 4.0 * l[3] + 4.0 * l[5]) / 3;
  EXPECT_NEAR(cross_entropy_loss(logits, labels, weights).item(), expected, 1e-6);
  // Weights of 1 are no weights.
  EXPECT_NEAR(cross_entropy_loss(logits, labels, Tensor::FromVector({1.0f, 1.0f})).item(),
              cross_entropy_loss(logits, labels).item(), 1e-7);

  const Tensor y = Tensor::FromVector({1.0f, 1.0f, 0.0f, 1.0f}, {4, 1});
  const double per[] = {0.474077, 1.313262, 2.126928, 0.048587};
  EXPECT_NEAR(binary_cross_entropy_with_logits(kPred, y, Tensor::FromVector({2.0f, 0.5f})).item(),
              (0.5 * per[0] + 0.5 * per[1] + 2.0 * per[2] + 0.5 * per[3]) / 4, 1e-5);
}

TEST(LossTest, BinaryCrossEntropyIsStableForLargeLogits) {
  Tensor logits = Tensor::FromVector({100.0f, -100.0f});
  Tensor y = Tensor::FromVector({0.0f, 1.0f});
  EXPECT_NEAR(binary_cross_entropy_with_logits(logits, y).item(), 100.0f, 1e-3);
}

TEST(LossTest, Gradients) {
  Tensor target = Tensor::FromVector({1.0f, 1.0f, 0.0f, 3.5f}, {4, 1});
  Tensor pred = Tensor::FromVector({0.5f, -1.0f, 2.0f, 3.2f}, {4, 1});
  ExpectGradientsMatch([](auto& in) { return mse_loss(in[0], in[1]); }, {pred, target}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return mae_loss(in[0], in[1]); }, {pred, target}, 1e-3);
  ExpectGradientsMatch([](auto& in) { return huber_loss(in[0], in[1], 1.0f); }, {pred, target},
                       1e-3);
  Tensor y = Tensor::FromVector({1.0f, 0.0f, 0.0f, 1.0f}, {4, 1});
  ExpectGradientsMatch([](auto& in) { return binary_cross_entropy_with_logits(in[0], in[1]); },
                       {pred, y}, 1e-3);
  const Tensor weights = Tensor::FromVector({2.0f, 0.5f});
  ExpectGradientsMatch(
      [weights](auto& in) { return binary_cross_entropy_with_logits(in[0], in[1], weights); },
      {pred, y}, 1e-3);
}

}  // namespace
}  // namespace hearth
