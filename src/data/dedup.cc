// Dropping repeated rows: each row's bytes (features, then label) are the key, so a repeat is
// exact, missing values included.
#include <cstring>
#include <string>

#include <unordered_set>

#include "hearth/sampler.h"

namespace hearth {

StatusOr<Dataset> DropDuplicateRows(const Dataset& data, int64_t* removed) {
  const int64_t n = data.size();
  const auto row_bytes = [](const Tensor& t) {
    return t.defined() && t.dim(0) > 0 ? t.numel() / t.dim(0) * DTypeSize(t.dtype()) : 0;
  };
  const int64_t feature_bytes = row_bytes(data.features);
  const int64_t label_bytes = row_bytes(data.labels);
  const auto* features = static_cast<const char*>(data.features.raw());
  const auto* labels =
      data.labels.defined() ? static_cast<const char*>(data.labels.raw()) : nullptr;
  std::unordered_set<std::string> seen;
  std::vector<int64_t> kept;
  std::string key;
  for (int64_t i = 0; i < n; ++i) {
    key.assign(features + i * feature_bytes, static_cast<size_t>(feature_bytes));
    if (labels != nullptr) key.append(labels + i * label_bytes, static_cast<size_t>(label_bytes));
    if (seen.insert(key).second) kept.push_back(i);
  }
  *removed = n - static_cast<int64_t>(kept.size());
  if (*removed == 0) return data;
  Dataset out = data;
  HEARTH_ASSIGN_OR_RETURN(out.features, GatherRows(data.features, kept));
  if (data.labels.defined()) {
    HEARTH_ASSIGN_OR_RETURN(out.labels, GatherRows(data.labels, kept));
  }
  return out;
}

}  // namespace hearth
