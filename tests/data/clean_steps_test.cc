// The steps for real-world data (impute, robust_scale, clip, log1p, drop_constant) against
// scikit-learn 1.2.1 / numpy on the same rows; the reference values were computed with
//   SimpleImputer(strategy=s, add_indicator=True).fit(X).statistics_ / .transform(X)
//   SimpleImputer(strategy="constant", fill_value=-1)
//   RobustScaler().fit(Y).center_ / .scale_, numpy.percentile(Y[:, j], q)
// and are stored here, so the suite needs no Python.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "data/data_test_util.h"
#include "hearth/data/preprocess.h"

namespace hearth {
namespace {

using data_testing::Contains;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// 8 rows, 3 features: two with missing values, one constant.
Tensor MessyRows() {
  return Tensor::FromVector({1.5f, kNaN, 7, 2.0f, 4, 7, kNaN, 4, 7, 3.25f, 1, 7,
                             2.0f, kNaN, 7, 10.f, 2, 7, 2.5f, 4, 7, kNaN,  9, 7},
                            Shape{8, 3});
}

std::vector<float> Row(const Tensor& t, int64_t r) {
  const int64_t w = t.dim(1);
  return std::vector<float>(t.f32() + r * w, t.f32() + (r + 1) * w);
}

TEST(CleanStepsTest, ImputeStrategiesMatchSimpleImputer) {
  struct Case {
    const char* spec;
    float fill0;  // the statistic of feature 0
  } cases[] = {{"impute(mean, indicator)", 3.5416666666666665f},
               {"impute(median, indicator)", 2.25f},
               {"impute(most_frequent, indicator)", 2.0f}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    StatusOr<Preprocessor> pre = Preprocessor::Parse(c.spec);
    ASSERT_TRUE(pre.ok()) << pre.status();
    StatusOr<Tensor> out = pre->FitApply(MessyRows());
    ASSERT_TRUE(out.ok()) << out.status();
    // Two indicators, for the two features that had missing values, after the three features.
    ASSERT_EQ(out->shape(), Shape({8, 5}));
    EXPECT_EQ(Row(*out, 0), (std::vector<float>{1.5f, 4, 7, 0, 1}));
    EXPECT_EQ(Row(*out, 2), (std::vector<float>{c.fill0, 4, 7, 1, 0}));
    // The text form reads back to the same pipeline.
    StatusOr<Preprocessor> again = Preprocessor::FromState(pre->Description(), pre->State());
    ASSERT_TRUE(again.ok()) << again.status();
    StatusOr<Tensor> reapplied = again->Apply(MessyRows());
    ASSERT_TRUE(reapplied.ok());
    EXPECT_EQ(Row(*reapplied, 2), Row(*out, 2));
  }
  StatusOr<Preprocessor> constant = Preprocessor::Parse("impute(constant=-1)");
  ASSERT_TRUE(constant.ok());
  StatusOr<Tensor> out = constant->FitApply(MessyRows());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Row(*out, 0), (std::vector<float>{1.5f, -1, 7}));
  EXPECT_EQ(constant->Description(), "impute(constant=-1)");
}

TEST(CleanStepsTest, ImputeOnlyTheListedColumnsAndSayWhichOneIsNot) {
  // Feature 1's gaps pass the step that fills only feature 0, and the next step names them.
  StatusOr<Preprocessor> pre = Preprocessor::Parse("impute(median, 0), standardize");
  ASSERT_TRUE(pre.ok());
  const Status fitted = pre->Fit(MessyRows());
  EXPECT_EQ(fitted.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(fitted.message(),
                       "preprocess step 1 (standardize): row 0, feature 1 is "
                       "missing; fill it with an impute step before this one"))
      << fitted;
  // Two impute steps, each for its own columns, fill them all.
  EXPECT_TRUE(Preprocessor::Parse("impute(median, 0), impute(constant=0, 1), standardize")
                  ->Fit(MessyRows())
                  .ok());
  // Listing both fills both; the raw columns that may be missing are exactly those.
  StatusOr<Preprocessor> both = Preprocessor::Parse("impute(median, 0, 1), standardize");
  ASSERT_TRUE(both.ok());
  ASSERT_TRUE(both->Fit(MessyRows()).ok());
  EXPECT_TRUE(both->AcceptsMissing(0));
  EXPECT_TRUE(both->AcceptsMissing(1));
  EXPECT_FALSE(both->AcceptsMissing(2));
  EXPECT_FALSE(Preprocessor::Parse("standardize, impute(mean)")->AcceptsMissing(0));
  EXPECT_TRUE(Preprocessor::Parse("scale(2), impute(mean)")->AcceptsMissing(5));
  EXPECT_FALSE(Preprocessor::Parse("impute(mean, 1), onehot(0), impute(mean)")->AcceptsMissing(0));
  // A later step that is not imputed first names the cure.
  const Status unfilled = Preprocessor::Parse("standardize")->Fit(MessyRows());
  EXPECT_TRUE(Contains(unfilled.message(), "fill it with an impute step")) << unfilled;
}

TEST(CleanStepsTest, AColumnWithNoValuesCannotTakeAStatistic) {
  const Tensor x = Tensor::FromVector({kNaN, 1, kNaN, 2}, Shape{2, 2});
  const Status s = Preprocessor::Parse("impute(mean)")->Fit(x);
  EXPECT_TRUE(Contains(s.message(), "feature 0 has no values")) << s;
  EXPECT_TRUE(Preprocessor::Parse("impute(constant=0)")->Fit(x).ok());
}

const Tensor kY =
    Tensor::FromVector({1, 10, 2, 30, 3, 20, 4, 100, 5, 50, 6, 40, 7, 60}, Shape{7, 2});

TEST(CleanStepsTest, RobustScaleMatchesRobustScaler) {
  StatusOr<Preprocessor> pre = Preprocessor::Parse("robust_scale");
  ASSERT_TRUE(pre.ok());
  StatusOr<Tensor> out = pre->FitApply(kY);
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<NamedTensor> state = pre->State();
  EXPECT_EQ(state[0].name, "preprocess.0.robust_scale.center");
  EXPECT_EQ(std::vector<float>(state[0].tensor.f32(), state[0].tensor.f32() + 2),
            (std::vector<float>{4, 40}));
  EXPECT_EQ(std::vector<float>(state[1].tensor.f32(), state[1].tensor.f32() + 2),
            (std::vector<float>{3, 30}));
  EXPECT_EQ(Row(*out, 3), (std::vector<float>{0, 2}));
}

TEST(CleanStepsTest, ClipToTrainingQuantilesAsNumpyPercentile) {
  StatusOr<Preprocessor> pre = Preprocessor::Parse("clip(0.1, 0.9)");
  ASSERT_TRUE(pre.ok()) << pre.status();
  ASSERT_TRUE(pre->Fit(kY).ok());
  const std::vector<NamedTensor> state = pre->State();
  EXPECT_FLOAT_EQ(state[0].tensor.f32()[0], 1.6f);
  EXPECT_FLOAT_EQ(state[0].tensor.f32()[1], 16.0f);
  EXPECT_FLOAT_EQ(state[1].tensor.f32()[0], 6.4f);
  EXPECT_FLOAT_EQ(state[1].tensor.f32()[1], 76.0f);
  // An outlier in other data stays within what training saw.
  StatusOr<Tensor> out = pre->Apply(Tensor::FromVector({-50, 1e6f}, Shape{1, 2}));
  ASSERT_TRUE(out.ok());
  EXPECT_FLOAT_EQ(out->f32()[0], 1.6f);
  EXPECT_FLOAT_EQ(out->f32()[1], 76.0f);
  EXPECT_FALSE(Preprocessor::Parse("clip(0.9, 0.1)").ok());
  EXPECT_FALSE(Preprocessor::Parse("clip(0.5)").ok());
}

TEST(CleanStepsTest, Log1pAndDropConstant) {
  StatusOr<Preprocessor> pre = Preprocessor::Parse("log1p, drop_constant");
  ASSERT_TRUE(pre.ok());
  const Tensor x = Tensor::FromVector({0, 5, 3, 5, std::exp(2.0f) - 1, 5}, Shape{3, 2});
  StatusOr<Tensor> out = pre->FitApply(x);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), Shape({3, 1}));  // the constant 5s are gone
  EXPECT_NEAR(out->f32()[1], std::log(4.0f), 1e-6);
  EXPECT_NEAR(out->f32()[2], 2.0f, 1e-6);
  const StatusOr<Tensor> negative = pre->Apply(Tensor::FromVector({-2, 5}, Shape{1, 2}));
  EXPECT_TRUE(Contains(negative.status().message(), "log1p needs values above -1"))
      << negative.status();
  const Status all_constant =
      Preprocessor::Parse("drop_constant")->Fit(Tensor::FromVector({1, 2, 1, 2}, Shape{2, 2}));
  EXPECT_TRUE(Contains(all_constant.message(), "all 2 features are constant")) << all_constant;
}

TEST(CleanStepsTest, OneHotPoolsRareCategoriesAndSendsUnknownOnesThere) {
  // Category 7 is seen once: below min_frequency 2 it shares the "infrequent" column (first),
  // which also takes a category training never saw (scikit-learn's min_frequency with
  // handle_unknown="infrequent_if_exist", whose infrequent column comes last instead).
  StatusOr<Preprocessor> pre = Preprocessor::Parse("onehot(min_frequency=2, 0)");
  ASSERT_TRUE(pre.ok()) << pre.status();
  EXPECT_EQ(pre->Description(), "onehot(min_frequency=2,0)");
  StatusOr<Tensor> out = pre->FitApply(Tensor::FromVector({1, 2, 1, 7, 2}, Shape{5, 1}));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), Shape({5, 3}));
  EXPECT_EQ(Row(*out, 0), (std::vector<float>{0, 1, 0}));
  EXPECT_EQ(Row(*out, 3), (std::vector<float>{1, 0, 0}));
  StatusOr<Tensor> unseen = pre->Apply(Tensor::FromVector({5, -1, 2}, Shape{3, 1}));
  ASSERT_TRUE(unseen.ok());
  EXPECT_EQ(unseen->ToVector(), (std::vector<float>{1, 0, 0, 1, 0, 0, 0, 0, 1}));
  StatusOr<Preprocessor> again = Preprocessor::FromState(pre->Description(), pre->State());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Apply(Tensor::FromVector({7}, Shape{1, 1}))->ToVector(),
            (std::vector<float>{1, 0, 0}));
  // Without pooling an unknown category sets no column.
  StatusOr<Preprocessor> plain = Preprocessor::Parse("onehot(0)");
  ASSERT_TRUE(plain->Fit(Tensor::FromVector({1, 2}, Shape{2, 1})).ok());
  EXPECT_EQ(plain->Apply(Tensor::FromVector({5}, Shape{1, 1}))->ToVector(),
            (std::vector<float>{0, 0}));
}

TEST(CleanStepsTest, OrdinalKeepsCodesAndMarksTextColumns) {
  StatusOr<Preprocessor> pre =
      Preprocessor::Parse("impute(most_frequent, 1), ordinal(1), onehot(2)");
  ASSERT_TRUE(pre.ok()) << pre.status();
  EXPECT_EQ(pre->Description(), "impute(most_frequent,1),ordinal(1),onehot(2)");
  // Text may be read where ordinal or one_hot takes it; ordinal keeps the columns in place.
  EXPECT_TRUE(pre->AcceptsCategories(1));
  EXPECT_TRUE(pre->AcceptsCategories(2));
  EXPECT_FALSE(pre->AcceptsCategories(0));
  StatusOr<Tensor> out = pre->FitApply(Tensor::FromVector({0.5f, 2, 0, 1, kNaN, 1}, Shape{2, 3}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->ToVector(), (std::vector<float>{0.5f, 2, 1, 0, 1, 2, 0, 1}));
  // An unknown text (-1) stays -1; a fractional code is refused.
  EXPECT_EQ(pre->Apply(Tensor::FromVector({0, -1, 0}, Shape{1, 3}))->ToVector(),
            (std::vector<float>{0, -1, 1, 0}));
  EXPECT_FALSE(
      Preprocessor::Parse("ordinal(0)")->Apply(Tensor::FromVector({0.5f}, Shape{1, 1})).ok());
}

// Clipping other columns before the one-hot step leaves the category column alone (hearth init
// writes impute, clip, one_hot, standardize); clipping it, or a step of every column, does not.
TEST(CleanStepsTest, ClipOfOtherColumnsMayPrecedeOneHot) {
  EXPECT_TRUE(Preprocessor::Parse("clip(0.01,0.99,0), onehot(1)")->AcceptsCategories(1));
  EXPECT_FALSE(Preprocessor::Parse("clip(0.01,0.99,1), onehot(1)")->AcceptsCategories(1));
  EXPECT_FALSE(Preprocessor::Parse("clip(0.01,0.99), onehot(1)")->AcceptsCategories(1));
  EXPECT_FALSE(Preprocessor::Parse("standardize, onehot(1)")->AcceptsCategories(1));
}

TEST(CleanStepsTest, CraftedStatisticsAreRefusedByName) {
  StatusOr<Preprocessor> pre = Preprocessor::Parse("impute(median, 0)");
  ASSERT_TRUE(pre.ok());
  ASSERT_TRUE(pre->Fit(Tensor::FromVector({1, 2, kNaN, 3}, Shape{2, 2})).ok());
  std::vector<NamedTensor> state = pre->State();
  state[0].tensor.f32()[0] = kNaN;  // an imputed column without a fill
  const StatusOr<Preprocessor> bad = Preprocessor::FromState(pre->Description(), state);
  EXPECT_TRUE(Contains(bad.status().message(), "preprocess.0.impute.fill[0]")) << bad.status();
  state = pre->State();
  state[1].tensor.f32()[1] = 1;  // an indicator for a column that is not imputed
  EXPECT_FALSE(Preprocessor::FromState(pre->Description(), state).ok());
}

}  // namespace
}  // namespace hearth
