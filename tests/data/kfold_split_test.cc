// k-fold splits: the folds partition the examples, with scikit-learn's fold sizes, and stratified
// folds keep each class's share.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "hearth/sampler.h"

namespace hearth {
namespace {

// Every example is in exactly one fold's validation part, and each fold trains on the rest.
void ExpectPartition(const std::vector<SplitIndices>& folds, int64_t n) {
  std::vector<int> seen(static_cast<size_t>(n), 0);
  for (const SplitIndices& f : folds) {
    EXPECT_TRUE(std::is_sorted(f.train.begin(), f.train.end()));
    EXPECT_TRUE(std::is_sorted(f.validation.begin(), f.validation.end()));
    EXPECT_EQ(static_cast<int64_t>(f.train.size() + f.validation.size()), n);
    std::set<int64_t> both(f.train.begin(), f.train.end());
    both.insert(f.validation.begin(), f.validation.end());
    EXPECT_EQ(static_cast<int64_t>(both.size()), n);  // disjoint, and nothing left out
    for (int64_t i : f.validation) ++seen[static_cast<size_t>(i)];
  }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], 1) << "example " << i;
}

std::vector<SplitIndices> AllFolds(int64_t n, int k, uint64_t seed) {
  std::vector<SplitIndices> folds;
  for (int f = 0; f < k; ++f) {
    StatusOr<SplitIndices> split = KFoldSplit(n, k, f, seed);
    EXPECT_TRUE(split.ok()) << split.status();
    folds.push_back(split.ok() ? *split : SplitIndices{});
  }
  return folds;
}

TEST(KFoldSplitTest, FoldsPartitionTheExamplesWithScikitLearnsSizes) {
  const std::vector<SplitIndices> folds = AllFolds(23, 5, 7);
  ExpectPartition(folds, 23);
  // sklearn.model_selection.KFold(5): 23 // 5 each, the first 23 % 5 one larger.
  const std::vector<size_t> sizes = {5, 5, 5, 4, 4};
  for (size_t f = 0; f < folds.size(); ++f) EXPECT_EQ(folds[f].validation.size(), sizes[f]);
}

TEST(KFoldSplitTest, TheSameSeedGivesTheSameFoldsAndAnotherSeedOthers) {
  const std::vector<SplitIndices> a = AllFolds(100, 4, 3), b = AllFolds(100, 4, 3);
  const std::vector<SplitIndices> c = AllFolds(100, 4, 4);
  for (size_t f = 0; f < a.size(); ++f) EXPECT_EQ(a[f].validation, b[f].validation);
  EXPECT_NE(a[0].validation, c[0].validation);
  // Shuffled, not consecutive blocks of the file.
  EXPECT_NE(a[0].validation.back() - a[0].validation.front(), 24);
}

TEST(KFoldSplitTest, StratifiedFoldsKeepEachClassShareAndBalancedSizes) {
  std::vector<int64_t> labels;
  const std::map<int64_t, int> counts = {{0, 30}, {1, 12}, {2, 7}};
  for (const auto& [label, count] : counts) labels.insert(labels.end(), count, label);
  std::swap(labels[0], labels[40]);  // classes need not be contiguous
  const int k = 5;
  std::vector<SplitIndices> folds;
  for (int f = 0; f < k; ++f) {
    StatusOr<SplitIndices> split = StratifiedKFoldSplit(labels, k, f, 11);
    ASSERT_TRUE(split.ok()) << split.status();
    folds.push_back(*split);
  }
  ExpectPartition(folds, static_cast<int64_t>(labels.size()));
  for (const SplitIndices& fold : folds) {
    // 49 examples: folds of 9 or 10.
    EXPECT_GE(fold.validation.size(), 9u);
    EXPECT_LE(fold.validation.size(), 10u);
    std::map<int64_t, int> in_fold;
    for (int64_t i : fold.validation) ++in_fold[labels[static_cast<size_t>(i)]];
    for (const auto& [label, count] : counts) {
      EXPECT_GE(in_fold[label], count / k) << "class " << label;
      EXPECT_LE(in_fold[label], (count + k - 1) / k) << "class " << label;
    }
  }
}

TEST(KFoldSplitTest, BadFoldCountsAreErrors) {
  EXPECT_EQ(KFoldSplit(10, 1, 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KFoldSplit(3, 4, 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KFoldSplit(10, 5, 5, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KFoldSplit(10, 5, -1, 0).status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<int64_t> labels = {0, 1, 0};
  const StatusOr<SplitIndices> split = StratifiedKFoldSplit(labels, 4, 0, 0);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(split.status().message().find("folds <= 3"), std::string::npos)
      << split.status().message();
}

TEST(KFoldSplitTest, ADatasetSplitKeepsTheNamesAndNeedsClassLabelsToStratify) {
  Dataset data;
  data.features = Tensor::Zeros(Shape{10, 2});
  data.labels = Tensor::Zeros(Shape{10});  // float: regression targets
  data.feature_names = {"a", "b"};
  StatusOr<SplitDatasets> split = KFoldSplit(data, 5, 1, 3);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->validation.size(), 2);
  EXPECT_EQ(split->train.size(), 8);
  EXPECT_EQ(split->train.feature_names, data.feature_names);
  EXPECT_EQ(split->validation.feature_names, data.feature_names);
  EXPECT_EQ(KFoldSplit(data, 5, 1, 3, /*stratify=*/true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
