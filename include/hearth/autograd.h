// Reverse-mode automatic differentiation in the style of TensorFlow's tf.GradientTape.
//
//   hearth::GradientTape tape;
//   auto loss = hearth::mean(hearth::square(W * x + b - y));
//   auto grads = tape.gradient(loss, {W, b});
//
// While a tape is alive (and no NoGradGuard is), every op whose input is a variable
// (`requires_grad`), a watched tensor, or a value computed from one is recorded on it. Ops are
// recorded in execution order, so walking the tape backwards is a topological order.
//
// Thread-safety: a tape belongs to the thread that created it; the active tape is thread-local.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hearth/tensor.h"

namespace hearth {

struct TapeImpl;

class GradientTape {
 public:
  // A non-persistent tape allows one gradient call and then frees everything it recorded.
  explicit GradientTape(bool persistent = false);
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  // Tracks a tensor that is not a variable, so gradients with respect to it can be taken.
  void watch(const Tensor& t);

  // d target / d source for each source. The target's gradient is seeded with ones (so a
  // non-scalar target gives the gradient of its sum). A source the target does not depend on gets
  // zeros.
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources);

  // The training path: writes d target / d sources[i] into grads[i] (same shape; typically views
  // into a flat gradient arena), overwriting it, or adding to it when `accumulate` (gradient
  // accumulation over micro-batches). Calls on_ready(i) as soon as grads[i] is final, while the
  // rest of the backward pass continues: the reducer uses that hook to start communication early.
  // on_ready is called exactly once for every source.
  void gradient_into(const Tensor& target, const std::vector<Tensor>& sources,
                     const std::vector<Tensor>& grads, bool accumulate = false,
                     const std::function<void(int)>& on_ready = nullptr);

  // Number of recorded ops (for tests and diagnostics).
  int64_t size() const;

 private:
  void Backward(const Tensor& target, const std::vector<Tensor>& sources,
                const std::vector<Tensor>* bound, bool accumulate,
                const std::function<void(int)>* on_ready, std::vector<Tensor>* out);

  std::unique_ptr<TapeImpl> impl_;
  TapeImpl* previous_;  // the tape that was active before this one
};

// Disables recording on this thread for its lifetime (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace hearth
