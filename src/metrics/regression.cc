// Regression metrics (MSE, RMSE, MAE, R^2, MAPE) from streamed sums. State: the example count,
// then per target column: sum y, sum y^2, sum of squared residuals, sum of absolute residuals,
// sum of absolute residuals relative to |y| (at least machine epsilon, as sklearn).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"
#include "metrics/metric_impl.h"

namespace hearth::metrics_internal {
namespace {

constexpr int kSumsPerColumn = 5;

class RegressionMetric final : public Metric {
 public:
  RegressionMetric(std::string name, RegressionKind kind, const MetricOptions& options)
      : name_(std::move(name)), kind_(kind), declared_columns_(options.num_outputs) {
    Reset();
  }

  std::string_view name() const override { return name_; }

  Status Update(const Tensor& predictions, const Tensor& targets) override {
    HEARTH_ASSIGN_OR_RETURN(const int64_t cols, ColumnsOf(predictions, targets));
    if (columns_ == 0) {
      columns_ = cols;
      sums_.assign(static_cast<size_t>(1 + kSumsPerColumn * cols), 0.0);
    }
    const std::vector<double> y = ToDoubles(targets);
    const std::vector<double> yhat = ToDoubles(predictions);
    const int64_t n = targets.dim(0);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const double t = y[i * cols + j];
        const double r = t - yhat[i * cols + j];
        double* s = &sums_[1 + kSumsPerColumn * j];
        s[0] += t;
        s[1] += t * t;
        s[2] += r * r;
        s[3] += std::abs(r);
        s[4] += std::abs(r) / std::max(std::abs(t), std::numeric_limits<double>::epsilon());
      }
    }
    sums_[0] += static_cast<double>(n);
    return absl::OkStatus();
  }

  StatusOr<double> Compute() const override {
    const double n = columns_ > 0 ? sums_[0] : 0.0;
    if (n == 0) return NothingSeen(name_);
    if (kind_ == RegressionKind::kR2 && n < 2) {
      return absl::FailedPreconditionError(
          absl::StrFormat("%s: needs at least two examples, got %g", name_, n));
    }
    double total = 0;
    for (int64_t j = 0; j < columns_; ++j) {
      const double* s = &sums_[1 + kSumsPerColumn * j];
      switch (kind_) {
        case RegressionKind::kMse:
          total += s[2] / n;
          break;
        case RegressionKind::kRmse:
          total += std::sqrt(s[2] / n);
          break;
        case RegressionKind::kMae:
          total += s[3] / n;
          break;
        case RegressionKind::kMape:
          total += s[4] / n;
          break;
        case RegressionKind::kR2: {
          const double ss_res = s[2];
          const double ss_tot = s[1] - s[0] * s[0] / n;
          // Rounding leaves a tiny SS_tot for a constant column; treat it as constant.
          if (ss_tot <= 1e-12 * s[1]) {
            total += ss_res <= 1e-12 * s[1] ? 1.0 : 0.0;
          } else {
            total += 1.0 - ss_res / ss_tot;
          }
          break;
        }
      }
    }
    return total / static_cast<double>(columns_);
  }

  void Reset() override {
    columns_ = declared_columns_;
    sums_.assign(columns_ > 0 ? static_cast<size_t>(1 + kSumsPerColumn * columns_) : 0, 0.0);
  }

  std::vector<double> State() const override { return sums_; }

  Status LoadState(std::span<const double> state) override {
    const auto size = static_cast<int64_t>(state.size());
    const bool fits = columns_ > 0 ? size == 1 + kSumsPerColumn * columns_
                                   : size > 1 && (size - 1) % kSumsPerColumn == 0;
    if (!fits) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected a state of 1 + 4 * k values%s, got %d", name_,
                          columns_ > 0 ? absl::StrFormat(" with k = %d", columns_) : "", size));
    }
    columns_ = (size - 1) / kSumsPerColumn;
    sums_.assign(state.begin(), state.end());
    return absl::OkStatus();
  }

 private:
  // The number of target columns k, checking that predictions and targets agree.
  StatusOr<int64_t> ColumnsOf(const Tensor& predictions, const Tensor& targets) const {
    auto columns = [](const Tensor& t) -> int64_t {
      if (!t.defined() || t.rank() < 1 || t.rank() > 2) return -1;
      return t.rank() == 2 ? t.dim(1) : 1;
    };
    const int64_t pc = columns(predictions);
    const int64_t tc = columns(targets);
    if (pc < 1 || tc < 1 || predictions.dtype() != DType::kFloat32 ||
        predictions.dim(0) != targets.dim(0) || pc != tc) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected float32 predictions and targets of the same shape [N] or [N, k], got %s "
          "and %s",
          name_, predictions.defined() ? predictions.shape().ToString() : "no tensor",
          targets.defined() ? targets.shape().ToString() : "no tensor"));
    }
    if (columns_ > 0 && tc != columns_) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected %d target columns, got %d", name_, columns_, tc));
    }
    return tc;
  }

  std::string name_;
  RegressionKind kind_;
  int64_t declared_columns_;
  int64_t columns_ = 0;
  std::vector<double> sums_;
};

}  // namespace

std::unique_ptr<Metric> MakeRegressionMetric(std::string name, RegressionKind kind,
                                             const MetricOptions& options) {
  return std::make_unique<RegressionMetric>(std::move(name), kind, options);
}

}  // namespace hearth::metrics_internal
