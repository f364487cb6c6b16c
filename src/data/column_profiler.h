// One column of `hearth profile`: what it counts per cell, and the ColumnProfile it ends with.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "data/profile_sketches.h"
#include "hearth/data/profile.h"

namespace hearth::data_internal {

// Running mean and central moments, from power sums of the values shifted by the first one (no
// division per value, and accurate unless the spread is tiny next to that shift).
struct Moments {
  int64_t n = 0;
  double shift = 0, s1 = 0, s2 = 0, s3 = 0;
  void Add(double x) {
    if (n++ == 0) shift = x;
    const double d = x - shift, d2 = d * d;
    s1 += d;
    s2 += d2;
    s3 += d2 * d;
  }
  double mean() const { return n > 0 ? shift + s1 / static_cast<double>(n) : 0; }
  // Sums of squared and cubed deviations from the mean.
  double m2() const;
  double m3() const;
  double variance() const { return n > 1 ? m2() / static_cast<double>(n - 1) : 0; }
};

// Running sums of a pair of numbers, shifted by the first pair for accuracy (Pearson's r).
struct PairSums {
  int64_t n = 0;
  double x0 = 0, y0 = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  void Add(double x, double y);
  double Correlation() const;  // 0 when either side is constant
};

// The label's cell in the row being read, given to every column.
struct LabelCell {
  int64_t class_index = -1;  // into the label's classes; -1 missing or too many classes
  double number = std::numeric_limits<double>::quiet_NaN();
};

// What CompareProfiles needs beyond the ColumnProfile.
struct ColumnSketch {
  ValueHistogram histogram;
  std::vector<ValueHistogram::Cell> cells;
  std::vector<CategoryCount> categories;  // exact ones
  int64_t pooled = 0;                     // category cells past them
};

struct TableSketches {
  std::vector<ColumnSketch> columns;
};

class ColumnProfiler {
 public:
  ColumnProfiler(const ProfileOptions& options, bool with_label);

  // One cell; mixes the cell's hash into `row_hash` (for duplicate rows).
  void Add(std::string_view cell, const LabelCell& label, uint64_t* row_hash);

  // The profile, and the sketches that compare it with another file. `label_categorical`: whether
  // the label is a class (the association statistic depends on it).
  ColumnProfile Finish(bool label_categorical, ColumnSketch* sketch);

 private:
  void AddNumber(double x, const LabelCell& label);
  void AddText(std::string_view text, const LabelCell& label);
  void FinishNumbers(ColumnProfile& profile) const;
  // The kept values as cells of one value each (sorted).
  std::vector<ValueHistogram::Cell> ExactCells() const;
  ColumnKind Kind(const ColumnProfile& profile) const;
  Association Associate(const ColumnProfile& profile, bool label_categorical) const;

  const ProfileOptions& options_;
  const bool with_label_;
  int64_t missing_ = 0;
  int64_t texts_ = 0;
  int64_t integral_ = 0;
  int64_t zero_one_ = 0;
  int64_t increases_ = 0;  // numbers greater than the one before
  double min_ = 0, max_ = 0, last_ = 0;
  Moments moments_;
  ValueHistogram histogram_;
  // Every number while there are at most ProfileOptions::max_exact_values: exact quantiles.
  std::vector<double> exact_values_;
  bool exact_values_kept_ = true;
  HashSample distinct_;
  CategoryCounter categories_;
  // Number values while there are at most kMaxNumberValues of them (top values of integer
  // columns).
  absl::flat_hash_map<double, int64_t> number_values_;
  bool number_values_overflowed_ = false;
  // With the label: numbers against a numeric label; numbers by label class; categories by label
  // class ([category][class], the last category row pools the rest); the label by category.
  PairSums pair_;
  std::vector<Moments> by_class_;
  std::vector<std::vector<int64_t>> contingency_;
  std::vector<Moments> label_by_category_;
};

}  // namespace hearth::data_internal
