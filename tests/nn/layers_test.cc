// Layers: parameter names, the flat arena, initialisers, shape inference and train/eval modes.
#include <gtest/gtest.h>

#include "hearth/autograd.h"
#include "hearth/nn.h"

namespace hearth {
namespace {

Sequential SmallCnn(Generator& rng) {
  Sequential m;
  m.Emplace<Conv2d>(1, 4, 3, rng, Conv2dOptions{.stride = 1, .padding = 1})
      .Emplace<ActivationLayer>(Activation::kReLU)
      .Emplace<MaxPool2d>(Pool2dOptions{.kernel = 2})
      .Emplace<Flatten>()
      .Emplace<Dropout>(0.5f, 1)
      .Emplace<Linear>(4 * 4 * 4, 3, rng);
  return m;
}

TEST(LayersTest, ParametersAreNamedByPath) {
  Generator rng(0);
  Sequential m = SmallCnn(rng);
  std::vector<std::string> names;
  for (const NamedTensor& p : m.NamedParameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "5.weight", "5.bias"}));
  EXPECT_EQ(m.ParameterCount(), 4 * 9 + 4 + 64 * 3 + 3);
}

TEST(LayersTest, SameSeedSameWeights) {
  Generator a(99), b(99), c(100);
  Linear la(10, 5, a), lb(10, 5, b), lc(10, 5, c);
  EXPECT_EQ(la.weight().ToVector(), lb.weight().ToVector());
  EXPECT_NE(la.weight().ToVector(), lc.weight().ToVector());
}

TEST(LayersTest, InitialisersHaveTheDocumentedScale) {
  Generator rng(1);
  Tensor w = Tensor::Empty({200, 300});
  GlorotUniform(w, 200, 300, rng);
  const float limit = std::sqrt(6.0f / 500.0f);
  double sq = 0;
  for (float v : w.ToVector()) {
    EXPECT_LE(std::fabs(v), limit);
    sq += v * v;
  }
  EXPECT_NEAR(sq / w.numel(), limit * limit / 3.0, 0.05 * limit * limit / 3.0);
  Tensor h = Tensor::Empty({100, 400});
  HeNormal(h, 100, rng);
  double hsq = 0;
  for (float v : h.ToVector()) hsq += v * v;
  EXPECT_NEAR(hsq / h.numel(), 2.0 / 100.0, 0.002);
}

TEST(LayersTest, ParameterSetRebindsIntoOneArena) {
  Generator rng(2);
  Sequential m = SmallCnn(rng);
  const std::vector<float> before = m.NamedParameters()[2].tensor.ToVector();
  ParameterSet params(m);
  ASSERT_EQ(params.size(), 4);
  EXPECT_EQ(params.param(2).ToVector(), before);  // values kept
  for (int i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params.param(i).storage(), params.flat_params().storage());
    EXPECT_EQ(params.param(i).impl()->offset % 16, 0);
  }
  // Writing the arena changes the layer's own weights.
  params.flat_params().Fill(0.25f);
  EXPECT_EQ(m.NamedParameters()[0].tensor.f32()[0], 0.25f);
}

TEST(LayersTest, OutputShapeInference) {
  Generator rng(3);
  Sequential m = SmallCnn(rng);
  auto shape = m.OutputShape(Shape{7, 1, 8, 8});
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(*shape, (Shape{7, 3}));
  auto bad = m.OutputShape(Shape{7, 3, 8, 8});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("layer 0"), std::string::npos) << bad.status();
  EXPECT_NE(bad.status().message().find("[N, 1, H, W]"), std::string::npos) << bad.status();
  auto wrong_features = m.OutputShape(Shape{7, 1, 10, 10});
  EXPECT_FALSE(wrong_features.ok());
  EXPECT_NE(wrong_features.status().message().find("layer 5"), std::string::npos);
}

TEST(LayersTest, ForwardMatchesInferredShapeAndDropoutFollowsMode) {
  Generator rng(4);
  Sequential m = SmallCnn(rng);
  Tensor x = Tensor::Full({2, 1, 8, 8}, 0.3f);
  m.Eval();
  Tensor a = m(x), b = m(x);
  EXPECT_EQ(a.shape(), (Shape{2, 3}));
  EXPECT_EQ(a.ToVector(), b.ToVector());  // no dropout in eval mode
  m.Train();
  Tensor c = m(x);
  EXPECT_NE(a.ToVector(), c.ToVector());
}

TEST(LayersTest, ActivationLayers) {
  Tensor x = Tensor::FromVector({-1.0f, 0.0f, 2.0f}, {1, 3});
  EXPECT_EQ(ActivationLayer(Activation::kReLU)(x).ToVector(), (std::vector<float>{0, 0, 2}));
  EXPECT_NEAR(ActivationLayer(Activation::kSigmoid)(x).f32()[2], 0.880797f, 1e-6);
  EXPECT_NEAR(ActivationLayer(Activation::kTanh)(x).f32()[0], -0.761594f, 1e-6);
  Tensor s = ActivationLayer(Activation::kSoftmax)(x);
  EXPECT_NEAR(s.f32()[0] + s.f32()[1] + s.f32()[2], 1.0f, 1e-6);
}

}  // namespace
}  // namespace hearth
