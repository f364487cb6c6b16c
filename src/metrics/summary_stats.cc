// Summaries of a list of scores.
#include <cmath>

#include "hearth/metrics.h"

namespace hearth {

MeanAndStd MeanAndPopulationStd(std::span<const double> values) {
  if (values.empty()) return {};
  const auto n = static_cast<double>(values.size());
  double sum = 0;
  for (double x : values) sum += x;
  const double mean = sum / n;
  double squares = 0;
  for (double x : values) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / n)};
}

}  // namespace hearth
