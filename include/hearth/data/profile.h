// Profiling a CSV file: what each column holds, what is missing, what is odd, and how each
// feature goes with the label, in one streaming pass with bounded memory (`hearth profile`).
//
// What is exact and what is approximate:
//  - exact: rows, columns, missing cells, the kind of each column, min, max, mean and standard
//    deviation (sample, ddof=1 as pandas' describe), category counts and the label's class counts
//    while a column has at most ProfileOptions::max_categories distinct values, and distinct
//    values and duplicate rows while they fit ProfileOptions::max_distinct and max_row_hashes;
//  - approximate past those bounds: distinct values and duplicate rows are then estimated from a
//    hash sample (all copies of a row fall in or out together, so the estimate is unbiased), and
//    top categories come from a Misra-Gries summary (any category above 1/max_categories of the
//    rows is kept; its count may be low by at most rows/max_categories);
//  - quantiles, histograms and outlier counts are exact while a column has at most
//    max_exact_values numbers; past that, and always for the train/test shift statistic, they
//    come from a histogram of exact counts in buckets 1/64 of a power of two wide (about 1.6% of
//    the value): within a bucket's width of the exact figure, and exact for integers below 128
//    in magnitude.
// Memory is bounded by the options, not by the file: a buffer of the file, and per column at most
// a few MB of sketches whatever the number of rows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {
namespace data_internal {
struct TableSketches;
}

struct ProfileOptions {
  char delimiter = ',';
  bool has_header = true;
  // The label column by header name (or "#3": 0-based index); empty: no label.
  std::string label;
  // Cell texts that mean "missing" besides an empty cell (CsvOptions' default: pandas' list).
  std::vector<std::string> missing_values;
  // Bounds on the sketches (see the header comment).
  int64_t max_categories = 1000;
  int64_t max_distinct = 1 << 14;
  int64_t max_row_hashes = 1 << 21;
  // A column's numbers are kept (8 bytes each) up to this many, for exact quantiles.
  int64_t max_exact_values = 1 << 17;
  // How much of the file is read at a time (a record longer than this is read whole).
  int64_t chunk_bytes = 4 << 20;
  // Bins of each numeric column's histogram.
  int histogram_bins = 20;
  // Called with the bytes read so far and the file size (-1 for gzip) now and then.
  std::function<void(int64_t, int64_t)> on_progress;
};

enum class ColumnKind {
  kEmpty,        // every cell missing
  kConstant,     // one distinct value
  kBoolean,      // 0/1, or true/false, yes/no, t/f, y/n
  kInteger,      // numbers, all whole
  kNumeric,      // numbers
  kCategorical,  // text
  kIdLike,       // a distinct text per row, or distinct increasing whole numbers
};
// "numeric", "categorical", ... as the report and JSON write it.
const char* ColumnKindName(ColumnKind kind);

struct CategoryCount {
  std::string value;
  int64_t count = 0;
};

struct HistogramBin {
  double lower = 0;
  double upper = 0;
  int64_t count = 0;
};

// How one feature goes with the label.
struct Association {
  // "pearson_r" (number with number), "correlation_ratio" (a number against categories: eta,
  // the share of its variance explained by the category means) or "cramers_v" (categories with
  // categories); empty when none applies.
  std::string statistic;
  double value = 0;  // |r|, eta or V, in [0, 1]
  // With a categorical label: the accuracy of predicting the label from this feature alone
  // (each category's most frequent class), or -1 when the feature is numeric.
  double single_feature_accuracy = -1;
};

struct ColumnProfile {
  std::string name;
  int64_t index = 0;  // in the file, 0-based
  ColumnKind kind = ColumnKind::kEmpty;
  int64_t count = 0;    // cells present
  int64_t missing = 0;  // empty or a missing-value token
  int64_t numbers = 0;  // cells that read as numbers (a categorical column may hold some)
  int64_t distinct = 0;
  bool distinct_exact = true;
  // Numbers (when numbers > 0).
  double min = 0, max = 0, mean = 0, std = 0;
  double p05 = 0, p25 = 0, p50 = 0, p75 = 0, p95 = 0;
  double skewness = 0;  // adjusted Fisher-Pearson, as pandas' skew()
  // Whether quantiles, outliers and the histogram are exact (every number was kept) or from the
  // bucket histogram.
  bool quantiles_exact = true;
  // The IQR rule: values outside [p25 - 1.5 IQR, p75 + 1.5 IQR].
  int64_t outliers = 0;
  double outlier_low = 0, outlier_high = 0;
  std::vector<HistogramBin> histogram;
  // The most frequent values, most frequent first (text columns, and number columns with few
  // values), at most 10.
  std::vector<CategoryCount> top;
  bool top_exact = true;
  Association association;  // with the label (not for the label itself)
};

struct TableProfile {
  std::string source;
  int64_t rows = 0;
  int64_t columns = 0;
  int64_t duplicate_rows = 0;  // rows equal to an earlier row
  bool duplicates_exact = true;
  int64_t bytes = 0;
  std::vector<ColumnProfile> column;
  // The label (index into `column`), or -1.
  int64_t label = -1;
  // Classification label: its class counts, most frequent first, and largest / smallest count.
  std::vector<CategoryCount> class_counts;
  double imbalance_ratio = 0;
  // The full sketches, for CompareProfiles.
  std::shared_ptr<const data_internal::TableSketches> sketches;
};

// Integer labels with at most this many values are classes.
inline constexpr int64_t kMaxIntegerClasses = 20;
// Whether a label column holds classes (text, boolean, or integers with few values) rather than
// a quantity to regress.
bool IsCategoricalLabel(const ColumnProfile& label);

// Profiles a CSV file (plain or gzip) in one pass. INVALID_ARGUMENT for malformed CSV (file:line),
// NOT_FOUND for a missing file or label column.
StatusOr<TableProfile> ProfileCsv(const std::string& path, const ProfileOptions& options);
StatusOr<TableProfile> ProfileCsvText(std::string_view text, std::string_view source,
                                      const ProfileOptions& options);

// The shift of one column between two profiles of the same columns.
struct ColumnShift {
  std::string name;
  // "ks" (Kolmogorov-Smirnov D between the two numeric distributions, from the shared-bucket
  // histograms) or "psi" (population stability index over the categories, the rest pooled).
  std::string statistic;
  double value = 0;
  double missing_rate = 0, other_missing_rate = 0;
  bool shifted = false;  // past the usual alarm level: KS D > 0.1, PSI > 0.25
};

// Column by column (by name), `base` against `other`. INVALID_ARGUMENT when the two files do not
// have the same columns.
StatusOr<std::vector<ColumnShift>> CompareProfiles(const TableProfile& base,
                                                   const TableProfile& other);

// One piece of advice, most important first: what is wrong and the step that fixes it.
struct ProfileAlert {
  std::string column;  // empty: the table
  std::string message;
};
std::vector<ProfileAlert> ProfileAlerts(const TableProfile& profile,
                                        const std::vector<ColumnShift>& shift);

}  // namespace hearth
