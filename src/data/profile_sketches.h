// The bounded summaries `hearth profile` keeps per column: a histogram of exact counts in narrow
// value buckets, a hash sample for distinct values and duplicate rows, and category counts.
// Each costs a few nanoseconds per cell and has a memory bound independent of the row count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "hearth/data/profile.h"

namespace hearth::data_internal {

// 64-bit hashes for cells and rows (splitmix64's finalizer: cheap and well mixed).
uint64_t MixHash(uint64_t x);
uint64_t HashText(std::string_view text);
uint64_t HashNumber(double value);  // -0.0 and 0.0 hash alike

// Exact counts of finite values in buckets of 1/64 of a power of two (the top 6 mantissa bits of
// the IEEE double), so a bucket is at most 1.6% of its values wide, and integers below 128 in
// magnitude each have their own. Buckets are kept densely between the lowest and highest seen:
// at most 2^18 of them, 2 MB, whatever the data.
class ValueHistogram {
 public:
  void Add(double value);
  int64_t count() const { return count_; }

  // One bucket, in increasing order of value: every value in it is taken as `value` (its lower
  // edge when `integers` and the bucket holds one integer only, else its middle), clamped to
  // [min, max].
  struct Cell {
    int64_t ordinal;  // the bucket's place in the order of values
    double value;
    int64_t count;
  };
  std::vector<Cell> Cells(double min, double max, bool integers) const;

 private:
  static int64_t Ordinal(double value);
  static double Lower(int64_t ordinal);
  static double Upper(int64_t ordinal);

  int64_t first_ = 0;  // the ordinal of counts_[0]
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
};

// Quantile `q` of the values in `cells` (linear interpolation between order statistics, as
// pandas' describe and numpy's default).
double CellQuantile(const std::vector<ValueHistogram::Cell>& cells, int64_t count, double q);

// A sample of distinct 64-bit hashes with a count per hash: exact until `capacity` distinct,
// then only hashes whose top `level` bits are zero are kept, level rising each time the sample
// fills (Gibbons' distinct sampling). Every copy of a value is in or out together, so the kept
// counts scaled by 2^level estimate both distinct values and repeats without bias.
class HashSample {
 public:
  explicit HashSample(int64_t capacity);
  void Add(uint64_t hash);
  // Starts loading the slot `hash` would go to, so an Add of it a little later does not wait on
  // memory (the row sample is far larger than the caches).
  void Prefetch(uint64_t hash) const;
  bool exact() const { return level_ == 0; }
  // Distinct hashes added, exact or estimated.
  int64_t Distinct() const;
  // Adds that repeated an earlier hash, exact or estimated.
  int64_t Repeats() const;

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty
    int64_t count = 0;
  };
  bool Kept(uint64_t hash) const { return level_ == 0 || (hash >> (64 - level_)) == 0; }
  void Insert(uint64_t hash, int64_t count);
  // Rebuilds the table with `slots` slots, keeping only the hashes Kept() at the present level.
  void Rebuild(size_t slots);

  int64_t capacity_;
  size_t max_slots_;  // twice the capacity: the table is at most half full
  int level_ = 0;
  // Grows from small as distinct hashes arrive, so a column of few values stays in cache.
  std::vector<Slot> slots_;
  int64_t size_ = 0;
  int64_t adds_ = 0;  // of kept hashes
};

// Counts of category texts: exact for the first `capacity` distinct values, each keeping the
// index it was first seen with; values past them are pooled under index `capacity` ("other") and
// summarized by Misra-Gries with `capacity` counters.
class CategoryCounter {
 public:
  explicit CategoryCounter(int64_t capacity) : capacity_(capacity) {}
  // Counts `value`; returns its index, or capacity() when it is pooled.
  int64_t Add(std::string_view value);
  int64_t capacity() const { return capacity_; }
  bool overflowed() const { return other_ > 0; }
  int64_t other() const { return other_; }
  // Exact counts by index.
  const std::vector<CategoryCount>& exact() const { return exact_; }
  // The `n` most frequent, most frequent first (ties by text), approximate once overflowed.
  std::vector<CategoryCount> Top(size_t n) const;

 private:
  int64_t capacity_;
  absl::flat_hash_map<std::string, int64_t> index_;
  std::vector<CategoryCount> exact_;
  absl::flat_hash_map<std::string, int64_t> summary_;  // Misra-Gries, over pooled values
  int64_t other_ = 0;
};

}  // namespace hearth::data_internal
