// Merges concurrent requests for one model version into one forward pass, as Triton's dynamic
// batcher does: a request's rows wait in a queue; the batcher's thread takes as many waiting
// requests as fit in `max_batch_size` rows (waiting up to `max_queue_delay_us` from the oldest
// for more to arrive), runs them through the model as one batch, and hands each request its own
// rows of the outputs. A request larger than max_batch_size runs as a batch of its own.
//
// Thread-safety: Submit and Infer may be called from any number of threads at once. Only the
// batcher's own thread touches the model (layers keep per-forward scratch), so the model needs no
// lock, and it runs each request's completion after the batch. The queue lives in a state block
// shared with the thread (its mutex guards it), so the batcher may be destroyed from inside a
// completion, by whoever dropped the last reference to the model: the thread then finishes on
// its own, failing what is still queued instead of running a model that is gone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth::serve {

struct BatchingOptions {
  int64_t max_batch_size = 64;     // rows per forward pass
  int64_t max_queue_delay_us = 0;  // 0: batch only what is already waiting (no added latency)
  int64_t max_queued_rows = 4096;  // beyond this a request is refused (UNAVAILABLE, retry)
  bool operator==(const BatchingOptions&) const = default;
};

class DynamicBatcher {
 public:
  // `forward` maps rows [n, width] to outputs [n, ...]; it is called on the batcher's thread
  // only. `on_batch` (may be empty) is told every batch's row count, for metrics.
  using Forward = std::function<StatusOr<Tensor>(const Tensor& rows)>;
  DynamicBatcher(int64_t width, Forward forward, BatchingOptions options,
                 std::function<void(int64_t rows)> on_batch = {});
  // Finishes the requests already queued, then stops the thread.
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Queues `rows` rows (`values` holds rows * width, row-major) to run with whatever other
  // requests are waiting; `done` gets their outputs [rows, ...] on the batcher's thread (or at
  // once, on the caller's, when the queue is full or the batcher is stopping).
  using Done = std::function<void(StatusOr<Tensor> outputs)>;
  void Submit(std::vector<float> values, int64_t rows, Done done);
  // The same, waiting for the outputs.
  StatusOr<Tensor> Infer(std::vector<float> values, int64_t rows);

  const BatchingOptions& options() const;
  // Rows waiting for a forward pass now.
  int64_t queued_rows() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace hearth::serve
