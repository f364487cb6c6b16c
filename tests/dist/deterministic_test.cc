// Deterministic reduction without MPI: ShardTree's summation order, the layout check, and
// TreeAllReduce on one rank.
#include "hearth/dist/deterministic.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/random.h"

namespace hearth::dist {
namespace {

using Leaves = std::vector<std::vector<float>>;

// Leaves whose sum depends on the order of the additions: huge values that cancel, small ones
// that vanish next to them, and ordinary noise.
Leaves OrderSensitiveLeaves(int count, int64_t numel, uint64_t seed) {
  static constexpr float kPattern[] = {1e8f, 1.0f, -1e8f, 1.0f, 3.0f, -1e8f, 1e8f, 0.5f};
  Generator rng(seed);
  Leaves leaves(count, std::vector<float>(numel));
  for (int l = 0; l < count; ++l) {
    for (int64_t i = 0; i < numel; ++i) {
      const float noise = rng.Uniform(-1.0f, 1.0f);
      leaves[l][i] = i % 3 == 0 ? kPattern[(l + i) % 8] : noise * (i % 3 == 1 ? 1e7f : 1e-3f);
    }
  }
  return leaves;
}

// The sum the tree promises, written out: ((l0 + l1) + (l2 + l3)) + ...
std::vector<float> PairwiseSum(const Leaves& leaves, size_t lo, size_t hi) {
  if (hi - lo == 1) return leaves[lo];
  const size_t mid = lo + (hi - lo) / 2;
  std::vector<float> left = PairwiseSum(leaves, lo, mid);
  const std::vector<float> right = PairwiseSum(leaves, mid, hi);
  for (size_t i = 0; i < left.size(); ++i) left[i] += right[i];
  return left;
}

std::vector<float> SequentialSum(const Leaves& leaves) {
  std::vector<float> sum = leaves[0];
  for (size_t l = 1; l < leaves.size(); ++l)
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += leaves[l][i];
  return sum;
}

std::vector<float> TreeRoot(ShardTree& tree, const Leaves& leaves) {
  for (const std::vector<float>& leaf : leaves) {
    std::span<float> slot = tree.NextLeaf();
    EXPECT_EQ(slot.size(), leaf.size());
    std::copy(leaf.begin(), leaf.end(), slot.begin());
    tree.Push();
  }
  EXPECT_EQ(tree.leaves(), static_cast<int>(leaves.size()));
  const std::span<float> root = tree.Root();
  return {root.begin(), root.end()};
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(ShardTreeTest, RootIsThePairwiseTreeSumBitForBit) {
  constexpr int64_t kNumel = 37;
  for (int count : {1, 2, 4, 8, 16}) {
    SCOPED_TRACE(testing::Message() << count << " leaves");
    const Leaves leaves = OrderSensitiveLeaves(count, kNumel, 100 + count);
    ShardTree tree(kNumel);
    const std::vector<float> root = TreeRoot(tree, leaves);
    EXPECT_TRUE(SameBits(root, PairwiseSum(leaves, 0, leaves.size())));
    // The values really are order sensitive, so the check above means something.
    if (count >= 4) {
      EXPECT_FALSE(SameBits(root, SequentialSum(leaves)));
    }
  }
}

TEST(ShardTreeTest, NonPowerOfTwoCountsFoldRightToLeft) {
  constexpr int64_t kNumel = 11;
  const Leaves leaves = OrderSensitiveLeaves(7, kNumel, 5);
  {
    ShardTree tree(kNumel);
    const Leaves three(leaves.begin(), leaves.begin() + 3);
    std::vector<float> expected = PairwiseSum(three, 0, 2);
    for (int64_t i = 0; i < kNumel; ++i) expected[i] += three[2][i];
    EXPECT_TRUE(SameBits(TreeRoot(tree, three), expected));
  }
  {
    // Seven leaves: (l0..l3 as a tree) + ((l4 + l5) + l6).
    ShardTree tree(kNumel);
    std::vector<float> expected = PairwiseSum(leaves, 0, 4);
    std::vector<float> tail = PairwiseSum(leaves, 4, 6);
    for (int64_t i = 0; i < kNumel; ++i) tail[i] += leaves[6][i];
    for (int64_t i = 0; i < kNumel; ++i) expected[i] += tail[i];
    EXPECT_TRUE(SameBits(TreeRoot(tree, leaves), expected));
  }
}

TEST(ShardTreeTest, ClearThenReuse) {
  constexpr int64_t kNumel = 19;
  ShardTree tree(kNumel);
  const Leaves first = OrderSensitiveLeaves(8, kNumel, 1);
  TreeRoot(tree, first);
  tree.Clear();
  EXPECT_EQ(tree.leaves(), 0);
  // A recycled buffer comes back zeroed: callers accumulate gradients into it.
  for (float v : tree.NextLeaf()) EXPECT_EQ(v, 0.0f);
  tree.Clear();  // drop the leaf not pushed
  const Leaves second = OrderSensitiveLeaves(4, kNumel, 2);
  EXPECT_TRUE(SameBits(TreeRoot(tree, second), PairwiseSum(second, 0, 4)));
  tree.Clear();
  const Leaves third = OrderSensitiveLeaves(8, kNumel, 3);
  EXPECT_TRUE(SameBits(TreeRoot(tree, third), PairwiseSum(third, 0, 8)));
}

TEST(ShardTreeTest, NextLeafIsZeroedAfterPushes) {
  ShardTree tree(5);
  for (int step = 0; step < 6; ++step) {
    std::span<float> leaf = tree.NextLeaf();
    for (float v : leaf) ASSERT_EQ(v, 0.0f) << "leaf " << step;
    std::fill(leaf.begin(), leaf.end(), static_cast<float>(step + 1));
    tree.Push();
  }
}

TEST(ShardTreeTest, RootIsStableAcrossCalls) {
  ShardTree tree(9);
  const Leaves leaves = OrderSensitiveLeaves(4, 9, 9);
  const std::vector<float> once = TreeRoot(tree, leaves);
  const std::span<float> again = tree.Root();
  EXPECT_TRUE(SameBits(once, {again.begin(), again.end()}));
}

// What the distributed mode relies on: ranks holding consecutive subtrees and then adding their
// roots pairwise (either partner's order) reproduce the single-process tree exactly.
TEST(ShardTreeTest, SubtreesCombinedPairwiseMatchOneTree) {
  constexpr int64_t kNumel = 29;
  const Leaves leaves = OrderSensitiveLeaves(8, kNumel, 42);
  ShardTree whole(kNumel);
  const std::vector<float> expected4 = TreeRoot(whole, Leaves(leaves.begin(), leaves.begin() + 4));
  whole.Clear();
  const std::vector<float> expected8 = TreeRoot(whole, leaves);

  // Two trees of two leaves = one tree of four, as both partners of the exchange compute it.
  {
    ShardTree left(kNumel), right(kNumel);
    std::vector<float> a = TreeRoot(left, Leaves(leaves.begin(), leaves.begin() + 2));
    std::vector<float> b = TreeRoot(right, Leaves(leaves.begin() + 2, leaves.begin() + 4));
    std::vector<float> a_plus_b = a, b_plus_a = b;
    for (int64_t i = 0; i < kNumel; ++i) {
      a_plus_b[i] += b[i];
      b_plus_a[i] += a[i];
    }
    EXPECT_TRUE(SameBits(a_plus_b, expected4));
    EXPECT_TRUE(SameBits(b_plus_a, expected4));
  }
  // Recursive doubling over 1, 2, 4 and 8 simulated ranks.
  for (int ranks : {1, 2, 4, 8}) {
    SCOPED_TRACE(testing::Message() << ranks << " ranks");
    const int per_rank = 8 / ranks;
    std::vector<std::vector<float>> partial(ranks);
    for (int r = 0; r < ranks; ++r) {
      ShardTree tree(kNumel);
      partial[r] = TreeRoot(
          tree, Leaves(leaves.begin() + r * per_rank, leaves.begin() + (r + 1) * per_rank));
    }
    for (int distance = 1; distance < ranks; distance <<= 1) {
      std::vector<std::vector<float>> next = partial;
      for (int r = 0; r < ranks; ++r)
        for (int64_t i = 0; i < kNumel; ++i) next[r][i] = partial[r][i] + partial[r ^ distance][i];
      partial = std::move(next);
    }
    for (int r = 0; r < ranks; ++r) EXPECT_TRUE(SameBits(partial[r], expected8)) << "rank " << r;
  }
}

TEST(CheckDeterministicLayoutTest, AcceptsPowerOfTwoWorkersUpToTheShards) {
  for (int world : {1, 2, 4, 8}) EXPECT_TRUE(CheckDeterministicLayout(world, 8).ok()) << world;
  EXPECT_TRUE(CheckDeterministicLayout(1, 1).ok());
  EXPECT_TRUE(CheckDeterministicLayout(2, 64).ok());
}

TEST(CheckDeterministicLayoutTest, RejectsWithAMessage) {
  struct Case {
    int world;
    int shards;
    std::string mentions;
  };
  for (const Case& c :
       {Case{3, 8, "got 3 workers"}, Case{16, 8, "got 16 workers"},
        Case{2, 6, "6 micro-shards is not a power of two"}, Case{0, 8, "got 0 workers"},
        Case{1, 0, "0 micro-shards"}, Case{6, 8, "got 6 workers"}}) {
    const Status status = CheckDeterministicLayout(c.world, c.shards);
    SCOPED_TRACE(testing::Message() << "(" << c.world << ", " << c.shards << ")");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(c.mentions), std::string::npos) << status.message();
  }
}

TEST(TreeAllReduceTest, OneRankLeavesTheDataAlone) {
  std::unique_ptr<Communicator> comm = MakeLocalCommunicator();
  std::vector<float> data = {1e8f, 1.0f, -3.5f};
  const std::vector<float> before = data;
  std::vector<float> scratch;
  const Status status = TreeAllReduce(*comm, data, scratch);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(SameBits(data, before));
}

}  // namespace
}  // namespace hearth::dist
