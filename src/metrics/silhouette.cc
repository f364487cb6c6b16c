// Silhouette score over a reservoir sample of the points (exact while they fit).
//
// Its state is the sample itself, not a sum: [D, points seen, points kept, then per kept point
// its cluster id and D coordinates]. Ranks gather their states and Merge() them.
#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_format.h"
#include "hearth/random.h"
#include "metrics/metric_impl.h"

namespace hearth::metrics_internal {
namespace {

constexpr std::string_view kName = "silhouette";
constexpr size_t kHeader = 3;

class SilhouetteMetric final : public Metric {
 public:
  explicit SilhouetteMetric(const MetricOptions& options)
      : capacity_(options.silhouette_max_points), seed_(options.seed) {
    Reset();
  }

  std::string_view name() const override { return kName; }
  bool summable() const override { return false; }

  Status Update(const Tensor& predictions, const Tensor& targets) override {
    HEARTH_ASSIGN_OR_RETURN(std::span<const int64_t> ids, Ids(predictions, kName, "cluster ids"));
    if (!targets.defined() || targets.dtype() != DType::kFloat32 || targets.rank() != 2 ||
        targets.dim(0) != static_cast<int64_t>(ids.size()) || targets.dim(1) < 1 ||
        (dims_ > 0 && targets.dim(1) != dims_)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected points float32 [%d, %s] for %d cluster ids, got %s", kName,
                          ids.size(), dims_ > 0 ? absl::StrFormat("%d", dims_) : "D", ids.size(),
                          targets.defined() ? targets.shape().ToString() : "no tensor"));
    }
    dims_ = targets.dim(1);
    const float* x = targets.f32();
    for (size_t i = 0; i < ids.size(); ++i) {
      // Reservoir sampling (Algorithm R): point t replaces a random slot with probability
      // capacity / (t + 1), which keeps every point seen equally likely to be in the sample.
      int64_t slot = kept();
      if (slot >= capacity_) {
        slot = static_cast<int64_t>(gen_.Below(static_cast<uint64_t>(seen_) + 1));
      }
      seen_ += 1;
      if (slot >= capacity_) continue;
      if (slot == kept()) rows_.resize(rows_.size() + static_cast<size_t>(dims_ + 1));
      double* row = &rows_[slot * (dims_ + 1)];
      row[0] = static_cast<double>(ids[i]);
      for (int64_t d = 0; d < dims_; ++d) row[1 + d] = x[i * dims_ + d];
    }
    return absl::OkStatus();
  }

  StatusOr<double> Compute() const override {
    const int64_t m = kept();
    if (m == 0) return NothingSeen(kName);
    // Compact cluster ids, and each cluster's size.
    std::map<int64_t, int64_t> index;
    std::vector<int64_t> cluster(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
      const auto id = static_cast<int64_t>(rows_[i * (dims_ + 1)]);
      cluster[i] = index.emplace(id, static_cast<int64_t>(index.size())).first->second;
    }
    const auto k = static_cast<int64_t>(index.size());
    if (k < 2 || k > m - 1) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: needs at least 2 clusters and fewer clusters than points, got %d clusters over %d "
          "points",
          kName, k, m));
    }
    std::vector<double> size(static_cast<size_t>(k), 0.0);
    for (int64_t c : cluster) size[c] += 1;
    // dist_sum[i * k + c]: the sum of distances from point i to the points of cluster c.
    std::vector<double> dist_sum(static_cast<size_t>(m * k), 0.0);
    for (int64_t i = 0; i < m; ++i) {
      const double* a = &rows_[i * (dims_ + 1) + 1];
      for (int64_t j = i + 1; j < m; ++j) {
        const double* b = &rows_[j * (dims_ + 1) + 1];
        double d2 = 0;
        for (int64_t d = 0; d < dims_; ++d) d2 += (a[d] - b[d]) * (a[d] - b[d]);
        const double dist = std::sqrt(d2);
        dist_sum[i * k + cluster[j]] += dist;
        dist_sum[j * k + cluster[i]] += dist;
      }
    }
    double total = 0;
    for (int64_t i = 0; i < m; ++i) {
      const int64_t own = cluster[i];
      if (size[own] < 2) continue;  // a point alone in its cluster scores 0
      const double a = dist_sum[i * k + own] / (size[own] - 1);
      double b = INFINITY;
      for (int64_t c = 0; c < k; ++c) {
        if (c != own) b = std::min(b, dist_sum[i * k + c] / size[c]);
      }
      const double denom = std::max(a, b);
      if (denom > 0) total += (b - a) / denom;
    }
    return total / static_cast<double>(m);
  }

  void Reset() override {
    gen_.Seed(seed_);
    dims_ = 0;
    seen_ = 0;
    rows_.clear();
  }

  std::vector<double> State() const override {
    if (dims_ == 0) return {};
    std::vector<double> state = {static_cast<double>(dims_), seen_, static_cast<double>(kept())};
    state.insert(state.end(), rows_.begin(), rows_.end());
    return state;
  }

  Status LoadState(std::span<const double> state) override {
    HEARTH_ASSIGN_OR_RETURN(const Parsed p, Parse(state));
    dims_ = p.dims;
    seen_ = p.seen;
    rows_.assign(p.rows.begin(), p.rows.end());
    return absl::OkStatus();
  }

  // Combines two samples into one of at most capacity points, taking from each side in
  // proportion to how many points it saw, so the result stays (close to) uniform over both.
  Status Merge(std::span<const double> other) override {
    if (other.empty()) return absl::OkStatus();
    HEARTH_ASSIGN_OR_RETURN(const Parsed theirs, Parse(other));
    if (dims_ == 0) return LoadState(other);
    if (theirs.dims != dims_) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: cannot merge points of dimension %d into points of dimension %d",
                          kName, theirs.dims, dims_));
    }
    const int64_t row = dims_ + 1;
    const int64_t mine_kept = kept();
    const auto their_kept = static_cast<int64_t>(theirs.rows.size()) / row;
    int64_t take_mine = mine_kept;
    int64_t take_theirs = their_kept;
    if (mine_kept + their_kept > capacity_) {
      const double share = seen_ / (seen_ + theirs.seen);
      take_mine = std::clamp<int64_t>(std::llround(share * static_cast<double>(capacity_)),
                                      capacity_ - their_kept, mine_kept);
      take_theirs = capacity_ - take_mine;
    }
    std::vector<double> merged = Pick(rows_, mine_kept, take_mine);
    const std::vector<double> picked = Pick(theirs.rows, their_kept, take_theirs);
    merged.insert(merged.end(), picked.begin(), picked.end());
    rows_ = std::move(merged);
    seen_ += theirs.seen;
    return absl::OkStatus();
  }

 private:
  struct Parsed {
    int64_t dims;
    double seen;
    std::span<const double> rows;
  };

  StatusOr<Parsed> Parse(std::span<const double> state) const {
    auto bad = [&] {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected a state [D, points seen, points kept, kept * (1 + D) values], got %d "
          "values",
          kName, state.size()));
    };
    if (state.size() < kHeader) return bad();
    const auto dims = static_cast<int64_t>(state[0]);
    const auto count = static_cast<int64_t>(state[2]);
    if (dims < 1 || count < 0 || static_cast<double>(dims) != state[0] ||
        static_cast<int64_t>(state.size()) != static_cast<int64_t>(kHeader) + count * (dims + 1) ||
        state[1] < static_cast<double>(count)) {
      return bad();
    }
    return Parsed{dims, state[1], state.subspan(kHeader)};
  }

  // `take` of the `count` rows in `rows`, chosen uniformly at random (partial Fisher-Yates).
  std::vector<double> Pick(std::span<const double> rows, int64_t count, int64_t take) {
    const int64_t row = dims_ + 1;
    std::vector<int64_t> order(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) order[i] = i;
    if (take < count) {
      for (int64_t i = 0; i < take; ++i) {
        const auto j = i + static_cast<int64_t>(gen_.Below(static_cast<uint64_t>(count - i)));
        std::swap(order[i], order[j]);
      }
    }
    std::vector<double> out;
    out.reserve(static_cast<size_t>(take * row));
    for (int64_t i = 0; i < take; ++i) {
      out.insert(out.end(), rows.begin() + order[i] * row, rows.begin() + (order[i] + 1) * row);
    }
    return out;
  }

  int64_t kept() const { return dims_ > 0 ? static_cast<int64_t>(rows_.size()) / (dims_ + 1) : 0; }

  int64_t capacity_;
  uint64_t seed_;
  Generator gen_;
  int64_t dims_ = 0;
  double seen_ = 0;
  std::vector<double> rows_;  // kept points, (1 + dims_) values each
};

}  // namespace

StatusOr<std::unique_ptr<Metric>> MakeSilhouetteMetric(const MetricOptions& options) {
  if (options.silhouette_max_points < 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "silhouette: expected silhouette_max_points >= 2, got %d", options.silhouette_max_points));
  }
  return std::unique_ptr<Metric>(new SilhouetteMetric(options));
}

}  // namespace hearth::metrics_internal
