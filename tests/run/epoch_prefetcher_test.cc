// EpochPrefetcher: every epoch's resident rows are exactly the rank's examples of that epoch, with
// their own features and labels, whether they were read ahead during the previous epoch or read
// on the spot (a resume mid-epoch), and a file that cannot be read is an error naming it.
#include "run/epoch_prefetcher.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "ckpt/temp_dir.h"
#include "hearth/data/npy.h"
#include "testing/numbered_dataset.h"

namespace hearth::run {
namespace {

constexpr int64_t kExamples = 50;
constexpr int64_t kGlobalBatch = 8;

class EpochPrefetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Dataset numbered = hearth::testing::NumberedDataset(kExamples);
    features_ = dir_.file("x.npy");
    ASSERT_TRUE(WriteNpy(features_, numbered.features).ok());
    ASSERT_TRUE(WriteNpy(dir_.file("y.npy"), numbered.labels).ok());
    spec_.set_task(v1::CLASSIFICATION);
    spec_.mutable_data()->mutable_train()->set_path(features_);
    spec_.mutable_data()->mutable_train()->set_labels_path(dir_.file("y.npy"));
    shards_ = std::make_shared<const TrainingShards>(spec_, std::vector<int64_t>{}, Preprocessor(),
                                                     Shape{2});
  }
  // Rank 1 of 2's loader over the numbered examples, shuffled.
  DataLoader Loader() {
    DataLoader loader =
        DataLoader::CreatePartial(Sampler(kExamples, 7, true), kGlobalBatch).value();
    EXPECT_TRUE(loader.SplitEachBatch(1, 2).ok());
    return loader;
  }
  // Every batch of `epoch` from `first_step` is the examples it names (feature 0 = i, label i).
  void ExpectEpochFromItsOwnRows(DataLoader& loader, int64_t epoch, int64_t first_step) {
    ASSERT_TRUE(loader.Seek(epoch, first_step).ok());
    Batch batch;
    int64_t batches = 0;
    while (loader.Next(&batch)) {
      ++batches;
      ASSERT_TRUE(batch.labels.defined());
      for (int64_t row = 0; row < batch.features.dim(0); ++row) {
        const float i = batch.features.f32()[row * 2];
        EXPECT_EQ(batch.features.f32()[row * 2 + 1], -i);
        EXPECT_EQ(batch.labels.data<int64_t>()[row], static_cast<int64_t>(i));
      }
    }
    EXPECT_EQ(batches, loader.steps_per_epoch() - first_step);
  }

  hearth::testing::TempDir dir_;
  std::string features_;
  v1::JobSpec spec_;
  std::shared_ptr<const TrainingShards> shards_;
};

TEST_F(EpochPrefetcherTest, EachEpochHoldsExactlyItsOwnExamples) {
  DataLoader loader = Loader();
  EpochPrefetcher prefetcher(shards_, 3);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    SCOPED_TRACE(epoch);
    StatusOr<int64_t> resident = prefetcher.Load(epoch, 0, loader);
    ASSERT_TRUE(resident.ok()) << resident.status();
    EXPECT_EQ(*resident, static_cast<int64_t>(loader.ExamplesOf(epoch).size()));
    EXPECT_EQ(loader.resident_rows(), *resident);
    ExpectEpochFromItsOwnRows(loader, epoch, 0);
  }
}

TEST_F(EpochPrefetcherTest, AResumeMidEpochReadsOnlyTheRestOfIt) {
  DataLoader loader = Loader();
  EpochPrefetcher prefetcher(shards_, 3);
  StatusOr<int64_t> resident = prefetcher.Load(1, 2, loader);
  ASSERT_TRUE(resident.ok()) << resident.status();
  EXPECT_EQ(*resident, static_cast<int64_t>(loader.ExamplesOf(1, 2).size()));
  EXPECT_LT(*resident, static_cast<int64_t>(loader.ExamplesOf(1).size()));
  ExpectEpochFromItsOwnRows(loader, 1, 2);
  // The next epoch, prefetched meanwhile, is whole.
  ASSERT_TRUE(prefetcher.Load(2, 0, loader).ok());
  ExpectEpochFromItsOwnRows(loader, 2, 0);
}

TEST_F(EpochPrefetcherTest, AFileThatCannotBeReadIsAnErrorNamingIt) {
  DataLoader loader = Loader();
  EpochPrefetcher prefetcher(shards_, 2);
  ASSERT_EQ(std::remove(features_.c_str()), 0);
  StatusOr<int64_t> resident = prefetcher.Load(0, 0, loader);
  ASSERT_FALSE(resident.ok());
  EXPECT_NE(std::string(resident.status().message()).find(features_), std::string::npos)
      << resident.status();
}

}  // namespace
}  // namespace hearth::run
