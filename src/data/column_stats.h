// Order statistics of a column for the cleaning steps, in linear time: numpy's percentiles by
// selection instead of a sort, and the most frequent value by counting.
#pragma once

#include <span>
#include <vector>

namespace hearth::data_internal {

// numpy.percentile(values, 100 * q) with linear interpolation for each q in `qs` (each in
// [0, 1]), exactly: the order statistics it interpolates are found by selection (nth_element),
// which reorders `values`. `values` holds no NaN; when it is empty every quantile is NaN.
std::vector<double> Quantiles(std::vector<float>& values, std::span<const double> qs);

// The value that occurs most often; among equally frequent ones the smallest, as scikit-learn's
// SimpleImputer(strategy="most_frequent"). -0.0 counts as 0.0. `values` is not empty, no NaN.
double MostFrequent(std::span<const float> values);

}  // namespace hearth::data_internal
