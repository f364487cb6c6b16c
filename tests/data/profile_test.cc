// hearth profile's statistics against pandas 1.5.3 and scipy on the same file (reference values
// stored below), its sketches past their exact bounds, and the chunked reader.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "data/data_test_util.h"
#include "data/profile_sketches.h"
#include "hearth/data/profile.h"

namespace hearth {
namespace {

using data_testing::TestdataPath;

const ColumnProfile& Column(const TableProfile& p, const std::string& name) {
  for (const auto& c : p.column)
    if (c.name == name) return c;
  ADD_FAILURE() << "no column " << name;
  return p.column[0];
}

bool HasAlert(const std::vector<ProfileAlert>& alerts, const std::string& column,
              const std::string& words) {
  for (const auto& a : alerts)
    if (a.column == column && absl::StrContains(a.message, words)) return true;
  return false;
}

// tests/data/testdata/profile_mixed.csv: 200 rows (an id, a number with an outlier and "", "NA"
// cells, a count, yes/no, a city, a column equal to the label, a constant) and 3 repeated rows.
class MixedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProfileOptions options;
    options.label = "label";
    auto profile = ProfileCsv(TestdataPath("profile_mixed.csv"), options);
    ASSERT_TRUE(profile.ok()) << profile.status();
    p_ = *std::move(profile);
  }
  TableProfile p_;
};

TEST_F(MixedFileTest, TableMatchesPandas) {
  // len(d), d.duplicated().sum()
  EXPECT_EQ(p_.rows, 203);
  EXPECT_EQ(p_.columns, 8);
  EXPECT_EQ(p_.duplicate_rows, 3);
  EXPECT_TRUE(p_.duplicates_exact);
  ASSERT_EQ(p_.class_counts.size(), 2u);  // value_counts: {'ok': 167, 'bad': 36}
  EXPECT_EQ(p_.class_counts[0].value, "ok");
  EXPECT_EQ(p_.class_counts[0].count, 167);
  EXPECT_EQ(p_.class_counts[1].count, 36);
  EXPECT_NEAR(p_.imbalance_ratio, 167.0 / 36.0, 1e-12);
}

TEST_F(MixedFileTest, NumericColumnMatchesDescribe) {
  const ColumnProfile& x = Column(p_, "x");
  EXPECT_EQ(x.kind, ColumnKind::kNumeric);
  EXPECT_EQ(x.missing, 21);    // isna().sum(): "" and "NA"
  EXPECT_EQ(x.distinct, 172);  // nunique()
  EXPECT_EQ(x.count, 182);
  EXPECT_NEAR(x.mean, 51.106923, 1e-6);
  EXPECT_NEAR(x.std, 27.403326, 1e-6);
  EXPECT_DOUBLE_EQ(x.min, 24.83);
  EXPECT_DOUBLE_EQ(x.max, 400.0);
  EXPECT_NEAR(x.p05, 34.6335, 1e-9);
  EXPECT_NEAR(x.p25, 44.1075, 1e-9);
  EXPECT_NEAR(x.p50, 49.425, 1e-9);
  EXPECT_NEAR(x.p75, 55.365, 1e-9);
  EXPECT_NEAR(x.p95, 63.5805, 1e-9);
  EXPECT_NEAR(x.skewness, 11.50471659738647, 1e-9);
  EXPECT_EQ(x.outliers, 3);  // outside [q1 - 1.5 iqr, q3 + 1.5 iqr]
  EXPECT_TRUE(x.quantiles_exact);
  int64_t in_bins = 0;
  for (const auto& bin : x.histogram) in_bins += bin.count;
  EXPECT_EQ(in_bins, 182);
  // eta of x by label, from the group means (pandas groupby).
  EXPECT_EQ(x.association.statistic, "correlation_ratio");
  EXPECT_NEAR(x.association.value, 0.15650866103228064, 1e-9);
}

TEST_F(MixedFileTest, KindsOfColumns) {
  EXPECT_EQ(Column(p_, "id").kind, ColumnKind::kIdLike);
  EXPECT_EQ(Column(p_, "count").kind, ColumnKind::kInteger);
  EXPECT_EQ(Column(p_, "count").distinct, 9);
  EXPECT_NEAR(Column(p_, "count").skewness, -0.10236706197572738, 1e-9);
  EXPECT_EQ(Column(p_, "flag").kind, ColumnKind::kBoolean);
  EXPECT_EQ(Column(p_, "const").kind, ColumnKind::kConstant);
  const ColumnProfile& city = Column(p_, "city");
  EXPECT_EQ(city.kind, ColumnKind::kCategorical);
  ASSERT_EQ(city.top.size(), 4u);  // value_counts: Paris 100, Lyon 69, Nice 25, Metz 9
  EXPECT_EQ(city.top[0].value, "Paris");
  EXPECT_EQ(city.top[0].count, 100);
  EXPECT_EQ(city.top[3].value, "Metz");
  EXPECT_EQ(city.top[3].count, 9);
  // scipy.stats.contingency.association(crosstab(city, label), method="cramer")
  EXPECT_EQ(city.association.statistic, "cramers_v");
  EXPECT_NEAR(city.association.value, 0.11549374650095036, 1e-9);
  EXPECT_NEAR(Column(p_, "leak").association.value, 1.0, 1e-12);
  EXPECT_NEAR(Column(p_, "leak").association.single_feature_accuracy, 1.0, 1e-12);
}

TEST_F(MixedFileTest, AlertsNameTheStepToAdd) {
  const auto alerts = ProfileAlerts(p_, {});
  ASSERT_FALSE(alerts.empty());
  // Leakage first: it invalidates every other figure.
  EXPECT_EQ(alerts[0].column, "leak");
  EXPECT_TRUE(HasAlert(alerts, "leak", "alone predicts the label"));
  EXPECT_TRUE(HasAlert(alerts, "label", "\"class_weight\": \"balanced\""));
  EXPECT_TRUE(HasAlert(alerts, "id", "looks like a row id"));
  EXPECT_TRUE(HasAlert(alerts, "const", "drop_constant"));
  // x is feature 1 (the label is last).
  EXPECT_TRUE(HasAlert(alerts, "x", "{\"impute\": {\"strategy\": \"MEDIAN\", \"columns\": [1]}}"));
  EXPECT_TRUE(HasAlert(alerts, "x", "3 outliers"));
  EXPECT_TRUE(HasAlert(alerts, "city", "{\"one_hot\": {\"columns\": [4]}}"));
  EXPECT_TRUE(HasAlert(alerts, "", "\"deduplicate\": true"));
  EXPECT_FALSE(HasAlert(alerts, "count", "outliers"));
}

// Every chunk size gives the same profile as the whole text at once, quoted line breaks
// straddling the chunk edges included.
TEST(ProfileCsvTest, ChunkSizeDoesNotChangeTheProfile) {
  data_testing::TempDir dir;
  std::string text = "name,note,v\n";
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&text, "n", i % 7, ",\"line one\nline \"\"two\"\", ", i, "\",", i * 0.5, "\n");
  }
  const std::string path = dir.File("quoted.csv");
  std::ofstream(path) << text;
  auto whole = ProfileCsvText(text, path, {});
  ASSERT_TRUE(whole.ok()) << whole.status();
  for (int64_t chunk : {1, 7, 64, 1000, 1 << 20}) {
    ProfileOptions options;
    options.chunk_bytes = chunk;
    auto p = ProfileCsv(path, options);
    ASSERT_TRUE(p.ok()) << chunk << ": " << p.status();
    EXPECT_EQ(p->rows, 300) << chunk;
    EXPECT_EQ(Column(*p, "note").distinct, 300) << chunk;
    EXPECT_EQ(Column(*p, "name").distinct, 7) << chunk;
    EXPECT_DOUBLE_EQ(Column(*p, "v").mean, Column(*whole, "v").mean) << chunk;
    EXPECT_EQ(Column(*p, "v").p50, Column(*whole, "v").p50) << chunk;
  }
}

TEST(ProfileCsvTest, BadInputNamesTheLine) {
  auto p = ProfileCsvText("a,b\n1,2\n3\n", "t.csv", {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "t.csv:3: expected 2 fields, got 1"))
      << p.status();
  p = ProfileCsvText("a,b\n1,\"2\n", "t.csv", {});
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StrContains(p.status().message(), "t.csv:2:2: unterminated quoted field"))
      << p.status();
  ProfileOptions options;
  options.label = "y";
  p = ProfileCsvText("a,b\n1,2\n", "t.csv", options);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "the columns are a, b")) << p.status();
  EXPECT_FALSE(ProfileCsvText("", "t.csv", {}).ok());
  EXPECT_EQ(ProfileCsv("/nonexistent/x.csv", {}).status().code(), absl::StatusCode::kNotFound);
}

// Past max_exact_values the quantiles come from the bucket histogram: within 1.6% of pandas'.
TEST(ProfileCsvTest, LargeColumnsHaveApproximateQuantiles) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(3, 1);
  std::vector<double> values(20000);
  std::string text = "v,k\n";
  for (double& v : values) {
    v = dist(rng);
    absl::StrAppend(&text, v, ",", static_cast<int>(v) % 50, "\n");
  }
  ProfileOptions options;
  options.max_exact_values = 1000;
  options.max_distinct = 512;
  options.max_categories = 8;
  auto p = ProfileCsvText(text, "t.csv", options);
  ASSERT_TRUE(p.ok()) << p.status();
  const ColumnProfile& v = Column(*p, "v");
  EXPECT_FALSE(v.quantiles_exact);
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const auto exact = [&](double q) {
    const double pos = q * (sorted.size() - 1);
    const auto i = static_cast<size_t>(pos);
    return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
  };
  EXPECT_NEAR(v.p25, exact(0.25), 0.016 * exact(0.25));
  EXPECT_NEAR(v.p50, exact(0.5), 0.016 * exact(0.5));
  EXPECT_NEAR(v.p95, exact(0.95), 0.016 * exact(0.95));
  // Distinct values estimated from a 512-hash sample: within 15%.
  EXPECT_FALSE(v.distinct_exact);
  EXPECT_NEAR(static_cast<double>(v.distinct), 20000, 3000);
  // The integer column has 50 values; min and max stay exact.
  const ColumnProfile& k = Column(*p, "k");
  EXPECT_EQ(k.distinct, 50);
  EXPECT_EQ(k.min, 0);
}

TEST(SketchTest, HashSampleEstimatesRepeatsWithoutBias) {
  data_internal::HashSample sample(1024);
  // 100000 distinct values, 20000 of them twice.
  for (uint64_t i = 0; i < 100000; ++i) {
    sample.Add(data_internal::MixHash(i));
    if (i % 5 == 0) sample.Add(data_internal::MixHash(i));
  }
  EXPECT_FALSE(sample.exact());
  EXPECT_NEAR(static_cast<double>(sample.Distinct()), 100000, 10000);
  EXPECT_NEAR(static_cast<double>(sample.Repeats()), 20000, 4000);
  data_internal::HashSample small(1024);
  for (uint64_t i = 0; i < 500; ++i) small.Add(data_internal::MixHash(i % 300));
  EXPECT_TRUE(small.exact());
  EXPECT_EQ(small.Distinct(), 300);
  EXPECT_EQ(small.Repeats(), 200);
}

TEST(SketchTest, CategoryCounterKeepsHeavyHittersPastCapacity) {
  data_internal::CategoryCounter counter(4);
  for (int i = 0; i < 10; ++i) counter.Add(absl::StrCat("early", i));  // fill the exact slots
  for (int i = 0; i < 5000; ++i) {
    counter.Add(i % 2 == 0 ? "late-heavy" : absl::StrCat("rare", i));
  }
  EXPECT_TRUE(counter.overflowed());
  const auto top = counter.Top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].value, "late-heavy");
  // Misra-Gries undercounts by at most (pooled values) / (counters + 1).
  EXPECT_GE(top[0].count, 2500 - 5006 / 5);
  EXPECT_LE(top[0].count, 2500);
}

TEST(SketchTest, HistogramBucketsAreNarrowAndOrdered) {
  data_internal::ValueHistogram h;
  for (double v : {-300.0, -2.5, 0.0, 1.0, 3.0, 3.0, 100.0, 1e6, 5e-7}) h.Add(v);
  const auto cells = h.Cells(-300, 1e6, false);
  ASSERT_EQ(cells.size(), 8u);
  for (size_t i = 1; i < cells.size(); ++i) EXPECT_LT(cells[i - 1].ordinal, cells[i].ordinal);
  EXPECT_NEAR(cells[0].value, -300, 300 * 0.016);
  EXPECT_EQ(cells[2].value, 0);
  EXPECT_NEAR(cells[6].value, 100, 100 * 0.016);
  // Integers below 128 are exact.
  const auto ints = h.Cells(-300, 1e6, true);
  EXPECT_EQ(ints[4].value, 1);
  EXPECT_EQ(ints[5].value, 3);
  EXPECT_EQ(ints[5].count, 2);
}

TEST(CompareProfilesTest, ShiftedColumnsAreFlagged) {
  std::string train = "a,c\n", test = "a,c\n";
  for (int i = 0; i < 1000; ++i) {
    absl::StrAppend(&train, i % 100, ",", i % 3 == 0 ? "x" : "y", "\n");
    absl::StrAppend(&test, i % 100 + 30, ",", i % 3 == 0 ? "x" : "y", "\n");
  }
  auto a = ProfileCsvText(train, "train.csv", {});
  auto b = ProfileCsvText(test, "test.csv", {});
  auto same = ProfileCsvText(train, "again.csv", {});
  ASSERT_TRUE(a.ok() && b.ok() && same.ok());
  auto shift = CompareProfiles(*a, *b);
  ASSERT_TRUE(shift.ok()) << shift.status();
  ASSERT_EQ(shift->size(), 2u);
  EXPECT_EQ((*shift)[0].statistic, "ks");
  EXPECT_NEAR((*shift)[0].value, 0.30, 1e-9);  // uniform 0..99 against 30..129
  EXPECT_TRUE((*shift)[0].shifted);
  EXPECT_EQ((*shift)[1].statistic, "psi");
  EXPECT_NEAR((*shift)[1].value, 0, 1e-12);
  EXPECT_FALSE((*shift)[1].shifted);
  auto none = CompareProfiles(*a, *same);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)[0].value, 0);
  const auto alerts = ProfileAlerts(*a, *shift);
  EXPECT_TRUE(HasAlert(alerts, "", "column `a` shifted"));
  auto other = ProfileCsvText("a,d\n1,2\n", "other.csv", {});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(CompareProfiles(*a, *other).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
