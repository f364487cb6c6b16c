// GradientReducer across ranks, driven the way GradientTape::gradient_into drives it: each
// parameter's gradient is written just before its hook call, so a bucket reduced too early (or one
// never reduced) shows up as a wrong mean.
#include "hearth/dist/reducer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dist_mpi/mpi_test_env.h"
#include "hearth/nn.h"
#include "hearth/random.h"

namespace hearth::dist {
namespace {

using dist_mpi_test::Comm;

// About 20 parameters from 1 to 4000 floats, like a small MLP and CNN mixed.
ParameterSet VariedModel() {
  const std::vector<std::pair<const char*, Shape>> shapes = {{"conv1.weight", Shape{8, 1, 3, 3}},
                                                             {"conv1.bias", Shape{8}},
                                                             {"conv2.weight", Shape{16, 8, 3, 3}},
                                                             {"conv2.bias", Shape{16}},
                                                             {"norm.scale", Shape{16}},
                                                             {"norm.shift", Shape{16}},
                                                             {"fc1.weight", Shape{64, 63}},
                                                             {"fc1.bias", Shape{63}},
                                                             {"gate", Shape{1}},
                                                             {"fc2.weight", Shape{63, 17}},
                                                             {"fc2.bias", Shape{17}},
                                                             {"emb", Shape{5, 7, 3}},
                                                             {"fc3.weight", Shape{17, 10}},
                                                             {"fc3.bias", Shape{10}},
                                                             {"temperature", Shape{}},
                                                             {"head.weight", Shape{10, 2}},
                                                             {"head.bias", Shape{2}},
                                                             {"aux.weight", Shape{2, 129}},
                                                             {"aux.bias", Shape{129}},
                                                             {"out", Shape{3}}};
  std::vector<NamedTensor> params;
  for (const auto& [name, shape] : shapes) params.push_back({name, Tensor::Zeros(shape)});
  return ParameterSet(std::move(params));
}

// Rank r's gradient of element j (flat arena index) at step `step`: not exactly representable
// sums, so the test checks the mean with a tolerance rather than bit for bit.
float GradValue(int rank, int step, int64_t j) {
  const double x = std::sin(0.37 * static_cast<double>(j) + 1.3 * rank + 0.71 * step);
  return static_cast<float>(x * (1 + j % 5) + 0.01 * rank);
}

double ExpectedMean(int size, int step, int64_t j) {
  double sum = 0;
  for (int r = 0; r < size; ++r) sum += GradValue(r, step, j);
  return sum / size;
}

bool CloseTo(float got, double want) {
  return std::abs(got - want) <= 1e-6 * std::max(1.0, std::abs(want));
}

// Every parameter's gradient (not the arena's alignment padding) is the mean over ranks.
void ExpectMeans(const ParameterSet& params, int step, const std::string& context) {
  const int size = Comm().size();
  int64_t wrong = 0;
  std::string first;
  for (int p = 0; p < params.size(); ++p) {
    const float* g = params.grad(p).f32();
    int wrong_here = 0;
    for (int64_t k = 0; k < params.param(p).numel(); ++k) {
      const double want = ExpectedMean(size, step, params.offset(p) + k);
      if (CloseTo(g[k], want)) continue;
      if (first.empty())
        first = params.name(p) + "[" + std::to_string(k) + "] = " + std::to_string(g[k]) +
                ", expected " + std::to_string(want);
      ++wrong_here;
    }
    wrong += wrong_here;
  }
  EXPECT_EQ(wrong, 0) << context << ": first wrong gradient " << first;
}

enum class HookOrder { kReverse, kShuffledPerRank };

struct Config {
  std::string name;
  int64_t first_bucket_bytes;
  int64_t bucket_bytes;
  ReducerOptions::Schedule schedule;
  HookOrder order = HookOrder::kReverse;
};

// Runs `steps` steps of Begin / hooks / Finish and checks the averaged gradients after each.
void RunSteps(const Config& config, int steps) {
  Communicator& comm = Comm();
  ParameterSet params = VariedModel();
  ReducerOptions options;
  options.first_bucket_bytes = config.first_bucket_bytes;
  options.bucket_bytes = config.bucket_bytes;
  options.schedule = config.schedule;
  GradientReducer reducer(params, comm, options);
  const int n = params.size();
  Generator rng(1000 + comm.rank());

  for (int step = 0; step < steps; ++step) {
    // Gradients not computed yet hold NaN: reducing one of them early poisons the mean.
    for (int p = 0; p < n; ++p) params.grad(p).Fill(std::numeric_limits<float>::quiet_NaN());
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = n - 1 - i;
    if (config.order == HookOrder::kShuffledPerRank)
      for (int i = n - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);

    reducer.Begin();
    for (int p : order) {
      float* g = params.grad(p).f32();
      for (int64_t k = 0; k < params.param(p).numel(); ++k)
        g[k] = GradValue(comm.rank(), step, params.offset(p) + k);
      reducer.hook()(p);
    }
    const Status finished = reducer.Finish();
    EXPECT_TRUE(finished.ok()) << finished;

    ExpectMeans(params, step, config.name + ", step " + std::to_string(step));
  }
}

int BucketCount(const Config& config) {
  ParameterSet params = VariedModel();
  ReducerOptions options;
  options.first_bucket_bytes = config.first_bucket_bytes;
  options.bucket_bytes = config.bucket_bytes;
  return static_cast<int>(GradientReducer(params, Comm(), options).buckets().size());
}

// Caps of one float: every parameter is a bucket of its own.
constexpr ReducerOptions::Schedule kOverlap = ReducerOptions::Schedule::kOverlap;
const Config kTiny = {"tiny buckets", 4, 4, kOverlap};
const Config kMedium = {"medium buckets", 2 << 10, 8 << 10, kOverlap};
const Config kOneBucket = {"one bucket", 1 << 30, 1 << 30, kOverlap};

TEST(MpiGradientReducerTest, BucketLayouts) {
  EXPECT_EQ(VariedModel().size(), 20);
  EXPECT_EQ(BucketCount(kTiny), 20);  // every parameter alone
  const int medium = BucketCount(kMedium);
  EXPECT_GT(medium, 2);
  EXPECT_LT(medium, 20);
  EXPECT_EQ(BucketCount(kOneBucket), 1);
  EXPECT_EQ(BucketCount({"defaults", ReducerOptions{}.first_bucket_bytes,
                         ReducerOptions{}.bucket_bytes, kOverlap}),
            1);
}

TEST(MpiGradientReducerTest, BucketsCoverTheWholeArena) {
  // Parameters sit 16-float aligned in the arena; the buckets must cover it, padding included.
  ParameterSet params = VariedModel();
  for (const Config& config : {kTiny, kMedium, kOneBucket}) {
    ReducerOptions options;
    options.first_bucket_bytes = config.first_bucket_bytes;
    options.bucket_bytes = config.bucket_bytes;
    GradientReducer reducer(params, Comm(), options);
    int64_t covered = 0;
    for (const Bucket& b : reducer.buckets()) {
      EXPECT_EQ(b.offset, params.offset(b.first_param)) << config.name;
      covered += b.numel;
    }
    EXPECT_EQ(covered, params.numel()) << config.name;
  }
}

TEST(MpiGradientReducerTest, TinyBucketsOverlapped) {
  RunSteps(kTiny, 3);
}

TEST(MpiGradientReducerTest, TinyBucketsNotOverlapped) {
  Config config = kTiny;
  config.schedule = ReducerOptions::Schedule::kAfterBackward;
  RunSteps(config, 3);
}

TEST(MpiGradientReducerTest, MediumBucketsOverlapped) {
  RunSteps(kMedium, 3);
}

TEST(MpiGradientReducerTest, MediumBucketsNotOverlapped) {
  Config config = kMedium;
  config.schedule = ReducerOptions::Schedule::kAfterBackward;
  RunSteps(config, 2);
}

TEST(MpiGradientReducerTest, OneBucketOverlapped) {
  RunSteps(kOneBucket, 2);
}

TEST(MpiGradientReducerTest, OneBucketNotOverlapped) {
  Config config = kOneBucket;
  config.schedule = ReducerOptions::Schedule::kAfterBackward;
  RunSteps(config, 2);
}

TEST(MpiGradientReducerTest, OneFusedAllreduceAfterBackward) {
  Config config = kMedium;
  config.schedule = ReducerOptions::Schedule::kFused;
  RunSteps(config, 3);
}

TEST(MpiGradientReducerTest, TheAutomaticScheduleFusesOnlyOnOneHostWithProgressByHooks) {
  ParameterSet params = VariedModel();
  Communicator& comm = Comm();
  ASSERT_EQ(comm.local_size(), comm.size()) << "the MPI tests run on one host";
  using Progress = ReducerOptions::Progress;
  EXPECT_TRUE(NothingToOverlap(comm, Progress::kHooks));
  EXPECT_FALSE(NothingToOverlap(comm, Progress::kThread));
  for (Progress progress : {Progress::kHooks, Progress::kThread}) {
    ReducerOptions options;
    options.progress = progress;
    GradientReducer reducer(params, comm, options);
    EXPECT_EQ(reducer.options().schedule, progress == Progress::kHooks
                                              ? ReducerOptions::Schedule::kFused
                                              : ReducerOptions::Schedule::kOverlap);
  }
}

TEST(MpiGradientReducerTest, AutomaticProgressTakesAThreadOnlyWithACpuToSpare) {
  using Progress = ReducerOptions::Progress;
  EXPECT_EQ(AutoProgress(1, 1), Progress::kHooks);  // bound to one core
  EXPECT_EQ(AutoProgress(1, 2), Progress::kHooks);
  EXPECT_EQ(AutoProgress(2, 2), Progress::kHooks);   // 2 unbound ranks fill 2 cores
  EXPECT_EQ(AutoProgress(2, 1), Progress::kThread);  // one rank, a core to spare
  EXPECT_EQ(AutoProgress(8, 2), Progress::kThread);
  EXPECT_EQ(AutoProgress(4, 0), Progress::kThread);  // an unknown host count counts as one rank
}

TEST(MpiGradientReducerTest, HooksInADifferentOrderOnEveryRank) {
  // Backward finishes gradients in an order that depends on the graph, not strictly in reverse;
  // buckets must still launch in the same order everywhere.
  for (const Config& base : {kTiny, kMedium}) {
    Config config = base;
    config.name += ", shuffled hooks";
    config.order = HookOrder::kShuffledPerRank;
    RunSteps(config, 3);
  }
}

TEST(MpiGradientReducerTest, FinishWithoutHooksStillAverages) {
  // Gradient accumulation's earlier micro-steps pass no hook; when the last one does not either
  // (a caller that skips the hook), Finish must reduce everything itself.
  Communicator& comm = Comm();
  ParameterSet params = VariedModel();
  ReducerOptions options;
  options.first_bucket_bytes = kMedium.first_bucket_bytes;
  options.bucket_bytes = kMedium.bucket_bytes;
  GradientReducer reducer(params, comm, options);
  for (int p = 0; p < params.size(); ++p) {
    float* g = params.grad(p).f32();
    for (int64_t k = 0; k < params.param(p).numel(); ++k)
      g[k] = GradValue(comm.rank(), 0, params.offset(p) + k);
  }
  reducer.Begin();
  const Status finished = reducer.Finish();
  EXPECT_TRUE(finished.ok()) << finished;
  ExpectMeans(params, 0, "no hooks");
}

}  // namespace
}  // namespace hearth::dist
