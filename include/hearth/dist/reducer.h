// Gradient averaging across ranks, bucketed and overlapped with the backward pass (the design of
// PyTorch DDP's Reducer and Horovod's tensor fusion).
//
// The fusion buffer is the ParameterSet's flat gradient arena itself: parameters are laid out
// there in order, so the gradients of consecutive parameters are one contiguous range and a bucket
// is reduced in place with no copy in or out. Buckets cover the parameters in reverse order (the
// order backward produces their gradients): bucket 0 holds the last layers and is kept small
// (first_bucket_bytes) so communication starts early; later buckets hold up to bucket_bytes
// (by default scaled to the model: ReducerOptions::BucketBytesFor).
//
// During backward, GradientTape::gradient_into calls hook() as each parameter's gradient becomes
// final. When every gradient of a bucket is in, its allreduce starts at once (buckets start in
// order on every rank, as MPI requires). Open MPI has no asynchronous progress: a non-blocking
// collective only advances while some thread is inside MPI. So while buckets are in flight a
// progress thread calls MPI_Test on them every few tens of microseconds, sleeping in between (it
// costs a few percent of a core, unlike a communication thread spinning in a blocking
// allreduce); with Progress::kHooks only the hook calls drive them, which is too coarse for
// models with few, large layers (measured in docs/performance.md).
// Finish() waits for the rest and scales the sums by 1 / world size (sum, then scale), unless
// the gradients came prescaled.
//
//   GradientReducer reducer(params, comm, {});
//   reducer.Begin();
//   tape.gradient_into(loss, params.params(), params.grads(), false, reducer.hook());
//   HEARTH_RETURN_IF_ERROR(reducer.Finish());
//
// Gradient accumulation without sync: run the first k-1 micro-steps' backward with
// accumulate=true and no hook, and pass hook() only on the last one.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include <string>
#include <thread>
#include <vector>
#include "absl/base/thread_annotations.h"

#include "hearth/dist/communicator.h"
#include "hearth/nn.h"
#include "hearth/status.h"

namespace hearth::dist {

struct ReducerOptions {
  // 0 (the default): automatic, BucketBytesFor the model. Chosen by bench/reducer_bench and
  // bench/compare_overlap.sh (docs/performance.md): about kAutoBuckets buckets, so several overlap
  // backward, but none under 1 MiB, where per-call latency shows, and none over 25 MiB (as DDP).
  int64_t bucket_bytes = 0;
  static constexpr int kAutoBuckets = 8;
  static constexpr int64_t kMinAutoBucketBytes = int64_t{1} << 20;
  static constexpr int64_t kMaxAutoBucketBytes = int64_t{25} << 20;
  // bucket_bytes, or when it is 0 the automatic size for `total_bytes` of gradients.
  int64_t BucketBytesFor(int64_t total_bytes) const;
  // The first bucket (the last layers' gradients, ready first).
  int64_t first_bucket_bytes = 128 << 10;
  // When the gradients are reduced:
  //   kOverlap         each bucket's allreduce starts during backward, once its gradients are in;
  //   kAfterBackward   the same buckets, started after backward (to measure what overlap buys);
  //   kFused           one blocking allreduce of all the gradients after backward;
  //   kAuto            kOverlap, except when every rank is on one host and progress falls to the
  //                    hooks (each rank bound to one CPU): kFused. There the shared-memory copies
  //                    are CPU work on the core that runs backward, so nothing can overlap;
  //                    one blocking call, tuned by Open MPI for shared memory, needs no progress
  //                    and measured as fast or 1-2% faster (bench/reducer_bench --step).
  enum class Schedule { kAuto, kOverlap, kAfterBackward, kFused };
  Schedule schedule = Schedule::kAuto;
  // What drives in-flight allreduces during backward. kAuto: AutoProgress, the thread only when
  // there is a CPU to spare for it. A rank bound to one core (mpirun --bind-to core) would have
  // its compute preempted by the thread's wake-ups thousands of times a second: measured, that
  // doubled the MNIST CNN's backward pass; and unbound ranks that already fill the host's CPUs
  // (2 ranks on 2 cores) ran a 2-worker MLP 20% slower with the threads than with one fused
  // allreduce (docs/performance.md).
  enum class Progress { kAuto, kThread, kHooks };
  Progress progress = Progress::kAuto;
  // The gradients arrive already divided by the world size (the trainer weights each rank's loss
  // by its share of the global batch): Finish only sums, sparing a pass over the reduced,
  // cache-cold gradients that cost as much as the allreduce itself (bench/reducer_bench).
  bool prescaled = false;

  // The defaults, overridden by HEARTH_BUCKET_BYTES, HEARTH_FIRST_BUCKET_BYTES (positive
  // integers), HEARTH_OVERLAP ("auto", "1": kOverlap, "0": kAfterBackward, "fused") and
  // HEARTH_PROGRESS ("auto", "thread" or "hooks").
  // InvalidArgument names a malformed variable.
  static StatusOr<ReducerOptions> FromEnvironment();
};

// True when every rank is on one host and in-flight allreduces are progressed by the hooks (each
// rank has one CPU): the shared-memory copies would then run on the core that computes backward,
// so overlap cannot help. Schedule::kAuto fuses the gradients into one allreduce in that case.
bool NothingToOverlap(const Communicator& comm, ReducerOptions::Progress progress);

// The automatic progress for a rank that may run on `cpus` CPUs, with `local_ranks` ranks on its
// host: kThread when the CPUs outnumber the host's ranks (a progress thread then has a core to
// wake up on without preempting a rank's compute), else kHooks.
ReducerOptions::Progress AutoProgress(int cpus, int local_ranks);

struct Bucket {
  int first_param = 0;  // lowest parameter index in the bucket
  int last_param = 0;   // highest (its gradient is ready first)
  int64_t offset = 0;   // in the flat gradient arena, in floats
  int64_t numel = 0;
};

// Bucket boundaries, in reverse parameter order, for consecutive slots of `sizes` floats. The
// reducer passes each parameter's slot in the arena, alignment padding included (zero, and
// harmless to reduce), so the buckets tile the whole arena.
std::vector<Bucket> AssignBuckets(const std::vector<int64_t>& sizes, const ReducerOptions& options);

// Thread-safety: one training thread drives a reducer (Begin, the hook during backward, Finish).
// With Progress::kThread a progress thread of its own also tests the buckets in flight while
// backward runs; mu_ guards the launch and test state the two share, and Finish takes the
// polling over from that thread before it waits.
class GradientReducer {
 public:
  GradientReducer(const ParameterSet& params, Communicator& comm, ReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  const std::vector<Bucket>& buckets() const { return buckets_; }
  // With kAuto schedule and progress resolved.
  const ReducerOptions& options() const { return options_; }

  // Starts a step: no gradient is ready yet.
  void Begin();
  // The gradient-ready hook for GradientTape::gradient_into (parameter index).
  const std::function<void(int)>& hook() const { return hook_; }
  // Starts whatever has not started, waits for every bucket and averages. Also reports an MPI
  // error raised inside the hook.
  Status Finish();

 private:
  void OnReady(int param);
  void LaunchReadyBuckets();
  void Progress() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status Launch(int bucket);
  // The timeline's allreduce event of `bucket`, from its launch to now (when the timeline is on).
  void RecordCompletion(int bucket);
  void ProgressLoop();

  float* grads_;
  int64_t num_grads_;  // floats in the arena: what the fused schedule reduces
  Communicator& comm_;
  ReducerOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<int> bucket_of_param_;
  std::vector<int> pending_in_bucket_;  // gradients not yet ready, per bucket
  std::vector<std::string> names_;      // "allreduce gradients (bucket 2 of 5)"
  std::vector<RequestId> requests_;     // per bucket, once launched
  std::vector<int64_t> launched_ns_;    // per bucket, for the timeline (-1: none to record)
  int next_to_launch_ = 0;
  int oldest_in_flight_ = 0;
  Status error_;
  std::function<void(int)> hook_;

  // The progress thread (Progress::kThread with overlap and several ranks).
  std::mutex mu_;  // guards the launch/test state above against the progress thread
  std::condition_variable wake_;
  bool polling_ ABSL_GUARDED_BY(mu_) = false;  // in flight, and Finish has not taken over
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  std::thread progress_thread_;
};

// Multiplies data by `factor` in place (the "then scale" of sum-then-scale).
void Scale(std::span<float> data, float factor);

// True when every value is finite.
bool AllFinite(std::span<const float> data);

}  // namespace hearth::dist
