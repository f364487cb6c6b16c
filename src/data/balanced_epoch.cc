// Class-balanced epochs: equal shares of each class, drawn from per-class reshuffled cycles.
#include "data/balanced_epoch.h"

#include "hearth/sampler.h"

namespace hearth::data_internal {
namespace {

// Whether class c gets one of the `extra` leftover examples in epoch e: the leftovers rotate, so
// epoch e gives them to classes e, e + 1, ..., e + extra - 1 (mod classes).
bool GetsExtra(int64_t c, int64_t e, int64_t classes, int64_t extra) {
  return ((c - e) % classes + classes) % classes < extra;
}

// How many examples class c took in epochs [0, epoch): the start of its stream in this epoch.
int64_t StreamStart(int64_t c, int64_t epoch, int64_t classes, int64_t base, int64_t extra) {
  int64_t extras = (epoch / classes) * extra;  // each full rotation gives every class `extra`
  for (int64_t e = epoch - epoch % classes; e < epoch; ++e)
    extras += GetsExtra(c, e, classes, extra);
  return epoch * base + extras;
}

// The seed of cycle `cycle` of class c's stream: unrelated to the epochs' shuffles and to the
// other classes' cycles.
uint64_t CycleSeed(uint64_t seed, int64_t c, int64_t cycle) {
  return MixSeed(MixSeed(seed ^ 0x6a09e667f3bcc909ULL, static_cast<uint64_t>(c)),
                 static_cast<uint64_t>(cycle));
}

}  // namespace

std::vector<int64_t> BalancedEpoch(const std::vector<std::vector<int64_t>>& members, int64_t total,
                                   uint64_t seed, int64_t epoch) {
  const auto classes = static_cast<int64_t>(members.size());
  const int64_t base = total / classes;
  const int64_t extra = total % classes;
  std::vector<int64_t> picked;
  picked.reserve(static_cast<size_t>(total));
  for (int64_t c = 0; c < classes; ++c) {
    const std::vector<int64_t>& mine = members[static_cast<size_t>(c)];
    const auto size = static_cast<int64_t>(mine.size());
    const int64_t begin = StreamStart(c, epoch, classes, base, extra);
    const int64_t end = begin + base + (GetsExtra(c, epoch, classes, extra) ? 1 : 0);
    std::vector<int64_t> cycle;
    int64_t cycle_index = -1;
    for (int64_t pos = begin; pos < end; ++pos) {
      if (pos / size != cycle_index) {
        cycle_index = pos / size;
        cycle = RandomPermutation(size, CycleSeed(seed, c, cycle_index));
      }
      picked.push_back(mine[static_cast<size_t>(cycle[static_cast<size_t>(pos % size)])]);
    }
  }
  const std::vector<int64_t> order =
      RandomPermutation(total, MixSeed(seed, static_cast<uint64_t>(epoch)));
  std::vector<int64_t> visit(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i)
    visit[static_cast<size_t>(i)] = picked[static_cast<size_t>(order[i])];
  return visit;
}

}  // namespace hearth::data_internal
