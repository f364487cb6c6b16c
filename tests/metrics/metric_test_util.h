// Helpers shared by the metric tests: building metrics, slicing batches, feeding them.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "hearth/metrics.h"

namespace hearth::testing_metrics {

inline std::unique_ptr<Metric> Make(const std::string& name, const MetricOptions& options = {}) {
  auto metric = MakeMetric(name, options);
  HEARTH_CHECK_MSG(metric.ok(), std::string(metric.status().message()));
  return std::move(*metric);
}

inline double Value(const Metric& metric) {
  auto v = metric.Compute();
  EXPECT_TRUE(v.ok()) << metric.name() << ": " << v.status();
  return v.ok() ? *v : NAN;
}

// Rows [begin, end) of `t` as a view (no copy).
inline Tensor Rows(const Tensor& t, int64_t begin, int64_t end) {
  Shape shape = t.shape();
  const int64_t row = t.numel() / shape[0];
  shape[0] = end - begin;
  return Tensor::View(t.storage(), t.impl()->offset + begin * row, shape, t.dtype());
}

// Feeds rows [begin, end) in batches of `batch`.
inline void Feed(Metric& metric, const Tensor& predictions, const Tensor& targets, int64_t begin,
                 int64_t end, int64_t batch) {
  for (int64_t b = begin; b < end; b += batch) {
    const int64_t e = std::min(end, b + batch);
    const Status s = metric.Update(Rows(predictions, b, e), Rows(targets, b, e));
    ASSERT_TRUE(s.ok()) << s;
  }
}

// Every metric property that must hold for any data: several batches give the same value as one,
// and merging the states of two halves gives the value over all of it.
inline void ExpectStreamsAndMerges(const std::string& name, const MetricOptions& options,
                                   const Tensor& predictions, const Tensor& targets,
                                   double tolerance = 1e-12) {
  SCOPED_TRACE(name);
  const int64_t n = predictions.dim(0);
  auto whole = Make(name, options);
  Feed(*whole, predictions, targets, 0, n, n);
  const double expected = Value(*whole);

  auto streamed = Make(name, options);
  Feed(*streamed, predictions, targets, 0, n, 3);
  EXPECT_NEAR(Value(*streamed), expected, tolerance);

  auto left = Make(name, options);
  auto right = Make(name, options);
  Feed(*left, predictions, targets, 0, n / 3, 2);
  Feed(*right, predictions, targets, n / 3, n, 5);
  ASSERT_TRUE(left->Merge(right->State()).ok());
  EXPECT_NEAR(Value(*left), expected, tolerance);

  // What distributed evaluation does: sum the states, load the sum into a fresh metric.
  if (whole->summable()) {
    auto a = Make(name, options);
    auto b = Make(name, options);
    Feed(*a, predictions, targets, 0, n / 2, 4);
    Feed(*b, predictions, targets, n / 2, n, 4);
    std::vector<double> sum = a->State();
    const std::vector<double> other = b->State();
    ASSERT_EQ(sum.size(), other.size());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += other[i];
    auto fresh = Make(name, options);
    ASSERT_TRUE(fresh->LoadState(sum).ok());
    EXPECT_NEAR(Value(*fresh), expected, tolerance);
  }
}

}  // namespace hearth::testing_metrics
