// Tests for fitting preprocessing on a training set split into parts (Preprocessor::FitPart), as
// the ranks of a data-parallel job do: threads stand in for ranks, with a FitReducer that meets
// at a barrier. The merged statistics must be bit for bit those of Fit on all rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "data/data_test_util.h"
#include "hearth/data/preprocess.h"
#include "hearth/sampler.h"

namespace hearth {
namespace {

using data_testing::Contains;

// What the parts of one fit share: each call deposits its part's values, waits for the others,
// combines all parts in part order, and waits again before the slots are reused.
struct Meeting {
  explicit Meeting(int parts)
      : parts(parts), sync(parts), doubles(parts), floats(parts), sets(parts), statuses(parts) {}
  int parts;
  std::barrier<> sync;
  std::vector<std::vector<double>> doubles;
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<int64_t>> sets;
  std::vector<Status> statuses;
};

class ThreadReducer final : public FitReducer {
 public:
  ThreadReducer(Meeting& meeting, int part) : m_(meeting), part_(part) {}

  Status Agree(const Status& local) override {
    m_.statuses[part_] = local;
    m_.sync.arrive_and_wait();
    Status first = absl::OkStatus();
    for (const Status& s : m_.statuses) {
      if (!s.ok()) {
        first = s;
        break;
      }
    }
    m_.sync.arrive_and_wait();
    return first;
  }
  Status Sum(std::span<double> values) override {
    return Combine(m_.doubles, values, [](double a, double b) { return a + b; });
  }
  Status Min(std::span<float> values) override {
    return Combine(m_.floats, values, [](float a, float b) { return std::min(a, b); });
  }
  Status Max(std::span<float> values) override {
    return Combine(m_.floats, values, [](float a, float b) { return std::max(a, b); });
  }
  StatusOr<std::vector<int64_t>> Union(std::span<const int64_t> values) override {
    m_.sets[part_].assign(values.begin(), values.end());
    m_.sync.arrive_and_wait();
    std::vector<int64_t> all;
    for (const auto& set : m_.sets) all.insert(all.end(), set.begin(), set.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    m_.sync.arrive_and_wait();
    return all;
  }
  StatusOr<std::vector<std::vector<double>>> Gather(std::span<const double> values) override {
    m_.doubles[part_].assign(values.begin(), values.end());
    m_.sync.arrive_and_wait();
    std::vector<std::vector<double>> all = m_.doubles;
    m_.sync.arrive_and_wait();
    return all;
  }

 private:
  template <typename T, typename Op>
  Status Combine(std::vector<std::vector<T>>& slots, std::span<T> values, Op op) {
    slots[part_].assign(values.begin(), values.end());
    m_.sync.arrive_and_wait();
    for (size_t i = 0; i < values.size(); ++i) {
      T acc = slots[0][i];
      for (int p = 1; p < m_.parts; ++p) acc = op(acc, slots[p][i]);
      values[i] = acc;
    }
    m_.sync.arrive_and_wait();
    return absl::OkStatus();
  }

  Meeting& m_;
  int part_;
};

// 1000 rows of 5 features: a large offset with small spread, a constant, an integer category 0..4,
// a plain one, and one where a large value B, a small one and -B follow each other (B varying):
// its double sums round differently in every order, visibly in float32, so a fit that combined
// per-part sums naively would not match. Seeded, so reproducible.
Tensor TrainingRows(int64_t n = 1000) {
  std::vector<float> v;
  uint64_t state = 99;
  auto uniform = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  float big = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 3 == 0) big = static_cast<float>(1e8 + 1e9 * uniform());
    v.push_back(static_cast<float>(1e4 + uniform()));
    v.push_back(3.7f);
    v.push_back(static_cast<float>(static_cast<int>(uniform() * 5)));
    v.push_back(static_cast<float>(uniform() * 2 - 1));
    const bool paired = i % 3 == 0 && i + 2 < n;  // its -B follows within the set
    v.push_back(paired ? big : i % 3 == 2 ? -big : static_cast<float>(1e-3 * uniform()));
  }
  return Tensor::FromVector(v, Shape{n, 5});
}

// Fits `spec` on `x` split into `parts` parts, one thread each; returns every part's pipeline
// (or its error).
std::vector<StatusOr<Preprocessor>> FitInParts(const std::string& spec, const Tensor& x,
                                               int parts) {
  Meeting meeting(parts);
  std::vector<StatusOr<Preprocessor>> out(parts, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int p = 0; p < parts; ++p) {
    threads.emplace_back([&, p] {
      StatusOr<Preprocessor> pre = Preprocessor::Parse(spec);
      if (!pre.ok()) {
        out[p] = pre.status();
        return;
      }
      const RowRange mine = Preprocessor::FitPartRows(x.dim(0), p, parts);
      std::vector<int64_t> rows(static_cast<size_t>(mine.count));
      for (int64_t i = 0; i < mine.count; ++i) rows[i] = mine.begin + i;
      ThreadReducer reducer(meeting, p);
      Status fitted = pre->FitPart(*GatherRows(x, rows), x.dim(0), p, parts, reducer);
      out[p] = fitted.ok() ? StatusOr<Preprocessor>(*pre) : StatusOr<Preprocessor>(fitted);
    });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

::testing::AssertionResult SameState(const Preprocessor& a, const Preprocessor& b) {
  const std::vector<NamedTensor> x = a.State(), y = b.State();
  if (x.size() != y.size()) return ::testing::AssertionFailure() << "different statistics";
  for (size_t i = 0; i < x.size(); ++i) {
    const Tensor& s = x[i].tensor;
    const Tensor& t = y[i].tensor;
    if (x[i].name != y[i].name || s.shape() != t.shape() || s.dtype() != t.dtype() ||
        std::memcmp(s.raw(), t.raw(), s.numel() * DTypeSize(s.dtype())) != 0)
      return ::testing::AssertionFailure() << x[i].name << " differs";
  }
  return ::testing::AssertionSuccess();
}

TEST(DataPreprocessPartsTest, PartsCoverEveryRowOnceInWholeBlocks) {
  for (int64_t n : {1, 5, 63, 64, 65, 240, 1000, 60000}) {
    for (int parts : {1, 2, 3, 7, 64, 100}) {
      int64_t next = 0;
      for (int p = 0; p < parts; ++p) {
        const RowRange r = Preprocessor::FitPartRows(n, p, parts);
        EXPECT_EQ(r.begin, next) << n << " rows, part " << p << " of " << parts;
        EXPECT_GE(r.count, 0);
        next = r.begin + r.count;
      }
      EXPECT_EQ(next, n) << n << " rows in " << parts << " parts";
    }
  }
  // Big sets are shared evenly: 60000 rows in 3 parts of about 20000.
  EXPECT_NEAR(static_cast<double>(Preprocessor::FitPartRows(60000, 1, 3).count), 20000, 1000);
}

TEST(DataPreprocessPartsTest, MergedFitIsBitIdenticalToFitOnAllRows) {
  for (const std::string spec :
       {"standardize", "minmax", "scale(0.5), standardize, minmax", "onehot(2), standardize",
        "scale(2)", "impute(mean, indicator), impute(median)", "robust_scale, clip(0.05, 0.95)",
        "impute(most_frequent), drop_constant, clip(0, 1)",
        "onehot(min_frequency=205, 2), standardize"}) {
    // The impute steps fit on rows with gaps: features 0 and 3 missing in every 7th row.
    Tensor x = TrainingRows();
    if (spec.rfind("impute", 0) == 0)
      for (int64_t r = 0; r < x.dim(0); r += 7) x.f32()[r * 5] = x.f32()[r * 5 + 3] = NAN;
    Preprocessor whole = *Preprocessor::Parse(spec);
    ASSERT_TRUE(whole.Fit(x).ok()) << spec;
    // 70 parts: more than there are blocks, so some parts hold no rows at all.
    for (int parts : {1, 2, 3, 5, 70}) {
      std::vector<StatusOr<Preprocessor>> fitted = FitInParts(spec, x, parts);
      for (int p = 0; p < parts; ++p) {
        ASSERT_TRUE(fitted[p].ok()) << spec << ", part " << p << ": " << fitted[p].status();
        EXPECT_TRUE(SameState(*fitted[p], whole)) << spec << ", part " << p << " of " << parts;
      }
    }
  }
}

TEST(DataPreprocessPartsTest, StandardizeStaysAccurateOnLargeOffsets) {
  // Column 0 is 1e4 + U(0, 1): its std is 1/sqrt(12) whatever the offset.
  Preprocessor pre = *Preprocessor::Parse("standardize");
  ASSERT_TRUE(pre.Fit(TrainingRows(20000)).ok());
  const Tensor std = pre.State()[1].tensor;
  EXPECT_NEAR(std.f32()[0], 1 / std::sqrt(12.0), 0.01);
  EXPECT_EQ(std.f32()[1], 1.0f);  // the constant column
}

TEST(DataPreprocessPartsTest, AnErrorOnOnePartIsReturnedOnEveryPart) {
  Tensor x = TrainingRows();
  x.f32()[700 * 5 + 3] = std::numeric_limits<float>::quiet_NaN();
  std::vector<StatusOr<Preprocessor>> fitted = FitInParts("scale(2), standardize", x, 3);
  for (int p = 0; p < 3; ++p) {
    ASSERT_FALSE(fitted[p].ok()) << "part " << p;
    EXPECT_TRUE(Contains(fitted[p].status().message(), "row 700, feature 3 is missing"))
        << fitted[p].status();
  }
  Tensor categories = TrainingRows();
  categories.f32()[10 * 5 + 2] = 1.5f;
  for (const auto& part : FitInParts("onehot(2)", categories, 2)) {
    ASSERT_FALSE(part.ok());
    EXPECT_TRUE(Contains(part.status().message(), "column 2, row 10: expected an integer"))
        << part.status();
  }
}

TEST(DataPreprocessPartsTest, FitPartChecksItsRows) {
  Preprocessor pre = *Preprocessor::Parse("standardize");
  const Tensor x = TrainingRows(100);
  Status wrong = pre.FitPart(x, 1000, 0, 1, SinglePartReducer());
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(Contains(wrong.message(), "must fit on rows [0, 1000) of 1000, got 100 rows"));
  EXPECT_FALSE(pre.fitted());
  EXPECT_TRUE(
      Contains(pre.FitPart(Tensor::Empty(Shape{0, 5}), 0, 0, 1, SinglePartReducer()).message(),
               "cannot fit preprocessing on zero rows"));
  ASSERT_TRUE(pre.FitPart(x, 100, 0, 1, SinglePartReducer()).ok());
  Preprocessor whole = *Preprocessor::Parse("standardize");
  ASSERT_TRUE(whole.Fit(x).ok());
  EXPECT_TRUE(SameState(pre, whole));
}

}  // namespace
}  // namespace hearth
