// The gradient reducer without MPI: bucket assignment, a world-size-1 step, Scale and AllFinite.
#include "hearth/dist/reducer.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "dist/scoped_env.h"
#include "hearth/dist/communicator.h"
#include "hearth/nn.h"
#include "hearth/random.h"

namespace hearth::dist {
namespace {

ReducerOptions Caps(int64_t first_floats, int64_t later_floats) {
  ReducerOptions options;
  options.first_bucket_bytes = first_floats * 4;
  options.bucket_bytes = later_floats * 4;
  return options;
}

// Every structural promise of AssignBuckets, for any sizes and caps: buckets walk the parameters
// from last to first without gaps, each bucket's range of the arena is exactly its parameters',
// the ranges tile the arena once, a bucket exceeds its cap only when it holds one parameter, and
// packing is greedy (the next parameter would not have fitted).
void ExpectValidBuckets(const std::vector<int64_t>& sizes, const ReducerOptions& options,
                        const std::vector<Bucket>& buckets) {
  const int n = static_cast<int>(sizes.size());
  if (n == 0) {
    EXPECT_TRUE(buckets.empty());
    return;
  }
  std::vector<int64_t> offsets(n + 1, 0);
  for (int i = 0; i < n; ++i) offsets[i + 1] = offsets[i] + sizes[i];
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets.front().last_param, n - 1);
  EXPECT_EQ(buckets.back().first_param, 0);
  EXPECT_EQ(buckets.back().offset, 0);
  int64_t covered = 0;
  for (size_t b = 0; b < buckets.size(); ++b) {
    const Bucket& bucket = buckets[b];
    SCOPED_TRACE(testing::Message() << "bucket " << b << " [" << bucket.first_param << ", "
                                    << bucket.last_param << "]");
    ASSERT_LE(bucket.first_param, bucket.last_param);
    EXPECT_EQ(bucket.offset, offsets[bucket.first_param]);
    EXPECT_EQ(bucket.numel, offsets[bucket.last_param + 1] - offsets[bucket.first_param]);
    if (b + 1 < buckets.size()) {
      EXPECT_EQ(buckets[b + 1].last_param, bucket.first_param - 1);
      EXPECT_EQ(buckets[b + 1].offset + buckets[b + 1].numel, bucket.offset);
    }
    const int64_t cap = (b == 0 ? options.first_bucket_bytes : options.bucket_bytes) / 4;
    if (bucket.first_param != bucket.last_param) {
      EXPECT_LE(bucket.numel, cap);
    }
    if (b + 1 < buckets.size()) {
      EXPECT_GT(bucket.numel + sizes[bucket.first_param - 1], cap);
    }
    covered += bucket.numel;
  }
  EXPECT_EQ(covered, offsets[n]);
}

TEST(AssignBucketsTest, ReverseOrderWithASmallFirstBucket) {
  // Parameters 3 and 2 do not fit together under the first cap (50); 2, 1 and 0 fit under 60.
  const std::vector<int64_t> sizes = {10, 20, 30, 40};
  const ReducerOptions options = Caps(50, 60);
  const std::vector<Bucket> buckets = AssignBuckets(sizes, options);
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].first_param, 3);
  EXPECT_EQ(buckets[0].last_param, 3);
  EXPECT_EQ(buckets[0].offset, 60);
  EXPECT_EQ(buckets[0].numel, 40);
  EXPECT_EQ(buckets[1].first_param, 0);
  EXPECT_EQ(buckets[1].last_param, 2);
  EXPECT_EQ(buckets[1].offset, 0);
  EXPECT_EQ(buckets[1].numel, 60);
  ExpectValidBuckets(sizes, options, buckets);
}

TEST(AssignBucketsTest, FirstCapAppliesOnlyToTheFirstBucket) {
  // Eight parameters of 10: the first bucket takes 2 (cap 20), every later one 4 (cap 40).
  const std::vector<int64_t> sizes(8, 10);
  const ReducerOptions options = Caps(20, 40);
  const std::vector<Bucket> buckets = AssignBuckets(sizes, options);
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].numel, 20);
  EXPECT_EQ(buckets[0].first_param, 6);
  EXPECT_EQ(buckets[1].numel, 40);
  EXPECT_EQ(buckets[1].first_param, 2);
  EXPECT_EQ(buckets[2].numel, 20);
  EXPECT_EQ(buckets[2].first_param, 0);
  ExpectValidBuckets(sizes, options, buckets);
}

TEST(AssignBucketsTest, OversizedParameterGetsItsOwnBucket) {
  const std::vector<int64_t> sizes = {5, 100, 5, 5, 1000};
  const ReducerOptions options = Caps(8, 12);
  const std::vector<Bucket> buckets = AssignBuckets(sizes, options);
  // 1000 alone (first bucket), 5 + 5, 100 alone, 5.
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0].first_param, 4);
  EXPECT_EQ(buckets[0].last_param, 4);
  EXPECT_EQ(buckets[0].numel, 1000);
  EXPECT_EQ(buckets[1].first_param, 2);
  EXPECT_EQ(buckets[1].last_param, 3);
  EXPECT_EQ(buckets[2].first_param, 1);
  EXPECT_EQ(buckets[2].last_param, 1);
  EXPECT_EQ(buckets[2].numel, 100);
  EXPECT_EQ(buckets[3].first_param, 0);
  EXPECT_EQ(buckets[3].last_param, 0);
  ExpectValidBuckets(sizes, options, buckets);
}

TEST(AssignBucketsTest, DefaultsPutASmallModelInOneBucket) {
  const std::vector<int64_t> sizes = {784 * 16, 16, 16 * 10, 10};
  const std::vector<Bucket> buckets = AssignBuckets(sizes, ReducerOptions{});
  ASSERT_EQ(buckets.size(), 1u);
  EXPECT_EQ(buckets[0].first_param, 0);
  EXPECT_EQ(buckets[0].last_param, 3);
  EXPECT_EQ(buckets[0].numel, 784 * 16 + 16 + 160 + 10);
}

TEST(AssignBucketsTest, TheAutomaticSizeScalesWithTheModelWithinItsBounds) {
  const ReducerOptions automatic;
  ASSERT_EQ(automatic.bucket_bytes, 0) << "the default is automatic";
  constexpr int64_t kMiB = int64_t{1} << 20;
  EXPECT_EQ(automatic.BucketBytesFor(4 * kMiB), kMiB);  // small models: never under 1 MiB
  EXPECT_EQ(automatic.BucketBytesFor(100 * kMiB), 100 * kMiB / 8);
  EXPECT_EQ(automatic.BucketBytesFor(int64_t{4} << 30), 25 * kMiB);  // never over 25 MiB
  ReducerOptions fixed;
  fixed.bucket_bytes = 4096;
  EXPECT_EQ(fixed.BucketBytesFor(100 * kMiB), 4096) << "a size that was set wins";

  // A 25 MB model of 100 tensors gets about eight buckets after the small first one.
  const std::vector<int64_t> sizes(100, 25 * kMiB / 4 / 100);
  const std::vector<Bucket> buckets = AssignBuckets(sizes, automatic);
  EXPECT_GE(buckets.size(), 8u);
  EXPECT_LE(buckets.size(), 10u);
  ReducerOptions resolved = automatic;
  resolved.bucket_bytes = automatic.BucketBytesFor(25 * kMiB / 100 * 100);
  ExpectValidBuckets(sizes, resolved, buckets);
}

TEST(AssignBucketsTest, NoParametersNoBuckets) {
  EXPECT_TRUE(AssignBuckets({}, ReducerOptions{}).empty());
}

TEST(AssignBucketsTest, CapsBelowOneFloatStillMakeProgress) {
  // Byte caps under 4 round up to one float: every parameter its own bucket.
  ReducerOptions options;
  options.first_bucket_bytes = 0;
  options.bucket_bytes = 1;
  const std::vector<int64_t> sizes = {3, 1, 2};
  const std::vector<Bucket> buckets = AssignBuckets(sizes, options);
  ASSERT_EQ(buckets.size(), 3u);
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ(buckets[b].first_param, 2 - b);
    EXPECT_EQ(buckets[b].last_param, 2 - b);
  }
}

TEST(AssignBucketsTest, RandomSizesAndCapsKeepEveryInvariant) {
  Generator rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int64_t> sizes(1 + rng.Below(30));
    for (int64_t& s : sizes) s = 1 + static_cast<int64_t>(rng.Below(rng.Below(2) ? 50 : 5000));
    const ReducerOptions options =
        Caps(1 + static_cast<int64_t>(rng.Below(2000)), 1 + static_cast<int64_t>(rng.Below(8000)));
    SCOPED_TRACE(testing::Message() << "trial " << trial);
    ExpectValidBuckets(sizes, options, AssignBuckets(sizes, options));
  }
}

std::vector<NamedTensor> VariedParameters() {
  return {{"0.weight", Tensor::Zeros(Shape{4, 3})},
          {"0.bias", Tensor::Zeros(Shape{3})},
          {"1.weight", Tensor::Zeros(Shape{3, 7})},
          {"1.bias", Tensor::Zeros(Shape{7})},
          {"scale", Tensor::Zeros(Shape{1})}};
}

TEST(GradientReducerTest, LocalStepLeavesGradientsUnchanged) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  ParameterSet params(VariedParameters());
  using Schedule = ReducerOptions::Schedule;
  for (Schedule schedule :
       {Schedule::kAuto, Schedule::kOverlap, Schedule::kAfterBackward, Schedule::kFused}) {
    ReducerOptions options = Caps(4, 8);
    options.schedule = schedule;
    GradientReducer reducer(params, *comm, options);
    std::vector<int64_t> sizes;
    for (int i = 0; i < params.size(); ++i) sizes.push_back(params.param(i).numel());
    const std::vector<Bucket> expected = AssignBuckets(sizes, options);
    ASSERT_EQ(reducer.buckets().size(), expected.size());
    EXPECT_GT(reducer.buckets().size(), 1u);
    for (int step = 0; step < 3; ++step) {
      float* g = params.flat_grads().f32();
      for (int64_t j = 0; j < params.numel(); ++j) g[j] = 0.1f * static_cast<float>(j - step) / 3;
      const std::vector<float> before = params.flat_grads().ToVector();
      reducer.Begin();
      for (int i = params.size() - 1; i >= 0; --i) reducer.hook()(i);
      const Status finished = reducer.Finish();
      ASSERT_TRUE(finished.ok()) << finished;
      const std::vector<float> after = params.flat_grads().ToVector();
      ASSERT_EQ(after.size(), before.size());
      EXPECT_EQ(std::memcmp(after.data(), before.data(), after.size() * sizeof(float)), 0)
          << "schedule " << static_cast<int>(schedule) << " step " << step;
    }
  }
}

// A bucket is reduced in place in the ParameterSet's arena, so its range must be exactly its
// parameters' gradients there, alignment padding between them included, and the buckets together
// must cover the whole arena.
TEST(GradientReducerTest, BucketsFollowTheParameterArena) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  ParameterSet params(VariedParameters());
  for (const ReducerOptions& options : {Caps(1, 1), Caps(16, 40), ReducerOptions{}}) {
    GradientReducer reducer(params, *comm, options);
    const std::vector<Bucket>& buckets = reducer.buckets();
    ASSERT_FALSE(buckets.empty());
    int64_t covered = 0;
    for (const Bucket& b : buckets) {
      SCOPED_TRACE(testing::Message() << "bucket of parameters " << b.first_param << ".."
                                      << b.last_param << " of " << reducer.buckets().size());
      const int64_t end =
          b.last_param + 1 < params.size() ? params.offset(b.last_param + 1) : params.numel();
      EXPECT_EQ(b.offset, params.offset(b.first_param));
      EXPECT_EQ(b.offset + b.numel, end);
      covered += b.numel;
    }
    EXPECT_EQ(covered, params.numel());
  }
}

TEST(GradientReducerTest, LocalFinishWithoutHooksIsOk) {
  // Gradient accumulation passes no hook on the first micro-steps; Finish must still succeed.
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  ParameterSet params(VariedParameters());
  params.flat_grads().Fill(2.5f);
  GradientReducer reducer(params, *comm);
  reducer.Begin();
  const Status finished = reducer.Finish();
  ASSERT_TRUE(finished.ok()) << finished;
  for (float g : params.flat_grads().ToVector()) EXPECT_EQ(g, 2.5f);
}

TEST(GradientReducerTest, EmptyParameterSet) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  ParameterSet params(std::vector<NamedTensor>{});
  GradientReducer reducer(params, *comm);
  EXPECT_TRUE(reducer.buckets().empty());
  reducer.Begin();
  EXPECT_TRUE(reducer.Finish().ok());
}

TEST(ReducerOptionsTest, FromEnvironment) {
  using dist_test::ScopedEnv;
  {
    ScopedEnv a("HEARTH_BUCKET_BYTES", std::nullopt), b("HEARTH_FIRST_BUCKET_BYTES", std::nullopt),
        c("HEARTH_OVERLAP", std::nullopt);
    StatusOr<ReducerOptions> options = ReducerOptions::FromEnvironment();
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->bucket_bytes, ReducerOptions{}.bucket_bytes);
    EXPECT_EQ(options->first_bucket_bytes, ReducerOptions{}.first_bucket_bytes);
    EXPECT_EQ(options->schedule, ReducerOptions::Schedule::kAuto);
  }
  {
    ScopedEnv a("HEARTH_BUCKET_BYTES", "4096"), b("HEARTH_FIRST_BUCKET_BYTES", "64"),
        c("HEARTH_OVERLAP", "0");
    StatusOr<ReducerOptions> options = ReducerOptions::FromEnvironment();
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->bucket_bytes, 4096);
    EXPECT_EQ(options->first_bucket_bytes, 64);
    EXPECT_EQ(options->schedule, ReducerOptions::Schedule::kAfterBackward);
  }
  for (const auto& [text, schedule] : std::vector<std::pair<const char*, ReducerOptions::Schedule>>{
           {"1", ReducerOptions::Schedule::kOverlap},
           {"fused", ReducerOptions::Schedule::kFused},
           {"auto", ReducerOptions::Schedule::kAuto}}) {
    ScopedEnv c("HEARTH_OVERLAP", text);
    StatusOr<ReducerOptions> options = ReducerOptions::FromEnvironment();
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->schedule, schedule) << text;
  }
  for (const char* name : {"HEARTH_BUCKET_BYTES", "HEARTH_FIRST_BUCKET_BYTES", "HEARTH_OVERLAP"}) {
    for (const char* bad : {"abc", "-5", "0", "2.5", "1e3x"}) {
      if (std::string(name) == "HEARTH_OVERLAP" && std::string(bad) == "0") continue;
      ScopedEnv value(name, bad);
      StatusOr<ReducerOptions> options = ReducerOptions::FromEnvironment();
      EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << name << "=" << bad;
      EXPECT_NE(options.status().message().find(name), std::string::npos)
          << options.status().message();
    }
  }
  ScopedEnv overlap("HEARTH_OVERLAP", "2");
  EXPECT_FALSE(ReducerOptions::FromEnvironment().ok());
}

TEST(ScaleTest, MultipliesInPlace) {
  std::vector<float> data = {1, -2, 0.5f, 8};
  Scale(data, 0.25f);
  EXPECT_EQ(data, (std::vector<float>{0.25f, -0.5f, 0.125f, 2}));
  Scale(std::span<float>(), 3.0f);  // empty: nothing to do
}

TEST(AllFiniteTest, FiniteValuesIncludingExtremes) {
  const std::vector<float> data = {0.0f,
                                   -0.0f,
                                   1.0f,
                                   -1e30f,
                                   std::numeric_limits<float>::max(),
                                   std::numeric_limits<float>::lowest(),
                                   std::numeric_limits<float>::min(),
                                   std::numeric_limits<float>::denorm_min(),
                                   -std::numeric_limits<float>::denorm_min()};
  EXPECT_TRUE(AllFinite(data));
}

TEST(AllFiniteTest, EmptyIsFinite) {
  EXPECT_TRUE(AllFinite(std::span<const float>()));
}

TEST(AllFiniteTest, NonFiniteAnywhereIsFound) {
  const float bad_values[] = {
      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
      std::numeric_limits<float>::signaling_NaN()};
  for (size_t length : {1u, 7u, 15u, 16u, 17u, 33u, 100u, 1001u}) {
    std::vector<float> data(length);
    for (size_t i = 0; i < length; ++i) data[i] = static_cast<float>(i) * 0.5f - 3.0f;
    ASSERT_TRUE(AllFinite(data)) << length;
    for (float bad : bad_values) {
      for (size_t at : {size_t{0}, length / 2, length - 1}) {
        std::vector<float> copy = data;
        copy[at] = bad;
        EXPECT_FALSE(AllFinite(copy))
            << "length " << length << " position " << at << " value " << bad;
      }
    }
  }
}

}  // namespace
}  // namespace hearth::dist
