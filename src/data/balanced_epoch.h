// The examples of one class-balanced epoch (Sampler::CreateBalanced).
#pragma once

#include <cstdint>
#include <vector>

namespace hearth::data_internal {

// members[c]: the examples of the c-th class present, ascending; none empty. Returns the `total`
// examples of epoch `epoch` in visiting order: each class gives total / classes of them (the
// `total % classes` left over go to classes epoch, epoch + 1, ... mod classes, so every class
// gets its share over the epochs), shuffled together. Class c's examples come from an endless
// stream of its members, a fresh permutation each cycle, read on from where epoch - 1 stopped.
// A pure function of its arguments.
std::vector<int64_t> BalancedEpoch(const std::vector<std::vector<int64_t>>& members, int64_t total,
                                   uint64_t seed, int64_t epoch);

}  // namespace hearth::data_internal
