// Percentiles by selection and the mode by counting give exactly what a sort gives: numpy's
// linear-interpolated percentile and scikit-learn's most frequent value (smallest among ties).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "data/column_stats.h"

namespace hearth::data_internal {
namespace {

// numpy.percentile(sorted, 100 * q), from a sorted copy.
double SortedPercentile(std::vector<float> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double t = pos - static_cast<double>(lo);
  const double a = v[lo], b = v[hi];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

TEST(ColumnStatsTest, QuantilesEqualTheSortedPercentilesOnTiesAndAllSizes) {
  std::mt19937 rng(3);
  const std::vector<double> qs = {0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0};
  for (size_t n : {1u, 2u, 3u, 7u, 100u, 1001u}) {
    for (int distinct : {2, 5, 1000}) {
      std::vector<float> values(n);
      std::uniform_int_distribution<int> pick(0, distinct - 1);
      for (float& v : values) v = static_cast<float>(pick(rng)) * 0.37f - 3.0f;
      std::vector<float> work = values;
      const std::vector<double> got = Quantiles(work, qs);
      for (size_t k = 0; k < qs.size(); ++k)
        EXPECT_EQ(got[k], SortedPercentile(values, qs[k]))
            << "n " << n << ", " << distinct << " distinct, q " << qs[k];
    }
  }
}

TEST(ColumnStatsTest, NumpysFiguresOnASmallColumn) {
  // numpy.percentile([7, 1, 3, 9, 5], [25, 50, 90]) = [3, 5, 8.2]
  std::vector<float> values = {7, 1, 3, 9, 5};
  const std::vector<double> got = Quantiles(values, std::vector<double>{0.25, 0.5, 0.9});
  EXPECT_EQ(got[0], 3.0);
  EXPECT_EQ(got[1], 5.0);
  EXPECT_NEAR(got[2], 8.2, 1e-12);
  std::vector<float> none;
  EXPECT_TRUE(std::isnan(Quantiles(none, std::vector<double>{0.5})[0]));
}

TEST(ColumnStatsTest, MostFrequentTakesTheSmallestAmongTies) {
  EXPECT_EQ(MostFrequent(std::vector<float>{3, 1, 3, 2, 1}), 1.0);  // 1 and 3 twice: 1
  EXPECT_EQ(MostFrequent(std::vector<float>{5}), 5.0);
  EXPECT_EQ(MostFrequent(std::vector<float>{-0.0f, 0.0f, 4, 4}), 0.0);  // -0 and 0 are one value
  EXPECT_EQ(MostFrequent(std::vector<float>{-2, 7, 7, -2, 7}), 7.0);
}

}  // namespace
}  // namespace hearth::data_internal
