// What a profile means for training: the train/test shift of each column, and advice worded as
// the job-spec change that acts on it.
#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/column_profiler.h"
#include "hearth/data/profile.h"

namespace hearth {
namespace {

constexpr double kShiftedKs = 0.1;
constexpr double kShiftedPsi = 0.25;
// A feature this associated with the label alone predicts it almost perfectly.
constexpr double kLeakage = 0.98;
constexpr double kImbalanced = 3;
constexpr double kSkewed = 2;
// One-hot columns with more categories than this pool the rare ones.
constexpr int64_t kManyCategories = 20;

bool IsNumeric(const ColumnProfile& c) {
  return c.kind == ColumnKind::kNumeric || c.kind == ColumnKind::kInteger ||
         c.kind == ColumnKind::kBoolean;
}

// Kolmogorov-Smirnov D: the largest gap between the two cumulative distributions, evaluated at
// every bucket edge of the shared mapping.
double KsStatistic(const data_internal::ColumnSketch& a, int64_t a_count,
                   const data_internal::ColumnSketch& b, int64_t b_count) {
  if (a_count == 0 || b_count == 0) return 0;
  size_t i = 0, j = 0;
  double fa = 0, fb = 0, d = 0;
  while (i < a.cells.size() || j < b.cells.size()) {
    const int64_t next = std::min(i < a.cells.size() ? a.cells[i].ordinal : INT64_MAX,
                                  j < b.cells.size() ? b.cells[j].ordinal : INT64_MAX);
    if (i < a.cells.size() && a.cells[i].ordinal == next)
      fa += static_cast<double>(a.cells[i++].count) / static_cast<double>(a_count);
    if (j < b.cells.size() && b.cells[j].ordinal == next)
      fb += static_cast<double>(b.cells[j++].count) / static_cast<double>(b_count);
    d = std::max(d, std::fabs(fa - fb));
  }
  return d;
}

// Population stability index over the categories either side knows exactly, the rest pooled.
double Psi(const data_internal::ColumnSketch& a, const data_internal::ColumnSketch& b) {
  absl::flat_hash_map<std::string, std::pair<double, double>> counts;
  double na = static_cast<double>(a.pooled), nb = static_cast<double>(b.pooled);
  for (const auto& c : a.categories) {
    counts[c.value].first += static_cast<double>(c.count);
    na += static_cast<double>(c.count);
  }
  for (const auto& c : b.categories) {
    counts[c.value].second += static_cast<double>(c.count);
    nb += static_cast<double>(c.count);
  }
  counts["\x01pooled"] = {static_cast<double>(a.pooled), static_cast<double>(b.pooled)};
  if (na == 0 || nb == 0) return 0;
  constexpr double kFloor = 1e-4;  // an empty side counts as this share, as is usual for PSI
  double psi = 0;
  for (const auto& [value, pair] : counts) {
    if (pair.first == 0 && pair.second == 0) continue;
    const double p = std::max(pair.first / na, kFloor), q = std::max(pair.second / nb, kFloor);
    psi += (p - q) * std::log(p / q);
  }
  return psi;
}

double MissingRate(const ColumnProfile& c) {
  const int64_t cells = c.count + c.missing;
  return cells > 0 ? static_cast<double>(c.missing) / static_cast<double>(cells) : 0;
}

std::string Percent(double share) {
  return share < 0.01 ? absl::StrFormat("%.2g%%", 100 * share)
                      : absl::StrFormat("%.0f%%", 100 * share);
}

}  // namespace

StatusOr<std::vector<ColumnShift>> CompareProfiles(const TableProfile& base,
                                                   const TableProfile& other) {
  if (base.sketches == nullptr || other.sketches == nullptr)
    return absl::InvalidArgumentError("CompareProfiles needs profiles made by ProfileCsv");
  std::vector<ColumnShift> shifts;
  for (size_t j = 0; j < base.column.size(); ++j) {
    const ColumnProfile& a = base.column[j];
    const auto it = std::find_if(other.column.begin(), other.column.end(),
                                 [&](const ColumnProfile& c) { return c.name == a.name; });
    if (it == other.column.end()) {
      return absl::InvalidArgumentError(absl::StrCat(other.source, " has no column \"", a.name,
                                                     "\", which ", base.source,
                                                     " has: compare files with the same columns"));
    }
    const ColumnProfile& b = *it;
    const auto& sa = base.sketches->columns[j];
    const auto& sb = other.sketches->columns[static_cast<size_t>(it - other.column.begin())];
    ColumnShift shift;
    shift.name = a.name;
    shift.missing_rate = MissingRate(a);
    shift.other_missing_rate = MissingRate(b);
    if (IsNumeric(a) && a.numbers > 0) {
      shift.statistic = "ks";
      shift.value = KsStatistic(sa, a.numbers, sb, b.numbers);
      shift.shifted = shift.value > kShiftedKs;
    } else if (a.kind == ColumnKind::kCategorical) {
      shift.statistic = "psi";
      shift.value = Psi(sa, sb);
      shift.shifted = shift.value > kShiftedPsi;
    }
    shifts.push_back(std::move(shift));
  }
  return shifts;
}

std::vector<ProfileAlert> ProfileAlerts(const TableProfile& profile,
                                        const std::vector<ColumnShift>& shift) {
  std::vector<ProfileAlert> alerts;
  const auto feature = [&](const ColumnProfile& c) {
    return profile.label >= 0 && c.index > profile.label ? c.index - 1 : c.index;
  };
  const auto add = [&](const ColumnProfile* c, std::string message) {
    alerts.push_back({c != nullptr ? c->name : std::string(), std::move(message)});
  };
  const auto name = [](const ColumnProfile& c) { return absl::StrCat("column `", c.name, "`"); };
  const ColumnProfile* label = profile.label >= 0 ? &profile.column[profile.label] : nullptr;

  for (const auto& c : profile.column) {
    const Association& a = c.association;
    if (&c == label || c.kind == ColumnKind::kIdLike || c.kind == ColumnKind::kConstant) continue;
    const bool leaks = a.value >= kLeakage ||
                       (a.single_feature_accuracy >= 0.99 && !profile.class_counts.empty() &&
                        static_cast<double>(profile.class_counts.front().count) <
                            0.95 * static_cast<double>(profile.rows));
    if (leaks && !a.statistic.empty()) {
      add(&c, absl::StrFormat("%s alone predicts the label almost perfectly (%s %.3f) → check it "
                              "is not computed from the label or known only after it; if so, "
                              "leave it out of feature_columns",
                              name(c), a.statistic, a.value));
    }
  }
  if (label != nullptr) {
    if (label->missing > 0) {
      add(label, absl::StrFormat("label `%s`: %d rows have no label → training stops at the "
                                 "first; fill them in or drop those rows",
                                 label->name, label->missing));
    }
    if (profile.imbalance_ratio >= kImbalanced) {
      add(label,
          absl::StrFormat("label `%s`: classes imbalanced %.1f:1 (`%s` %d rows, `%s` %d) → weight "
                          "the loss: \"loss\": {\"class_weight\": \"balanced\"}, and judge by "
                          "f1_macro or pr_auc rather than accuracy",
                          label->name, profile.imbalance_ratio, profile.class_counts.front().value,
                          profile.class_counts.front().count, profile.class_counts.back().value,
                          profile.class_counts.back().count));
    }
  }
  for (const auto& c : profile.column) {
    if (&c == label) continue;
    const int64_t f = feature(c);
    switch (c.kind) {
      case ColumnKind::kIdLike:
        add(&c, absl::StrFormat("%s looks like a row id (%s distinct values in %d rows) → leave it "
                                "out of feature_columns: a model learns nothing true from it",
                                name(c), c.distinct_exact ? "all" : "nearly all", c.count));
        continue;
      case ColumnKind::kEmpty:
      case ColumnKind::kConstant:
        add(&c, absl::StrFormat("%s is %s → add a drop_constant step or leave it out of "
                                "feature_columns",
                                name(c), c.kind == ColumnKind::kEmpty ? "empty" : "constant"));
        continue;
      default:
        break;
    }
    if (c.missing > 0) {
      const bool numeric = IsNumeric(c);
      add(&c, absl::StrFormat("%s: %s missing (%d cells) → add an impute step: {\"impute\": "
                              "{\"strategy\": \"%s\", \"columns\": [%d]}}",
                              name(c), Percent(MissingRate(c)), c.missing,
                              numeric ? "MEDIAN" : "MOST_FREQUENT", f));
    }
    if (c.kind == ColumnKind::kCategorical) {
      if (c.numbers > 0 && c.numbers * 10 >= c.count * 9) {
        add(&c, absl::StrFormat("%s: %d cells are text among %d numbers → fix those cells, or "
                                "treat the column as categories with a one_hot step",
                                name(c), c.count - c.numbers, c.numbers));
      }
      const bool many = c.distinct > kManyCategories;
      add(&c, absl::StrFormat(
                  "%s holds text categories (%d distinct) → add a one_hot step: {\"one_hot\": "
                  "{\"columns\": [%d]%s}}%s",
                  name(c), c.distinct, f, many ? ", \"min_frequency\": 10" : "",
                  many ? " (rare ones pooled), or ordinal for a natural order" : ""));
    }
    if (IsNumeric(c) && c.kind != ColumnKind::kBoolean && c.outliers > 0) {
      add(&c, absl::StrFormat("%s: %d outliers by the IQR rule (outside [%.4g, %.4g]) → add a "
                              "clip step {\"clip\": {\"columns\": [%d]}} or use robust_scale",
                              name(c), c.outliers, c.outlier_low, c.outlier_high, f));
    }
    if (c.kind == ColumnKind::kNumeric && c.min >= 0 && c.skewness > kSkewed) {
      add(&c, absl::StrFormat("%s is skewed (skewness %.1f, all values >= 0) → a log1p step "
                              "evens it out",
                              name(c), c.skewness));
    }
  }
  if (profile.duplicate_rows > 0) {
    add(nullptr, absl::StrFormat("%s%d duplicate rows (%s) → set \"data\": {\"deduplicate\": "
                                 "true} so repeats do not weigh more or leak into validation",
                                 profile.duplicates_exact ? "" : "about ", profile.duplicate_rows,
                                 Percent(static_cast<double>(profile.duplicate_rows) /
                                         static_cast<double>(std::max<int64_t>(1, profile.rows)))));
  }
  for (const auto& s : shift) {
    if (!s.shifted) continue;
    add(nullptr,
        absl::StrFormat("column `%s` shifted between the files (%s %.3f) → the model "
                        "meets data unlike its training data there; check how each "
                        "file was collected",
                        s.name, s.statistic == "ks" ? "Kolmogorov-Smirnov D" : "PSI", s.value));
  }
  return alerts;
}

}  // namespace hearth
