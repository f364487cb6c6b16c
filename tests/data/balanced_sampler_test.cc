// Class-balanced epochs (Sampler::CreateBalanced): equal class shares every epoch, each class's
// examples drawn in full cycles, a pure function of (seed, epoch), and ranks that together see
// the one order.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "hearth/sampler.h"

namespace hearth {
namespace {

// 90 examples of class 0 and 10 of class 2 (no class 1: absent classes get no share).
std::vector<int64_t> NineToOne() {
  std::vector<int64_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 10 == 3 ? 2 : 0);
  return labels;
}

std::map<int64_t, int64_t> TimesSeen(const std::vector<int64_t>& examples) {
  std::map<int64_t, int64_t> seen;
  for (int64_t e : examples) ++seen[e];
  return seen;
}

TEST(BalancedSamplerTest, EveryEpochHoldsEqualSharesAndKeepsItsSize) {
  const std::vector<int64_t> labels = NineToOne();
  StatusOr<Sampler> sampler = Sampler::CreateBalanced(labels, 5);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  EXPECT_TRUE(sampler->balanced());
  for (int64_t epoch = 0; epoch < 4; ++epoch) {
    const std::vector<int64_t> order = sampler->Permutation(epoch);
    ASSERT_EQ(order.size(), 100u);
    int64_t rare = 0;
    for (int64_t e : order) rare += labels[e] == 2;
    EXPECT_EQ(rare, 50) << "epoch " << epoch;
    // The 10 rare examples fill 50 places: every one of them exactly 5 times.
    for (const auto& [example, times] : TimesSeen(order)) {
      if (labels[example] != 2) continue;
      EXPECT_EQ(times, 5) << "example " << example;
    }
  }
}

TEST(BalancedSamplerTest, AMajorityClassIsSeenWholeOverTheEpochs) {
  const std::vector<int64_t> labels = NineToOne();
  StatusOr<Sampler> sampler = Sampler::CreateBalanced(labels, 5);
  ASSERT_TRUE(sampler.ok());
  // 50 of the 90 common examples per epoch, from reshuffled cycles: after 9 epochs (450 = 5 full
  // cycles) each was visited exactly 5 times, and within the first 90 draws none repeats.
  std::vector<int64_t> common;
  for (int64_t epoch = 0; epoch < 9; ++epoch)
    for (int64_t e : sampler->Permutation(epoch))
      if (labels[e] == 0) common.push_back(e);
  ASSERT_EQ(common.size(), 450u);
  std::map<int64_t, int64_t> seen = TimesSeen(common);
  EXPECT_EQ(seen.size(), 90u);
  for (const auto& [example, times] : seen) EXPECT_EQ(times, 5) << "example " << example;
  std::vector<int64_t> first_two_epochs;
  for (int64_t epoch = 0; epoch < 2; ++epoch)
    for (int64_t e : sampler->Permutation(epoch))
      if (labels[e] == 0) first_two_epochs.push_back(e);
  for (const auto& [example, times] : TimesSeen(first_two_epochs))
    EXPECT_LE(times, 2) << "two epochs draw 100 of a 90-cycle: at most one repeat each";
}

TEST(BalancedSamplerTest, LeftoverPlacesRotateOverTheClasses) {
  // 7 examples, 3 classes: shares 2, 2, 2 and one left over, given to class e % 3 in epoch e.
  const std::vector<int64_t> labels = {0, 0, 0, 0, 1, 1, 2};
  StatusOr<Sampler> sampler = Sampler::CreateBalanced(labels, 1);
  ASSERT_TRUE(sampler.ok());
  std::map<int64_t, int64_t> per_class;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::map<int64_t, int64_t> counts;
    for (int64_t e : sampler->Permutation(epoch)) ++counts[labels[e]];
    EXPECT_EQ(counts[epoch % 3], 3) << "epoch " << epoch;
    for (const auto& [c, n] : counts) per_class[c] += n;
  }
  for (const auto& [c, n] : per_class) EXPECT_EQ(n, 7) << "class " << c;
}

TEST(BalancedSamplerTest, IsAFunctionOfSeedAndEpochAndRanksShareIt) {
  const std::vector<int64_t> labels = NineToOne();
  StatusOr<Sampler> a = Sampler::CreateBalanced(labels, 5);
  StatusOr<Sampler> b = Sampler::CreateBalanced(labels, 5);
  StatusOr<Sampler> other_seed = Sampler::CreateBalanced(labels, 6);
  ASSERT_TRUE(a.ok() && b.ok() && other_seed.ok());
  EXPECT_EQ(a->Permutation(3), b->Permutation(3));
  EXPECT_NE(a->Permutation(3), a->Permutation(4));
  EXPECT_NE(a->Permutation(3), other_seed->Permutation(3));

  // Three ranks stride the one order, as for uniform sampling.
  const std::vector<int64_t> whole = a->Permutation(2);
  for (int rank = 0; rank < 3; ++rank) {
    StatusOr<Sampler> mine = Sampler::CreateBalanced(labels, 5, rank, 3);
    ASSERT_TRUE(mine.ok());
    const std::vector<int64_t> part = mine->EpochIndices(2);
    for (size_t j = 0; j < part.size(); ++j)
      EXPECT_EQ(part[j], whole[(rank + 3 * j) % whole.size()]) << "rank " << rank;
  }
}

TEST(BalancedSamplerTest, RejectsWhatIsNotAClassId) {
  StatusOr<Sampler> negative = Sampler::CreateBalanced(std::vector<int64_t>{0, 1, -1}, 1);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().message(),
            "balanced sampling: example 2 has class -1; expected class ids >= 0");
  EXPECT_FALSE(Sampler::CreateBalanced(std::vector<int64_t>{}, 1).ok());
}

}  // namespace
}  // namespace hearth
