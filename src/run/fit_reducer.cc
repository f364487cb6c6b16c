// CommFitReducer: allreduce for sums and extremes, allgathers for unions of category sets and for
// the values behind medians and quantiles.
#include "run/fit_reducer.h"

#include <algorithm>

#include "hearth/dist/collectives.h"

namespace hearth::run {

Status CommFitReducer::Agree(const Status& local) {
  return dist::AgreeOnStatus(comm_, local);
}

Status CommFitReducer::Sum(std::span<double> values) {
  return comm_.AllReduce(values, dist::ReduceOp::kSum, "preprocessing: sum statistics");
}

Status CommFitReducer::Min(std::span<float> values) {
  return comm_.AllReduce(values, dist::ReduceOp::kMin, "preprocessing: minima");
}

Status CommFitReducer::Max(std::span<float> values) {
  return comm_.AllReduce(values, dist::ReduceOp::kMax, "preprocessing: maxima");
}

StatusOr<std::vector<int64_t>> CommFitReducer::Union(std::span<const int64_t> values) {
  const int world = comm_.size();
  // Sets differ in size: share the sizes, then every set padded to the largest.
  const auto mine = static_cast<int64_t>(values.size());
  std::vector<int64_t> sizes(world);
  HEARTH_RETURN_IF_ERROR(comm_.AllGather(std::as_bytes(std::span(&mine, 1)),
                                         std::as_writable_bytes(std::span(sizes)),
                                         "preprocessing: category counts"));
  const int64_t widest = *std::max_element(sizes.begin(), sizes.end());
  if (widest == 0) return std::vector<int64_t>{};
  std::vector<int64_t> padded(static_cast<size_t>(widest), 0);
  std::copy(values.begin(), values.end(), padded.begin());
  std::vector<int64_t> all(static_cast<size_t>(widest * world));
  HEARTH_RETURN_IF_ERROR(comm_.AllGather(std::as_bytes(std::span(padded)),
                                         std::as_writable_bytes(std::span(all)),
                                         "preprocessing: categories"));
  std::vector<int64_t> merged;
  for (int r = 0; r < world; ++r)
    merged.insert(merged.end(), all.begin() + r * widest, all.begin() + r * widest + sizes[r]);
  std::sort(merged.begin(), merged.end());
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
  return merged;
}

StatusOr<std::vector<std::vector<double>>> CommFitReducer::Gather(std::span<const double> values) {
  return dist::AllGatherVariable(comm_, values, "preprocessing: values for quantiles");
}

}  // namespace hearth::run
