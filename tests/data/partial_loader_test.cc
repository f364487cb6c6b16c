// DataLoader holding only some rows (CreatePartial, ExamplesOf, SetResidentRows): what a rank of
// a data-parallel job that reads only its own rows plays must be exactly what a loader over the
// whole dataset plays.
#include <gtest/gtest.h>
#include "testing/numbered_dataset.h"

#include <algorithm>
#include <vector>

#include "data/data_test_util.h"
#include "hearth/sampler.h"

namespace hearth {
namespace {

using data_testing::Contains;

constexpr int64_t kExamples = 50;
constexpr int64_t kBatch = 8;  // 6 full batches and a last one of 2

Dataset NumberedDataset() {
  return testing::NumberedDataset(kExamples);
}

Sampler MakeSampler() {
  return Sampler(kExamples, /*seed=*/11, /*shuffle=*/true);
}

// Rows `examples` of `data`, made resident in `loader`.
void Hold(DataLoader& loader, const Dataset& data, std::vector<int64_t> examples) {
  Tensor x = *GatherRows(data.features, examples);
  Tensor y = *GatherRows(data.labels, examples);
  ASSERT_TRUE(loader.SetResidentRows(std::move(examples), x, y).ok());
}

void ExpectSameBatch(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.global_size, b.global_size);
  EXPECT_EQ(a.global_offset, b.global_offset);
  EXPECT_EQ(a.features.ToVector(), b.features.ToVector());
  ASSERT_EQ(a.labels.numel(), b.labels.numel());
  for (int64_t i = 0; i < a.labels.numel(); ++i) EXPECT_EQ(a.labels.i64()[i], b.labels.i64()[i]);
}

TEST(PartialLoaderTest, PartsHoldDisjointRowsThatCoverTheEpoch) {
  for (int parts : {1, 2, 3, 5}) {
    for (int64_t epoch : {0, 4}) {
      std::vector<int64_t> all;
      for (int part = 0; part < parts; ++part) {
        DataLoader loader = *DataLoader::CreatePartial(MakeSampler(), kBatch);
        ASSERT_TRUE(loader.SplitEachBatch(part, parts).ok());
        const std::vector<int64_t> mine = loader.ExamplesOf(epoch);
        EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
        all.insert(all.end(), mine.begin(), mine.end());
      }
      std::sort(all.begin(), all.end());
      std::vector<int64_t> every(kExamples);
      for (int64_t i = 0; i < kExamples; ++i) every[i] = i;
      EXPECT_EQ(all, every) << parts << " parts, epoch " << epoch;  // each example exactly once
    }
  }
}

TEST(PartialLoaderTest, PlaysTheSameBatchesAsAFullLoader) {
  const Dataset data = NumberedDataset();
  for (int parts : {1, 3}) {
    for (int part = 0; part < parts; ++part) {
      DataLoader full = *DataLoader::Create(data, MakeSampler(), kBatch);
      DataLoader partial = *DataLoader::CreatePartial(MakeSampler(), kBatch);
      ASSERT_TRUE(full.SplitEachBatch(part, parts).ok());
      ASSERT_TRUE(partial.SplitEachBatch(part, parts).ok());
      for (int64_t epoch : {0, 1}) {
        Hold(partial, data, partial.ExamplesOf(epoch));
        EXPECT_EQ(partial.resident_rows(), static_cast<int64_t>(partial.ExamplesOf(epoch).size()));
        full.Reset(epoch);
        partial.Reset(epoch);
        Batch a, b;
        while (full.Next(&a)) {
          ASSERT_TRUE(partial.Next(&b));
          ExpectSameBatch(b, a);
        }
        EXPECT_FALSE(partial.Next(&b));
      }
    }
  }
}

TEST(PartialLoaderTest, ResumingMidEpochNeedsOnlyTheRemainingBatchesRows) {
  const Dataset data = NumberedDataset();
  DataLoader full = *DataLoader::Create(data, MakeSampler(), kBatch);
  DataLoader partial = *DataLoader::CreatePartial(MakeSampler(), kBatch);
  ASSERT_TRUE(full.SplitEachBatch(1, 2).ok());
  ASSERT_TRUE(partial.SplitEachBatch(1, 2).ok());
  const std::vector<int64_t> rest = partial.ExamplesOf(2, /*first_step=*/4);
  // Batches 4, 5 (4 examples each on this part) and 6 (1 of 2).
  EXPECT_EQ(rest.size(), 9u);
  Hold(partial, data, rest);
  ASSERT_TRUE(full.Seek(2, 4).ok());
  ASSERT_TRUE(partial.Seek(2, 4).ok());
  Batch a, b;
  while (full.Next(&a)) {
    ASSERT_TRUE(partial.Next(&b));
    ExpectSameBatch(b, a);
  }
  // Releasing hands back the rows' memory for the next epoch's: no batch still refers to it.
  const std::shared_ptr<Storage> memory = partial.ReleaseRows();
  EXPECT_EQ(partial.resident_rows(), 0);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory.use_count(), 1);
  EXPECT_EQ(full.ReleaseRows(), nullptr);  // a loader of the whole set holds no rows of its own
}

TEST(PartialLoaderTest, RowsStillSeenElsewhereAreNotHandedBackForReuse) {
  const Dataset data = NumberedDataset();
  DataLoader loader = *DataLoader::CreatePartial(MakeSampler(), kBatch);
  const std::vector<int64_t> rows = {1, 3};
  const Tensor features = *GatherRows(data.features, rows);
  ASSERT_TRUE(loader.SetResidentRows({1, 3}, features, Tensor()).ok());
  EXPECT_EQ(loader.ReleaseRows(), nullptr);  // `features` still shows them
}

TEST(PartialLoaderTest, ResidentRowsAreChecked) {
  const Dataset data = NumberedDataset();
  DataLoader loader = *DataLoader::CreatePartial(MakeSampler(), kBatch);
  const Tensor x = Tensor::Zeros(Shape{2, 2});
  EXPECT_TRUE(
      Contains(loader.SetResidentRows({3, 1}, x, Tensor()).message(), "not in ascending order"));
  EXPECT_FALSE(loader.SetResidentRows({1, 50}, x, Tensor()).ok());
  EXPECT_TRUE(Contains(loader.SetResidentRows({1, 2, 3}, x, Tensor()).message(),
                       "expected float32 features [3, ...]"));
  EXPECT_FALSE(loader.SetResidentRows({1, 2}, x, Tensor::Zeros(Shape{3})).ok());
  EXPECT_FALSE(DataLoader::CreatePartial(MakeSampler(), 0).ok());
}

TEST(PartialLoaderDeathTest, ABatchWithAMissingExampleAborts) {
  const Dataset data = NumberedDataset();
  DataLoader loader = *DataLoader::CreatePartial(MakeSampler(), kBatch);
  std::vector<int64_t> some = loader.ExamplesOf(0);
  some.erase(some.begin() + 3);
  Hold(loader, data, some);
  Batch batch;
  EXPECT_DEATH(
      {
        while (loader.Next(&batch)) {
        }
      },
      "is not resident");
}

}  // namespace
}  // namespace hearth
