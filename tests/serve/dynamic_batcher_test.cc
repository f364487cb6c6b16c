// The dynamic batcher, driven without clocks: the model's forward pass waits on a gate the test
// opens, so the requests that arrive meanwhile are queued for certain and must be merged. An idle
// batcher runs a request inline on its caller's thread, so the held first request is submitted
// from a thread of its own.
#include "serve/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <functional>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "serve/serve_test_util.h"

namespace hearth::serve {
namespace {

// A forward pass that doubles its rows, records each batch's size, and holds the first batch
// until Open().
class GatedForward {
 public:
  StatusOr<Tensor> operator()(const Tensor& rows) {
    std::unique_lock<std::mutex> lock(mu_);
    sizes_.push_back(rows.dim(0));
    entered_.notify_all();
    opened_.wait(lock, [this] { return open_; });
    for (int64_t i = 0; i < rows.numel(); ++i)
      if (rows.f32()[i] < 0) return absl::InvalidArgumentError("negative");
    Tensor out = Tensor::Empty(Shape{rows.dim(0), rows.dim(1)});
    for (int64_t i = 0; i < rows.numel(); ++i) out.f32()[i] = 2 * rows.f32()[i];
    return out;
  }
  void WaitEntered(size_t batches) {
    std::unique_lock<std::mutex> lock(mu_);
    entered_.wait(lock, [&] { return sizes_.size() >= batches; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    opened_.notify_all();
  }
  std::vector<int64_t> sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return sizes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable entered_, opened_;
  bool open_ = false;
  std::vector<int64_t> sizes_;
};

// A batcher over a GatedForward: Hold() submits a first request from a thread of its own (an
// idle batcher runs it inline) and returns once it is inside the model, so that every request
// submitted next waits in the queue; Release() lets the model go on.
class HeldBatcher {
 public:
  explicit HeldBatcher(BatchingOptions options = {}, int64_t width = 1,
                       std::function<void(int64_t)> on_batch = {})
      : batcher_(
            width, [this](const Tensor& t) { return gate_(t); }, options, std::move(on_batch)) {}
  ~HeldBatcher() {
    if (first_.joinable()) Release();
  }
  void Hold(std::vector<float> values, int64_t rows, DynamicBatcher::Done done) {
    first_ = std::thread([this, values = std::move(values), rows, done = std::move(done)] {
      batcher_.Submit(values, rows, done);
    });
    gate_.WaitEntered(1);
  }
  void Release() {
    gate_.Open();
    first_.join();
  }
  DynamicBatcher& batcher() { return batcher_; }
  std::vector<int64_t> sizes() { return gate_.sizes(); }

 private:
  GatedForward gate_;
  DynamicBatcher batcher_;
  std::thread first_;
};

struct Results {
  std::vector<std::future<StatusOr<Tensor>>> futures;
  std::vector<std::shared_ptr<std::promise<StatusOr<Tensor>>>> promises;
  DynamicBatcher::Done Add() {
    auto p = std::make_shared<std::promise<StatusOr<Tensor>>>();
    futures.push_back(p->get_future());
    promises.push_back(p);
    return [p](StatusOr<Tensor> t) { p->set_value(std::move(t)); };
  }
};

TEST(DynamicBatcherTest, RequestsThatWaitAreMergedIntoOneForwardPass) {
  std::vector<int64_t> reported;
  std::mutex reported_mu;
  BatchingOptions options;
  options.max_batch_size = 8;
  std::vector<int64_t> sizes;
  {
    HeldBatcher held(options, 2, [&](int64_t rows) {
      std::lock_guard<std::mutex> lock(reported_mu);
      reported.push_back(rows);
    });
    Results results;
    held.Hold({1, 1}, 1, results.Add());  // in the model; these three must wait
    held.batcher().Submit({2, 2}, 1, results.Add());
    held.batcher().Submit({3, 3, 4, 4}, 2, results.Add());
    held.batcher().Submit({5, 5}, 1, results.Add());
    held.Release();
    std::vector<float> firsts;
    for (auto& f : results.futures) {
      StatusOr<Tensor> t = f.get();
      ASSERT_TRUE(t.ok()) << t.status();
      firsts.push_back(t->f32()[0]);
    }
    EXPECT_EQ(firsts, (std::vector<float>{2, 4, 6, 10}));  // each gets its own rows back
    sizes = held.sizes();
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(reported, (std::vector<int64_t>{1, 4}));
}

TEST(DynamicBatcherTest, ABatchNeverExceedsItsLimitButALargeRequestRunsAlone) {
  BatchingOptions options;
  options.max_batch_size = 3;
  HeldBatcher held(options);
  Results results;
  held.Hold({1}, 1, results.Add());
  held.batcher().Submit({1, 2}, 2, results.Add());
  held.batcher().Submit({1, 2}, 2, results.Add());  // 2 + 2 > 3: the next batch
  held.batcher().Submit({1, 2, 3, 4, 5}, 5, results.Add());
  held.Release();
  for (auto& f : results.futures) ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(held.sizes(), (std::vector<int64_t>{1, 2, 2, 5}));
}

TEST(DynamicBatcherTest, OneBadRequestDoesNotFailTheOthersInItsBatch) {
  HeldBatcher held;
  Results results;
  held.Hold({1}, 1, results.Add());
  held.batcher().Submit({2}, 1, results.Add());
  held.batcher().Submit({-1}, 1, results.Add());
  held.batcher().Submit({3}, 1, results.Add());
  held.Release();
  EXPECT_TRUE(results.futures[0].get().ok());
  EXPECT_TRUE(results.futures[1].get().ok());
  EXPECT_EQ(results.futures[2].get().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(results.futures[3].get().ok());
}

TEST(DynamicBatcherTest, AFullQueueRefusesAtOnce) {
  BatchingOptions options;
  options.max_queued_rows = 2;
  HeldBatcher held(options);
  Results results;
  held.Hold({1}, 1, results.Add());
  held.batcher().Submit({1, 2}, 2, results.Add());  // queued: 2 rows
  held.batcher().Submit({1}, 1, results.Add());     // 3 > 2
  EXPECT_EQ(results.futures[2].get().status().code(), absl::StatusCode::kUnavailable);
  held.Release();
  EXPECT_TRUE(results.futures[0].get().ok());
  EXPECT_TRUE(results.futures[1].get().ok());
}

TEST(DynamicBatcherTest, TheBatcherMayBeDestroyedFromItsOwnCompletion) {
  // As when a request holds the last reference to a model version that a reload replaced: the
  // second request completes on the batcher's thread and destroys the batcher there.
  GatedForward gate;
  auto batcher = std::make_shared<std::unique_ptr<DynamicBatcher>>(std::make_unique<DynamicBatcher>(
      1, [&gate](const Tensor& t) { return gate(t); }, BatchingOptions{}));
  Results results;
  DynamicBatcher* raw = batcher->get();
  std::thread first([raw, done = results.Add()] { raw->Submit({1}, 1, done); });
  gate.WaitEntered(1);
  std::promise<std::thread::id> destroyed_on;
  raw->Submit({2}, 1, [batcher, &destroyed_on](StatusOr<Tensor> t) {
    EXPECT_TRUE(t.ok());
    batcher->reset();  // on the batcher's own thread: it cannot join itself, and must not crash
    destroyed_on.set_value(std::this_thread::get_id());
  });
  gate.Open();
  first.join();
  EXPECT_NE(destroyed_on.get_future().get(), std::this_thread::get_id());
  EXPECT_TRUE(results.futures[0].get().ok());
}

TEST(DynamicBatcherTest, AnIdleBatcherRunsARequestOnTheCallersThread) {
  std::thread::id ran_on;
  DynamicBatcher batcher(
      1,
      [&ran_on](const Tensor& t) -> StatusOr<Tensor> {
        ran_on = std::this_thread::get_id();
        return t;
      },
      BatchingOptions{});
  EXPECT_TRUE(batcher.Infer({1}, 1).ok());
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(DynamicBatcherTest, DestroyingFinishesWhatIsQueued) {
  // 20 requests wait behind a held one when the batcher is destroyed; the destruction may begin
  // before or after the model goes on, and either way every queued request gets its answer.
  GatedForward gate;
  auto batcher = std::make_unique<DynamicBatcher>(
      1, [&gate](const Tensor& t) { return gate(t); }, BatchingOptions{});
  Results results;
  DynamicBatcher* raw = batcher.get();
  std::thread first([raw, done = results.Add()] { raw->Submit({0}, 1, done); });
  gate.WaitEntered(1);
  for (int i = 1; i <= 20; ++i) raw->Submit({static_cast<float>(i)}, 1, results.Add());
  std::thread destroy([&batcher] { batcher.reset(); });  // joins once the queue is empty
  gate.Open();
  first.join();
  destroy.join();
  ASSERT_EQ(results.futures.size(), 21u);
  for (auto& f : results.futures) EXPECT_TRUE(f.get().ok());
}

// Once warm, a request's forward pass through a real model (preprocessing and layers) takes
// no tensor buffer from malloc: the thread that runs it keeps them (BufferReuseScope).
TEST(DynamicBatcherTest, AWarmForwardPassAllocatesNoTensorBuffers) {
  const std::string dir = testing::FreshDir("batcher-buffers");
  StatusOr<std::unique_ptr<TrainedModel>> model =
      TrainedModel::Load(testing::TrainExample("logistic_regression", dir));
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t width = (*model)->record_shape().numel();
  DynamicBatcher batcher(
      width, [&](const Tensor& rows) { return (*model)->Outputs(rows); }, BatchingOptions{});
  // 32 rows, so that every tensor on the way is over the 64 bytes a Storage holds inline.
  const std::vector<float> rows(32 * width, 0.5f);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(batcher.Infer(rows, 32).ok());
  const int64_t warm = TensorBuffersAllocated();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(batcher.Infer(rows, 32).ok());
  EXPECT_EQ(TensorBuffersAllocated(), warm);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hearth::serve
