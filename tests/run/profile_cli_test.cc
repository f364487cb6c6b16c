// `hearth profile` from the command line: the report with its alerts, --json, --html, --against,
// errors in one line, and README's reference for it matching --help.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CommandResult;
using testing::Contains;
using testing::ParseJson;
using testing::ReadFileOrEmpty;
using testing::RunHearth;
using testing::TempDir;
using testing::WriteFileOrFail;

constexpr char kMessy[] = "examples/data/messy_houses.csv";

TEST(ProfileCliTest, ReportPutsAlertsFirstAndNamesTheSteps) {
  const CommandResult r = RunHearth({"profile", kMessy, "--label", "price_k"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "305 rows, 6 columns, 5 duplicate rows")) << r.out;
  const size_t alerts = r.out.find("alerts (");
  const size_t columns = r.out.find("\ncolumns:");
  ASSERT_NE(alerts, std::string::npos);
  EXPECT_LT(alerts, columns);
  EXPECT_TRUE(Contains(r.out, "{\"impute\": {\"strategy\": \"MEDIAN\", \"columns\": [2]}}"));
  EXPECT_TRUE(Contains(r.out, "{\"one_hot\": {\"columns\": [4]}}"));
  EXPECT_TRUE(Contains(r.out, "\"deduplicate\": true"));
  EXPECT_TRUE(Contains(r.out, "column `sqft`: 5 outliers"));
  // Every figure is exact for a file this small: no estimate line.
  EXPECT_FALSE(Contains(r.out, "estimated"));
}

TEST(ProfileCliTest, JsonIsOneObjectWithEveryColumn) {
  const CommandResult r = RunHearth({"profile", kMessy, "--label", "price_k", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto json = ParseJson(r.out);
  ASSERT_TRUE(json.has_value()) << r.out;
  EXPECT_EQ((*json)["rows"].number, 305);
  EXPECT_EQ((*json)["duplicate_rows"].number, 5);
  EXPECT_EQ((*json)["task"].string, "regression");
  const auto& columns = (*json)["column_profiles"].array;
  ASSERT_EQ(columns.size(), 6u);
  EXPECT_EQ(columns[2]["name"].string, "age_years");
  EXPECT_EQ(columns[2]["missing"].number, 26);
  // pandas: d.age_years.quantile(0.5)
  EXPECT_DOUBLE_EQ(columns[2]["quantiles"]["0.5"].number, 39.2);
  EXPECT_EQ(columns[4]["kind"].string, "categorical");
  EXPECT_EQ(columns[4]["top"].array[0]["value"].string, "Old Town");
  EXPECT_FALSE((*json)["alerts"].array.empty());
}

TEST(ProfileCliTest, HtmlIsSelfContainedWithHistograms) {
  TempDir dir;
  const std::string html = dir.file("profile.html");
  const CommandResult r = RunHearth({"profile", kMessy, "--html", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string page = ReadFileOrEmpty(html);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(Contains(page, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(Contains(page, "aria-label=\"histogram of sqft\""));
  // Nothing to fetch: it opens offline.
  EXPECT_FALSE(Contains(page, "<script"));
  EXPECT_FALSE(Contains(page, "http://") && !Contains(page, "http://www.w3.org/2000/svg"));
  EXPECT_FALSE(Contains(page, "https://"));
}

TEST(ProfileCliTest, AgainstReportsTheShift) {
  TempDir dir;
  std::string train = "a,city\n", test = "a,city\n";
  for (int i = 0; i < 200; ++i) {
    train += std::to_string(i % 50) + (i % 2 ? ",Paris\n" : ",Lyon\n");
    test += std::to_string(i % 50 + 40) + (i % 2 ? ",Paris\n" : ",Lyon\n");
  }
  WriteFileOrFail(dir.file("train.csv"), train);
  WriteFileOrFail(dir.file("test.csv"), test);
  const CommandResult r =
      RunHearth({"profile", dir.file("train.csv"), "--against", dir.file("test.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "column `a` shifted between the files (Kolmogorov-Smirnov D"))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n  a +ks +0\\.800 .*SHIFTED"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n  city +psi +0\\.000 "))) << r.out;
}

TEST(ProfileCliTest, ErrorsAreOneLineNamingTheProblem) {
  CommandResult r = RunHearth({"profile", kMessy, "--label", "price"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "no column named \"price\""));
  r = RunHearth({"profile", "/nonexistent.csv"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "/nonexistent.csv"));
  TempDir dir;
  WriteFileOrFail(dir.file("bad.csv"), "a,b\n1,2\n3\n");
  r = RunHearth({"profile", dir.file("bad.csv")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "bad.csv:3: expected 2 fields, got 1"));
  r = RunHearth({"profile", kMessy, "--delimiter", "ab"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(testing::OneLineMentioning(r.err, "--delimiter"));
}

}  // namespace
}  // namespace hearth
