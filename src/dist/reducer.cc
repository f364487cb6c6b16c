#include "hearth/dist/reducer.h"

#include <sched.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "hearth/timeline.h"

namespace hearth::dist {

namespace {

// The value of an integer environment variable in [min, max], or `fallback` when unset.
StatusOr<int64_t> IntegerFromEnv(const char* name, int64_t fallback, int64_t min, int64_t max) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > max)
    return absl::InvalidArgumentError(
        absl::StrFormat("%s=\"%s\": expected an integer from %d to %d", name, text, min, max));
  return value;
}

// CPUs this process may run on (its affinity mask).
int CpusAvailable() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

}  // namespace

StatusOr<ReducerOptions> ReducerOptions::FromEnvironment() {
  ReducerOptions o;
  constexpr int64_t kMax = int64_t{1} << 40;
  HEARTH_ASSIGN_OR_RETURN(o.bucket_bytes,
                          IntegerFromEnv("HEARTH_BUCKET_BYTES", o.bucket_bytes, 4, kMax));
  HEARTH_ASSIGN_OR_RETURN(o.first_bucket_bytes, IntegerFromEnv("HEARTH_FIRST_BUCKET_BYTES",
                                                               o.first_bucket_bytes, 4, kMax));
  if (const char* overlap = std::getenv("HEARTH_OVERLAP"); overlap && *overlap) {
    const std::string_view mode(overlap);
    if (mode != "auto" && mode != "1" && mode != "0" && mode != "fused")
      return absl::InvalidArgumentError(absl::StrFormat(
          "HEARTH_OVERLAP=\"%s\": expected \"auto\", \"1\", \"0\" or \"fused\"", overlap));
    o.schedule = mode == "1"       ? Schedule::kOverlap
                 : mode == "0"     ? Schedule::kAfterBackward
                 : mode == "fused" ? Schedule::kFused
                                   : Schedule::kAuto;
  }
  if (const char* progress = std::getenv("HEARTH_PROGRESS"); progress && *progress) {
    const std::string_view mode(progress);
    if (mode != "auto" && mode != "thread" && mode != "hooks")
      return absl::InvalidArgumentError(absl::StrFormat(
          "HEARTH_PROGRESS=\"%s\": expected \"auto\", \"thread\" or \"hooks\"", progress));
    o.progress = mode == "thread"  ? Progress::kThread
                 : mode == "hooks" ? Progress::kHooks
                                   : Progress::kAuto;
  }
  return o;
}

int64_t ReducerOptions::BucketBytesFor(int64_t total_bytes) const {
  if (bucket_bytes > 0) return bucket_bytes;
  return std::clamp<int64_t>(total_bytes / kAutoBuckets, kMinAutoBucketBytes, kMaxAutoBucketBytes);
}

ReducerOptions::Progress AutoProgress(int cpus, int local_ranks) {
  return cpus > std::max(local_ranks, 1) ? ReducerOptions::Progress::kThread
                                         : ReducerOptions::Progress::kHooks;
}

bool NothingToOverlap(const Communicator& comm, ReducerOptions::Progress progress) {
  return comm.local_size() == comm.size() && progress == ReducerOptions::Progress::kHooks;
}

std::vector<Bucket> AssignBuckets(const std::vector<int64_t>& sizes,
                                  const ReducerOptions& options) {
  std::vector<Bucket> buckets;
  const int64_t total_floats = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  const int64_t first_cap = std::max<int64_t>(options.first_bucket_bytes, 4) / 4;
  const int64_t cap = std::max<int64_t>(options.BucketBytesFor(total_floats * 4), 4) / 4;
  std::vector<int64_t> offsets;
  int64_t offset = 0;
  for (int64_t size : sizes) {
    offsets.push_back(offset);
    offset += size;
  }
  for (int i = static_cast<int>(sizes.size()) - 1; i >= 0; --i) {
    const int64_t limit = buckets.size() <= 1 ? first_cap : cap;
    if (buckets.empty() || buckets.back().numel + sizes[i] > limit)
      buckets.push_back({i, i, offsets[i], 0});
    Bucket& b = buckets.back();
    const int64_t end = offsets[b.last_param] + sizes[b.last_param];
    b.first_param = i;
    b.offset = offsets[i];
    b.numel = end - b.offset;
  }
  return buckets;
}

GradientReducer::GradientReducer(const ParameterSet& params, Communicator& comm,
                                 ReducerOptions options)
    : grads_(params.flat_grads().numel() > 0 ? params.flat_grads().data<float>() : nullptr),
      num_grads_(params.flat_grads().numel()),
      comm_(comm),
      options_(options) {
  // Each parameter's slot in the arena: ParameterSet pads every parameter to an aligned offset.
  std::vector<int64_t> sizes(params.size());
  for (int i = 0; i < params.size(); ++i)
    sizes[i] = (i + 1 < params.size() ? params.offset(i + 1) : params.numel()) - params.offset(i);
  buckets_ = AssignBuckets(sizes, options_);
  bucket_of_param_.resize(params.size());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    for (int p = buckets_[b].first_param; p <= buckets_[b].last_param; ++p)
      bucket_of_param_[p] = static_cast<int>(b);
    names_.push_back(
        absl::StrFormat("allreduce gradients (bucket %d of %d)", b + 1, buckets_.size()));
  }
  pending_in_bucket_.resize(buckets_.size());
  requests_.resize(buckets_.size());
  launched_ns_.assign(buckets_.size(), -1);
  if (Timeline::Get().on()) {
    for (size_t b = 0; b < buckets_.size(); ++b)
      Timeline::Get().NameRow(
          Timeline::kBucketRows + static_cast<int>(b),
          absl::StrFormat("allreduce bucket %d of %d (%.0f KB)", b + 1, buckets_.size(),
                          static_cast<double>(buckets_[b].numel) * 4 / 1024));
  }
  hook_ = [this](int param) { OnReady(param); };
  Begin();
  using Schedule = ReducerOptions::Schedule;
  if (options_.progress == ReducerOptions::Progress::kAuto)
    options_.progress = AutoProgress(CpusAvailable(), comm_.local_size());
  if (options_.schedule == Schedule::kAuto)
    options_.schedule =
        NothingToOverlap(comm_, options_.progress) ? Schedule::kFused : Schedule::kOverlap;
  if (options_.schedule == Schedule::kOverlap &&
      options_.progress == ReducerOptions::Progress::kThread && comm_.size() > 1)
    progress_thread_ = std::thread([this] { ProgressLoop(); });
}

GradientReducer::~GradientReducer() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  wake_.notify_one();
  if (progress_thread_.joinable()) progress_thread_.join();
}

void GradientReducer::ProgressLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return polling_ || quit_; });
    if (quit_) return;
    Progress();
    // Sleep between tests: a few percent of a core instead of a spinning one.
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    lock.lock();
  }
}

void GradientReducer::Begin() {
  for (size_t b = 0; b < buckets_.size(); ++b)
    pending_in_bucket_[b] = buckets_[b].last_param - buckets_[b].first_param + 1;
  next_to_launch_ = 0;
  oldest_in_flight_ = 0;
  error_ = absl::OkStatus();
}

void GradientReducer::OnReady(int param) {
  std::unique_lock lock(mu_);
  --pending_in_bucket_[bucket_of_param_[param]];
  if (options_.schedule != ReducerOptions::Schedule::kOverlap || comm_.size() == 1) return;
  const int launched = next_to_launch_;
  LaunchReadyBuckets();
  if (!progress_thread_.joinable()) {
    Progress();
  } else if (next_to_launch_ > launched && !polling_) {
    polling_ = true;
    lock.unlock();
    wake_.notify_one();
  }
}

void GradientReducer::LaunchReadyBuckets() {
  // In bucket order only: every rank must start the same collectives in the same order.
  while (next_to_launch_ < static_cast<int>(buckets_.size()) &&
         pending_in_bucket_[next_to_launch_] == 0) {
    if (Status s = Launch(next_to_launch_); !s.ok() && error_.ok()) error_ = s;
    ++next_to_launch_;
  }
}

Status GradientReducer::Launch(int bucket) {
  const Bucket& b = buckets_[bucket];
  if (Timeline::Get().on()) {
    launched_ns_[bucket] = Timeline::Now();
    Timeline::Get().Instant("bucket ready", "comm", launched_ns_[bucket], Timeline::kTraining,
                            bucket);
  }
  HEARTH_ASSIGN_OR_RETURN(
      requests_[bucket],
      comm_.StartAllReduceSum(std::span(grads_ + b.offset, b.numel), names_[bucket]));
  return absl::OkStatus();
}

void GradientReducer::Progress() {
  // Testing the oldest request drives all of them (one progress engine).
  while (oldest_in_flight_ < next_to_launch_) {
    StatusOr<bool> done = comm_.Test(requests_[oldest_in_flight_]);
    if (!done.ok()) {
      if (error_.ok()) error_ = done.status();
      return;
    }
    if (!*done) return;
    RecordCompletion(oldest_in_flight_);
    ++oldest_in_flight_;
  }
}

Status GradientReducer::Finish() {
  if (comm_.size() == 1) return absl::OkStatus();
  const float inverse = 1.0f / static_cast<float>(comm_.size());
  if (options_.schedule == ReducerOptions::Schedule::kFused) {
    const std::span<float> all(grads_, static_cast<size_t>(num_grads_));
    TimelineSpan span("allreduce all gradients", "comm", Timeline::kTraining,
                      num_grads_ * static_cast<int64_t>(sizeof(float)));
    HEARTH_RETURN_IF_ERROR(comm_.AllReduce(all, ReduceOp::kSum, "allreduce gradients"));
    if (!options_.prescaled) Scale(all, inverse);
    return absl::OkStatus();
  }
  {
    // From here on only this thread talks to MPI about the buckets.
    std::lock_guard lock(mu_);
    polling_ = false;
    // Anything the hook did not see (a parameter with no path to the loss still gets its hook
    // call from the tape, so normally this only launches when overlap is off).
    for (int& pending : pending_in_bucket_) pending = 0;
    LaunchReadyBuckets();
  }
  HEARTH_RETURN_IF_ERROR(error_);
  // What backward did not hide: the training thread waits for the rest of the allreduces (the
  // slowest rank's last gradients, then the transfer).
  TimelineSpan wait("wait for gradients", "wait");
  for (size_t b = 0; b < buckets_.size(); ++b) {
    HEARTH_RETURN_IF_ERROR(comm_.Wait(requests_[b]));
    if (static_cast<int>(b) >= oldest_in_flight_) RecordCompletion(static_cast<int>(b));
    if (!options_.prescaled)
      Scale(std::span(grads_ + buckets_[b].offset, buckets_[b].numel), inverse);
  }
  return absl::OkStatus();
}

void GradientReducer::RecordCompletion(int bucket) {
  if (launched_ns_[bucket] < 0 || !Timeline::Get().on()) return;
  Timeline::Get().Complete("allreduce", "comm", launched_ns_[bucket], Timeline::Now(),
                           Timeline::kBucketRows + bucket,
                           buckets_[bucket].numel * static_cast<int64_t>(sizeof(float)));
  launched_ns_[bucket] = -1;
}

void Scale(std::span<float> data, float factor) {
  for (float& x : data) x *= factor;
}

bool AllFinite(std::span<const float> data) {
  // A float is inf or NaN exactly when its exponent bits are all ones. The max of the exponent
  // fields is an integer reduction GCC vectorises (a float sum would not be, without -ffast-math).
  uint32_t max_exponent = 0;
  for (float x : data)
    max_exponent = std::max(max_exponent, std::bit_cast<uint32_t>(x) & 0x7f800000u);
  return max_exponent != 0x7f800000u;
}

}  // namespace hearth::dist
