// DataLoader::SplitEachBatch: data parallelism by global batch. The parts of every step, put back
// together in part order, must be exactly the batch one unsplit loader yields.
#include <cstdint>
#include <vector>
#include "testing/numbered_dataset.h"

#include <gtest/gtest.h>

#include "hearth/data/dataset.h"
#include "hearth/sampler.h"

namespace hearth {
namespace {

constexpr int64_t kExamples = 50;
constexpr int64_t kBatch = 8;  // 6 full batches and a last one of 2

Dataset NumberedDataset() {
  return testing::NumberedDataset(kExamples);
}

DataLoader MakeLoader(const Dataset& data) {
  StatusOr<DataLoader> loader = DataLoader::Create(data, Sampler(kExamples, 11, true), kBatch);
  HEARTH_CHECK(loader.ok());
  return *std::move(loader);
}

std::vector<Batch> Epoch(DataLoader& loader, int64_t epoch) {
  loader.Reset(epoch);
  std::vector<Batch> batches;
  Batch batch;
  while (loader.Next(&batch)) batches.push_back(batch);
  return batches;
}

void ExpectRowsMatchIndices(const Batch& batch) {
  const auto n = static_cast<int64_t>(batch.indices.size());
  ASSERT_EQ(batch.features.shape(), (Shape{n, 2}));
  ASSERT_EQ(batch.labels.shape(), (Shape{n}));
  for (int64_t j = 0; j < n; ++j) {
    EXPECT_EQ(batch.features.f32()[2 * j], static_cast<float>(batch.indices[j]));
    EXPECT_EQ(batch.features.f32()[2 * j + 1], static_cast<float>(-batch.indices[j]));
    EXPECT_EQ(batch.labels.i64()[j], batch.indices[j]);
  }
}

TEST(SplitEachBatchTest, UnsplitBatchesReportTheirOwnSize) {
  const Dataset data = NumberedDataset();
  DataLoader loader = MakeLoader(data);
  const std::vector<Batch> batches = Epoch(loader, 0);
  ASSERT_EQ(batches.size(), 7u);
  for (const Batch& b : batches) {
    EXPECT_EQ(b.global_size, static_cast<int64_t>(b.indices.size()));
    EXPECT_EQ(b.global_offset, 0);
  }
  EXPECT_EQ(batches.back().indices.size(), 2u);
}

TEST(SplitEachBatchTest, PartsReassembleTheUnsplitBatch) {
  const Dataset data = NumberedDataset();
  DataLoader whole = MakeLoader(data);
  for (int parts : {1, 2, 3, 4, 5, 8, 9}) {
    std::vector<DataLoader> loaders;
    for (int part = 0; part < parts; ++part) {
      loaders.push_back(MakeLoader(data));
      ASSERT_TRUE(loaders.back().SplitEachBatch(part, parts).ok());
      EXPECT_EQ(loaders.back().steps_per_epoch(), whole.steps_per_epoch());
    }
    for (int64_t epoch : {0, 3}) {
      SCOPED_TRACE(::testing::Message() << parts << " parts, epoch " << epoch);
      const std::vector<Batch> expected = Epoch(whole, epoch);
      std::vector<std::vector<Batch>> got;
      for (DataLoader& loader : loaders) got.push_back(Epoch(loader, epoch));
      for (int part = 0; part < parts; ++part) ASSERT_EQ(got[part].size(), expected.size());
      bool some_part_empty = false;
      for (size_t step = 0; step < expected.size(); ++step) {
        std::vector<int64_t> joined;
        for (int part = 0; part < parts; ++part) {
          const Batch& b = got[part][step];
          SCOPED_TRACE(::testing::Message() << "step " << step << " part " << part);
          EXPECT_EQ(b.step, static_cast<int64_t>(step));
          EXPECT_EQ(b.epoch, epoch);
          EXPECT_EQ(b.global_size, static_cast<int64_t>(expected[step].indices.size()));
          // Contiguous and in order: each part starts where the previous ones ended.
          EXPECT_EQ(b.global_offset, static_cast<int64_t>(joined.size()));
          // Balanced: part sizes differ by at most one.
          const int64_t size = static_cast<int64_t>(b.indices.size());
          EXPECT_GE(size, b.global_size / parts);
          EXPECT_LE(size, (b.global_size + parts - 1) / parts);
          some_part_empty = some_part_empty || size == 0;
          ExpectRowsMatchIndices(b);
          joined.insert(joined.end(), b.indices.begin(), b.indices.end());
        }
        EXPECT_EQ(joined, expected[step].indices) << "step " << step;
      }
      // The last batch has 2 examples, so with 3 or more parts someone gets nothing.
      EXPECT_EQ(some_part_empty, parts > 2);
    }
  }
}

TEST(SplitEachBatchTest, SeekResumesTheSamePart) {
  const Dataset data = NumberedDataset();
  DataLoader a = MakeLoader(data), b = MakeLoader(data);
  ASSERT_TRUE(a.SplitEachBatch(1, 3).ok());
  ASSERT_TRUE(b.SplitEachBatch(1, 3).ok());
  const std::vector<Batch> full = Epoch(a, 2);
  ASSERT_TRUE(b.Seek(2, 4).ok());
  Batch batch;
  for (size_t step = 4; step < full.size(); ++step) {
    ASSERT_TRUE(b.Next(&batch));
    EXPECT_EQ(batch.indices, full[step].indices);
    EXPECT_EQ(batch.global_offset, full[step].global_offset);
  }
  EXPECT_FALSE(b.Next(&batch));
}

TEST(SplitEachBatchTest, InvalidPartsAreRejected) {
  const Dataset data = NumberedDataset();
  DataLoader loader = MakeLoader(data);
  struct Case {
    int part, parts;
  };
  for (const Case& c : {Case{-1, 2}, Case{2, 2}, Case{5, 2}, Case{0, 0}, Case{0, -1}}) {
    const Status status = loader.SplitEachBatch(c.part, c.parts);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << c.part << " of " << c.parts << ": " << status;
  }
  // A rejected call leaves the loader unsplit.
  const std::vector<Batch> batches = Epoch(loader, 0);
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches[0].indices.size(), static_cast<size_t>(kBatch));
  EXPECT_EQ(batches[0].global_offset, 0);
}

}  // namespace
}  // namespace hearth
