// BuildModel / InferOutputShape / ResolveInputShape: layers built with inferred sizes, shape
// misfits named by layer, and output widths checked against the loss.
#include <gtest/gtest.h>

#include "hearth/job.h"
#include "job_test_util.h"

namespace hearth {
namespace {

using testing::Contains;
using testing::kCnnSpec;
using testing::kKMeansSpec;
using testing::kRegressionSpec;
using testing::SpecFromJson;

std::vector<std::string> ParameterNames(const Module& m) {
  std::vector<std::string> names;
  for (const NamedTensor& p : m.NamedParameters()) names.push_back(p.name);
  return names;
}

TEST(BuildModel, BuildsTheCnnWithInferredSizes) {
  const v1::JobSpec spec = SpecFromJson(kCnnSpec);
  StatusOr<std::unique_ptr<Sequential>> model = BuildModel(spec, Shape{1, 28, 28}, 10, 7);
  ASSERT_TRUE(model.ok()) << model.status();
  Sequential& net = **model;
  // One child per spec layer, so parameter names carry the spec's layer index.
  EXPECT_EQ(net.size(), spec.model().layers_size());
  EXPECT_EQ(ParameterNames(net),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "5.weight",
                                      "5.bias", "7.weight", "7.bias"}));
  const std::vector<NamedTensor> params = net.NamedParameters();
  EXPECT_EQ(params[2].tensor.shape(), (Shape{16, 6, 5, 5}));  // in_channels inferred
  EXPECT_EQ(params[4].tensor.shape(), (Shape{400, 120}));     // in_features inferred
  EXPECT_TRUE(Contains(net.layer(2).Describe(), "ReLU"));
  EXPECT_TRUE(Contains(net.layer(5).Describe(), "Linear(400 -> 120) + ReLU"));

  StatusOr<Shape> out = net.OutputShape(Shape{4, 1, 28, 28});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (Shape{4, 10}));
  net.Eval();
  EXPECT_EQ(net.Forward(Tensor::Zeros(Shape{3, 1, 28, 28})).shape(), (Shape{3, 10}));
}

TEST(BuildModel, SameSeedSameWeights) {
  const v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  auto a = BuildModel(spec, Shape{3}, 1, 5);
  auto b = BuildModel(spec, Shape{3}, 1, 5);
  auto c = BuildModel(spec, Shape{3}, 1, 6);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->Parameters()[0].ToVector(), (*b)->Parameters()[0].ToVector());
  EXPECT_NE((*a)->Parameters()[0].ToVector(), (*c)->Parameters()[0].ToVector());
}

TEST(BuildModel, UseBiasFalseLeavesNoBias) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  spec.mutable_model()->mutable_layers(0)->mutable_dense()->set_use_bias(false);
  auto model = BuildModel(spec, Shape{3}, 1, 0);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(ParameterNames(**model), (std::vector<std::string>{"0.weight", "1.weight", "1.bias"}));
}

// The count a checkpoint's weights are checked against is the built model's, bias or not (it
// once counted a bias per conv kernel row and one per unit always, so no CNN checkpoint loaded).
TEST(CountModelParameters, IsExactlyWhatBuildModelAllocates) {
  for (const bool bias : {true, false}) {
    v1::JobSpec spec = SpecFromJson(kCnnSpec);
    for (v1::Layer& layer : *spec.mutable_model()->mutable_layers()) {
      if (layer.has_conv2d()) layer.mutable_conv2d()->set_use_bias(bias);
      if (layer.has_dense()) layer.mutable_dense()->set_use_bias(bias);
    }
    StatusOr<std::unique_ptr<Sequential>> model = BuildModel(spec, Shape{1, 28, 28}, 10, 7);
    ASSERT_TRUE(model.ok()) << model.status();
    int64_t built = 0;
    for (const NamedTensor& p : (*model)->NamedParameters()) built += p.tensor.numel();
    StatusOr<int64_t> counted = CountModelParameters(spec, Shape{1, 28, 28});
    ASSERT_TRUE(counted.ok()) << counted.status();
    EXPECT_EQ(*counted, built) << (bias ? "with" : "without") << " bias";
  }
}

TEST(BuildModel, DenseNeverFlattensImplicitly) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  StatusOr<std::unique_ptr<Sequential>> model = BuildModel(spec, Shape{2, 3}, 1, 0);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(),
            "model.layers[0].dense: input shape [N, 2, 3] does not fit: expected [N, 6] (add a "
            "flatten layer before it, or give a flat model.input_shape: [6])");
}

TEST(InferOutputShape, NamesTheLayerThatDoesNotFit) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_model()->mutable_layers()->DeleteSubrange(4, 1);  // the flatten
  StatusOr<Shape> out = InferOutputShape(spec, Shape{1, 28, 28});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(),
            "model.layers[4].dense: input shape [N, 16, 5, 5] does not fit: expected [N, 400] "
            "(add a flatten layer before it)");
  // BuildModel reports the same, since it runs the same inference first.
  EXPECT_EQ(BuildModel(spec, Shape{1, 28, 28}, 10, 0).status().message(), out.status().message());
}

TEST(InferOutputShape, PoolsShrinkTheImage) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_model()->clear_input_shape();
  StatusOr<Shape> out = InferOutputShape(spec, Shape{1, 8, 8});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(Contains(out.status().message(),
                       "model.layers[2].conv2d: input shape [N, 6, 4, 4] does not fit: expected a "
                       "padded height and width of at least 5 for the 5x5 kernel (got 4x4"));
  // Larger images simply give the first dense layer a wider input.
  out = InferOutputShape(spec, Shape{1, 32, 32});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (Shape{1, 10}));
  auto model = BuildModel(spec, Shape{1, 32, 32}, 10, 0);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->NamedParameters()[4].tensor.shape(), (Shape{16 * 6 * 6, 120}));
}

TEST(BuildModel, OutputWidthMustMatchTheClasses) {
  const v1::JobSpec spec = SpecFromJson(kCnnSpec);
  EXPECT_EQ(BuildModel(spec, Shape{1, 28, 28}, 8, 0).status().message(),
            "model.layers[7].dense.units: the model outputs 10 values per example, but the data "
            "has 8 classes and CROSS_ENTROPY needs one logit per class: set units to 8");
  EXPECT_TRUE(Contains(BuildModel(spec, Shape{1, 28, 28}, 1, 0).status().message(),
                       "CROSS_ENTROPY needs at least 2 classes"));
}

TEST(BuildModel, BinaryCrossEntropyNeedsOneLogitAndTwoClasses) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_loss()->set_type(v1::BINARY_CROSS_ENTROPY);
  spec.mutable_model()->mutable_layers(7)->mutable_dense()->set_units(1);
  EXPECT_TRUE(BuildModel(spec, Shape{1, 28, 28}, 2, 0).ok());
  EXPECT_EQ(BuildModel(spec, Shape{1, 28, 28}, 3, 0).status().message(),
            "loss.type: BINARY_CROSS_ENTROPY handles two classes, but the training labels have 3: "
            "use CROSS_ENTROPY with a last dense layer of 3 units");
}

TEST(BuildModel, RegressionWidthMatchesTheTargets) {
  const v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  EXPECT_EQ(BuildModel(spec, Shape{3}, 2, 0).status().message(),
            "model.layers[1].dense.units: the model outputs 1 value per example, but the targets "
            "have 2 columns: set units to 2");
}

TEST(BuildModel, OutputMustBeOneRowPerExample) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_model()->mutable_layers()->DeleteSubrange(4, 4);  // ends at the second pool
  EXPECT_TRUE(Contains(BuildModel(spec, Shape{1, 28, 28}, 10, 0).status().message(),
                       "model.layers: the model outputs [N, 16, 5, 5], but CROSS_ENTROPY needs "
                       "one row of values per example"));
}

TEST(BuildModel, KMeansHasNoLayers) {
  EXPECT_TRUE(
      absl::IsInvalidArgument(BuildModel(SpecFromJson(kKMeansSpec), Shape{2}, 0, 0).status()));
}

TEST(ResolveInputShape, ReshapesToTheDeclaredShapeOfTheSameSize) {
  const v1::JobSpec spec = SpecFromJson(kCnnSpec);
  StatusOr<Shape> s = ResolveInputShape(spec, Shape{28, 28});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, (Shape{1, 28, 28}));
  EXPECT_EQ(ResolveInputShape(spec, Shape{3, 32, 32}).status().message(),
            "model.input_shape: [1, 28, 28] holds 784 values per example, but the data's examples "
            "are [3, 32, 32] (3072 values): give a shape with the same number of values, or leave "
            "input_shape out to use the data's");
  EXPECT_EQ(*ResolveInputShape(SpecFromJson(kRegressionSpec), Shape{5}), (Shape{5}));
}

TEST(MakeKMeansOptions, CopiesTheSpecAndSeed) {
  v1::JobSpec spec = SpecFromJson(kKMeansSpec);
  spec.set_seed(99);
  spec.mutable_model()->mutable_kmeans()->set_tol(0);
  const KMeansOptions o = MakeKMeansOptions(spec);
  EXPECT_EQ(o.k, 3);
  EXPECT_EQ(o.n_init, KMeansOptions().n_init);
  EXPECT_EQ(o.max_iter, KMeansOptions().max_iter);
  EXPECT_EQ(o.tol, 0.0);
  EXPECT_EQ(o.seed, 99u);
}

}  // namespace
}  // namespace hearth
