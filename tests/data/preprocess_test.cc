// Tests for preprocessing: each step's math against hand-computed and numpy values, fitting on
// training data only, the text form, and the checkpoint state round trip with its validation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/data_test_util.h"
#include "hearth/data/preprocess.h"

namespace hearth {
namespace {

Preprocessor Make(const std::string& spec) {
  auto pre = Preprocessor::Parse(spec);
  EXPECT_TRUE(pre.ok()) << pre.status();
  return pre.ok() ? *pre : Preprocessor();
}

void ExpectNear(const Tensor& t, const std::vector<float>& expected, float tolerance = 1e-6f) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(t.f32()[i], expected[i], tolerance) << "at " << i;
  }
}

// Five rows of three features; the expected values below come from numpy (float64 statistics
// cast to float32, population std, as scikit-learn's StandardScaler and MinMaxScaler compute).
const std::vector<float> kTrain = {0.3f,   -1.7f, 12.5f, 2.2f,  0.4f,  11.0f, -0.9f, 3.1f,
                                   13.25f, 1.6f,  -2.2f, 10.0f, 0.05f, 0.9f,  12.0f};

TEST(DataPreprocessTest, StandardizeHandComputed) {
  // Column 0: mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5. Column 1 is constant.
  Preprocessor pre = Make("standardize");
  auto y = pre.FitApply(Tensor::FromVector({1, 10, 2, 10, 3, 10, 6, 10}, Shape{4, 2}));
  ASSERT_TRUE(y.ok()) << y.status();
  const float s = std::sqrt(3.5f);
  ExpectNear(*y, {-2 / s, 0, -1 / s, 0, 0, 0, 3 / s, 0});
  const std::vector<NamedTensor> state = pre.State();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0].name, "preprocess.0.standardize.mean");
  EXPECT_EQ(state[1].name, "preprocess.0.standardize.std");
  ExpectNear(state[0].tensor, {3, 10});
  ExpectNear(state[1].tensor, {s, 1});  // a constant feature keeps std 1: no NaN or Inf
}

TEST(DataPreprocessTest, StandardizeMatchesNumpyAndFitsOnTrainOnly) {
  Preprocessor pre = Make("standardize");
  auto y = pre.FitApply(Tensor::FromVector(kTrain, Shape{5, 3}));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(pre.State()[0].tensor, {0.6500000357627869f, 0.09999995678663254f, 11.75f});
  ExpectNear(pre.State()[1].tensor, {1.112654447555542f, 1.9110206365585327f, 1.140175461769104f});
  ExpectNear(*y,
             {-0.3145630955696106f, -0.9419050216674805f, 0.6577935218811035f, 1.3930649757385254f,
              0.15698419511318207f, -0.6577935218811035f, -1.3930649757385254f, 1.569841742515564f,
              1.315587043762207f, 0.8538140654563904f, -1.203545331954956f, -1.5348514318466187f,
              -0.5392510294914246f, 0.41862449049949646f, 0.21926449239253998f},
             1e-5f);
  // Test data is transformed with the training statistics, not its own.
  auto test = pre.Apply(Tensor::FromVector({1.0f, 0.0f, 11.5f}, Shape{1, 3}));
  ASSERT_TRUE(test.ok()) << test.status();
  ExpectNear(*test, {0.3145630359649658f, -0.05232803523540497f, -0.21926449239253998f}, 1e-5f);
}

TEST(DataPreprocessTest, StandardizeConstantColumnWithRoundingNoise) {
  // 0.1f does not sum exactly in double; the near-zero variance must still count as zero.
  Preprocessor pre = Make("standardize");
  auto y =
      pre.FitApply(Tensor::FromVector({0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f}, Shape{7, 1}));
  ASSERT_TRUE(y.ok()) << y.status();
  for (float v : y->ToVector()) EXPECT_EQ(v, 0.0f);
}

TEST(DataPreprocessTest, StandardizeKeepsImageShape) {
  Preprocessor pre = Make("standardize");
  auto y = pre.FitApply(Tensor::FromVector({0, 2, 4, 6, 2, 2, 4, 10}, Shape{2, 2, 2}));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(pre.State()[0].tensor.shape(), (Shape{2, 2}));
  ExpectNear(*y, {-1, 0, 0, -1, 1, 0, 0, 1});
  auto wrong = pre.Apply(Tensor::Zeros(Shape{1, 4}));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(std::string(wrong.status().message()),
            "preprocess step 0 (standardize): features have shape [*, 4] but the statistics were "
            "fitted on [*, 2, 2]");
}

TEST(DataPreprocessTest, MinMax) {
  Preprocessor pre = Make("minmax");
  auto y = pre.FitApply(Tensor::FromVector({1, -1, 3, -1, 5, -1}, Shape{3, 2}));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, {0, 0, 0.5f, 0, 1, 0});  // the constant column becomes 0
  auto test = pre.Apply(Tensor::FromVector({7, 0}, Shape{1, 2}));
  ASSERT_TRUE(test.ok()) << test.status();
  ExpectNear(*test, {1.5f, 1});  // outside the training range: not clipped

  Preprocessor numpy = Make("minmax");
  y = numpy.FitApply(Tensor::FromVector(kTrain, Shape{5, 3}));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, {0.3870967924594879f, 0.09433961659669876f, 0.7692307829856873f, 1.0f,
                  0.49056604504585266f, 0.3076923191547394f, 0.0f, 1.0f, 1.0f, 0.8064516186714172f,
                  0.0f, 0.0f, 0.30645161867141724f, 0.5849056243896484f, 0.6153846383094788f});
}

TEST(DataPreprocessTest, ScaleNeedsNoFit) {
  Preprocessor pre = Make("scale(1/255)");
  EXPECT_TRUE(pre.fitted());
  auto y = pre.Apply(Tensor::FromVector({0, 51, 255}, Shape{3}));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, {0, 0.2f, 1});
  EXPECT_TRUE(pre.State().empty());
}

TEST(DataPreprocessTest, OneHot) {
  // Columns 0 and 2 are categorical: {0, 1} and {0, 2}; column 1 passes through.
  Preprocessor pre = Make("onehot(2, 0)");
  auto y = pre.FitApply(Tensor::FromVector({0, 5.5f, 2, 1, 6.5f, 0, 0, 7.5f, 2}, Shape{3, 3}));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), (Shape{3, 5}));
  ExpectNear(*y, {1, 0, 5.5f, 0, 1,  //
                  0, 1, 6.5f, 1, 0,  //
                  1, 0, 7.5f, 0, 1});
  const std::vector<NamedTensor> state = pre.State();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0].name, "preprocess.0.onehot.counts");
  EXPECT_EQ(std::vector<int64_t>(state[0].tensor.i64(), state[0].tensor.i64() + 2),
            (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(std::vector<int64_t>(state[1].tensor.i64(), state[1].tensor.i64() + 4),
            (std::vector<int64_t>{0, 2, 0, 1}));

  // A category training never saw (1 in column 2; -1, an unknown text) sets none of its columns.
  auto unseen = pre.Apply(Tensor::FromVector({1, 0, 1, -1, 6, 0}, Shape{2, 3}));
  ASSERT_TRUE(unseen.ok()) << unseen.status();
  EXPECT_EQ(unseen->ToVector(), (std::vector<float>{0, 1, 0, 0, 0,  //
                                                    0, 0, 6, 1, 0}));

  Preprocessor bad = Make("onehot(0)");
  auto fractional = bad.FitApply(Tensor::FromVector({1, 1.5f}, Shape{2, 1}));
  ASSERT_FALSE(fractional.ok());
  EXPECT_TRUE(data_testing::Contains(fractional.status().message(),
                                     "column 0, row 1: expected an integer category, got 1.5"));
  auto out_of_range = Make("onehot(3)").FitApply(Tensor::Zeros(Shape{2, 3}));
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_TRUE(data_testing::Contains(out_of_range.status().message(),
                                     "column 3 is out of range for 3 features"));
}

TEST(DataPreprocessTest, StepsFitOnThePreviousStepsOutput) {
  Preprocessor pre = Make("onehot(0), scale(2), standardize");
  auto y = pre.FitApply(Tensor::FromVector({0, 1, 1, 3}, Shape{2, 2}));
  ASSERT_TRUE(y.ok()) << y.status();
  // After onehot: [[1,0,1],[0,1,3]]; after scale: [[2,0,2],[0,2,6]]; standardized: +-1.
  ExpectNear(*y, {1, -1, -1, -1, 1, 1});
  ExpectNear(pre.State()[2].tensor, {1, 1, 4});
  EXPECT_EQ(pre.State()[2].name, "preprocess.2.standardize.mean");
}

TEST(DataPreprocessTest, ApplyInPlaceMatchesApplyAndReusesTheInput) {
  struct Case {
    const char* spec;
    std::vector<float> rows;  // of 2 columns
    bool keeps_shape;
  };
  const std::vector<float> codes = {0, 1.5f, 1, -2, 3, 0.25f};
  for (const Case& c : {Case{"standardize", kTrain, true}, Case{"minmax, scale(2)", kTrain, true},
                        Case{"onehot(0), scale(2)", codes, false}}) {
    SCOPED_TRACE(c.spec);
    const Shape shape{static_cast<int64_t>(c.rows.size()) / 3, 3};
    Preprocessor pre = Make(c.spec);
    ASSERT_TRUE(pre.Fit(Tensor::FromVector(c.rows, shape)).ok());
    const Tensor copied = pre.Apply(Tensor::FromVector(c.rows, shape)).value();
    const Tensor input = Tensor::FromVector(c.rows, shape);
    const Tensor overwritten = pre.ApplyInPlace(input).value();
    ASSERT_EQ(overwritten.shape(), copied.shape());
    for (int64_t i = 0; i < copied.numel(); ++i)
      EXPECT_EQ(overwritten.f32()[i], copied.f32()[i]) << "at " << i;
    // A first step that keeps the shape writes into the input's memory instead of a copy.
    EXPECT_EQ(overwritten.storage() == input.storage(), c.keeps_shape);
  }
  // Apply leaves its input alone.
  Preprocessor pre = Make("scale(2)");
  const Tensor input = Tensor::FromVector({1, 2}, Shape{1, 2});
  ASSERT_TRUE(pre.Apply(input).ok());
  ExpectNear(input, {1, 2});
}

TEST(DataPreprocessTest, StateRoundTrip) {
  Preprocessor pre = Make("onehot(1), scale(0.1), standardize, minmax");
  const Tensor train = Tensor::FromVector({1, 0, 3, 2, 1, 4, 0, 0, 9}, Shape{3, 3});
  ASSERT_TRUE(pre.Fit(train).ok());
  const std::string description = pre.Description();
  EXPECT_EQ(description, "onehot(1),scale(0.100000001),standardize,minmax");

  // A checkpoint holds other tensors too; they are ignored.
  std::vector<NamedTensor> checkpoint = pre.State();
  checkpoint.push_back({"model.dense.weight", Tensor::Zeros(Shape{2, 2})});
  auto restored = Preprocessor::FromState(description, checkpoint);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(restored->fitted());
  const Tensor test = Tensor::FromVector({5, 1, -2, 0, 0, 7}, Shape{2, 3});
  auto a = pre.Apply(test);
  auto b = restored->Apply(test);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->ToVector(), b->ToVector());
  EXPECT_EQ(restored->Description(), description);

  // Exported and imported statistics are copies: changing them changes neither pipeline.
  checkpoint[0].tensor.i64()[0] = 99;
  for (const Preprocessor* p : {&pre, &*restored}) {
    auto c = p->Apply(test);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->ToVector(), a->ToVector());
  }
}

TEST(DataPreprocessTest, FromStateValidates) {
  Preprocessor pre = Make("standardize");
  ASSERT_TRUE(pre.Fit(Tensor::FromVector({1, 2, 3, 5}, Shape{2, 2})).ok());
  const std::vector<NamedTensor> good = pre.State();

  auto missing = Preprocessor::FromState("standardize", {good[0]});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(data_testing::Contains(
      missing.status().message(), "missing preprocessing statistic preprocess.0.standardize.std"));

  std::vector<NamedTensor> extra = good;
  extra.push_back({"preprocess.1.minmax.min", Tensor::Zeros(Shape{2})});
  auto unexpected = Preprocessor::FromState("standardize", extra);
  ASSERT_FALSE(unexpected.ok());
  EXPECT_TRUE(data_testing::Contains(unexpected.status().message(),
                                     "unexpected preprocessing statistic preprocess.1.minmax.min"));

  std::vector<NamedTensor> zero_std = {good[0], {good[1].name, Tensor::Zeros(Shape{2})}};
  auto bad_std = Preprocessor::FromState("standardize", zero_std);
  ASSERT_FALSE(bad_std.ok());
  EXPECT_TRUE(
      data_testing::Contains(bad_std.status().message(),
                             "preprocess.0.standardize.std[0] is 0; expected a finite positive"));

  std::vector<NamedTensor> bad_shape = {good[0], {good[1].name, Tensor::Ones(Shape{3})}};
  EXPECT_FALSE(Preprocessor::FromState("standardize", bad_shape).ok());
  std::vector<NamedTensor> bad_dtype = {good[0],
                                        {good[1].name, Tensor::FromInt64({1, 1}, Shape{2})}};
  EXPECT_FALSE(Preprocessor::FromState("standardize", bad_dtype).ok());
  EXPECT_FALSE(Preprocessor::FromState("standardise", good).ok());

  auto counts = Tensor::FromInt64({2}, Shape{1});
  auto unsorted = Tensor::FromInt64({3, 1}, Shape{2});
  auto bad_onehot = Preprocessor::FromState(
      "onehot(0)",
      {{"preprocess.0.onehot.counts", counts}, {"preprocess.0.onehot.categories", unsorted}});
  ASSERT_FALSE(bad_onehot.ok());
  EXPECT_TRUE(data_testing::Contains(bad_onehot.status().message(), "strictly increasing"));

  auto empty = Preprocessor::FromState("", {});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
}

TEST(DataPreprocessTest, ApplyBeforeFit) {
  Preprocessor pre = Make("minmax");
  EXPECT_FALSE(pre.fitted());
  auto y = pre.Apply(Tensor::Zeros(Shape{1, 2}));
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(pre.State().empty());
}

TEST(DataPreprocessTest, FitErrorsLeaveThePreviousFit) {
  Preprocessor pre = Make("standardize");
  ASSERT_TRUE(pre.Fit(Tensor::FromVector({1, 3}, Shape{2, 1})).ok());
  EXPECT_FALSE(pre.Fit(Tensor::FromVector({1, NAN}, Shape{2, 1})).ok());
  EXPECT_FALSE(pre.Fit(Tensor::Zeros(Shape{0, 1})).ok());
  EXPECT_FALSE(pre.Fit(Tensor::FromInt64({1, 2}, Shape{2})).ok());
  ExpectNear(pre.State()[0].tensor, {2});
}

TEST(DataPreprocessTest, ParseAndCreateErrors) {
  EXPECT_EQ(std::string(Preprocessor::Parse("scale(2), whiten").status().message()),
            "preprocessing spec \"scale(2), whiten\": unknown step \"whiten\"; expected "
            "standardize, minmax, scale(factor), onehot(column, ...), impute(strategy, ...), "
            "robust_scale, clip(lower, upper), log1p, drop_constant or ordinal(column, ...)");
  EXPECT_FALSE(Preprocessor::Parse("scale").ok());
  EXPECT_FALSE(Preprocessor::Parse("scale(abc)").ok());
  EXPECT_FALSE(Preprocessor::Parse("scale(1/0)").ok());
  EXPECT_FALSE(Preprocessor::Parse("scale(0)").ok());
  EXPECT_FALSE(Preprocessor::Parse("standardize(3)").ok());
  EXPECT_FALSE(Preprocessor::Parse("onehot()").ok());
  EXPECT_FALSE(Preprocessor::Parse("onehot(1, 1)").ok());
  EXPECT_FALSE(Preprocessor::Parse("onehot(-1)").ok());
  EXPECT_FALSE(Preprocessor::Parse("standardize,,minmax").ok());
  EXPECT_FALSE(Preprocessor::Create({PreprocessStep::Scale(INFINITY)}).ok());
  auto ok = Preprocessor::Create({PreprocessStep::OneHot({3, 1}), PreprocessStep::MinMax()});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->Description(), "onehot(3,1),minmax");
  EXPECT_TRUE(Preprocessor::Parse("  ").ok());
}

TEST(DataPreprocessTest, DescriptionReadsBackExactly) {
  for (float factor : {1.0f / 255.0f, 0.1f, 3.0f, 1e-7f, 123456.789f}) {
    auto pre = Preprocessor::Create({PreprocessStep::Scale(factor)});
    ASSERT_TRUE(pre.ok());
    auto back = Preprocessor::Parse(pre->Description());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->steps()[0].factor, factor) << pre->Description();
  }
}

TEST(DataPreprocessTest, EmptyPipelinePassesThrough) {
  Preprocessor pre;
  const Tensor x = Tensor::FromVector({1, 2});
  auto y = pre.Apply(x);
  ASSERT_TRUE(y.ok());
  EXPECT_TRUE(y->SameAs(x));
  EXPECT_EQ(pre.Description(), "");
}

}  // namespace
}  // namespace hearth
