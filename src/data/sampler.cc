// Sampler: per-epoch permutations, padded or cut to a multiple of the world size, strided by rank.
#include "hearth/sampler.h"

#include <utility>

#include <map>

#include "absl/strings/str_format.h"
#include "data/balanced_epoch.h"
#include "hearth/random.h"

namespace hearth {
namespace {

uint64_t SplitMix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t SamplesPerRank(int64_t num_examples, int world_size, bool drop_last) {
  return drop_last ? num_examples / world_size : (num_examples + world_size - 1) / world_size;
}

}  // namespace

uint64_t MixSeed(uint64_t seed, uint64_t epoch) {
  // Hashing the seed before adding the epoch keeps (seed, epoch + 1) unrelated to (seed + 1,
  // epoch).
  return SplitMix(SplitMix(seed) + epoch);
}

std::vector<int64_t> RandomPermutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(gen.Below(static_cast<uint64_t>(i) + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

Sampler::Sampler(int64_t num_examples, uint64_t seed, bool shuffle, int rank, int world_size,
                 bool drop_last)
    : num_examples_(num_examples),
      seed_(seed),
      shuffle_(shuffle),
      rank_(rank),
      world_size_(world_size),
      drop_last_(drop_last) {
  HEARTH_CHECK(num_examples >= 0);
  HEARTH_CHECK(world_size >= 1);
  HEARTH_CHECK_MSG(rank >= 0 && rank < world_size,
                   absl::StrFormat("rank %d of world size %d", rank, world_size));
  num_samples_ = SamplesPerRank(num_examples, world_size, drop_last);
}

StatusOr<Sampler> Sampler::Create(int64_t num_examples, uint64_t seed, bool shuffle, int rank,
                                  int world_size, bool drop_last) {
  if (num_examples <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sampler: expected at least one example, got %d", num_examples));
  }
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sampler: expected world_size >= 1 and 0 <= rank < world_size, got rank %d of %d", rank,
        world_size));
  }
  if (drop_last && num_examples < world_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sampler: drop_last with %d examples over %d ranks leaves every rank empty; use fewer "
        "ranks, more data, or drop_last=false",
        num_examples, world_size));
  }
  return Sampler(num_examples, seed, shuffle, rank, world_size, drop_last);
}

StatusOr<Sampler> Sampler::CreateBalanced(std::span<const int64_t> labels, uint64_t seed, int rank,
                                          int world_size, bool drop_last) {
  HEARTH_ASSIGN_OR_RETURN(Sampler sampler, Create(static_cast<int64_t>(labels.size()), seed,
                                                  /*shuffle=*/true, rank, world_size, drop_last));
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "balanced sampling: example %d has class %d; expected class ids >= 0", i, labels[i]));
    }
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }
  auto members = std::make_shared<std::vector<std::vector<int64_t>>>();
  for (auto& [label, examples] : by_class) members->push_back(std::move(examples));
  sampler.class_members_ = std::move(members);
  return sampler;
}

std::vector<int64_t> Sampler::Permutation(int64_t epoch) const {
  if (class_members_ != nullptr)
    return data_internal::BalancedEpoch(*class_members_, num_examples_, seed_, epoch);
  if (shuffle_)
    return RandomPermutation(num_examples_, MixSeed(seed_, static_cast<uint64_t>(epoch)));
  std::vector<int64_t> identity(static_cast<size_t>(num_examples_));
  for (int64_t i = 0; i < num_examples_; ++i) identity[i] = i;
  return identity;
}

std::vector<int64_t> Sampler::EpochIndices(int64_t epoch) const {
  const std::vector<int64_t> perm = Permutation(epoch);
  std::vector<int64_t> mine(static_cast<size_t>(num_samples_));
  for (int64_t j = 0; j < num_samples_; ++j) {
    // Position in the cut or padded permutation; `% N` is the wrap-around padding.
    const int64_t pos = rank_ + j * world_size_;
    mine[j] = perm[pos % num_examples_];
  }
  return mine;
}

}  // namespace hearth
