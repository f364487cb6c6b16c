// Sampler, batching, DataLoader resume and train/validation split.
#include "hearth/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace hearth {
namespace {

std::vector<int64_t> Range(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::vector<int64_t> Sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(SamplerTest, PermutationIsDeterministicForASeed) {
  Sampler a(100, 7, true);
  Sampler b(100, 7, true);
  EXPECT_EQ(a.Permutation(3), b.Permutation(3));
  EXPECT_EQ(a.EpochIndices(3), b.EpochIndices(3));
  EXPECT_EQ(Sorted(a.Permutation(3)), Range(100));
}

TEST(SamplerTest, EpochsAndSeedsGiveDifferentOrders) {
  Sampler a(100, 7, true);
  Sampler other_seed(100, 8, true);
  EXPECT_NE(a.Permutation(0), a.Permutation(1));
  EXPECT_NE(a.Permutation(1), a.Permutation(2));
  EXPECT_NE(a.Permutation(0), other_seed.Permutation(0));
  EXPECT_NE(a.Permutation(0), Range(100));
}

// The permutation is part of the checkpoint contract (resume replays it), so it must not change
// silently between versions or machines.
TEST(SamplerTest, PermutationIsPinned) {
  EXPECT_EQ(RandomPermutation(10, 1), (std::vector<int64_t>{3, 8, 0, 9, 2, 5, 6, 4, 1, 7}));
  EXPECT_EQ(MixSeed(42, 0), 6332618229526065668ULL);
}

TEST(SamplerTest, WithoutShuffleTheOrderIsTheIdentity) {
  Sampler s(5, 123, false);
  EXPECT_EQ(s.EpochIndices(0), Range(5));
  EXPECT_EQ(s.EpochIndices(9), Range(5));
}

// Matches torch.utils.data.DistributedSampler(range(10), num_replicas=3, shuffle=False):
// rank r gets [0..9, 0, 1][r::3].
TEST(SamplerTest, PaddingWrapsAroundLikePyTorch) {
  EXPECT_EQ(Sampler(10, 0, false, 0, 3).EpochIndices(0), (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(Sampler(10, 0, false, 1, 3).EpochIndices(0), (std::vector<int64_t>{1, 4, 7, 0}));
  EXPECT_EQ(Sampler(10, 0, false, 2, 3).EpochIndices(0), (std::vector<int64_t>{2, 5, 8, 1}));
  // Fewer examples than ranks: the permutation repeats.
  std::vector<int64_t> got;
  for (int r = 0; r < 5; ++r) {
    const std::vector<int64_t> mine = Sampler(2, 0, false, r, 5).EpochIndices(0);
    ASSERT_EQ(mine.size(), 1u);
    got.push_back(mine[0]);
  }
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 0, 1, 0}));
}

// With drop_last, DistributedSampler(range(10), 3, shuffle=False, drop_last=True) gives
// rank r [0..8][r::3].
TEST(SamplerTest, DropLastCutsTheTail) {
  EXPECT_EQ(Sampler(10, 0, false, 0, 3, true).EpochIndices(0), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(Sampler(10, 0, false, 2, 3, true).EpochIndices(0), (std::vector<int64_t>{2, 5, 8}));
}

TEST(SamplerTest, ShardsAreDisjointAndCoverTheEpoch) {
  for (int64_t n : {12, 13, 17, 3}) {
    for (int world : {1, 2, 3, 4}) {
      for (bool drop_last : {false, true}) {
        if (drop_last && n < world) continue;
        SCOPED_TRACE(testing::Message()
                     << "n=" << n << " world=" << world << " drop_last=" << drop_last);
        const std::vector<int64_t> perm = Sampler(n, 5, true, 0, world, drop_last).Permutation(4);
        // Interleaving the ranks' shards must give back the cut or padded permutation.
        std::vector<std::vector<int64_t>> shards;
        for (int r = 0; r < world; ++r) {
          Sampler s(n, 5, true, r, world, drop_last);
          shards.push_back(s.EpochIndices(4));
          EXPECT_EQ(static_cast<int64_t>(shards.back().size()), s.num_samples());
          EXPECT_EQ(shards.back().size(), shards[0].size());
        }
        const int64_t per_rank = static_cast<int64_t>(shards[0].size());
        EXPECT_EQ(per_rank, drop_last ? n / world : (n + world - 1) / world);
        std::vector<int64_t> interleaved;
        for (int64_t j = 0; j < per_rank; ++j) {
          for (int r = 0; r < world; ++r) interleaved.push_back(shards[r][j]);
        }
        for (size_t p = 0; p < interleaved.size(); ++p) {
          EXPECT_EQ(interleaved[p], perm[p % perm.size()]);
        }
        std::set<int64_t> distinct(interleaved.begin(), interleaved.end());
        if (drop_last) {
          EXPECT_EQ(static_cast<int64_t>(distinct.size()), per_rank * world);  // disjoint
        } else {
          EXPECT_EQ(static_cast<int64_t>(distinct.size()), n);  // every example is visited
        }
      }
    }
  }
}

TEST(SamplerTest, CreateRejectsBadArguments) {
  EXPECT_FALSE(Sampler::Create(0, 1, true).ok());
  EXPECT_FALSE(Sampler::Create(10, 1, true, 3, 3).ok());
  EXPECT_FALSE(Sampler::Create(10, 1, true, -1, 3).ok());
  const auto empty = Sampler::Create(2, 1, true, 0, 4, /*drop_last=*/true);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("drop_last"), std::string::npos);
  ASSERT_TRUE(Sampler::Create(2, 1, true, 3, 4).ok());
  EXPECT_EQ(Sampler::Create(2, 1, true, 3, 4)->num_samples(), 1);
}

TEST(BatchingTest, MakeBatchesWithAndWithoutDropLast) {
  const std::vector<int64_t> idx = {9, 8, 7, 6, 5, 4, 3};
  const auto batches = MakeBatches(idx, 3);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], (std::vector<int64_t>{9, 8, 7}));
  EXPECT_EQ(batches[2], (std::vector<int64_t>{3}));
  EXPECT_EQ(MakeBatches(idx, 3, true).size(), 2u);
  EXPECT_EQ(NumBatches(7, 3, false), 3);
  EXPECT_EQ(NumBatches(7, 3, true), 2);
  EXPECT_EQ(NumBatches(6, 3, false), 2);
  EXPECT_EQ(NumBatches(0, 3, false), 0);
}

TEST(BatchingTest, GatherRowsCopiesWholeRows) {
  // [4, 2, 3]: row r holds 6r .. 6r + 5.
  std::vector<float> values(24);
  for (int i = 0; i < 24; ++i) values[i] = static_cast<float>(i);
  const Tensor x = Tensor::FromVector(values, Shape{4, 2, 3});
  auto got = GatherRows(x, std::vector<int64_t>{3, 0, 3});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->shape(), (Shape{3, 2, 3}));
  const std::vector<float> v = got->ToVector();
  EXPECT_EQ(v[0], 18.0f);
  EXPECT_EQ(v[5], 23.0f);
  EXPECT_EQ(v[6], 0.0f);
  EXPECT_EQ(v[12], 18.0f);

  const Tensor labels = Tensor::FromInt64({10, 11, 12, 13}, Shape{4});
  auto l = GatherRows(labels, std::vector<int64_t>{2, 1});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->dtype(), DType::kInt64);
  EXPECT_EQ(l->i64()[0], 12);
  EXPECT_EQ(l->i64()[1], 11);

  const Tensor targets = Tensor::FromVector({1, 2, 3, 4, 5, 6, 7, 8}, Shape{4, 2});
  auto t = GatherRows(targets, std::vector<int64_t>{1});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ToVector(), (std::vector<float>{3, 4}));

  EXPECT_FALSE(GatherRows(labels, std::vector<int64_t>{4}).ok());
  EXPECT_FALSE(GatherRows(labels, std::vector<int64_t>{-1}).ok());
  EXPECT_EQ(GatherRows(labels, std::vector<int64_t>{})->dim(0), 0);
}

// Features [n, 2] with row i = (i, -i) and labels i, so a batch can be checked against its indices.
Dataset MakeData(int64_t n) {
  std::vector<float> f;
  std::vector<int64_t> l;
  for (int64_t i = 0; i < n; ++i) {
    f.push_back(static_cast<float>(i));
    f.push_back(static_cast<float>(-i));
    l.push_back(i);
  }
  Dataset d;
  d.features = Tensor::FromVector(f, Shape{n, 2});
  d.labels = Tensor::FromInt64(l, Shape{n});
  return d;
}

std::vector<Batch> Drain(DataLoader& loader) {
  std::vector<Batch> out;
  Batch b;
  while (loader.Next(&b)) out.push_back(b);
  return out;
}

TEST(DataLoaderTest, BatchesMatchTheSamplerOrder) {
  const Dataset data = MakeData(10);
  Sampler sampler(10, 3, true);
  auto loader = DataLoader::Create(data, sampler, 4);
  ASSERT_TRUE(loader.ok()) << loader.status();
  EXPECT_EQ(loader->steps_per_epoch(), 3);
  loader->Reset(2);
  const std::vector<Batch> batches = Drain(*loader);
  ASSERT_EQ(batches.size(), 3u);
  std::vector<int64_t> seen;
  for (const Batch& b : batches) {
    EXPECT_EQ(b.epoch, 2);
    ASSERT_EQ(b.features.dim(0), static_cast<int64_t>(b.indices.size()));
    for (size_t i = 0; i < b.indices.size(); ++i) {
      EXPECT_EQ(b.features.f32()[2 * i], static_cast<float>(b.indices[i]));
      EXPECT_EQ(b.features.f32()[2 * i + 1], -static_cast<float>(b.indices[i]));
      EXPECT_EQ(b.labels.i64()[i], b.indices[i]);
      seen.push_back(b.indices[i]);
    }
  }
  EXPECT_EQ(batches[2].features.dim(0), 2);  // the short last batch
  EXPECT_EQ(seen, sampler.EpochIndices(2));
  Batch b;
  EXPECT_FALSE(loader->Next(&b));

  auto dropping = DataLoader::Create(data, sampler, 4, /*drop_last=*/true);
  ASSERT_TRUE(dropping.ok());
  EXPECT_EQ(dropping->steps_per_epoch(), 2);
  EXPECT_EQ(Drain(*dropping).size(), 2u);
}

TEST(DataLoaderTest, EveryRankTakesTheSameNumberOfSteps) {
  const Dataset data = MakeData(103);
  for (bool drop_last : {false, true}) {
    std::set<size_t> steps;
    for (int r = 0; r < 4; ++r) {
      auto loader = DataLoader::Create(data, Sampler(103, 1, true, r, 4, drop_last), 8, drop_last);
      ASSERT_TRUE(loader.ok());
      const size_t n = Drain(*loader).size();
      EXPECT_EQ(static_cast<int64_t>(n), loader->steps_per_epoch());
      steps.insert(n);
    }
    EXPECT_EQ(steps.size(), 1u);
    EXPECT_EQ(*steps.begin(), drop_last ? 3u : 4u);  // 25 per rank (26 padded) in batches of 8
  }
}

TEST(DataLoaderTest, ResumeMidEpochReplaysTheRemainingBatches) {
  const Dataset data = MakeData(50);
  auto first = DataLoader::Create(data, Sampler(50, 11, true, 1, 2), 4);
  ASSERT_TRUE(first.ok());
  first->Reset(5);
  Batch b;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(first->Next(&b));
  const int64_t epoch = first->epoch();
  const int64_t step = first->step();
  EXPECT_EQ(step, 3);
  const std::vector<Batch> rest = Drain(*first);

  // A new process: same configuration, resumed from the saved position.
  auto resumed = DataLoader::Create(data, Sampler(50, 11, true, 1, 2), 4);
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE(resumed->Seek(epoch, step).ok());
  const std::vector<Batch> replay = Drain(*resumed);
  ASSERT_EQ(replay.size(), rest.size());
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(replay[i].indices, rest[i].indices);
    EXPECT_EQ(replay[i].step, rest[i].step);
    EXPECT_EQ(replay[i].features.ToVector(), rest[i].features.ToVector());
  }
  EXPECT_TRUE(resumed->Seek(5, resumed->steps_per_epoch()).ok());
  EXPECT_FALSE(resumed->Next(&b));
  EXPECT_FALSE(resumed->Seek(5, resumed->steps_per_epoch() + 1).ok());
  EXPECT_FALSE(resumed->Seek(-1, 0).ok());
}

TEST(DataLoaderTest, CreateChecksShapes) {
  const Dataset data = MakeData(10);
  EXPECT_FALSE(DataLoader::Create(data, Sampler(9, 0, true), 4).ok());
  EXPECT_FALSE(DataLoader::Create(data, Sampler(10, 0, true), 0).ok());
  EXPECT_FALSE(DataLoader::Create(data.features, Tensor::FromInt64({1, 2}, Shape{2}),
                                  Sampler(10, 0, true), 4)
                   .ok());
  auto unlabeled = DataLoader::Create(data.features, Tensor(), Sampler(10, 0, true), 4);
  ASSERT_TRUE(unlabeled.ok());
  Batch b;
  ASSERT_TRUE(unlabeled->Next(&b));
  EXPECT_FALSE(b.labels.defined());
}

TEST(SplitTest, SizesDisjointAndDeterministic) {
  auto split = TrainValidationSplit(100, 0.2, 9);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->train.size(), 80u);
  EXPECT_EQ(split->validation.size(), 20u);
  std::vector<int64_t> all = split->train;
  all.insert(all.end(), split->validation.begin(), split->validation.end());
  EXPECT_EQ(Sorted(all), Range(100));
  EXPECT_TRUE(std::is_sorted(split->validation.begin(), split->validation.end()));

  EXPECT_EQ(TrainValidationSplit(100, 0.2, 9)->validation, split->validation);
  EXPECT_NE(TrainValidationSplit(100, 0.2, 10)->validation, split->validation);
  EXPECT_EQ(TrainValidationSplit(10, 0.25, 1)->validation.size(), 3u);  // round(2.5) = 3
  EXPECT_EQ(TrainValidationSplit(10, 0.0, 1)->train.size(), 10u);

  EXPECT_FALSE(TrainValidationSplit(10, 1.0, 1).ok());
  EXPECT_FALSE(TrainValidationSplit(10, -0.1, 1).ok());
  EXPECT_FALSE(TrainValidationSplit(1, 0.6, 1).ok());
}

TEST(SplitTest, DatasetSplitGathersMatchingRows) {
  Dataset data = MakeData(20);
  data.class_names = {"a", "b"};
  auto split = TrainValidationSplit(data, 0.3, 4);
  ASSERT_TRUE(split.ok()) << split.status();
  const auto idx = TrainValidationSplit(20, 0.3, 4);
  EXPECT_EQ(split->train.size(), 14);
  EXPECT_EQ(split->validation.size(), 6);
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(split->validation.labels.i64()[i], idx->validation[i]);
    EXPECT_EQ(split->validation.features.f32()[2 * i], static_cast<float>(idx->validation[i]));
  }
  EXPECT_EQ(split->validation.class_names, data.class_names);
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST(StratifiedSplitTest, EachClassKeepsItsShare) {
  std::vector<int64_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 5 == 0 ? 1 : i % 5 == 1 ? 2 : 0);
  StatusOr<SplitIndices> split = StratifiedSplit(labels, 0.25, 7);
  ASSERT_TRUE(split.ok()) << split.status();
  std::map<int64_t, int> in_validation;
  for (int64_t i : split->validation) ++in_validation[labels[i]];
  // 60 / 20 / 20 examples give 15 / 5 / 5.
  EXPECT_EQ(in_validation, (std::map<int64_t, int>{{0, 15}, {1, 5}, {2, 5}}));
  EXPECT_EQ(split->train.size() + split->validation.size(), 100u);
  EXPECT_TRUE(std::is_sorted(split->train.begin(), split->train.end()));
  // Seeded: the same every time, another seed another draw.
  EXPECT_EQ(StratifiedSplit(labels, 0.25, 7)->validation, split->validation);
  EXPECT_NE(StratifiedSplit(labels, 0.25, 8)->validation, split->validation);
}

TEST(DropDuplicateRowsTest, KeepsTheFirstOfEachRowAndTreatsMissingAsEqual) {
  Dataset data;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  data.features = Tensor::FromVector({1, 2, 1, 2, 1, nan, 1, nan, 1, 2}, Shape{5, 2});
  data.labels = Tensor::FromInt64({0, 0, 1, 1, 1}, Shape{5});
  int64_t removed = 0;
  StatusOr<Dataset> kept = DropDuplicateRows(data, &removed);
  ASSERT_TRUE(kept.ok()) << kept.status();
  // Row 1 repeats row 0; row 3 repeats row 2 (NaN and all); row 4 differs from 0 by its label.
  EXPECT_EQ(removed, 2);
  EXPECT_EQ(std::vector<int64_t>(kept->labels.i64(), kept->labels.i64() + 3),
            (std::vector<int64_t>{0, 1, 1}));
}

}  // namespace
}  // namespace hearth
