// Shared fixtures for the optimizer tests: the small parameter set and the deterministic gradient
// sequence that the PyTorch reference values (reference_test.cc) were computed on.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hearth/nn.h"
#include "hearth/optim.h"

namespace hearth::optim_test {

// Gradient of flat element j (numbered across tensors in order) at step t. Multiples of 1/4, so
// exact in float and the same in Python.
inline float GradValue(int64_t j, int64_t t) {
  return static_cast<float>(static_cast<double>((7 * j + 3 * t) % 11 - 5) / 4.0);
}

// w = [[0.5, -1, 1.5], [-0.25, 2, -0.75]], b = [0.1, -0.2, 0.3]: the reference script's W0, B0.
inline std::vector<NamedTensor> ReferenceParams() {
  return {{"w", Tensor::FromVector({0.5f, -1.0f, 1.5f, -0.25f, 2.0f, -0.75f}, Shape{2, 3})},
          {"b", Tensor::FromVector({0.1f, -0.2f, 0.3f})}};
}

inline void FillGrads(const std::vector<Tensor>& grads, int64_t t) {
  int64_t j = 0;
  for (const Tensor& g : grads) {
    float* p = g.f32();
    for (int64_t k = 0; k < g.numel(); ++k) p[k] = GradValue(j++, t);
  }
}

// Fresh zero gradients shaped like `vars`.
inline std::vector<Tensor> GradsLike(const std::vector<Tensor>& vars) {
  std::vector<Tensor> grads;
  for (const Tensor& v : vars) grads.push_back(Tensor::Zeros(v.shape()));
  return grads;
}

inline std::vector<Tensor> Tensors(const std::vector<NamedTensor>& named) {
  std::vector<Tensor> out;
  for (const NamedTensor& n : named) out.push_back(n.tensor);
  return out;
}

// All values of `tensors`, concatenated (no arena padding).
inline std::vector<float> Flatten(const std::vector<Tensor>& tensors) {
  std::vector<float> out;
  for (const Tensor& t : tensors) {
    const std::vector<float> v = t.ToVector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// Bit-for-bit equality (EXPECT_EQ on floats would accept -0 == 0).
inline bool BitIdentical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Every optimizer, with options that exercise each branch of its kernel.
struct OptimizerCase {
  std::string label;
  std::function<std::unique_ptr<Optimizer>()> make;
};

inline std::vector<OptimizerCase> AllOptimizerCases() {
  return {
      {"SgdPlain", [] { return std::make_unique<SGD>(0.1); }},
      {"SgdMomentumDecay",
       [] {
         return std::make_unique<SGD>(
             SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
       }},
      {"SgdNesterov",
       [] {
         return std::make_unique<SGD>(
             SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.05, .nesterov = true});
       }},
      {"Adam", [] { return std::make_unique<Adam>(0.01); }},
      {"AdamL2",
       [] { return std::make_unique<Adam>(AdamOptions{.lr = 0.01, .weight_decay = 0.1}); }},
      {"AdamW", [] { return std::make_unique<AdamW>(0.01); }},
      {"RmsProp", [] { return std::make_unique<RMSprop>(0.01); }},
      {"RmsPropMomentumDecay",
       [] {
         return std::make_unique<RMSprop>(
             RMSpropOptions{.lr = 0.01, .weight_decay = 0.1, .momentum = 0.9});
       }},
      {"RmsPropCentered",
       [] { return std::make_unique<RMSprop>(RMSpropOptions{.lr = 0.01, .centered = true}); }},
      {"RmsPropCenteredMomentum",
       [] {
         return std::make_unique<RMSprop>(
             RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
       }},
  };
}

// Parameters whose sizes are not multiples of any vector width, so kernel loops run both their
// vector bodies and their remainders, and arena padding sits between parameters.
inline std::vector<NamedTensor> OddParams() {
  std::vector<NamedTensor> params;
  const std::vector<Shape> shapes = {Shape{37}, Shape{5, 7}, Shape{1}, Shape{3, 3, 3}, Shape{64}};
  int64_t j = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Tensor t = Tensor::Empty(shapes[i]);
    for (int64_t k = 0; k < t.numel(); ++k, ++j) t.f32()[k] = GradValue(j, 5) + 0.125f;
    params.push_back({"layer" + std::to_string(i) + ".weight", t});
  }
  return params;
}

}  // namespace hearth::optim_test
