// k-means: distance kernels, the separable Lloyd step, k-means++ seeding and the KMeans driver.
#include "hearth/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"
#include "core/kernels.h"

namespace hearth {
namespace {

// Rows per block of the distance computation: the block's [rows, k] distances stay in cache.
constexpr int64_t kBlockRows = 1024;

// Squared Euclidean distance. Eight independent accumulators let the compiler vectorise the
// reduction without -ffast-math; each sums only D/8 terms, so float keeps enough precision.
double SquaredDistance(const float* a, const float* b, int64_t d) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= d; i += 8)
    for (int j = 0; j < 8; ++j) {
      const float diff = a[i + j] - b[i + j];
      acc[j] += diff * diff;
    }
  double total = 0;
  for (; i < d; ++i) {
    const double diff = static_cast<double>(a[i]) - b[i];
    total += diff * diff;
  }
  for (float v : acc) total += v;
  return total;
}

double SquaredNorm(const float* a, int64_t d) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= d; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * a[i + j];
  double total = 0;
  for (; i < d; ++i) total += static_cast<double>(a[i]) * a[i];
  for (float v : acc) total += v;
  return total;
}

// Nearest centroid of every row of x, through ||x||^2 - 2 x.c + ||c||^2 with x.c from one GEMM per
// block (the argmin needs no ||x||^2). Calls visit(row, label) in row order.
template <typename Visit>
void AssignRows(const Tensor& x, const Tensor& centroids, Visit visit) {
  const int64_t n = x.dim(0), d = x.dim(1), k = centroids.dim(0);
  const float* c = centroids.f32();
  std::vector<float> c_norm(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) c_norm[j] = static_cast<float>(SquaredNorm(c + j * d, d));
  std::vector<float> dots(static_cast<size_t>(kBlockRows * k));
  for (int64_t start = 0; start < n; start += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, n - start);
    kernels::Gemm(false, true, rows, k, d, 1.0f, x.f32() + start * d, d, c, d, 0.0f, dots.data(),
                  k);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = dots.data() + r * k;
      int64_t best = 0;
      float best_score = c_norm[0] - 2 * row[0];
      for (int64_t j = 1; j < k; ++j) {
        const float score = c_norm[j] - 2 * row[j];
        if (score < best_score) {
          best_score = score;
          best = j;
        }
      }
      visit(start + r, best);
    }
  }
}

// Farthest first; ties broken by label and then coordinates so merged results never depend on the
// order shards arrive in.
bool FartherFirst(const ClusterStats::FarPoint& a, const ClusterStats::FarPoint& b) {
  if (a.distance != b.distance) return a.distance > b.distance;
  if (a.label != b.label) return a.label < b.label;
  return a.point < b.point;
}

// The first (row, column) holding NaN or an infinity, or false.
bool FindNonFinite(const Tensor& x, int64_t* row, int64_t* col) {
  const float* p = x.f32();
  const int64_t d = x.dim(1);
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    if (!std::isfinite(p[i])) {
      *row = i / d;
      *col = i % d;
      return true;
    }
  return false;
}

Status CheckMatrix(const char* where, const Tensor& x) {
  if (!x.defined() || x.dtype() != DType::kFloat32 || x.rank() != 2 || x.dim(0) < 1 || x.dim(1) < 1)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: x must be a float32 matrix [N, D] with N, D >= 1, got %s", where,
        x.defined() ? absl::StrFormat("%s %s", x.shape().ToString(), DTypeName(x.dtype()))
                    : std::string("an undefined tensor")));
  int64_t row, col;
  if (FindNonFinite(x, &row, &col))
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: x[%d, %d] is %g; k-means needs finite values, so drop or impute missing values "
        "first",
        where, row, col, x.f32()[row * x.dim(1) + col]));
  return absl::OkStatus();
}

// The mean over features of the per-feature variance (two passes in double for accuracy).
double MeanFeatureVariance(const Tensor& x) {
  const int64_t n = x.dim(0), d = x.dim(1);
  const float* p = x.f32();
  std::vector<double> mean(static_cast<size_t>(d), 0.0), var(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += p[i * d + j];
  for (double& m : mean) m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double diff = p[i * d + j] - mean[j];
      var[j] += diff * diff;
    }
  double total = 0;
  for (double v : var) total += v / static_cast<double>(n);
  return total / static_cast<double>(d);
}

}  // namespace

void ClusterStats::Merge(const ClusterStats& other) {
  HEARTH_CHECK_MSG(
      k == other.k && dim == other.dim,
      absl::StrFormat("ClusterStats::Merge: [%d, %d] with [%d, %d]", k, dim, other.k, other.dim));
  for (size_t i = 0; i < sums.size(); ++i) sums[i] += other.sums[i];
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
  inertia += other.inertia;
  farthest.insert(farthest.end(), other.farthest.begin(), other.farthest.end());
  std::sort(farthest.begin(), farthest.end(), FartherFirst);
  if (farthest.size() > static_cast<size_t>(k)) farthest.resize(static_cast<size_t>(k));
}

ClusterStats ComputeClusterStats(const Tensor& x, const Tensor& centroids, int64_t* labels) {
  HEARTH_CHECK(x.dtype() == DType::kFloat32 && x.rank() == 2);
  HEARTH_CHECK(centroids.dtype() == DType::kFloat32 && centroids.rank() == 2);
  HEARTH_CHECK_MSG(x.dim(1) == centroids.dim(1),
                   absl::StrFormat("ComputeClusterStats: x %s vs centroids %s",
                                   x.shape().ToString(), centroids.shape().ToString()));
  const int64_t n = x.dim(0), d = x.dim(1), k = centroids.dim(0);
  ClusterStats stats;
  stats.k = k;
  stats.dim = d;
  stats.sums.assign(static_cast<size_t>(k * d), 0.0);
  stats.counts.assign(static_cast<size_t>(k), 0);
  std::vector<double> dist(static_cast<size_t>(n));
  std::vector<int64_t> label(static_cast<size_t>(n));
  const float* px = x.f32();
  const float* pc = centroids.f32();
  AssignRows(x, centroids, [&](int64_t i, int64_t j) {
    const float* row = px + i * d;
    double* sum = stats.sums.data() + j * d;
    for (int64_t t = 0; t < d; ++t) sum[t] += row[t];
    ++stats.counts[j];
    // The exact distance, not the GEMM form, which cancels badly when ||x|| >> distance.
    dist[i] = SquaredDistance(row, pc + j * d, d);
    stats.inertia += dist[i];
    label[i] = j;
  });
  if (labels != nullptr) std::copy(label.begin(), label.end(), labels);

  // Top-k distances: the only candidates an empty cluster could need.
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  const int64_t top = std::min(k, n);
  std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int64_t a, int64_t b) {
    return dist[a] != dist[b] ? dist[a] > dist[b] : a < b;
  });
  for (int64_t t = 0; t < top; ++t) {
    const int64_t i = order[t];
    stats.farthest.push_back({dist[i], label[i], std::vector<float>(px + i * d, px + (i + 1) * d)});
  }
  return stats;
}

Tensor CentroidsFromStats(const ClusterStats& total, const Tensor& old_centroids, double* shift) {
  const int64_t k = total.k, d = total.dim;
  HEARTH_CHECK_MSG(
      old_centroids.rank() == 2 && old_centroids.dim(0) == k && old_centroids.dim(1) == d,
      absl::StrFormat("CentroidsFromStats: stats for [%d, %d], centroids %s", k, d,
                      old_centroids.shape().ToString()));
  std::vector<double> sums = total.sums;
  std::vector<int64_t> counts = total.counts;
  size_t next = 0;
  for (int64_t j = 0; j < k; ++j) {
    if (counts[j] != 0) continue;
    while (next < total.farthest.size()) {
      const ClusterStats::FarPoint& p = total.farthest[next++];
      // Moving a point that sits on its centroid helps nobody; moving a cluster's last point
      // would just empty another cluster.
      if (p.distance <= 0 || counts[p.label] <= 1) continue;
      for (int64_t t = 0; t < d; ++t) {
        sums[p.label * d + t] -= p.point[t];
        sums[j * d + t] = p.point[t];
      }
      --counts[p.label];
      counts[j] = 1;
      break;
    }
  }
  Tensor out = Tensor::Empty(Shape{k, d});
  float* c = out.f32();
  const float* old = old_centroids.f32();
  double moved = 0;
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t t = 0; t < d; ++t) {
      c[j * d + t] =
          counts[j] > 0 ? static_cast<float>(sums[j * d + t] / counts[j]) : old[j * d + t];
      const double diff = static_cast<double>(c[j * d + t]) - old[j * d + t];
      moved += diff * diff;
    }
  }
  if (shift != nullptr) *shift = moved;
  return out;
}

Tensor KMeansPlusPlus(const Tensor& x, int64_t k, Generator& rng) {
  const int64_t n = x.dim(0), d = x.dim(1);
  HEARTH_CHECK_MSG(k >= 1 && k <= n, absl::StrFormat("KMeansPlusPlus: k = %d, N = %d", k, n));
  const float* px = x.f32();
  Tensor centroids = Tensor::Empty(Shape{k, d});
  float* c = centroids.f32();
  int64_t pick = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n)));
  std::memcpy(c, px + pick * d, static_cast<size_t>(d) * sizeof(float));
  std::vector<double> nearest(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) nearest[i] = SquaredDistance(px + i * d, c, d);
  for (int64_t j = 1; j < k; ++j) {
    double total = 0;
    for (double v : nearest) total += v;
    if (total <= 0) {
      // Every point already coincides with a centroid: any point is as good as another.
      pick = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n)));
    } else {
      // 53 random bits: Uniform()'s 24 would leave most of a large data set unreachable.
      const double target = static_cast<double>(rng.NextU64() >> 11) * 0x1.0p-53 * total;
      double cumulative = 0;
      pick = -1;
      for (int64_t i = 0; i < n; ++i) {
        if (nearest[i] <= 0) continue;
        pick = i;  // rounding can leave target just past the final sum: keep the last candidate
        cumulative += nearest[i];
        if (cumulative > target) break;
      }
    }
    float* cj = c + j * d;
    std::memcpy(cj, px + pick * d, static_cast<size_t>(d) * sizeof(float));
    for (int64_t i = 0; i < n; ++i)
      nearest[i] = std::min(nearest[i], SquaredDistance(px + i * d, cj, d));
  }
  return centroids;
}

Status KMeans::Fit(const Tensor& x) {
  return FitSharded(x, x, nullptr);
}

Status KMeans::FitSharded(const Tensor& x, const Tensor& shard, const StatsReducer& reduce) {
  const KMeansOptions& o = options_;
  if (o.k < 1 || o.n_init < 1 || o.max_iter < 1 || !(o.tol >= 0) || !std::isfinite(o.tol))
    return absl::InvalidArgumentError(absl::StrFormat(
        "KMeans: options k = %d, n_init = %d, max_iter = %d, tol = %g; expected k, n_init and "
        "max_iter >= 1 and a finite tol >= 0",
        o.k, o.n_init, o.max_iter, o.tol));
  HEARTH_RETURN_IF_ERROR(CheckMatrix("KMeans::Fit", x));
  const int64_t n = x.dim(0);
  if (o.k > n)
    return absl::InvalidArgumentError(absl::StrFormat(
        "KMeans::Fit: k = %d clusters need at least %d points, but x has N = %d rows; lower k "
        "or pass more data",
        o.k, o.k, n));

  if (&shard != &x) HEARTH_RETURN_IF_ERROR(CheckMatrix("KMeans::FitSharded (shard)", shard));
  const double tol = o.tol * MeanFeatureVariance(x);
  auto stats_of = [&](const Tensor& centroids) -> StatusOr<ClusterStats> {
    ClusterStats stats = ComputeClusterStats(shard, centroids);
    if (reduce) HEARTH_RETURN_IF_ERROR(reduce(stats));
    return stats;
  };
  Generator rng(o.seed);
  Tensor best;
  double best_inertia = std::numeric_limits<double>::infinity();
  int best_iterations = 0;
  for (int run = 0; run < o.n_init; ++run) {
    Tensor centroids = KMeansPlusPlus(x, o.k, rng);
    int iterations = 0;
    while (iterations < o.max_iter) {
      ++iterations;
      double shift = 0;
      HEARTH_ASSIGN_OR_RETURN(ClusterStats stats, stats_of(centroids));
      centroids = CentroidsFromStats(stats, centroids, &shift);
      if (shift <= tol) break;
    }
    // Inertia for the final centroids, so it agrees with centroids() and Predict().
    HEARTH_ASSIGN_OR_RETURN(ClusterStats final_stats, stats_of(centroids));
    const double inertia = final_stats.inertia;
    if (inertia < best_inertia) {  // strict: on a tie the earlier run wins, deterministically
      best = centroids;
      best_inertia = inertia;
      best_iterations = iterations;
    }
  }
  centroids_ = best;
  inertia_ = best_inertia;
  iterations_ = best_iterations;
  return absl::OkStatus();
}

namespace {

Status CheckAgainstCentroids(const Tensor& x, const Tensor& centroids, std::string_view source) {
  const std::string where(source);
  HEARTH_RETURN_IF_ERROR(CheckMatrix(where.c_str(), x));
  if (x.dim(1) != centroids.dim(1))
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: x has %d features per row but the model was fitted on %d; use data "
                        "shaped like the training "
                        "data",
                        where, x.dim(1), centroids.dim(1)));
  return absl::OkStatus();
}

}  // namespace

StatusOr<Tensor> NearestCentroids(const Tensor& x, const Tensor& centroids,
                                  std::string_view source) {
  HEARTH_RETURN_IF_ERROR(CheckAgainstCentroids(x, centroids, source));
  Tensor labels = Tensor::Empty(Shape{x.dim(0)}, DType::kInt64);
  int64_t* out = labels.i64();
  AssignRows(x, centroids, [&](int64_t i, int64_t j) { out[i] = j; });
  return labels;
}

StatusOr<Tensor> SquaredCentroidDistances(const Tensor& x, const Tensor& centroids,
                                          std::string_view source) {
  HEARTH_RETURN_IF_ERROR(CheckAgainstCentroids(x, centroids, source));
  const int64_t n = x.dim(0), d = x.dim(1), k = centroids.dim(0);
  Tensor out = Tensor::Empty(Shape{n, k});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      out.f32()[i * k + j] =
          static_cast<float>(SquaredDistance(x.f32() + i * d, centroids.f32() + j * d, d));
  return out;
}

StatusOr<Tensor> KMeans::Predict(const Tensor& x) const {
  if (!fitted())
    return absl::FailedPreconditionError(
        "KMeans::Predict: the model is not fitted; call Fit first");
  return NearestCentroids(x, centroids_, "KMeans::Predict");
}

}  // namespace hearth
