// Gradient clipping by global norm, against torch.nn.utils.clip_grad_norm_ (values printed by the
// script in reference_test.cc), and its handling of non-finite norms.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "hearth/nn.h"
#include "hearth/optim.h"
#include "optim/optim_test_util.h"

namespace hearth {
namespace {

using optim_test::FillGrads;
using optim_test::Flatten;
using optim_test::GradsLike;
using optim_test::ReferenceParams;
using optim_test::Tensors;

// torch.nn.utils.clip_grad_norm_([w, b], 1.0) on the step-1 gradients: norm 2.25, then these.
constexpr float kClippedGrads[9] = {-0.222222134f, 0.555555344f, 0.111111067f,
                                    -0.333333194f, 0.444444269f, 0.0f,
                                    -0.444444269f, 0.333333194f, -0.111111067f};

void ExpectClipped(const std::vector<float>& grads) {
  ASSERT_EQ(grads.size(), 9u);
  for (int j = 0; j < 9; ++j) EXPECT_NEAR(grads[j], kClippedGrads[j], 1e-7f) << j;
}

TEST(ClipGradNormTest, ArenaMatchesTorch) {
  ParameterSet params(ReferenceParams());
  FillGrads(params.grads(), 1);
  EXPECT_DOUBLE_EQ(ClipGradNorm(params, 1.0), 2.25);
  ExpectClipped(Flatten(params.grads()));
}

TEST(ClipGradNormTest, TensorListMatchesTorch) {
  const std::vector<Tensor> grads = GradsLike(Tensors(ReferenceParams()));
  FillGrads(grads, 1);
  EXPECT_DOUBLE_EQ(ClipGradNorm(grads, 1.0), 2.25);
  ExpectClipped(Flatten(grads));
}

TEST(ClipGradNormTest, WithinBoundsLeavesGradientsAlone) {
  ParameterSet params(ReferenceParams());
  FillGrads(params.grads(), 1);
  const std::vector<float> before = Flatten(params.grads());
  EXPECT_DOUBLE_EQ(ClipGradNorm(params, 10.0), 2.25);
  EXPECT_EQ(Flatten(params.grads()), before);
  // At the bound the coefficient is 2.25 / (2.25 + 1e-6), a hair under 1, as in PyTorch.
  EXPECT_DOUBLE_EQ(ClipGradNorm(params, 2.25), 2.25);
  const std::vector<float> at_bound = Flatten(params.grads());
  for (size_t j = 0; j < before.size(); ++j) EXPECT_NEAR(at_bound[j], before[j], 1e-6f);
}

TEST(ClipGradNormTest, NonFiniteNormIsReturnedAndNothingIsScaled) {
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    ParameterSet params(ReferenceParams());
    FillGrads(params.grads(), 1);
    params.grads()[1].f32()[2] = bad;
    const std::vector<float> before = Flatten(params.grads());
    const double norm = ClipGradNorm(params, 1.0);
    EXPECT_FALSE(std::isfinite(norm));
    EXPECT_EQ(std::isnan(norm), std::isnan(bad));
    const std::vector<float> after = Flatten(params.grads());
    for (size_t j = 0; j < 8; ++j) EXPECT_EQ(after[j], before[j]) << j;

    const std::vector<Tensor> grads = GradsLike(Tensors(ReferenceParams()));
    FillGrads(grads, 1);
    grads[0].f32()[0] = bad;
    EXPECT_FALSE(std::isfinite(ClipGradNorm(grads, 1.0)));
    EXPECT_EQ(grads[1].ToVector()[0], optim_test::GradValue(6, 1));
  }
}

TEST(ClipGradNormTest, HugeFiniteGradientsDoNotOverflowTheNorm) {
  // 3e30^2 overflows float; the norm is accumulated in double.
  const std::vector<Tensor> grads = {Tensor::FromVector({3e30f, 4e30f})};
  const double norm = ClipGradNorm(grads, 1.0);
  EXPECT_NEAR(norm / 5e30, 1.0, 1e-6);
  EXPECT_NEAR(grads[0].ToVector()[0], 0.6f, 1e-6f);
  EXPECT_NEAR(grads[0].ToVector()[1], 0.8f, 1e-6f);
}

TEST(ClipGradNormTest, EmptyAndUndefined) {
  EXPECT_EQ(ClipGradNorm(std::vector<Tensor>{}, 1.0), 0.0);
  EXPECT_EQ(ClipGradNorm({Tensor()}, 1.0), 0.0);
}

}  // namespace
}  // namespace hearth
