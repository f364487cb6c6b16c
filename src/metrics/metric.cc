// The parts of the Metric interface shared by every metric, and input helpers.
#include <algorithm>
#include <string>

#include "absl/strings/str_format.h"
#include "metrics/metric_impl.h"

namespace hearth {

Status Metric::Merge(std::span<const double> other) {
  HEARTH_CHECK_MSG(summable(), "a metric whose state is not a sum must override Merge()");
  if (other.empty()) return absl::OkStatus();
  std::vector<double> mine = State();
  if (mine.empty()) return LoadState(other);
  if (mine.size() != other.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: cannot merge a state of %d values into one of %d (different numbers of classes or "
        "columns on the two sides?)",
        name(), other.size(), mine.size()));
  }
  for (size_t i = 0; i < mine.size(); ++i) mine[i] += other[i];
  return LoadState(mine);
}

namespace metrics_internal {

std::vector<double> ToDoubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kFloat32) {
    const float* p = t.f32();
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
  } else {
    const int64_t* p = t.i64();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  }
  return out;
}

StatusOr<std::span<const int64_t>> Ids(const Tensor& t, std::string_view metric,
                                       std::string_view what) {
  if (!t.defined() || t.dtype() != DType::kInt64 || t.rank() < 1 || t.rank() > 2 ||
      (t.rank() == 2 && t.dim(1) != 1)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected %s as int64 [N], got %s", metric, what,
        t.defined() ? absl::StrFormat("%s %s", DTypeName(t.dtype()), t.shape().ToString())
                    : std::string("no tensor")));
  }
  return std::span<const int64_t>(t.i64(), static_cast<size_t>(t.dim(0)));
}

Status InMetric(std::string_view metric, const Status& status) {
  return Status(status.code(), absl::StrFormat("%s: %s", metric, status.message()));
}

Status NothingSeen(std::string_view metric) {
  return absl::FailedPreconditionError(absl::StrFormat("%s: no examples were seen", metric));
}

}  // namespace metrics_internal
}  // namespace hearth
