// Seeded train/validation split of a dataset.
#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_format.h"
#include "hearth/sampler.h"

namespace hearth {
namespace {

// A stream of its own, so a job that seeds its sampler and its split with the same number does
// not validate on the examples its first epoch starts with.
constexpr uint64_t kSplitStream = 0x53504c4954000000ULL;  // "SPLIT"

}  // namespace

StatusOr<SplitIndices> TrainValidationSplit(int64_t num_examples, double validation_fraction,
                                            uint64_t seed) {
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("train/validation split: expected 0 <= validation fraction < 1, got %g",
                        validation_fraction));
  }
  const auto num_validation =
      static_cast<int64_t>(std::llround(static_cast<double>(num_examples) * validation_fraction));
  if (num_examples - num_validation <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train/validation split: %d examples with validation fraction %g leave no training data",
        num_examples, validation_fraction));
  }
  std::vector<int64_t> perm = RandomPermutation(num_examples, MixSeed(seed, kSplitStream));
  SplitIndices split;
  split.validation.assign(perm.begin(), perm.begin() + num_validation);
  split.train.assign(perm.begin() + num_validation, perm.end());
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

StatusOr<SplitIndices> StratifiedSplit(std::span<const int64_t> labels, double validation_fraction,
                                       uint64_t seed) {
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0))
    return absl::InvalidArgumentError(
        absl::StrFormat("train/validation split: expected 0 <= validation fraction < 1, got %g",
                        validation_fraction));
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  SplitIndices split;
  for (const auto& [label, rows] : by_class) {
    const auto n = static_cast<int64_t>(rows.size());
    const auto take =
        static_cast<int64_t>(std::llround(static_cast<double>(n) * validation_fraction));
    // A stream per class, so adding examples of one class leaves the others' split alone.
    const std::vector<int64_t> perm =
        RandomPermutation(n, MixSeed(seed, kSplitStream + static_cast<uint64_t>(label) + 1));
    for (int64_t k = 0; k < n; ++k)
      (k < take ? split.validation : split.train).push_back(rows[perm[k]]);
  }
  if (split.train.empty())
    return absl::InvalidArgumentError(absl::StrFormat(
        "train/validation split: %d examples with validation fraction %g leave no training data",
        labels.size(), validation_fraction));
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

StatusOr<SplitDatasets> TrainValidationSplit(const Dataset& data, double validation_fraction,
                                             uint64_t seed, bool stratify) {
  if (!data.features.defined() || data.features.rank() < 1) {
    return absl::InvalidArgumentError(
        "train/validation split: expected a dataset with features [N, ...]");
  }
  if (data.labels.defined() && (data.labels.rank() < 1 || data.labels.dim(0) != data.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train/validation split: features %s and labels %s differ in the number of examples",
        data.features.shape().ToString(), data.labels.shape().ToString()));
  }
  if (stratify && (!data.labels.defined() || data.labels.dtype() != DType::kInt64))
    return absl::InvalidArgumentError(
        "train/validation split: stratifying needs class labels (a classification task)");
  HEARTH_ASSIGN_OR_RETURN(
      SplitIndices split,
      stratify ? StratifiedSplit(std::span<const int64_t>(data.labels.i64(), data.size()),
                                 validation_fraction, seed)
               : TrainValidationSplit(data.size(), validation_fraction, seed));
  SplitDatasets out;
  HEARTH_ASSIGN_OR_RETURN(out.train.features, GatherRows(data.features, split.train));
  HEARTH_ASSIGN_OR_RETURN(out.validation.features, GatherRows(data.features, split.validation));
  if (data.labels.defined()) {
    HEARTH_ASSIGN_OR_RETURN(out.train.labels, GatherRows(data.labels, split.train));
    HEARTH_ASSIGN_OR_RETURN(out.validation.labels, GatherRows(data.labels, split.validation));
  }
  out.train.class_names = data.class_names;
  out.validation.class_names = data.class_names;
  out.train.feature_names = data.feature_names;
  out.validation.feature_names = data.feature_names;
  out.train.feature_categories = data.feature_categories;
  out.validation.feature_categories = data.feature_categories;
  return out;
}

}  // namespace hearth
