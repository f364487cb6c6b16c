// ValueHistogram, HashSample and CategoryCounter.
#include "data/profile_sketches.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>

namespace hearth::data_internal {
namespace {

// The bits of a double below the top 6 of its mantissa.
constexpr int kBucketShift = 52 - 6;
// The ordinal of the most negative finite double's bucket.
constexpr int64_t kLowestOrdinal =
    -static_cast<int64_t>((0x7FEFFFFFFFFFFFFFULL >> kBucketShift) + 1);

}  // namespace

uint64_t MixHash(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashText(std::string_view text) {
  return MixHash(std::hash<std::string_view>{}(text));
}

uint64_t HashNumber(double value) {
  if (value == 0) value = 0;  // -0.0
  return MixHash(std::bit_cast<uint64_t>(value) ^ 0x6a09e667f3bcc909ULL);
}

// Positive values have ordinals 1, 2, ... by bucket; zero is 0; negative values mirror them.
int64_t ValueHistogram::Ordinal(double value) {
  if (value == 0) return 0;
  const int64_t bucket =
      static_cast<int64_t>(std::bit_cast<uint64_t>(std::fabs(value)) >> kBucketShift) + 1;
  return value > 0 ? bucket : -bucket;
}

double ValueHistogram::Lower(int64_t ordinal) {
  if (ordinal == 0) return 0;
  if (ordinal < 0) return -Upper(-ordinal);
  return std::bit_cast<double>(static_cast<uint64_t>(ordinal - 1) << kBucketShift);
}

double ValueHistogram::Upper(int64_t ordinal) {
  if (ordinal == 0) return 0;
  if (ordinal < 0) return -Lower(-ordinal);
  return std::bit_cast<double>(static_cast<uint64_t>(ordinal) << kBucketShift);
}

void ValueHistogram::Add(double value) {
  const int64_t ordinal = Ordinal(value);
  if (counts_.empty()) {
    first_ = ordinal;
    counts_.push_back(0);
  } else if (ordinal < first_) {
    // Grow by at least the present size, so values that keep falling cost amortized O(1), but
    // never below the lowest ordinal a double has.
    const int64_t grow = std::max(first_ - ordinal, static_cast<int64_t>(counts_.size()));
    const int64_t new_first = std::max(first_ - grow, std::min(ordinal, kLowestOrdinal));
    counts_.insert(counts_.begin(), static_cast<size_t>(first_ - new_first), 0);
    first_ = new_first;
  } else if (ordinal >= first_ + static_cast<int64_t>(counts_.size())) {
    counts_.resize(static_cast<size_t>(ordinal - first_ + 1), 0);
  }
  ++counts_[static_cast<size_t>(ordinal - first_)];
  ++count_;
}

std::vector<ValueHistogram::Cell> ValueHistogram::Cells(double min, double max,
                                                        bool integers) const {
  std::vector<Cell> cells;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const int64_t ordinal = first_ + static_cast<int64_t>(i);
    const double lower = Lower(ordinal), upper = Upper(ordinal);
    double value = 0;
    // |value| lies in [near, far): the edge nearest zero is a multiple of a power of two.
    const double near = std::min(std::fabs(lower), std::fabs(upper));
    const double far = std::max(std::fabs(lower), std::fabs(upper));
    if (ordinal == 0) {
      value = 0;
    } else if (integers && far - near <= 1 && std::ceil(near) < far) {
      value = std::copysign(std::ceil(near), lower);  // the one integer the bucket can hold
    } else {
      value = (lower + upper) / 2;
    }
    cells.push_back({ordinal, std::clamp(value, min, max), counts_[i]});
  }
  return cells;
}

double CellQuantile(const std::vector<ValueHistogram::Cell>& cells, int64_t count, double q) {
  if (cells.empty() || count <= 0) return 0;
  const double position = q * static_cast<double>(count - 1);
  const auto below = static_cast<int64_t>(std::floor(position));
  // The values at order statistics `below` and `below + 1`.
  double low = cells.back().value, high = cells.back().value;
  int64_t seen = 0;
  bool found_low = false;
  for (const auto& cell : cells) {
    if (!found_low && below < seen + cell.count) {
      low = cell.value;
      found_low = true;
    }
    if (below + 1 < seen + cell.count) {
      high = cell.value;
      break;
    }
    seen += cell.count;
  }
  return low + (position - static_cast<double>(below)) * (high - low);
}

HashSample::HashSample(int64_t capacity)
    : capacity_(std::max<int64_t>(capacity, 16)),
      max_slots_(std::bit_ceil(static_cast<uint64_t>(capacity_) * 2)),
      slots_(std::min<size_t>(max_slots_, 64)) {}

void HashSample::Prefetch(uint64_t hash) const {
  if (hash == 0) hash = 1;
  if (Kept(hash)) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
}

void HashSample::Add(uint64_t hash) {
  if (hash == 0) hash = 1;
  if (!Kept(hash)) return;
  ++adds_;
  Insert(hash, 1);
  if (size_ * 2 > static_cast<int64_t>(slots_.size()) && slots_.size() < max_slots_)
    Rebuild(slots_.size() * 2);
  while (size_ > capacity_) {
    ++level_;
    Rebuild(slots_.size());
  }
}

void HashSample::Insert(uint64_t hash, int64_t count) {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.hash == hash) {
      slot.count += count;
      return;
    }
    if (slot.hash == 0) {
      slot = {hash, count};
      ++size_;
      return;
    }
  }
}

void HashSample::Rebuild(size_t slots) {
  std::vector<Slot> old(slots);
  old.swap(slots_);
  size_ = 0;
  adds_ = 0;
  for (const Slot& slot : old) {
    if (slot.hash == 0 || !Kept(slot.hash)) continue;
    Insert(slot.hash, slot.count);
    adds_ += slot.count;
  }
}

int64_t HashSample::Distinct() const {
  return size_ << level_;
}

int64_t HashSample::Repeats() const {
  return (adds_ - size_) << level_;
}

int64_t CategoryCounter::Add(std::string_view text) {
  // Debian's Abseil has its own string_view.
  const absl::string_view value(text.data(), text.size());
  if (auto it = index_.find(value); it != index_.end()) {
    ++exact_[static_cast<size_t>(it->second)].count;
    return it->second;
  }
  if (static_cast<int64_t>(exact_.size()) < capacity_) {
    const auto index = static_cast<int64_t>(exact_.size());
    index_.emplace(std::string(value), index);
    exact_.push_back({std::string(value), 1});
    return index;
  }
  ++other_;
  if (auto it = summary_.find(value); it != summary_.end()) {
    ++it->second;
  } else if (static_cast<int64_t>(summary_.size()) < capacity_) {
    summary_.emplace(std::string(value), 1);
  } else {
    // Misra-Gries: a value with no counter free takes one off every counter (itself included).
    for (auto it = summary_.begin(); it != summary_.end();) {
      if (--it->second == 0) {
        summary_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  return capacity_;
}

std::vector<CategoryCount> CategoryCounter::Top(size_t n) const {
  std::vector<CategoryCount> all = exact_;
  for (const auto& [value, count] : summary_) all.push_back({value, count});
  const auto order = [](const CategoryCount& a, const CategoryCount& b) {
    return a.count != b.count ? a.count > b.count : a.value < b.value;
  };
  const size_t keep = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), order);
  all.resize(keep);
  return all;
}

}  // namespace hearth::data_internal
