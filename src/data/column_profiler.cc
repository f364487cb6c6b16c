// ColumnProfiler: per-cell counting (kept cheap: most cells are numbers) and the statistics a
// column ends with.
#include "data/column_profiler.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "data/cells.h"

namespace hearth::data_internal {
namespace {

// Integer columns with at most this many values list their top values.
constexpr size_t kMaxNumberValues = 64;
constexpr size_t kTopValues = 10;
// A column is id-like from this many rows on (a tiny table may well have all-distinct values).
constexpr int64_t kMinIdRows = 20;

bool IsBooleanWord(std::string_view text) {
  static constexpr std::string_view kWords[] = {"true", "false", "yes", "no", "t", "f", "y", "n"};
  if (text.size() > 5) return false;
  const std::string lower = absl::AsciiStrToLower(absl::string_view(text.data(), text.size()));
  return std::find(std::begin(kWords), std::end(kWords), lower) != std::end(kWords);
}

std::string FormatNumber(double x) {
  std::string s = std::to_string(x);
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

// Most frequent first, ties by text; at most kTopValues.
void SortTop(std::vector<CategoryCount>& top) {
  std::sort(top.begin(), top.end(), [](const CategoryCount& a, const CategoryCount& b) {
    return a.count != b.count ? a.count > b.count : a.value < b.value;
  });
  if (top.size() > kTopValues) top.resize(kTopValues);
}

// eta: the square root of the share of the variance that lies between the group means.
double CorrelationRatio(const std::vector<Moments>& groups) {
  double n = 0, sum = 0, within = 0;
  for (const Moments& m : groups) {
    n += static_cast<double>(m.n);
    sum += m.mean() * static_cast<double>(m.n);
    within += m.m2();
  }
  if (n < 2) return 0;
  const double grand = sum / n;
  double between = 0;
  for (const Moments& m : groups)
    between += static_cast<double>(m.n) * (m.mean() - grand) * (m.mean() - grand);
  return between + within > 0 ? std::sqrt(between / (between + within)) : 0;
}

}  // namespace

double Moments::m2() const {
  if (n == 0) return 0;
  const double count = static_cast<double>(n);
  return std::max(0.0, s2 - s1 * s1 / count);
}

double Moments::m3() const {
  if (n == 0) return 0;
  const double count = static_cast<double>(n), mean_d = s1 / count;
  return s3 - 3 * mean_d * s2 + 2 * count * mean_d * mean_d * mean_d;
}

void PairSums::Add(double x, double y) {
  if (n == 0) {
    x0 = x;
    y0 = y;
  }
  ++n;
  const double dx = x - x0, dy = y - y0;
  sx += dx;
  sy += dy;
  sxx += dx * dx;
  syy += dy * dy;
  sxy += dx * dy;
}

double PairSums::Correlation() const {
  if (n < 2) return 0;
  const double count = static_cast<double>(n);
  const double vx = sxx - sx * sx / count, vy = syy - sy * sy / count;
  if (vx <= 0 || vy <= 0) return 0;
  return std::clamp((sxy - sx * sy / count) / std::sqrt(vx * vy), -1.0, 1.0);
}

ColumnProfiler::ColumnProfiler(const ProfileOptions& options, bool with_label)
    : options_(options),
      with_label_(with_label),
      distinct_(options.max_distinct),
      categories_(options.max_categories) {}

void ColumnProfiler::Add(std::string_view cell, const LabelCell& label, uint64_t* row_hash) {
  double x = 0;
  uint64_t hash = 0;
  if (ParseDouble(cell, &x) && std::isfinite(x)) {
    AddNumber(x, label);
    hash = HashNumber(x);
  } else if (IsMissingCell(cell, options_.missing_values)) {
    ++missing_;
    hash = 0x243f6a8885a308d3ULL;  // every missing cell alike, as pandas' duplicated() sees NaN
  } else {
    const std::string_view text = TrimSpaces(cell);
    AddText(text, label);
    hash = HashText(text);
  }
  *row_hash = MixHash(*row_hash ^ hash);
}

void ColumnProfiler::AddNumber(double x, const LabelCell& label) {
  if (moments_.n == 0) {
    min_ = max_ = x;
  } else {
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
    if (x > last_) ++increases_;
  }
  last_ = x;
  moments_.Add(x);
  histogram_.Add(x);
  if (exact_values_kept_) {
    if (static_cast<int64_t>(exact_values_.size()) < options_.max_exact_values) {
      exact_values_.push_back(x);
    } else {
      exact_values_kept_ = false;
      exact_values_ = {};
    }
  }
  distinct_.Add(HashNumber(x));
  if (std::floor(x) == x) ++integral_;
  if (x == 0 || x == 1) ++zero_one_;
  if (!number_values_overflowed_) {
    ++number_values_[x];
    if (number_values_.size() > kMaxNumberValues) {
      number_values_overflowed_ = true;
      number_values_.clear();
    }
  }
  if (!with_label_) return;
  if (!std::isnan(label.number)) pair_.Add(x, label.number);
  if (label.class_index >= 0) {
    if (static_cast<size_t>(label.class_index) >= by_class_.size())
      by_class_.resize(static_cast<size_t>(label.class_index) + 1);
    by_class_[static_cast<size_t>(label.class_index)].Add(x);
  }
}

void ColumnProfiler::AddText(std::string_view text, const LabelCell& label) {
  ++texts_;
  distinct_.Add(HashText(text));
  const auto category = static_cast<size_t>(categories_.Add(text));
  if (!with_label_) return;
  if (label.class_index >= 0) {
    if (category >= contingency_.size()) contingency_.resize(category + 1);
    std::vector<int64_t>& row = contingency_[category];
    if (static_cast<size_t>(label.class_index) >= row.size())
      row.resize(static_cast<size_t>(label.class_index) + 1);
    ++row[static_cast<size_t>(label.class_index)];
  }
  if (!std::isnan(label.number)) {
    if (category >= label_by_category_.size()) label_by_category_.resize(category + 1);
    label_by_category_[category].Add(label.number);
  }
}

ColumnKind ColumnProfiler::Kind(const ColumnProfile& p) const {
  if (p.count == 0) return ColumnKind::kEmpty;
  if (p.distinct == 1) return ColumnKind::kConstant;
  // Nearly every value distinct (repeated rows repeat their id too).
  const bool all_distinct = p.count >= kMinIdRows && p.distinct * 20 >= p.count * 19;
  if (texts_ > 0) {
    const auto& texts = categories_.exact();
    const bool boolean_words = !categories_.overflowed() &&
                               std::all_of(texts.begin(), texts.end(), [](const CategoryCount& c) {
                                 return IsBooleanWord(c.value);
                               });
    if (boolean_words && zero_one_ == p.numbers) return ColumnKind::kBoolean;
    return all_distinct ? ColumnKind::kIdLike : ColumnKind::kCategorical;
  }
  if (zero_one_ == p.numbers) return ColumnKind::kBoolean;
  if (integral_ == p.numbers) {
    const bool increasing = increases_ * 20 >= (p.numbers - 1) * 19;
    return all_distinct && increasing ? ColumnKind::kIdLike : ColumnKind::kInteger;
  }
  return ColumnKind::kNumeric;
}

std::vector<ValueHistogram::Cell> ColumnProfiler::ExactCells() const {
  std::vector<double> sorted = exact_values_;
  std::sort(sorted.begin(), sorted.end());
  std::vector<ValueHistogram::Cell> cells;
  for (double v : sorted) {
    if (cells.empty() || cells.back().value != v) {
      cells.push_back({static_cast<int64_t>(cells.size()), v, 1});
    } else {
      ++cells.back().count;
    }
  }
  return cells;
}

void ColumnProfiler::FinishNumbers(ColumnProfile& p) const {
  p.min = min_;
  p.max = max_;
  p.mean = moments_.mean();
  p.std = std::sqrt(moments_.variance());
  if (moments_.m2() > 0 && moments_.n > 2) {
    // The adjusted Fisher-Pearson coefficient, as pandas' skew().
    const auto n = static_cast<double>(moments_.n);
    p.skewness = std::sqrt(n * (n - 1)) / (n - 2) * std::sqrt(n) * moments_.m3() /
                 std::pow(moments_.m2(), 1.5);
  }
  p.quantiles_exact = exact_values_kept_;
  const std::vector<ValueHistogram::Cell> cells =
      exact_values_kept_ ? ExactCells() : histogram_.Cells(min_, max_, integral_ == p.numbers);
  const auto quantile = [&](double q) { return CellQuantile(cells, p.numbers, q); };
  p.p05 = quantile(0.05);
  p.p25 = quantile(0.25);
  p.p50 = quantile(0.5);
  p.p75 = quantile(0.75);
  p.p95 = quantile(0.95);
  const double iqr = p.p75 - p.p25;
  p.outlier_low = p.p25 - 1.5 * iqr;
  p.outlier_high = p.p75 + 1.5 * iqr;
  for (const auto& cell : cells)
    if (cell.value < p.outlier_low || cell.value > p.outlier_high) p.outliers += cell.count;

  const int bins = std::max(1, options_.histogram_bins);
  const double width = (max_ - min_) / bins;
  p.histogram.resize(static_cast<size_t>(bins));
  for (int b = 0; b < bins; ++b) {
    p.histogram[static_cast<size_t>(b)] = {min_ + b * width,
                                           b + 1 == bins ? max_ : min_ + (b + 1) * width, 0};
  }
  for (const auto& cell : cells) {
    const int b =
        width > 0 ? std::clamp(static_cast<int>((cell.value - min_) / width), 0, bins - 1) : 0;
    p.histogram[static_cast<size_t>(b)].count += cell.count;
  }
}

Association ColumnProfiler::Associate(const ColumnProfile& p, bool label_categorical) const {
  Association a;
  const bool categorical = p.kind == ColumnKind::kCategorical || texts_ > 0;
  if (!categorical && p.numbers > 1) {
    if (label_categorical) {
      a.statistic = "correlation_ratio";
      a.value = CorrelationRatio(by_class_);
    } else if (pair_.n > 1) {
      a.statistic = "pearson_r";
      a.value = std::fabs(pair_.Correlation());
    }
    return a;
  }
  if (!categorical) return a;
  if (label_categorical) {
    // Cramer's V from the contingency table, and the accuracy of each category's top class.
    std::vector<double> class_totals;
    double n = 0, correct = 0;
    int64_t rows = 0;
    for (const auto& row : contingency_) {
      if (class_totals.size() < row.size()) class_totals.resize(row.size());
      int64_t row_total = 0, row_best = 0;
      for (size_t c = 0; c < row.size(); ++c) {
        class_totals[c] += static_cast<double>(row[c]);
        row_total += row[c];
        row_best = std::max(row_best, row[c]);
      }
      n += static_cast<double>(row_total);
      correct += static_cast<double>(row_best);
      rows += row_total > 0;
    }
    const auto columns =
        std::count_if(class_totals.begin(), class_totals.end(), [](double t) { return t > 0; });
    if (n < 2 || rows < 2 || columns < 2) return a;
    double chi2 = 0;
    for (const auto& row : contingency_) {
      double row_total = 0;
      for (int64_t v : row) row_total += static_cast<double>(v);
      if (row_total == 0) continue;
      for (size_t c = 0; c < class_totals.size(); ++c) {
        if (class_totals[c] == 0) continue;
        const double expected = row_total * class_totals[c] / n;
        const double observed = c < row.size() ? static_cast<double>(row[c]) : 0;
        chi2 += (observed - expected) * (observed - expected) / expected;
      }
    }
    a.statistic = "cramers_v";
    a.value = std::sqrt(chi2 / n / static_cast<double>(std::min<int64_t>(rows, columns) - 1));
    a.single_feature_accuracy = correct / n;
    return a;
  }
  a.statistic = "correlation_ratio";
  a.value = CorrelationRatio(label_by_category_);
  return a;
}

ColumnProfile ColumnProfiler::Finish(bool label_categorical, ColumnSketch* sketch) {
  ColumnProfile p;
  p.numbers = moments_.n;
  p.count = moments_.n + texts_;
  p.missing = missing_;
  p.distinct = distinct_.Distinct();
  p.distinct_exact = distinct_.exact();
  p.kind = Kind(p);
  if (p.numbers > 0) FinishNumbers(p);
  // Numbers in a text column are categories too ("3" among "Paris"...); a number column lists
  // its values when it has few and they are not continuous.
  if (texts_ > 0) {
    p.top = categories_.Top(kTopValues);
    p.top_exact = !categories_.overflowed();
  }
  if (!number_values_overflowed_ && (texts_ > 0 || p.kind != ColumnKind::kNumeric)) {
    for (const auto& [value, count] : number_values_) p.top.push_back({FormatNumber(value), count});
  }
  SortTop(p.top);
  if (with_label_) p.association = Associate(p, label_categorical);
  if (sketch != nullptr) {
    sketch->histogram = histogram_;
    sketch->cells = histogram_.Cells(min_, max_, integral_ == p.numbers);
    sketch->categories = categories_.exact();
    sketch->pooled = categories_.other();
  }
  return p;
}

}  // namespace hearth::data_internal
