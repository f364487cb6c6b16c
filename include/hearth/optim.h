// Optimizers (SGD, Adam, AdamW, RMSprop), gradient clipping and the optimizer factory for job
// specs.
//
// The update formulas are PyTorch 1.13's torch.optim (single-tensor variants), term for term.
// Each optimizer's math is one kernel over contiguous float spans; it is applied two ways:
//
//   // The training path: one pass over the flat parameter arena, no allocation after the first
//   step. params.ZeroGrads();  ...backward into params.grads()...;  optimizer.Step(params);
//
//   // The TensorFlow-style path of the seed program: state kept per variable, created lazily.
//   auto grads = tape.gradient(loss, {W, b});
//   optimizer.apply_gradients(grads, {W, b});
//
// The two paths keep separate state: use one of them for a given set of parameters.
// Updates write parameter memory in place with plain loops, so nothing is recorded on any tape.
//
// Thread-safety: an optimizer is not thread-safe; one thread steps it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hearth/schedule.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

class ParameterSet;

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates every parameter of `params` from its gradient in the flat gradient arena. The first
  // call binds the optimizer's state to this ParameterSet (one state arena laid out parallel to
  // the parameter arena); stepping a different ParameterSet afterwards is a programming error.
  void Step(ParameterSet& params);

  // Updates vars[i] from grads[i] (same shapes; a grad/var shape mismatch aborts with both
  // shapes). State for a variable is created the first time it is seen. An undefined gradient
  // leaves its variable (and that variable's state) untouched, as PyTorch does for `None`.
  void ApplyGradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& vars);
  // The TensorFlow spelling, so the seed program reads as it does in TensorFlow.
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& vars) {
    ApplyGradients(grads, vars);
  }

  // The training state of the Step path, for checkpoints: "optim.step" (int64 scalar: updates
  // applied) and "optim.<param name>.<slot>" for each parameter and state slot (slot_names()).
  // The float tensors are views into the live state arena (no copy): copy them before the next
  // Step if they must outlive it. Binds the state to `params` if no Step has yet.
  std::vector<NamedTensor> State(const ParameterSet& params);
  // Restores what State() returned (other, non-"optim." tensors in `state` are ignored), binding
  // the state to `params`. Validates everything before changing anything: a missing tensor is
  // NotFound, a wrong shape or dtype or an unexpected "optim." tensor is InvalidArgument, each
  // naming the tensor. Steps after a load are bit-identical to those of an uninterrupted run.
  absl::Status LoadState(const ParameterSet& params, const std::vector<NamedTensor>& state);

  // A fixed learning rate (replaces any schedule).
  void SetLearningRate(double lr);
  // The learning rate of each update comes from schedule->LearningRate(iterations()).
  void SetSchedule(std::unique_ptr<LearningRateSchedule> schedule);
  // The rate the next update will use.
  double learning_rate() const;
  // Updates applied so far (Step and ApplyGradients calls). Restored by LoadState.
  int64_t iterations() const { return iterations_; }

  // "sgd", "adam", "adamw" or "rmsprop".
  virtual const char* name() const = 0;
  // e.g. "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0)".
  virtual std::string Describe() const = 0;
  // Per-parameter state tensors, e.g. {"exp_avg", "exp_avg_sq"}; fixed by the options.
  const std::vector<std::string>& slot_names() const { return slot_names_; }

 protected:
  static constexpr int kMaxSlots = 3;

  // One contiguous run of parameters (the whole arena, or one variable) and its state.
  struct Span {
    float* param;
    const float* grad;
    float* const* slots;  // slot_names().size() arrays of n floats
    int64_t n;
    int64_t step;  // this update's number for this state, from 1 (PyTorch's state["step"])
    double lr;
  };

  Optimizer(double lr, std::vector<std::string> slot_names);
  // Applies one update to a span. The only place an optimizer's math lives.
  virtual void Update(const Span& span) const = 0;

 private:
  // State for one span: slot k occupies floats [k * stride, k * stride + n) of `storage`.
  struct SlotBlock {
    std::shared_ptr<Storage> storage;
    int64_t n = 0;
    int64_t stride = 0;  // n rounded up to 16 floats, so every slot starts 64-byte aligned
    int64_t step = 0;
  };
  struct VariableState {
    Tensor var;  // holds the variable so its address is never reused for another
    SlotBlock block;
  };

  SlotBlock NewBlock(int64_t n) const;
  void ApplyBlock(SlotBlock& block, float* param, const float* grad, double lr) const;
  // Allocates zeroed state for `params` unless it is already bound to them.
  void BindArena(const ParameterSet& params);

  std::vector<std::string> slot_names_;
  double lr_;
  std::unique_ptr<LearningRateSchedule> schedule_;
  int64_t iterations_ = 0;

  std::weak_ptr<Storage> arena_params_;  // which parameter arena `arena_` belongs to
  SlotBlock arena_;
  std::unordered_map<const TensorImpl*, VariableState> variables_;
};

// SGD with optional momentum (buffer initialised to the first gradient), dampening, Nesterov and
// L2 weight decay added to the gradient, as torch.optim.SGD.
struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD final : public Optimizer {
 public:
  explicit SGD(double lr) : SGD(SGDOptions{.lr = lr}) {}
  // Invalid options abort; validate user input with ValidateOptions first.
  explicit SGD(const SGDOptions& options);
  const char* name() const override { return "sgd"; }
  std::string Describe() const override;
  const SGDOptions& options() const { return options_; }

 protected:
  void Update(const Span& span) const override;

 private:
  SGDOptions options_;
};

// Adam with bias correction and optional L2 weight decay added to the gradient (torch.optim.Adam).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam final : public Optimizer {
 public:
  explicit Adam(double lr) : Adam(AdamOptions{.lr = lr}) {}
  explicit Adam(const AdamOptions& options);
  const char* name() const override { return "adam"; }
  std::string Describe() const override;
  const AdamOptions& options() const { return options_; }

 protected:
  void Update(const Span& span) const override;

 private:
  AdamOptions options_;
};

// Adam with decoupled weight decay, param *= 1 - lr * weight_decay (torch.optim.AdamW).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

class AdamW final : public Optimizer {
 public:
  explicit AdamW(double lr) : AdamW(AdamWOptions{.lr = lr}) {}
  explicit AdamW(const AdamWOptions& options);
  const char* name() const override { return "adamw"; }
  std::string Describe() const override;
  const AdamWOptions& options() const { return options_; }

 protected:
  void Update(const Span& span) const override;

 private:
  AdamWOptions options_;
};

// RMSprop with optional momentum, centering and L2 weight decay (torch.optim.RMSprop).
struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

class RMSprop final : public Optimizer {
 public:
  explicit RMSprop(double lr) : RMSprop(RMSpropOptions{.lr = lr}) {}
  explicit RMSprop(const RMSpropOptions& options);
  const char* name() const override { return "rmsprop"; }
  std::string Describe() const override;
  const RMSpropOptions& options() const { return options_; }

 protected:
  void Update(const Span& span) const override;

 private:
  RMSpropOptions options_;
};

// InvalidArgument naming the field ("optimizer.momentum: must be in [0, 1), got 1.5").
absl::Status ValidateOptions(const SGDOptions& options);
absl::Status ValidateOptions(const AdamOptions& options);
absl::Status ValidateOptions(const AdamWOptions& options);
absl::Status ValidateOptions(const RMSpropOptions& options);

// An optimizer as a job spec describes it. A field the chosen optimizer does not use must keep its
// default (so a misplaced setting is reported rather than ignored).
struct OptimizerConfig {
  std::string name = "sgd";  // "sgd", "adam", "adamw" or "rmsprop" (any case)
  double lr = 0.01;
  double momentum = 0.0;   // sgd, rmsprop
  double dampening = 0.0;  // sgd
  bool nesterov = false;   // sgd
  // Unset: the optimizer's default (0, or 0.01 for adamw as in PyTorch).
  std::optional<double> weight_decay = std::nullopt;
  double beta1 = 0.9;     // adam, adamw
  double beta2 = 0.999;   // adam, adamw
  double eps = 1e-8;      // adam, adamw, rmsprop
  double alpha = 0.99;    // rmsprop
  bool centered = false;  // rmsprop
};

absl::Status ValidateOptimizerConfig(const OptimizerConfig& config);
absl::StatusOr<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerConfig& config);
// With its learning rate from a schedule whose base rate is config.lr.
absl::StatusOr<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerConfig& config,
                                                         const ScheduleConfig& schedule);

// Scales all gradients by max_norm / (norm + 1e-6) when their global L2 norm exceeds max_norm
// (torch.nn.utils.clip_grad_norm_) and returns the norm before clipping. The norm is accumulated
// in double. A NaN or infinite norm is returned as is and nothing is scaled: check the result
// with std::isfinite and skip the step.
double ClipGradNorm(ParameterSet& params, double max_norm);
double ClipGradNorm(const std::vector<Tensor>& grads, double max_norm);

}  // namespace hearth
