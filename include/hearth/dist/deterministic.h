// Deterministic gradient reduction: results bit-identical for any power-of-two world size.
//
// Float addition is commutative but not associative, so an ordinary allreduce (whose summation
// order depends on the number of ranks and the algorithm MPI picks) changes the low bits of the
// gradients when the world size changes. Here the order is fixed by the data instead: each global
// batch is cut into S micro-shards (S a power of two, the same for every world size), each
// micro-shard's gradient is computed on its own, and the S gradients are summed in one fixed
// pairwise tree: ((g0 + g1) + (g2 + g3)) + ... Rank r of N holds the S/N consecutive shards under
// one subtree, sums them locally in tree order (ShardTree), and the ranks then combine subtrees
// with recursive doubling (TreeAllReduce), pairing ranks exactly as the tree's upper levels pair
// subtrees. Both partners of an exchange compute a + b (commutativity makes b + a the same bits),
// so every rank ends with the same sum, and so does a run on 1 rank with all S shards.
#pragma once

#include <span>
#include <vector>

#include "hearth/dist/communicator.h"
#include "hearth/status.h"

namespace hearth::dist {

// OK when `world_size` ranks can share `shards` micro-shards in the tree: both powers of two and
// world_size <= shards. InvalidArgument with a suggestion otherwise.
Status CheckDeterministicLayout(int world_size, int shards);

// Sums a sequence of equally sized buffers in pairwise-tree order, keeping O(log n) partial sums
// (a binary counter: a new leaf merges with the partial sum of the same height, repeatedly).
class ShardTree {
 public:
  explicit ShardTree(int64_t numel) : numel_(numel) {}
  // A buffer to compute the next shard's gradient into, then hand back with Push().
  std::span<float> NextLeaf();
  void Push();
  // The sum of the pushed leaves: exact tree order when their count is a power of two.
  // HEARTH_CHECKs that at least one leaf was pushed.
  std::span<float> Root();
  int leaves() const { return leaves_; }
  // Forgets the leaves (keeping the buffers) for the next step.
  void Clear();

 private:
  struct Partial {
    std::vector<float> sum;
    int height;
  };
  int64_t numel_;
  std::vector<Partial> stack_;
  std::vector<std::vector<float>> spare_;
  std::vector<float> leaf_;
  int leaves_ = 0;
};

// Recursive-doubling allreduce (sum) following the tree: at level k rank r exchanges its partial
// sum with rank r XOR 2^k. comm.size() must be a power of two. `scratch` is resized as needed.
Status TreeAllReduce(Communicator& comm, std::span<float> data, std::vector<float>& scratch);

}  // namespace hearth::dist
