// Inertia: the sum of squared distances from points to the centre of their cluster. With given
// centroids the state is [sum, count]; without, it keeps per-cluster sums so the centres (the
// clusters' means) can be formed after merging: K blocks of [count, sum x (D values), sum |x|^2].
#include <utility>

#include "absl/strings/str_format.h"
#include "metrics/metric_impl.h"

namespace hearth::metrics_internal {
namespace {

constexpr std::string_view kName = "inertia";

class InertiaMetric final : public Metric {
 public:
  explicit InertiaMetric(const MetricOptions& options)
      : centroids_(options.centroids), clusters_(options.num_classes) {
    if (centroids_.defined()) {
      clusters_ = centroids_.dim(0);
      dims_ = centroids_.dim(1);
      centres_ = ToDoubles(centroids_);
    }
    Reset();
  }

  std::string_view name() const override { return kName; }

  Status Update(const Tensor& predictions, const Tensor& targets) override {
    HEARTH_ASSIGN_OR_RETURN(std::span<const int64_t> ids, Ids(predictions, kName, "cluster ids"));
    if (!targets.defined() || targets.dtype() != DType::kFloat32 || targets.rank() != 2 ||
        targets.dim(0) != static_cast<int64_t>(ids.size()) ||
        (dims_ > 0 && targets.dim(1) != dims_)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected points float32 [%d, %s] for %d cluster ids, got %s", kName,
                          ids.size(), dims_ > 0 ? absl::StrFormat("%d", dims_) : "D", ids.size(),
                          targets.defined() ? targets.shape().ToString() : "no tensor"));
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= clusters_) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: cluster id %d of point %d is outside [0, %d)", kName, ids[i], i, clusters_));
      }
    }
    if (dims_ == 0) {
      dims_ = targets.dim(1);
      Reset();
    }
    const std::vector<double> x = ToDoubles(targets);
    for (size_t i = 0; i < ids.size(); ++i) {
      const double* point = &x[i * dims_];
      if (centroids_.defined()) {
        const double* centre = &centres_[ids[i] * dims_];
        double d2 = 0;
        for (int64_t d = 0; d < dims_; ++d) d2 += (point[d] - centre[d]) * (point[d] - centre[d]);
        state_[0] += d2;
        state_[1] += 1;
      } else {
        double* block = &state_[ids[i] * (dims_ + 2)];
        block[0] += 1;
        double norm2 = 0;
        for (int64_t d = 0; d < dims_; ++d) {
          block[1 + d] += point[d];
          norm2 += point[d] * point[d];
        }
        block[1 + dims_] += norm2;
      }
    }
    return absl::OkStatus();
  }

  StatusOr<double> Compute() const override {
    if (state_.empty()) return NothingSeen(kName);
    if (centroids_.defined()) {
      if (state_[1] == 0) return NothingSeen(kName);
      return state_[0];
    }
    // Per cluster: sum |x - mean|^2 = sum |x|^2 - |sum x|^2 / n.
    double total = 0;
    double points = 0;
    for (int64_t k = 0; k < clusters_; ++k) {
      const double* block = &state_[k * (dims_ + 2)];
      if (block[0] == 0) continue;
      double sum_norm2 = 0;
      for (int64_t d = 0; d < dims_; ++d) sum_norm2 += block[1 + d] * block[1 + d];
      total += block[1 + dims_] - sum_norm2 / block[0];
      points += block[0];
    }
    if (points == 0) return NothingSeen(kName);
    return total;
  }

  void Reset() override {
    if (centroids_.defined()) {
      state_.assign(2, 0.0);
    } else {
      state_.assign(dims_ > 0 ? static_cast<size_t>(clusters_ * (dims_ + 2)) : 0, 0.0);
    }
  }

  std::vector<double> State() const override { return state_; }

  Status LoadState(std::span<const double> state) override {
    const auto size = static_cast<int64_t>(state.size());
    if (centroids_.defined()) {
      if (size != 2) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: expected a state of 2 values, got %d", kName, size));
      }
    } else {
      const bool fits = dims_ > 0 ? size == clusters_ * (dims_ + 2)
                                  : size > 0 && size % clusters_ == 0 && size / clusters_ >= 3;
      if (!fits) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: expected a state of K * (D + 2) values with K = %d, got %d", kName,
                            clusters_, size));
      }
      dims_ = size / clusters_ - 2;
    }
    state_.assign(state.begin(), state.end());
    return absl::OkStatus();
  }

 private:
  Tensor centroids_;
  std::vector<double> centres_;
  int64_t clusters_;
  int64_t dims_ = 0;
  std::vector<double> state_;
};

}  // namespace

StatusOr<std::unique_ptr<Metric>> MakeInertiaMetric(const MetricOptions& options) {
  if (options.centroids.defined()) {
    const Tensor& c = options.centroids;
    if (c.dtype() != DType::kFloat32 || c.rank() != 2 || c.dim(0) < 1 || c.dim(1) < 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("inertia: expected centroids float32 [K, D], got %s %s",
                          DTypeName(c.dtype()), c.shape().ToString()));
    }
  } else if (options.num_classes < 1) {
    return absl::InvalidArgumentError(
        "inertia: needs MetricOptions::centroids [K, D], or num_classes = K to measure against "
        "the clusters' means");
  }
  return std::unique_ptr<Metric>(new InertiaMetric(options));
}

}  // namespace hearth::metrics_internal
