// Collectives on Hearth's types: metrics and k-means statistics summed over ranks must equal what
// one process computes over all the data.
#include "hearth/dist/collectives.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dist_mpi/mpi_test_env.h"
#include "hearth/kmeans.h"
#include "hearth/metrics.h"
#include "hearth/random.h"

namespace hearth::dist {
namespace {

using dist_mpi_test::Comm;

constexpr int64_t kExamples = 103;
constexpr int64_t kClasses = 4;

struct Predictions {
  std::vector<float> logits;    // [kExamples, kClasses]
  std::vector<int64_t> labels;  // [kExamples]
};

// Noisy logits that are right about two thirds of the time.
Predictions MakePredictions() {
  Generator rng(5);
  Predictions p;
  for (int64_t i = 0; i < kExamples; ++i) {
    const auto label = static_cast<int64_t>(rng.Below(kClasses));
    p.labels.push_back(label);
    for (int64_t c = 0; c < kClasses; ++c)
      p.logits.push_back(rng.Normal() + (c == label && rng.Below(3) != 0 ? 2.5f : 0.0f));
  }
  return p;
}

// Rows [begin, end) of the predictions.
Status UpdateRows(MetricSet& metrics, const Predictions& p, int64_t begin, int64_t end) {
  if (begin == end) return absl::OkStatus();
  std::vector<float> logits(p.logits.begin() + begin * kClasses, p.logits.begin() + end * kClasses);
  std::vector<int64_t> labels(p.labels.begin() + begin, p.labels.begin() + end);
  return metrics.Update(Tensor::FromVector(logits, Shape{end - begin, kClasses}),
                        Tensor::FromInt64(labels, Shape{end - begin}));
}

StatusOr<MetricSet> MakeMetrics() {
  MetricOptions options;
  options.num_classes = kClasses;
  // roc_auc and pr_auc keep examples: gathered, not summed.
  return MetricSet::Create(
      {"accuracy", "f1_macro", "precision_macro", "log_loss", "roc_auc", "pr_auc"}, options);
}

void ExpectSameResults(const MetricResults& got, const MetricResults& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    // Counts are exact in double; the log-loss sum is added up in another order.
    EXPECT_NEAR(got[i].second, want[i].second, 1e-12) << got[i].first;
  }
}

// Rank r's share of n items split into `size` contiguous, uneven blocks; with `starve_last`, the
// last rank of three or more gets nothing.
std::pair<int64_t, int64_t> Share(int64_t n, int rank, int size, bool starve_last) {
  const int holders = starve_last && size >= 3 ? size - 1 : size;
  if (rank >= holders) return {n, n};
  // Quadratic cut points: shares of different sizes.
  auto cut = [&](int r) { return n * r * r / (static_cast<int64_t>(holders) * holders); };
  return {cut(rank), cut(rank + 1)};
}

TEST(MpiAllReduceMetricsTest, EqualsOneProcessOverAllData) {
  Communicator& comm = Comm();
  const Predictions p = MakePredictions();
  for (bool starve_last : {false, true}) {
    SCOPED_TRACE(starve_last ? "last rank without data" : "every rank with data");
    StatusOr<MetricSet> mine = MakeMetrics();
    StatusOr<MetricSet> all = MakeMetrics();
    ASSERT_TRUE(mine.ok() && all.ok());
    const auto [begin, end] = Share(kExamples, comm.rank(), comm.size(), starve_last);
    EXPECT_TRUE(UpdateRows(*mine, p, begin, end).ok());
    ASSERT_TRUE(UpdateRows(*all, p, 0, kExamples).ok());

    const Status reduced = AllReduceMetrics(comm, *mine);
    EXPECT_TRUE(reduced.ok()) << reduced;
    StatusOr<MetricResults> got = mine->Compute();
    StatusOr<MetricResults> want = all->Compute();
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    ExpectSameResults(*got, *want);
  }
}

TEST(MpiAllReduceMetricsTest, ConfusionMatrixF1MatchesTheCounts) {
  // The macro F1 from a confusion matrix built over all the data, as a cross-check of the set.
  Communicator& comm = Comm();
  const Predictions p = MakePredictions();
  MetricOptions options;
  options.num_classes = kClasses;
  StatusOr<MetricSet> mine = MetricSet::Create({"f1_macro"}, options);
  ASSERT_TRUE(mine.ok());
  const auto [begin, end] = Share(kExamples, comm.rank(), comm.size(), false);
  EXPECT_TRUE(UpdateRows(*mine, p, begin, end).ok());
  EXPECT_TRUE(AllReduceMetrics(comm, *mine).ok());

  StatusOr<std::vector<int64_t>> predicted = PredictedClasses(
      Tensor::FromVector(p.logits, Shape{kExamples, kClasses}), /*from_logits=*/true);
  ASSERT_TRUE(predicted.ok());
  ConfusionMatrix matrix(kClasses);
  ASSERT_TRUE(matrix.Add(p.labels, *predicted).ok());
  StatusOr<MetricResults> got = mine->Compute();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_NEAR((*got)[0].second, matrix.MacroF1(), 1e-15);
}

TEST(MpiAllReduceMetricsTest, SilhouetteGathersEveryRanksPoints) {
  // Fewer points than the sample holds: the gathered score is the exact one over all points.
  Communicator& comm = Comm();
  Generator rng(3);
  std::vector<float> x;
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 40; ++i) {
    ids.push_back(i % 3);
    for (int d = 0; d < 2; ++d) x.push_back(rng.Normal() + static_cast<float>(i % 3) * 3);
  }
  auto rows = [&](MetricSet& set, int64_t begin, int64_t end) {
    if (begin == end) return absl::OkStatus();
    return set.Update(
        Tensor::FromInt64(std::vector<int64_t>(ids.begin() + begin, ids.begin() + end),
                          Shape{end - begin}),
        Tensor::FromVector(std::vector<float>(x.begin() + begin * 2, x.begin() + end * 2),
                           Shape{end - begin, 2}));
  };
  StatusOr<MetricSet> mine = MetricSet::Create({"silhouette"});
  StatusOr<MetricSet> all = MetricSet::Create({"silhouette"});
  ASSERT_TRUE(mine.ok() && all.ok());
  const auto [begin, end] = Share(40, comm.rank(), comm.size(), true);
  ASSERT_TRUE(rows(*mine, begin, end).ok());
  ASSERT_TRUE(rows(*all, 0, 40).ok());
  const Status reduced = AllReduceMetrics(comm, *mine);
  ASSERT_TRUE(reduced.ok()) << reduced;
  StatusOr<MetricResults> got = mine->Compute();
  StatusOr<MetricResults> want = all->Compute();
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_NEAR((*got)[0].second, (*want)[0].second, 1e-12);
}

TEST(MpiAllGatherVariableTest, EveryRanksValuesInRankOrder) {
  Communicator& comm = Comm();
  // Rank r sends r values (rank 0 none), each 100 * r + k.
  std::vector<double> mine;
  for (int k = 0; k < comm.rank(); ++k) mine.push_back(100.0 * comm.rank() + k);
  StatusOr<std::vector<std::vector<double>>> all = AllGatherVariable(comm, mine, "test gather");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(static_cast<int>(all->size()), comm.size());
  for (int r = 0; r < comm.size(); ++r) {
    ASSERT_EQ(static_cast<int>((*all)[r].size()), r);
    for (int k = 0; k < r; ++k) EXPECT_EQ((*all)[r][k], 100.0 * r + k);
  }
}

constexpr int64_t kPoints = 61;
constexpr int64_t kDim = 3;
constexpr int64_t kClusters = 4;

std::vector<float> MakePoints() {
  Generator rng(9);
  std::vector<float> x;
  for (int64_t i = 0; i < kPoints; ++i)
    for (int64_t d = 0; d < kDim; ++d) x.push_back(rng.Normal() + static_cast<float>(i % 3) * 4);
  return x;
}

ClusterStats StatsOfRows(const std::vector<float>& x, const Tensor& centroids, int64_t begin,
                         int64_t end) {
  std::vector<float> rows(x.begin() + begin * kDim, x.begin() + end * kDim);
  return ComputeClusterStats(Tensor::FromVector(rows, Shape{end - begin, kDim}), centroids);
}

// Rank r's rows: rank 0 gets 2 (fewer than k, so its farthest list is short), the rest is split
// evenly.
std::pair<int64_t, int64_t> PointShare(int rank, int size) {
  if (rank == 0) return {0, 2};
  const int64_t rest = kPoints - 2;
  return {2 + rest * (rank - 1) / (size - 1), 2 + rest * rank / (size - 1)};
}

TEST(MpiAllReduceClusterStatsTest, EqualsMergeOfAllShards) {
  Communicator& comm = Comm();
  const std::vector<float> x = MakePoints();
  // Centroid 3 sits far from everything: an empty cluster that needs the farthest candidates.
  const Tensor centroids =
      Tensor::FromVector({0, 0, 0, 4, 4, 4, 8, 8, 8, 100, -100, 100}, Shape{kClusters, kDim});

  auto [begin, end] = PointShare(comm.rank(), comm.size());
  ClusterStats stats = StatsOfRows(x, centroids, begin, end);
  const Status status = AllReduceClusterStats(comm, stats);
  EXPECT_TRUE(status.ok()) << status;

  auto [b0, e0] = PointShare(0, comm.size());
  ClusterStats want = StatsOfRows(x, centroids, b0, e0);
  ASSERT_LT(want.farthest.size(), static_cast<size_t>(kClusters));
  for (int r = 1; r < comm.size(); ++r) {
    auto [b, e] = PointShare(r, comm.size());
    want.Merge(StatsOfRows(x, centroids, b, e));
  }
  EXPECT_EQ(stats.k, want.k);
  EXPECT_EQ(stats.dim, want.dim);
  EXPECT_EQ(stats.sums, want.sums);
  EXPECT_EQ(stats.counts, want.counts);
  EXPECT_EQ(stats.inertia, want.inertia);
  int64_t total = 0;
  for (int64_t c : stats.counts) total += c;
  EXPECT_EQ(total, kPoints);
  ASSERT_EQ(stats.farthest.size(), want.farthest.size());
  for (size_t i = 0; i < want.farthest.size(); ++i) {
    EXPECT_EQ(stats.farthest[i].distance, want.farthest[i].distance) << i;
    EXPECT_EQ(stats.farthest[i].label, want.farthest[i].label) << i;
    EXPECT_EQ(stats.farthest[i].point, want.farthest[i].point) << i;
  }
}

}  // namespace
}  // namespace hearth::dist
