// Deterministic reduction across ranks: every rank sums its subtree of micro-shards with
// ShardTree, TreeAllReduce combines the subtrees, and the result must be the very bits one
// process gets from a ShardTree over all the shards.
#include "hearth/dist/deterministic.h"

#include <bit>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "dist_mpi/mpi_test_env.h"
#include "hearth/random.h"

namespace hearth::dist {
namespace {

using dist_mpi_test::Comm;

constexpr int64_t kNumel = 1003;

// Shard s's gradient: cancelling huge values, tiny ones and noise, so any other summation order
// changes the low bits.
std::vector<float> ShardGradient(int shard) {
  static constexpr float kPattern[] = {1e8f, 1.0f, -1e8f, 1.0f, 3.0f, -1e8f, 1e8f, 0.5f};
  Generator rng(77 + shard);
  std::vector<float> g(kNumel);
  for (int64_t i = 0; i < kNumel; ++i) {
    const float noise = rng.Uniform(-1.0f, 1.0f);
    g[i] = i % 3 == 0 ? kPattern[(shard + i) % 8] : noise * (i % 3 == 1 ? 1e7f : 1e-3f);
  }
  return g;
}

std::vector<float> TreeOver(int first_shard, int count) {
  ShardTree tree(kNumel);
  for (int s = first_shard; s < first_shard + count; ++s) {
    const std::vector<float> g = ShardGradient(s);
    std::span<float> leaf = tree.NextLeaf();
    std::copy(g.begin(), g.end(), leaf.begin());
    tree.Push();
  }
  const std::span<float> root = tree.Root();
  return {root.begin(), root.end()};
}

TEST(MpiTreeAllReduceTest, BitIdenticalToOneProcess) {
  Communicator& comm = Comm();
  if (!std::has_single_bit(static_cast<unsigned>(comm.size())))
    GTEST_SKIP() << comm.size() << " ranks is not a power of two";
  for (int shards : {comm.size(), 8, 16}) {
    if (shards < comm.size()) continue;
    SCOPED_TRACE(testing::Message() << shards << " shards on " << comm.size() << " ranks");
    ASSERT_TRUE(CheckDeterministicLayout(comm.size(), shards).ok());
    const int per_rank = shards / comm.size();
    std::vector<float> data = TreeOver(comm.rank() * per_rank, per_rank);
    std::vector<float> scratch;
    const Status status = TreeAllReduce(comm, data, scratch);
    EXPECT_TRUE(status.ok()) << status;

    const std::vector<float> expected = TreeOver(0, shards);
    EXPECT_EQ(std::memcmp(data.data(), expected.data(), kNumel * sizeof(float)), 0);

    // The same bits on every rank.
    std::vector<float> all(kNumel * comm.size());
    EXPECT_TRUE(comm.AllGather(std::as_bytes(std::span(data)),
                               std::as_writable_bytes(std::span(all)), "tree results")
                    .ok());
    for (int r = 1; r < comm.size(); ++r)
      EXPECT_EQ(std::memcmp(all.data() + r * kNumel, all.data(), kNumel * sizeof(float)), 0)
          << "rank " << r << " differs from rank 0";
  }
}

TEST(MpiTreeAllReduceTest, OrderMattersForTheseValues) {
  // Guards the test above: summing the shards left to right gives other bits.
  std::vector<float> sequential = ShardGradient(0);
  for (int s = 1; s < 8; ++s) {
    const std::vector<float> g = ShardGradient(s);
    for (int64_t i = 0; i < kNumel; ++i) sequential[i] += g[i];
  }
  const std::vector<float> tree = TreeOver(0, 8);
  EXPECT_NE(std::memcmp(sequential.data(), tree.data(), kNumel * sizeof(float)), 0);
}

TEST(MpiTreeAllReduceTest, NonPowerOfTwoWorldIsRefusedEverywhere) {
  Communicator& comm = Comm();
  if (std::has_single_bit(static_cast<unsigned>(comm.size())))
    GTEST_SKIP() << comm.size() << " ranks is a power of two";
  std::vector<float> data(4, 1.0f), scratch;
  const Status status = TreeAllReduce(comm, data, scratch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(data, std::vector<float>(4, 1.0f));
  EXPECT_FALSE(CheckDeterministicLayout(comm.size(), 8).ok());
}

}  // namespace
}  // namespace hearth::dist
