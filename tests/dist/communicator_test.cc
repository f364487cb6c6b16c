// The single-process communicator and what is built on it, MpiOptions::FromEnvironment, and the
// collective-error mark.
#include "hearth/dist/communicator.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dist/scoped_env.h"
#include "hearth/dist/collectives.h"
#include "hearth/dist/model_check.h"
#include "hearth/kmeans.h"
#include "hearth/metrics.h"
#include "hearth/nn.h"

namespace hearth::dist {
namespace {

using dist_test::ScopedEnv;

constexpr char kWarning[] = "HEARTH_STALL_WARNING_SECONDS";
constexpr char kTimeout[] = "HEARTH_STALL_TIMEOUT_SECONDS";

TEST(MpiOptionsTest, DefaultsWithoutEnvironment) {
  ScopedEnv warning(kWarning, std::nullopt), timeout(kTimeout, std::nullopt);
  StatusOr<MpiOptions> options = MpiOptions::FromEnvironment();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->stall_warning_seconds, MpiOptions{}.stall_warning_seconds);
  EXPECT_EQ(options->stall_timeout_seconds, MpiOptions{}.stall_timeout_seconds);
}

TEST(MpiOptionsTest, EmptyValuesMeanDefaults) {
  ScopedEnv warning(kWarning, ""), timeout(kTimeout, "");
  StatusOr<MpiOptions> options = MpiOptions::FromEnvironment();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->stall_warning_seconds, MpiOptions{}.stall_warning_seconds);
}

TEST(MpiOptionsTest, EnvironmentOverrides) {
  ScopedEnv warning(kWarning, "2.5"), timeout(kTimeout, "30");
  StatusOr<MpiOptions> options = MpiOptions::FromEnvironment();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->stall_warning_seconds, 2.5);
  EXPECT_EQ(options->stall_timeout_seconds, 30);
}

TEST(MpiOptionsTest, EachVariableOnItsOwn) {
  {
    ScopedEnv warning(kWarning, "0"), timeout(kTimeout, std::nullopt);
    StatusOr<MpiOptions> options = MpiOptions::FromEnvironment();
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->stall_warning_seconds, 0);  // watchdog off
    EXPECT_EQ(options->stall_timeout_seconds, MpiOptions{}.stall_timeout_seconds);
  }
  {
    ScopedEnv warning(kWarning, std::nullopt), timeout(kTimeout, "600");
    StatusOr<MpiOptions> options = MpiOptions::FromEnvironment();
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->stall_warning_seconds, MpiOptions{}.stall_warning_seconds);
    EXPECT_EQ(options->stall_timeout_seconds, 600);
  }
}

TEST(MpiOptionsTest, InvalidValuesAreRejectedNamingTheVariable) {
  for (const char* name : {kWarning, kTimeout}) {
    for (const char* bad : {"abc", "-1", "10s", "nan", " "}) {
      ScopedEnv warning(kWarning, std::nullopt), timeout(kTimeout, std::nullopt);
      ScopedEnv value(name, bad);
      StatusOr<MpiOptions> options = MpiOptions::FromEnvironment();
      EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << name << "=" << bad;
      EXPECT_NE(options.status().message().find(name), std::string::npos)
          << options.status().message();
    }
  }
}

TEST(MpiOptionsTest, TimeoutBelowWarningIsRejected) {
  ScopedEnv warning(kWarning, "100"), timeout(kTimeout, "50");
  StatusOr<MpiOptions> options = MpiOptions::FromEnvironment();
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.status().message().find(kTimeout), std::string::npos)
      << options.status().message();
}

TEST(CollectiveErrorTest, RoundTrip) {
  const Status plain = absl::InvalidArgumentError("loss is NaN at step 12");
  EXPECT_FALSE(IsCollectiveError(plain));
  const Status marked = CollectiveError(plain);
  EXPECT_TRUE(IsCollectiveError(marked));
  EXPECT_EQ(marked.code(), plain.code());
  EXPECT_EQ(marked.message(), plain.message());
  // The mark survives copies and StatusOr.
  const Status copy = marked;
  EXPECT_TRUE(IsCollectiveError(copy));
  const StatusOr<int> wrapped = marked;
  EXPECT_TRUE(IsCollectiveError(wrapped.status()));
  // Marking twice is harmless.
  EXPECT_TRUE(IsCollectiveError(CollectiveError(marked)));
}

TEST(CollectiveErrorTest, OkStaysOk) {
  const Status ok = CollectiveError(absl::OkStatus());
  EXPECT_TRUE(ok.ok());
  EXPECT_FALSE(IsCollectiveError(ok));
  EXPECT_FALSE(IsCollectiveError(absl::OkStatus()));
}

TEST(LocalCommunicatorTest, WorldOfOne) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  EXPECT_EQ(comm->local_rank(), 0);
  EXPECT_EQ(comm->local_size(), 1);
  EXPECT_EQ(comm->backend(), "local");
  EXPECT_TRUE(comm->is_root());
}

TEST(LocalCommunicatorTest, CollectivesAreIdentities) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  std::vector<float> f = {1.5f, -2};
  std::vector<double> d = {3.25};
  std::vector<int64_t> i = {7, -9};
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin}) {
    EXPECT_TRUE(comm->AllReduce(std::span(f), op, "f").ok());
    EXPECT_TRUE(comm->AllReduce(std::span(d), op, "d").ok());
    EXPECT_TRUE(comm->AllReduce(std::span(i), op, "i").ok());
  }
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2}));
  EXPECT_EQ(d, (std::vector<double>{3.25}));
  EXPECT_EQ(i, (std::vector<int64_t>{7, -9}));

  std::vector<std::byte> bytes = {std::byte{1}, std::byte{2}};
  EXPECT_TRUE(comm->Broadcast(bytes, 0, "b").ok());
  EXPECT_EQ(comm->Broadcast(bytes, 1, "b").code(), absl::StatusCode::kInvalidArgument);

  std::vector<std::byte> all(2);
  EXPECT_TRUE(comm->AllGather(bytes, all, "g").ok());
  EXPECT_EQ(all, bytes);
  std::vector<std::byte> wrong(3);
  EXPECT_EQ(comm->AllGather(bytes, wrong, "g").code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(comm->Barrier("barrier").ok());
  StatusOr<RequestId> request = comm->StartAllReduceSum(std::span(f), "async");
  ASSERT_TRUE(request.ok());
  StatusOr<bool> done = comm->Test(*request);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
  EXPECT_TRUE(comm->Wait(*request).ok());
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2}));

  std::vector<float> recv(2);
  EXPECT_EQ(comm->SendRecv(f, recv, 1, "pair").code(), absl::StatusCode::kInvalidArgument);
}

TEST(LocalCommunicatorTest, BroadcastStringKeepsTheText) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  std::string text = "job spec";
  EXPECT_TRUE(BroadcastString(*comm, &text, 0, "spec").ok());
  EXPECT_EQ(text, "job spec");
  std::string empty;
  EXPECT_TRUE(BroadcastString(*comm, &empty, 0, "empty").ok());
  EXPECT_EQ(empty, "");
}

TEST(LocalCommunicatorTest, MetricsAndClusterStatsAreLeftAlone) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  MetricOptions options;
  options.num_classes = 3;
  StatusOr<MetricSet> metrics = MetricSet::Create({"accuracy", "f1_macro"}, options);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_TRUE(metrics
                  ->Update(Tensor::FromInt64({0, 1, 2, 2}, Shape{4}),
                           Tensor::FromInt64({0, 1, 1, 2}, Shape{4}))
                  .ok());
  const std::vector<double> before = metrics->State();
  ASSERT_TRUE(AllReduceMetrics(*comm, *metrics).ok());
  EXPECT_EQ(metrics->State(), before);

  ClusterStats stats = ComputeClusterStats(Tensor::FromVector({0, 0, 1, 1, 5, 5}, Shape{3, 2}),
                                           Tensor::FromVector({0, 0, 5, 5}, Shape{2, 2}));
  const ClusterStats copy = stats;
  ASSERT_TRUE(AllReduceClusterStats(*comm, stats).ok());
  EXPECT_EQ(stats.sums, copy.sums);
  EXPECT_EQ(stats.counts, copy.counts);
  EXPECT_EQ(stats.inertia, copy.inertia);
  EXPECT_EQ(stats.farthest.size(), copy.farthest.size());
}

TEST(LaunchTest, CreateCommunicatorIsLocalOutsideMpirun) {
  if (LaunchedByMpi()) GTEST_SKIP() << "running under mpirun";
  StatusOr<std::unique_ptr<Communicator>> comm = CreateCommunicator();
  ASSERT_TRUE(comm.ok()) << comm.status();
  EXPECT_EQ((*comm)->backend(), "local");
}

ParameterSet SmallModel() {
  return ParameterSet(std::vector<NamedTensor>{{"dense.weight", Tensor::Zeros(Shape{4, 3})},
                                               {"dense.bias", Tensor::Zeros(Shape{3})},
                                               {"scale", Tensor::Zeros(Shape{})}});
}

TEST(ModelCheckTest, DescribeParametersFormat) {
  EXPECT_EQ(DescribeParameters(SmallModel()), "dense.weight:[4, 3];dense.bias:[3];scale:[];");
  EXPECT_EQ(DescribeParameters(ParameterSet(std::vector<NamedTensor>{})), "");
}

TEST(ModelCheckTest, DescriptionChangesWithShapeNameOrOrder) {
  const std::string base = DescribeParameters(SmallModel());
  EXPECT_NE(base, DescribeParameters(ParameterSet(
                      std::vector<NamedTensor>{{"dense.weight", Tensor::Zeros(Shape{3, 4})},
                                               {"dense.bias", Tensor::Zeros(Shape{3})},
                                               {"scale", Tensor::Zeros(Shape{})}})));
  EXPECT_NE(base, DescribeParameters(ParameterSet(
                      std::vector<NamedTensor>{{"dense.bias", Tensor::Zeros(Shape{3})},
                                               {"dense.weight", Tensor::Zeros(Shape{4, 3})},
                                               {"scale", Tensor::Zeros(Shape{})}})));
}

TEST(ModelCheckTest, SameModelOnOneRank) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  EXPECT_TRUE(CheckSameModel(*comm, SmallModel()).ok());
  EXPECT_TRUE(CheckSameModel(*comm, ParameterSet(std::vector<NamedTensor>{})).ok());
}

}  // namespace
}  // namespace hearth::dist
