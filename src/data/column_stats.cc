// Percentiles by multi-selection, and the mode by hashing: exact, without sorting the column.
#include "data/column_stats.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"

namespace hearth::data_internal {
namespace {

// Puts the elements of ranks [ranks_begin, ranks_end) (ascending, each in [begin, end) as offsets
// from `base`) where a full sort would, splitting the range at the middle rank and recursing:
// O(n log k) for k ranks.
void SelectRanks(float* base, size_t begin, size_t end, const size_t* ranks_begin,
                 const size_t* ranks_end) {
  if (ranks_begin == ranks_end || end - begin < 2) return;
  const size_t* middle = ranks_begin + (ranks_end - ranks_begin) / 2;
  std::nth_element(base + begin, base + *middle, base + end);
  SelectRanks(base, begin, *middle, ranks_begin, middle);
  SelectRanks(base, *middle + 1, end, middle + 1, ranks_end);
}

}  // namespace

std::vector<double> Quantiles(std::vector<float>& values, std::span<const double> qs) {
  const size_t n = values.size();
  if (n == 0) return std::vector<double>(qs.size(), std::nan(""));
  // numpy's positions: q * (n - 1), between ranks floor and floor + 1. Only the floors are
  // selected; each one's neighbour is the least element after it, up to the next selected rank.
  std::vector<size_t> ranks;
  for (double q : qs)
    ranks.push_back(static_cast<size_t>(std::floor(q * static_cast<double>(n - 1))));
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  SelectRanks(values.data(), 0, n, ranks.data(), ranks.data() + ranks.size());
  for (size_t k = 0; k < ranks.size(); ++k) {
    const size_t next = ranks[k] + 1;
    const size_t segment_end = k + 1 < ranks.size() ? ranks[k + 1] : n;
    if (next >= segment_end) continue;  // already in place (or past the end)
    std::iter_swap(values.begin() + static_cast<std::ptrdiff_t>(next),
                   std::min_element(values.begin() + static_cast<std::ptrdiff_t>(next),
                                    values.begin() + static_cast<std::ptrdiff_t>(segment_end)));
  }

  std::vector<double> out;
  out.reserve(qs.size());
  for (double q : qs) {
    const double pos = q * static_cast<double>(n - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, n - 1);
    const double t = pos - static_cast<double>(lo);
    // numpy's _lerp: exact at both ends.
    const double a = values[lo], b = values[hi];
    out.push_back(t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t);
  }
  return out;
}

double MostFrequent(std::span<const float> values) {
  absl::flat_hash_map<float, size_t> counts;
  for (float v : values) ++counts[v == 0 ? 0.0f : v];
  float best = 0;
  size_t best_count = 0;
  for (const auto& [value, count] : counts) {
    if (count > best_count || (count == best_count && value < best)) {
      best = value;
      best_count = count;
    }
  }
  return best;
}

}  // namespace hearth::data_internal
