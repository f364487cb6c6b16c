// Seeded train/validation split of a dataset.
#include <algorithm>
#include <cmath>
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

StatusOr<SplitDatasets> TrainValidationSplit(const Dataset& data, double validation_fraction,
                                             uint64_t seed) {
  if (!data.features.defined() || data.features.rank() < 1) {
    return absl::InvalidArgumentError(
        "train/validation split: expected a dataset with features [N, ...]");
  }
  if (data.labels.defined() && (data.labels.rank() < 1 || data.labels.dim(0) != data.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train/validation split: features %s and labels %s differ in the number of examples",
        data.features.shape().ToString(), data.labels.shape().ToString()));
  }
  HEARTH_ASSIGN_OR_RETURN(SplitIndices split,
                          TrainValidationSplit(data.size(), validation_fraction, seed));
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
  return out;
}

}  // namespace hearth
