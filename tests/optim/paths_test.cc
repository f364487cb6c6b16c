// The flat-arena path (Step) and the per-variable path (ApplyGradients) share one kernel per
// optimizer, so they must agree bit for bit; plus the per-variable path's own contract.
#include <gtest/gtest.h>

#include "hearth/autograd.h"
#include "hearth/nn.h"
#include "hearth/optim.h"
#include "optim/optim_test_util.h"

namespace hearth {
namespace {

using optim_test::AllOptimizerCases;
using optim_test::BitIdentical;
using optim_test::FillGrads;
using optim_test::Flatten;
using optim_test::GradsLike;
using optim_test::OddParams;
using optim_test::Tensors;

TEST(OptimizerPathsTest, StepAndApplyGradientsAreBitIdentical) {
  for (const auto& c : AllOptimizerCases()) {
    SCOPED_TRACE(c.label);
    auto arena_optimizer = c.make();
    auto variable_optimizer = c.make();
    ParameterSet params(OddParams());
    const std::vector<Tensor> vars = Tensors(OddParams());
    const std::vector<Tensor> grads = GradsLike(vars);
    for (int t = 0; t < 7; ++t) {
      FillGrads(params.grads(), t);
      arena_optimizer->Step(params);
      FillGrads(grads, t);
      variable_optimizer->ApplyGradients(grads, vars);
      ASSERT_TRUE(BitIdentical(Flatten(params.params()), Flatten(vars))) << "step " << t;
    }
    EXPECT_EQ(arena_optimizer->iterations(), 7);
    EXPECT_EQ(variable_optimizer->iterations(), 7);
  }
}

TEST(OptimizerPathsTest, SeedProgramUpdate) {
  // W -= lr * dW for plain SGD, written the TensorFlow way.
  Tensor W = Variable(0.0f);
  Tensor b = Variable(0.0f);
  SGD optimizer(0.01);
  optimizer.apply_gradients({Tensor::Scalar(-44.0f), Tensor::Scalar(-12.0f)}, {W, b});
  EXPECT_FLOAT_EQ(W.item(), 0.44f);
  EXPECT_FLOAT_EQ(b.item(), 0.12f);
}

TEST(OptimizerPathsTest, UndefinedGradientLeavesVariableAndItsStateAlone) {
  Adam optimizer(0.1);
  Tensor a = Tensor::FromVector({1.0f, 2.0f});
  Tensor b = Tensor::FromVector({3.0f});
  optimizer.ApplyGradients({Tensor(), Tensor::FromVector({1.0f})}, {a, b});
  EXPECT_EQ(a.ToVector(), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_NE(b.ToVector()[0], 3.0f);

  // `a` starts its own bias correction at step 1, as a fresh variable in PyTorch would: its first
  // Adam step moves it by lr * sign(grad), like b's did.
  const float b_before = b.ToVector()[0];
  optimizer.ApplyGradients({Tensor::FromVector({1.0f, -1.0f}), Tensor()}, {a, b});
  EXPECT_NEAR(a.ToVector()[0], 0.9f, 1e-6f);
  EXPECT_NEAR(a.ToVector()[1], 2.1f, 1e-6f);
  EXPECT_EQ(b.ToVector()[0], b_before);
  EXPECT_EQ(optimizer.iterations(), 2);
}

TEST(OptimizerPathsTest, StateIsPerVariable) {
  // Two variables stepped with the same gradient in separate calls move identically, because each
  // has its own moments and step count.
  SGD optimizer(SGDOptions{.lr = 0.1, .momentum = 0.9});
  Tensor a = Tensor::FromVector({0.0f});
  Tensor b = Tensor::FromVector({0.0f});
  for (int i = 0; i < 3; ++i) optimizer.ApplyGradients({Tensor::FromVector({1.0f})}, {a});
  for (int i = 0; i < 3; ++i) optimizer.ApplyGradients({Tensor::FromVector({1.0f})}, {b});
  EXPECT_EQ(a.ToVector(), b.ToVector());
  // 0.1 * (1 + 1.9 + 2.71)
  EXPECT_NEAR(a.ToVector()[0], -0.561f, 1e-6f);
}

TEST(OptimizerPathsTest, UpdateIsInPlaceAndNotRecorded) {
  Tensor w = Variable(Tensor::FromVector({1.0f, 2.0f}));
  const float* before = w.f32();
  GradientTape tape;
  SGD optimizer(1.0);
  optimizer.ApplyGradients({Tensor::FromVector({0.5f, 0.5f})}, {w});
  EXPECT_EQ(w.f32(), before);
  EXPECT_EQ(w.ToVector(), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(tape.size(), 0);
}

// The library may have started threads (BLAS): re-execute instead of forking mid-flight.
class OptimizerPathsDeathTest : public testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(OptimizerPathsDeathTest, ShapeMismatchNamesBothShapes) {
  SGD optimizer(0.1);
  Tensor w = Tensor::Zeros(Shape{2, 3});
  EXPECT_DEATH(optimizer.ApplyGradients({Tensor::Zeros(Shape{3})}, {w}),
               "gradient 0 has shape \\[3\\] but its variable has shape \\[2, 3\\]");
}

TEST_F(OptimizerPathsDeathTest, CountMismatch) {
  SGD optimizer(0.1);
  EXPECT_DEATH(optimizer.ApplyGradients({}, {Tensor::Zeros(Shape{1})}),
               "0 gradients for 1 variables");
}

TEST_F(OptimizerPathsDeathTest, StepWithAnotherParameterSet) {
  SGD optimizer(SGDOptions{.lr = 0.1, .momentum = 0.9});
  ParameterSet first(OddParams());
  ParameterSet second(OddParams());
  optimizer.Step(first);
  EXPECT_DEATH(optimizer.Step(second), "belongs to another ParameterSet");
}

}  // namespace
}  // namespace hearth
