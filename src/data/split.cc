// Seeded train/validation and k-fold splits of a dataset.
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

constexpr uint64_t kFoldStream = 0x464f4c4400000000ULL;  // "FOLD"

Status CheckFolds(int64_t num_examples, int folds, int fold) {
  if (folds < 2 || folds > num_examples)
    return absl::InvalidArgumentError(absl::StrFormat(
        "k-fold split: expected 2 <= folds <= %d (the examples), got %d", num_examples, folds));
  if (fold < 0 || fold >= folds)
    return absl::InvalidArgumentError(
        absl::StrFormat("k-fold split: expected 0 <= fold < %d, got %d", folds, fold));
  return absl::OkStatus();
}

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

namespace {

// The labels of a dataset as class ids, or InvalidArgument naming what stratifying needs.
StatusOr<std::span<const int64_t>> ClassLabels(const Dataset& data) {
  if (!data.labels.defined() || data.labels.dtype() != DType::kInt64)
    return absl::InvalidArgumentError(
        "train/validation split: stratifying needs class labels (a classification task)");
  return std::span<const int64_t>(data.labels.i64(), static_cast<size_t>(data.size()));
}

Status CheckSplittable(const Dataset& data) {
  if (!data.features.defined() || data.features.rank() < 1) {
    return absl::InvalidArgumentError(
        "train/validation split: expected a dataset with features [N, ...]");
  }
  if (data.labels.defined() && (data.labels.rank() < 1 || data.labels.dim(0) != data.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train/validation split: features %s and labels %s differ in the number of examples",
        data.features.shape().ToString(), data.labels.shape().ToString()));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<SplitIndices> KFoldSplit(int64_t num_examples, int folds, int fold, uint64_t seed) {
  HEARTH_RETURN_IF_ERROR(CheckFolds(num_examples, folds, fold));
  const std::vector<int64_t> perm = RandomPermutation(num_examples, MixSeed(seed, kFoldStream));
  // sklearn's sizes: N / folds each, plus one for the first N % folds.
  const int64_t base = num_examples / folds;
  const int64_t extra = num_examples % folds;
  const int64_t begin = fold * base + std::min<int64_t>(fold, extra);
  const int64_t end = begin + base + (fold < extra ? 1 : 0);
  SplitIndices split;
  for (int64_t k = 0; k < num_examples; ++k)
    (k >= begin && k < end ? split.validation : split.train).push_back(perm[k]);
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

StatusOr<SplitIndices> StratifiedKFoldSplit(std::span<const int64_t> labels, int folds, int fold,
                                            uint64_t seed) {
  HEARTH_RETURN_IF_ERROR(CheckFolds(static_cast<int64_t>(labels.size()), folds, fold));
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  SplitIndices split;
  int64_t dealt = 0;  // examples dealt so far, over every class: the next goes to dealt % folds
  for (const auto& [label, rows] : by_class) {
    const auto n = static_cast<int64_t>(rows.size());
    const std::vector<int64_t> perm =
        RandomPermutation(n, MixSeed(seed, kFoldStream + static_cast<uint64_t>(label) + 1));
    for (int64_t k = 0; k < n; ++k, ++dealt)
      (dealt % folds == fold ? split.validation : split.train).push_back(rows[perm[k]]);
  }
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

StatusOr<SplitDatasets> ApplySplit(const Dataset& data, const SplitIndices& split) {
  HEARTH_RETURN_IF_ERROR(CheckSplittable(data));
  SplitDatasets out;
  HEARTH_ASSIGN_OR_RETURN(out.train.features, GatherRows(data.features, split.train));
  HEARTH_ASSIGN_OR_RETURN(out.validation.features, GatherRows(data.features, split.validation));
  if (data.labels.defined()) {
    HEARTH_ASSIGN_OR_RETURN(out.train.labels, GatherRows(data.labels, split.train));
    HEARTH_ASSIGN_OR_RETURN(out.validation.labels, GatherRows(data.labels, split.validation));
  }
  for (Dataset* part : {&out.train, &out.validation}) {
    part->class_names = data.class_names;
    part->feature_names = data.feature_names;
    part->feature_categories = data.feature_categories;
  }
  return out;
}

StatusOr<SplitDatasets> TrainValidationSplit(const Dataset& data, double validation_fraction,
                                             uint64_t seed, bool stratify) {
  HEARTH_RETURN_IF_ERROR(CheckSplittable(data));
  SplitIndices split;
  if (stratify) {
    HEARTH_ASSIGN_OR_RETURN(std::span<const int64_t> labels, ClassLabels(data));
    HEARTH_ASSIGN_OR_RETURN(split, StratifiedSplit(labels, validation_fraction, seed));
  } else {
    HEARTH_ASSIGN_OR_RETURN(split, TrainValidationSplit(data.size(), validation_fraction, seed));
  }
  return ApplySplit(data, split);
}

StatusOr<SplitDatasets> KFoldSplit(const Dataset& data, int folds, int fold, uint64_t seed,
                                   bool stratify) {
  HEARTH_RETURN_IF_ERROR(CheckSplittable(data));
  SplitIndices split;
  if (stratify) {
    HEARTH_ASSIGN_OR_RETURN(std::span<const int64_t> labels, ClassLabels(data));
    HEARTH_ASSIGN_OR_RETURN(split, StratifiedKFoldSplit(labels, folds, fold, seed));
  } else {
    HEARTH_ASSIGN_OR_RETURN(split, KFoldSplit(data.size(), folds, fold, seed));
  }
  return ApplySplit(data, split);
}

}  // namespace hearth
