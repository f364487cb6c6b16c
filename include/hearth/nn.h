// Layers (Modules) with named parameters, and the flat parameter arena they train in.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hearth/ops.h"
#include "hearth/random.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

// Weight initialisers, driven by a seeded Generator so the same seed gives the same weights on
// every machine.
void GlorotUniform(Tensor& t, int64_t fan_in, int64_t fan_out, Generator& rng);
void HeNormal(Tensor& t, int64_t fan_in, Generator& rng);

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Movable (children live on the heap, so pointers to them stay valid), not copyable.
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;
  virtual Tensor Forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return Forward(x); }

  // A short description, e.g. "Linear(784 -> 256)".
  virtual std::string Describe() const = 0;
  // The output shape for an input shape, or an error that names this layer and what it expected.
  // Lets job specs be validated before any data flows.
  virtual absl::StatusOr<Shape> OutputShape(const Shape& input) const = 0;

  // Parameters in registration order, depth first, named by their path: "0.weight", "2.bias".
  std::vector<NamedTensor> NamedParameters() const;
  std::vector<Tensor> Parameters() const;
  int64_t ParameterCount() const;

  // Direct children, in registration order.
  std::vector<Module*> Children() const;

  // Dropout and similar layers behave differently in training and evaluation.
  void Train(bool on = true);
  void Eval() { Train(false); }
  bool training() const { return training_; }

 protected:
  Tensor& RegisterParameter(const std::string& name, Tensor value);
  Module* RegisterModule(const std::string& name, std::unique_ptr<Module> child);

 private:
  std::vector<NamedTensor> parameters_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  bool training_ = true;
};

// y = x @ weight + bias; weight is [in, out] (the Keras "kernel" layout).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& rng, bool bias = true);
  Tensor Forward(const Tensor& x) override;
  std::string Describe() const override;
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  int64_t in_, out_;
  Tensor weight_, bias_;
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int kernel_size, Generator& rng,
         Conv2dOptions options = {}, bool bias = true);
  Tensor Forward(const Tensor& x) override;
  std::string Describe() const override;
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  int64_t in_, out_;
  int kernel_;
  Conv2dOptions options_;
  Tensor weight_, bias_;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dOptions options = {}) : options_(options) {}
  Tensor Forward(const Tensor& x) override { return max_pool2d(x, options_); }
  std::string Describe() const override;
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override;

 private:
  Pool2dOptions options_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dOptions options = {}) : options_(options) {}
  Tensor Forward(const Tensor& x) override { return avg_pool2d(x, options_); }
  std::string Describe() const override;
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override;

 private:
  Pool2dOptions options_;
};

class Flatten : public Module {
 public:
  Tensor Forward(const Tensor& x) override { return flatten(x); }
  std::string Describe() const override { return "Flatten"; }
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override;
};

enum class Activation { kReLU, kSigmoid, kTanh, kSoftmax };

// ReLU, Sigmoid, Tanh or Softmax (over the last axis).
class ActivationLayer : public Module {
 public:
  explicit ActivationLayer(Activation kind) : kind_(kind) {}
  Tensor Forward(const Tensor& x) override;
  std::string Describe() const override;
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override { return input; }

 private:
  Activation kind_;
};

class Dropout : public Module {
 public:
  Dropout(float p, uint64_t seed) : p_(p), rng_(seed) {}
  Tensor Forward(const Tensor& x) override { return dropout(x, p_, training(), rng_); }
  std::string Describe() const override;
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override { return input; }
  Generator& rng() { return rng_; }

 private:
  float p_;
  Generator rng_;
};

// Runs its children in order; children are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential& Add(std::unique_ptr<Module> layer);
  template <typename Layer, typename... Args>
  Sequential& Emplace(Args&&... args) {
    return Add(std::make_unique<Layer>(std::forward<Args>(args)...));
  }
  Tensor Forward(const Tensor& x) override;
  std::string Describe() const override;
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override;
  int size() const { return static_cast<int>(layers_.size()); }
  Module& layer(int i) { return *layers_[i]; }

 private:
  std::vector<Module*> layers_;  // owned through Module's children
};

// Parameters and their gradients in two flat, contiguous buffers, with every parameter tensor
// rebound as a view into the first (llm.c's malloc_and_point_parameters). The optimizer, the
// gradient reducer and checkpoints each touch one buffer.
class ParameterSet {
 public:
  // Moves the module's parameters into the arena (their current values are kept; existing
  // handles see the new storage).
  explicit ParameterSet(const Module& module);
  explicit ParameterSet(std::vector<NamedTensor> parameters);

  int size() const { return static_cast<int>(params_.size()); }
  const std::string& name(int i) const { return params_[i].name; }
  const Tensor& param(int i) const { return params_[i].tensor; }
  const Tensor& grad(int i) const { return grads_[i]; }
  const std::vector<Tensor>& params() const { return param_list_; }
  const std::vector<Tensor>& grads() const { return grads_; }
  int64_t offset(int i) const { return offsets_[i]; }

  int64_t numel() const { return numel_; }
  // The whole arena as one 1-D tensor.
  const Tensor& flat_params() const { return flat_params_; }
  const Tensor& flat_grads() const { return flat_grads_; }
  void ZeroGrads();

 private:
  void Bind();

  std::vector<NamedTensor> params_;
  std::vector<Tensor> param_list_;
  std::vector<Tensor> grads_;
  std::vector<int64_t> offsets_;
  int64_t numel_ = 0;
  Tensor flat_params_, flat_grads_;
};

}  // namespace hearth
