// Finite-difference gradient checking (in the manner of flashlight's AutogradTestUtils.h).
//
// The function under test maps input tensors to any tensor; it is reduced to a scalar as
// sum(f(x) * R) with a fixed random R, which checks the whole vector-Jacobian product.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "hearth/autograd.h"
#include "hearth/ops.h"
#include "hearth/random.h"

namespace hearth::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

inline Tensor RandomTensor(const Shape& shape, Generator& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::Empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.Uniform(lo, hi);
  return t;
}

// Sum of f(inputs) weighted by `weights`, in double for accurate differences.
inline double WeightedOutput(const Fn& f, const std::vector<Tensor>& inputs,
                             const Tensor& weights) {
  NoGradGuard no_grad;
  Tensor out = f(inputs);
  double total = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i)
    total += static_cast<double>(out.f32()[i]) * weights.f32()[i];
  return total;
}

// Checks tape gradients of f against central differences for every element of every float input.
inline void ExpectGradientsMatch(const Fn& f, std::vector<Tensor> inputs, double eps = 1e-2,
                                 double tolerance = 2e-2) {
  Generator rng(1234);
  Tensor probe;
  {
    NoGradGuard no_grad;
    probe = f(inputs);
  }
  Tensor weights = RandomTensor(probe.shape(), rng, 0.5f, 1.5f);
  std::vector<Tensor> sources;
  for (Tensor& t : inputs)
    if (t.dtype() == DType::kFloat32) sources.push_back(t);

  std::vector<Tensor> analytic;
  {
    GradientTape tape;
    for (const Tensor& s : sources) tape.watch(s);
    Tensor out = f(inputs);
    Tensor loss = sum(mul(out, weights));
    analytic = tape.gradient(loss, sources);
  }
  for (size_t s = 0; s < sources.size(); ++s) {
    ASSERT_EQ(analytic[s].shape(), sources[s].shape()) << "source " << s;
    float* x = sources[s].f32();
    for (int64_t i = 0; i < sources[s].numel(); ++i) {
      const float saved = x[i];
      x[i] = saved + static_cast<float>(eps);
      const double plus = WeightedOutput(f, inputs, weights);
      x[i] = saved - static_cast<float>(eps);
      const double minus = WeightedOutput(f, inputs, weights);
      x[i] = saved;
      const double numeric = (plus - minus) / (2.0 * eps);
      const double got = analytic[s].f32()[i];
      EXPECT_NEAR(got, numeric, tolerance * std::max(1.0, std::fabs(numeric)))
          << "source " << s << " element " << i;
    }
  }
}

}  // namespace hearth::testing
