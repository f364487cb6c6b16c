// k-means: recovery of known clusters, determinism, restarts, hand-checked numbers, errors, empty
// clusters, and that the separable Lloyd pieces compose to exactly what Fit does.
#include "hearth/kmeans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace hearth {
namespace {

// `per_blob` points around each centre (rows of `centres`), Gaussian noise of `sigma`.
Tensor Blobs(const std::vector<std::vector<float>>& centres, int64_t per_blob, float sigma,
             uint64_t seed) {
  const int64_t d = static_cast<int64_t>(centres[0].size());
  const int64_t n = per_blob * static_cast<int64_t>(centres.size());
  Tensor x = Tensor::Empty(Shape{n, d});
  Generator rng(seed);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      x.f32()[i * d + j] = centres[i / per_blob][j] + sigma * rng.Normal();
  return x;
}

const std::vector<std::vector<float>> kCentres = {
    {0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}, {10, 10, 10}};

// Lloyd from given centroids, built only from the public pieces (what a distributed run does).
Tensor Lloyd(const Tensor& x, Tensor centroids, int max_iter, double tol_abs) {
  for (int it = 0; it < max_iter; ++it) {
    double shift;
    centroids = CentroidsFromStats(ComputeClusterStats(x, centroids), centroids, &shift);
    if (shift <= tol_abs) break;
  }
  return centroids;
}

TEST(KMeansTest, RecoversWellSeparatedBlobs) {
  const Tensor x = Blobs(kCentres, 200, 0.5f, 1);
  KMeans km({.k = 5, .n_init = 3, .seed = 42});
  ASSERT_TRUE(km.Fit(x).ok());
  ASSERT_EQ(km.centroids().shape(), (Shape{5, 3}));
  // Each true centre has exactly one fitted centroid close to it (a permutation).
  std::set<int64_t> matched;
  for (const auto& centre : kCentres) {
    int64_t nearest = -1;
    double best = 1e30;
    for (int64_t j = 0; j < 5; ++j) {
      double d2 = 0;
      for (int t = 0; t < 3; ++t) d2 += std::pow(km.centroids().f32()[j * 3 + t] - centre[t], 2);
      if (d2 < best) best = d2, nearest = j;
    }
    EXPECT_LT(std::sqrt(best), 0.15) << "centre " << centre[0] << "," << centre[1];
    matched.insert(nearest);
  }
  EXPECT_EQ(matched.size(), 5u);
  // Every blob maps to one label, and different blobs to different labels.
  const Tensor labels = km.Predict(x).value();
  std::set<int64_t> blob_labels;
  for (int b = 0; b < 5; ++b) {
    for (int i = 0; i < 200; ++i) ASSERT_EQ(labels.i64()[b * 200 + i], labels.i64()[b * 200]);
    blob_labels.insert(labels.i64()[b * 200]);
  }
  EXPECT_EQ(blob_labels.size(), 5u);
  // Inertia is about N * D * sigma^2.
  EXPECT_NEAR(km.inertia(), 1000 * 3 * 0.25, 100);
  EXPECT_GE(km.iterations(), 1);
}

TEST(KMeansTest, SameSeedGivesIdenticalResults) {
  const Tensor x = Blobs(kCentres, 100, 2.0f, 3);
  KMeans a({.k = 5, .n_init = 2, .seed = 9});
  KMeans b({.k = 5, .n_init = 2, .seed = 9});
  ASSERT_TRUE(a.Fit(x).ok());
  ASSERT_TRUE(b.Fit(x).ok());
  EXPECT_EQ(std::memcmp(a.centroids().f32(), b.centroids().f32(), 15 * sizeof(float)), 0);
  EXPECT_EQ(a.inertia(), b.inertia());
  EXPECT_EQ(a.iterations(), b.iterations());
}

TEST(KMeansTest, NInitKeepsTheRunWithLowestInertia) {
  // Overlapping blobs and many clusters give local minima that differ between seedings.
  std::vector<std::vector<float>> centres;
  for (int i = 0; i < 12; ++i)
    centres.push_back({static_cast<float>(i % 4) * 3, static_cast<float>(i / 4) * 3});
  const Tensor x = Blobs(centres, 30, 1.2f, 5);
  const int n_init = 6;
  // Replay the runs Fit makes: seeding draws from one generator, run after run.
  Generator rng(11);
  std::vector<double> inertias;
  for (int r = 0; r < n_init; ++r) {
    const Tensor c = Lloyd(x, KMeansPlusPlus(x, 12, rng), 1000, 0.0);
    inertias.push_back(ComputeClusterStats(x, c).inertia);
  }
  const double lowest = *std::min_element(inertias.begin(), inertias.end());
  ASSERT_GT(*std::max_element(inertias.begin(), inertias.end()), lowest)
      << "the test needs runs that end in different minima";

  KMeans km({.k = 12, .n_init = n_init, .max_iter = 1000, .tol = 0, .seed = 11});
  ASSERT_TRUE(km.Fit(x).ok());
  EXPECT_EQ(km.inertia(), lowest);
  KMeans one({.k = 12, .n_init = 1, .max_iter = 1000, .tol = 0, .seed = 11});
  ASSERT_TRUE(one.Fit(x).ok());
  EXPECT_EQ(one.inertia(), inertias[0]);
}

TEST(KMeansTest, StatsAndInertiaMatchAHandComputation) {
  // Two pairs of points: (0,0),(0,2) and (10,0),(10,2).
  const Tensor x = Tensor::FromVector({0, 0, 0, 2, 10, 0, 10, 2}, Shape{4, 2});
  const Tensor c = Tensor::FromVector({0, 0, 10, 0}, Shape{2, 2});
  int64_t labels[4];
  const ClusterStats s = ComputeClusterStats(x, c, labels);
  EXPECT_EQ(s.counts, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(s.sums, (std::vector<double>{0, 2, 20, 2}));
  EXPECT_EQ(s.inertia, 0 + 4 + 0 + 4);
  EXPECT_EQ(std::vector<int64_t>(labels, labels + 4), (std::vector<int64_t>{0, 0, 1, 1}));
  double shift;
  const Tensor next = CentroidsFromStats(s, c, &shift);
  EXPECT_EQ(next.ToVector(), (std::vector<float>{0, 1, 10, 1}));
  EXPECT_EQ(shift, 2.0);  // each centroid moved by 1

  KMeans km({.k = 2, .n_init = 2});
  ASSERT_TRUE(km.Fit(x).ok());
  EXPECT_EQ(km.inertia(), 4.0);  // every point is 1 from its centroid
  std::multiset<float> xs;
  for (int j = 0; j < 2; ++j) {
    xs.insert(km.centroids().f32()[j * 2]);
    EXPECT_EQ(km.centroids().f32()[j * 2 + 1], 1.0f);
  }
  EXPECT_EQ(xs, (std::multiset<float>{0, 10}));
  EXPECT_EQ(km.Predict(Tensor::FromVector({9, 9, 1, -3}, Shape{2, 2})).value().i64()[0],
            km.Predict(Tensor::FromVector({10, 0}, Shape{1, 2})).value().i64()[0]);
}

TEST(KMeansTest, RejectsMoreClustersThanPoints) {
  KMeans km({.k = 5});
  const Status s = km.Fit(Tensor::Zeros(Shape{3, 2}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("k = 5"), std::string::npos) << s;
  EXPECT_NE(s.message().find("N = 3"), std::string::npos) << s;
  EXPECT_FALSE(km.fitted());
}

TEST(KMeansTest, RejectsNonFiniteData) {
  Tensor x = Tensor::Zeros(Shape{4, 3});
  x.f32()[1 * 3 + 2] = std::numeric_limits<float>::quiet_NaN();
  const Status s = KMeans({.k = 2}).Fit(x);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("x[1, 2] is nan"), std::string::npos) << s;
  x.f32()[5] = 0;
  x.f32()[0] = INFINITY;
  EXPECT_EQ(KMeans({.k = 2}).Fit(x).code(), absl::StatusCode::kInvalidArgument);
}

TEST(KMeansTest, RejectsBadInputsAndOptions) {
  EXPECT_EQ(KMeans({.k = 1}).Fit(Tensor::Zeros(Shape{4})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeans({.k = 1}).Fit(Tensor::Zeros(Shape{4, 2}, DType::kInt64)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeans({.k = 1}).Fit(Tensor::Zeros(Shape{0, 2})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeans({.k = 1}).Fit(Tensor()).code(), absl::StatusCode::kInvalidArgument);
  for (const KMeansOptions& o :
       {KMeansOptions{.k = 0}, KMeansOptions{.k = 1, .n_init = 0},
        KMeansOptions{.k = 1, .max_iter = 0}, KMeansOptions{.k = 1, .tol = -1},
        KMeansOptions{.k = 1, .tol = NAN}})
    EXPECT_EQ(KMeans(o).Fit(Tensor::Zeros(Shape{4, 2})).code(), absl::StatusCode::kInvalidArgument);

  KMeans km({.k = 1});
  EXPECT_EQ(km.Predict(Tensor::Zeros(Shape{1, 2})).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(km.Fit(Tensor::Zeros(Shape{4, 2})).ok());
  const Status wrong_d = km.Predict(Tensor::Zeros(Shape{1, 3})).status();
  EXPECT_EQ(wrong_d.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_d.message().find("fitted on 2"), std::string::npos) << wrong_d;
}

TEST(KMeansTest, EmptyClusterIsReseededWithTheFarthestPoint) {
  // Centroid 1 sits far from all data, so it gets no points.
  const Tensor x = Tensor::FromVector({0, 1, 2, 10}, Shape{4, 1});
  const Tensor c = Tensor::FromVector({0.5f, 100}, Shape{2, 1});
  const ClusterStats s = ComputeClusterStats(x, c);
  ASSERT_EQ(s.counts, (std::vector<int64_t>{4, 0}));
  ASSERT_FALSE(s.farthest.empty());
  EXPECT_EQ(s.farthest[0].point, std::vector<float>{10});
  EXPECT_EQ(s.farthest[0].distance, 9.5 * 9.5);
  double shift;
  const Tensor next = CentroidsFromStats(s, c, &shift);
  // The farthest point (10) takes over the empty cluster and leaves cluster 0: mean(0, 1, 2).
  EXPECT_EQ(next.ToVector(), (std::vector<float>{1, 10}));
  EXPECT_EQ(shift, 0.5 * 0.5 + 90.0 * 90.0);
}

TEST(KMeansTest, FewerDistinctPointsThanClusters) {
  // Three distinct points, ten copies each, five clusters: two clusters must end up empty or
  // duplicated, and nothing may become NaN.
  std::vector<float> v;
  for (int r = 0; r < 10; ++r)
    for (float p : {0.f, 5.f, 9.f}) v.insert(v.end(), {p, -p});
  const Tensor x = Tensor::FromVector(v, Shape{30, 2});
  KMeans km({.k = 5, .n_init = 3, .seed = 4});
  ASSERT_TRUE(km.Fit(x).ok());
  EXPECT_EQ(km.inertia(), 0.0);
  for (float value : km.centroids().ToVector()) EXPECT_TRUE(std::isfinite(value));
  const Tensor labels = km.Predict(x).value();
  for (int i = 0; i < 30; ++i) {
    const float* c = km.centroids().f32() + labels.i64()[i] * 2;
    EXPECT_EQ(c[0], x.f32()[i * 2]);
  }
  // All points identical: every seeding draw has zero total weight.
  ASSERT_TRUE(KMeans({.k = 3}).Fit(Tensor::Ones(Shape{5, 2})).ok());
}

TEST(KMeansTest, ShardStatsMergeToTheWholeDataStats) {
  const Tensor x = Blobs(kCentres, 50, 3.0f, 8);
  Generator rng(2);
  const Tensor c = KMeansPlusPlus(x, 5, rng);
  const int64_t n = x.dim(0), half = n / 2;
  const Tensor a =
      Tensor::FromVector(std::vector<float>(x.f32(), x.f32() + half * 3), Shape{half, 3});
  const Tensor b = Tensor::FromVector(std::vector<float>(x.f32() + half * 3, x.f32() + n * 3),
                                      Shape{n - half, 3});
  ClusterStats merged = ComputeClusterStats(a, c);
  merged.Merge(ComputeClusterStats(b, c));
  const ClusterStats whole = ComputeClusterStats(x, c);
  EXPECT_EQ(merged.counts, whole.counts);
  for (size_t i = 0; i < whole.sums.size(); ++i) EXPECT_NEAR(merged.sums[i], whole.sums[i], 1e-9);
  EXPECT_NEAR(merged.inertia, whole.inertia, 1e-9 * whole.inertia);
  ASSERT_EQ(merged.farthest.size(), whole.farthest.size());
  for (size_t i = 0; i < whole.farthest.size(); ++i) {
    EXPECT_EQ(merged.farthest[i].distance, whole.farthest[i].distance);
    EXPECT_EQ(merged.farthest[i].point, whole.farthest[i].point);
  }
}

TEST(KMeansTest, StopsAtMaxIter) {
  const Tensor x = Blobs(kCentres, 100, 4.0f, 6);
  KMeans km({.k = 5, .max_iter = 1, .tol = 0});
  ASSERT_TRUE(km.Fit(x).ok());
  EXPECT_EQ(km.iterations(), 1);
  KMeans converged({.k = 5, .max_iter = 500, .tol = 0});
  ASSERT_TRUE(converged.Fit(x).ok());
  EXPECT_LT(converged.iterations(), 500);
  EXPECT_LE(converged.inertia(), km.inertia());
}

// MNIST-sized: N = 60000, D = 784, k = 10. Generous bound: the machine is shared.
}  // namespace
}  // namespace hearth
