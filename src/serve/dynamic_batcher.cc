#include "serve/dynamic_batcher.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "core/fault_injection.h"

namespace hearth::serve {

struct DynamicBatcher::State {
  struct Request {
    std::vector<float> values;
    int64_t rows;
    Done done;
  };

  State(int64_t width, Forward forward, BatchingOptions options,
        std::function<void(int64_t)> on_batch)
      : width(width),
        forward(std::move(forward)),
        options(options),
        on_batch(std::move(on_batch)) {}

  // Takes the next batch off the queue (waiting for it) and sets `running`; false when stopping
  // and drained.
  bool NextBatch(std::vector<Request>& batch);
  // The forward pass for `batch`: each request's outputs, in order.
  std::vector<StatusOr<Tensor>> Compute(const std::vector<Request>& batch);
  // Clears `running`, then hands each request its result. The completions run after `running`
  // is cleared: one of them may destroy the batcher, whose thread must then be free to stop.
  void Finish(std::vector<Request>& batch, std::vector<StatusOr<Tensor>> results);
  void Loop();

  const int64_t width;
  const Forward forward;
  const BatchingOptions options;
  const std::function<void(int64_t)> on_batch;

  std::mutex mu;
  std::condition_variable work;  // the queue gained a request, or stopping was set
  std::deque<Request> queue ABSL_GUARDED_BY(mu);
  int64_t queued_rows ABSL_GUARDED_BY(mu) = 0;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  // A forward pass is under way (on the batcher's thread, or inline on a caller's): the model
  // is used by one thread at a time.
  bool running ABSL_GUARDED_BY(mu) = false;
  // The batcher was destroyed from its own thread: the model may be gone, so fail the rest.
  bool orphaned ABSL_GUARDED_BY(mu) = false;
};

DynamicBatcher::DynamicBatcher(int64_t width, Forward forward, BatchingOptions options,
                               std::function<void(int64_t rows)> on_batch)
    : state_(std::make_shared<State>(width, std::move(forward), options, std::move(on_batch))),
      thread_([state = state_] { state->Loop(); }) {}

DynamicBatcher::~DynamicBatcher() {
  const bool own_thread = thread_.get_id() == std::this_thread::get_id();
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
    state_->orphaned = own_thread;
  }
  state_->work.notify_all();
  if (own_thread) {
    thread_.detach();  // it holds the state and ends by itself
  } else {
    thread_.join();
  }
}

void DynamicBatcher::Submit(std::vector<float> values, int64_t rows, Done done) {
  const std::shared_ptr<State> state = state_;  // `this` may die inside `done`
  Status refused;
  {
    std::unique_lock<std::mutex> lock(state->mu);
    if (!state->stopping && !state->running && state->queue.empty() &&
        state->options.max_queue_delay_us <= 0) {
      // Nothing to merge with: run it here and spare two thread hand-offs. Requests arriving
      // meanwhile queue up for the batcher's thread, which merges them.
      state->running = true;
      lock.unlock();
      std::vector<State::Request> batch;
      batch.push_back(State::Request{std::move(values), rows, std::move(done)});
      std::vector<StatusOr<Tensor>> results = state->Compute(batch);
      state->Finish(batch, std::move(results));
      return;
    }
    if (state->stopping) {
      refused = absl::UnavailableError("the model is being unloaded; retry");
    } else if (state->queued_rows + rows > state->options.max_queued_rows &&
               !state->queue.empty()) {
      refused = absl::UnavailableError(absl::StrFormat(
          "%d rows are already waiting for this model (max_queued_rows %d); retry later",
          state->queued_rows, state->options.max_queued_rows));
    } else {
      state->queue.push_back(State::Request{std::move(values), rows, std::move(done)});
      state->queued_rows += rows;
    }
  }
  if (!refused.ok()) {
    done(refused);
    return;
  }
  state->work.notify_one();
}

StatusOr<Tensor> DynamicBatcher::Infer(std::vector<float> values, int64_t rows) {
  std::promise<StatusOr<Tensor>> result;
  std::future<StatusOr<Tensor>> ready = result.get_future();
  Submit(std::move(values), rows,
         [&result](StatusOr<Tensor> outputs) { result.set_value(std::move(outputs)); });
  return ready.get();
}

const BatchingOptions& DynamicBatcher::options() const {
  return state_->options;
}

int64_t DynamicBatcher::queued_rows() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->queued_rows;
}

bool DynamicBatcher::State::NextBatch(std::vector<Request>& batch) {
  batch.clear();
  std::unique_lock<std::mutex> lock(mu);
  work.wait(lock, [this] { return !running && (stopping || !queue.empty()); });
  if (queue.empty()) return false;  // stopping, and nothing left to finish
  if (orphaned) {
    while (!queue.empty()) {
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    lock.unlock();
    for (Request& r : batch) r.done(absl::UnavailableError("the model was unloaded; retry"));
    batch.clear();
    return false;
  }
  running = true;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::microseconds(options.max_queue_delay_us);
  int64_t rows = 0;
  for (;;) {
    while (!queue.empty() &&
           (batch.empty() || rows + queue.front().rows <= options.max_batch_size)) {
      rows += queue.front().rows;
      queued_rows -= queue.front().rows;
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    const bool full = rows >= options.max_batch_size || !queue.empty();
    if (full || stopping || options.max_queue_delay_us <= 0) return true;
    // Room left: wait for more until the oldest request has waited max_queue_delay_us.
    if (!work.wait_until(lock, deadline, [this] { return stopping || !queue.empty(); }))
      return true;
  }
}

std::vector<StatusOr<Tensor>> DynamicBatcher::State::Compute(const std::vector<Request>& batch) {
  // Tests hold a batch here so that the requests arriving meanwhile queue up behind it.
  faults::MaybePause("serve_batch", {});
  // A thread that runs forward passes (the batcher's, or an I/O thread running one inline) keeps
  // their tensors' buffers for the next: same sizes every time, so no malloc once warm.
  static thread_local BufferReuseScope reuse_buffers;
  int64_t rows = 0;
  for (const Request& r : batch) rows += r.rows;
  std::vector<StatusOr<Tensor>> results;
  StatusOr<Tensor> outputs = absl::UnknownError("not run");
  if (batch.size() == 1) {
    outputs = forward(Tensor::FromVector(batch[0].values, Shape{rows, width}));
  } else {
    Tensor input = Tensor::Empty(Shape{rows, width});
    float* at = input.f32();
    for (const Request& r : batch) {
      std::memcpy(at, r.values.data(), sizeof(float) * r.values.size());
      at += r.values.size();
    }
    outputs = forward(input);
  }
  if (on_batch) on_batch(rows);
  if (!outputs.ok() && batch.size() > 1) {
    // One request's rows must not fail the others: run each alone to find out whose they are.
    for (const Request& r : batch)
      results.push_back(forward(Tensor::FromVector(r.values, Shape{r.rows, width})));
    return results;
  }
  if (!outputs.ok() || batch.size() == 1) {
    results.push_back(std::move(outputs));
    return results;
  }
  const int64_t per_row = outputs->numel() / std::max<int64_t>(rows, 1);
  Shape row_shape = outputs->shape();
  int64_t first = 0;
  for (const Request& r : batch) {
    row_shape[0] = r.rows;
    Tensor t = Tensor::Empty(row_shape);
    std::memcpy(t.f32(), outputs->f32() + first * per_row, sizeof(float) * r.rows * per_row);
    first += r.rows;
    results.push_back(std::move(t));
  }
  return results;
}

void DynamicBatcher::State::Finish(std::vector<Request>& batch,
                                   std::vector<StatusOr<Tensor>> results) {
  {
    std::lock_guard<std::mutex> lock(mu);
    running = false;
  }
  work.notify_all();  // the batcher's thread may wait for the model to be free
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

void DynamicBatcher::State::Loop() {
  std::vector<Request> batch;
  while (NextBatch(batch)) Finish(batch, Compute(batch));
}

}  // namespace hearth::serve
