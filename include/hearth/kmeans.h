// k-means clustering: k-means++ seeding, Lloyd iterations and n_init restarts, as in scikit-learn.
//
// The Lloyd step is split into pieces a data-parallel version can reuse unchanged: every rank
// calls ComputeClusterStats on its shard, the ranks sum the stats (allreduce of `sums`, `counts`,
// `inertia`, plus a gather of the `farthest` candidates, which is what ClusterStats::Merge does in
// one process), and every rank calls CentroidsFromStats on the total. Seeding (KMeansPlusPlus) can
// run on rank 0's sample and be broadcast.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "hearth/random.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

struct KMeansOptions {
  int64_t k = 8;   // number of clusters
  int n_init = 1;  // independent seedings; the run with the lowest inertia wins
  int max_iter = 300;
  // Convergence: stop once the centroids' total squared move in one iteration is at most
  // tol * (the mean over features of the data's variance). Scaling by the variance, as
  // scikit-learn does, makes tol independent of the data's units. tol = 0 runs until the
  // assignment stops changing (or max_iter).
  double tol = 1e-4;
  // The same seed gives bit-identical results for the same data and BLAS thread count (the GEMM
  // in the assignment step may round differently with another thread count).
  uint64_t seed = 0;
};

// What one Lloyd step needs from a shard of the data, for fixed centroids [k, D].
struct ClusterStats {
  // A point far from its centroid: a candidate to re-seed an empty cluster.
  struct FarPoint {
    double distance;  // squared distance to its centroid
    int64_t label;    // its cluster
    std::vector<float> point;
  };

  int64_t k = 0;
  int64_t dim = 0;
  // Doubles: float32 sums over tens of thousands of points lose digits, and MPI sums doubles.
  std::vector<double> sums;        // [k * dim], row-major: the sum of each cluster's points
  std::vector<int64_t> counts;     // [k]
  double inertia = 0;              // sum of squared distances from each point to its centroid
  std::vector<FarPoint> farthest;  // at most k, farthest first

  // Adds `other` (stats of another shard for the same centroids): what an allreduce computes.
  void Merge(const ClusterStats& other);
};

// Assigns every row of x [N, D] to its nearest centroid (ties: the lower index) and accumulates
// the stats. Writes the N labels to `labels` when it is not null.
ClusterStats ComputeClusterStats(const Tensor& x, const Tensor& centroids,
                                 int64_t* labels = nullptr);

// The next centroids [k, D] from the summed stats: each cluster's mean. An empty cluster is
// re-seeded with the farthest candidate point (the point worst served by the current centroids,
// scikit-learn's rule), which leaves its old cluster; candidates that sit on their centroid or are
// the last point of their cluster are skipped, and a cluster with no usable candidate keeps its
// old centroid (only possible with fewer distinct points than k). Sets *shift to the sum of the
// squared centroid moves.
Tensor CentroidsFromStats(const ClusterStats& total, const Tensor& old_centroids, double* shift);

// k-means++ seeding (Arthur & Vassilvitskii, 2007): a uniformly random first centroid, then each
// next one drawn with probability proportional to its squared distance to the nearest centroid
// chosen so far ("D^2 sampling"). x is [N, D] with N >= k.
Tensor KMeansPlusPlus(const Tensor& x, int64_t k, Generator& rng);

// Not thread-safe while fitting; const methods may be called concurrently.
// The nearest of `centroids` [k, D] for each row of x [M, D], as int64 [M]: what a fitted KMeans
// predicts, for callers that hold only the centroids (a model restored from a checkpoint).
// InvalidArgument naming `source` when x is not a finite float32 matrix of width D.
StatusOr<Tensor> NearestCentroids(const Tensor& x, const Tensor& centroids,
                                  std::string_view source = "k-means input");
// Squared Euclidean distance of each row of x [M, D] to each centroid: float32 [M, k].
StatusOr<Tensor> SquaredCentroidDistances(const Tensor& x, const Tensor& centroids,
                                          std::string_view source = "k-means input");

class KMeans {
 public:
  explicit KMeans(KMeansOptions options = {}) : options_(options) {}

  // Errors (InvalidArgument): x not a float32 [N, D] matrix with N, D >= 1; a non-finite value;
  // k > N; an option out of range.
  Status Fit(const Tensor& x);

  // Sums one shard's ClusterStats with every other shard's, in place (an allreduce across ranks).
  using StatsReducer = std::function<Status(ClusterStats& stats)>;
  // Distributed fit. Every rank passes the whole data `all` (for k-means++ seeding and the
  // tolerance scale, which must be identical everywhere), its own rows `shard` for the Lloyd
  // iterations, and `reduce`. The centroids come out the same on every rank, and the same as
  // Fit(all) up to the rounding of the double sums. Fit(x) is FitSharded(x, x, nullptr).
  Status FitSharded(const Tensor& all, const Tensor& shard, const StatsReducer& reduce);
  // The nearest centroid of each row of x [M, D], int64 [M]. FailedPrecondition before Fit.
  StatusOr<Tensor> Predict(const Tensor& x) const;

  bool fitted() const { return centroids_.defined(); }
  const Tensor& centroids() const { return centroids_; }  // [k, D]
  // Of the winning run, for its final centroids.
  double inertia() const { return inertia_; }
  // Lloyd iterations the winning run took.
  int iterations() const { return iterations_; }
  const KMeansOptions& options() const { return options_; }

 private:
  KMeansOptions options_;
  Tensor centroids_;
  double inertia_ = 0;
  int iterations_ = 0;
};

}  // namespace hearth
