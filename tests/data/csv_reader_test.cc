// Tests for the CSV reader: parsing, quoting, labels, column choice and every error message.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/data_test_util.h"
#include "hearth/data/csv.h"

namespace hearth {
namespace {

CsvOptions ClassifyBy(ColumnRef label) {
  CsvOptions options;
  options.label_columns = {std::move(label)};
  return options;
}

std::vector<float> Values(const Tensor& t) {
  return t.ToVector();
}
std::vector<int64_t> Ids(const Tensor& t) {
  return std::vector<int64_t>(t.i64(), t.i64() + t.numel());
}

TEST(DataCsvTest, MissingCellsAreNaNWhereAllowedWithPandasTokens) {
  CsvOptions options = ClassifyBy("l");
  options.missing_allowed = [](int64_t feature) { return feature != 1; };
  auto ds = ParseCsv("a,b,c,l\n,1,NA,0\n null ,2,\"N/A\",1\n3,4,5,1\n", "m.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  const std::vector<float> v = Values(ds->features);
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[2]) && std::isnan(v[3]) && std::isnan(v[5]));
  EXPECT_EQ(v[1], 1);
  EXPECT_EQ(v[8], 5);
  // Feature 1 may not be missing: the error names the step to add.
  auto refused = ParseCsv("a,b,c,l\n1,NULL,2,0\n", "m.csv", options);
  EXPECT_TRUE(data_testing::Contains(refused.status().message(),
                                     "m.csv:2:2: missing value in column \"b\" (\"NULL\")"))
      << refused.status();
  // The tokens are configurable: "?" is missing, "NA" a (bad) number.
  options.missing_values = {"?"};
  EXPECT_TRUE(ParseCsv("a,b,c,l\n?,1,2,0\n", "m.csv", options).ok());
  EXPECT_FALSE(ParseCsv("a,b,c,l\nNA,1,2,0\n", "m.csv", options).ok());
}

TEST(DataCsvTest, CategoryColumnsGetSortedCodesOrTheGivenOnes) {
  CsvOptions options = ClassifyBy("l");
  options.category_allowed = [](int64_t feature) { return feature == 1; };
  options.missing_allowed = [](int64_t feature) { return feature == 1; };
  const char* text = "x,city,l\n1,Paris,0\n2, Oslo ,1\n3,3,0\n4,,1\n5,Paris,0\n";
  auto ds = ParseCsv(text, "c.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  // Sorted texts: "3" < "Oslo" < "Paris" (spaces trimmed, a number is a text here).
  ASSERT_EQ(ds->feature_categories.size(), 2u);
  EXPECT_TRUE(ds->feature_categories[0].empty());
  EXPECT_EQ(ds->feature_categories[1], (std::vector<std::string>{"3", "Oslo", "Paris"}));
  const std::vector<float> v = Values(ds->features);
  EXPECT_EQ(v[1], 2);
  EXPECT_EQ(v[3], 1);
  EXPECT_EQ(v[5], 0);
  EXPECT_TRUE(std::isnan(v[7]));
  EXPECT_EQ(v[9], 2);
  // With the training mapping, codes agree and a text it lacks is -1 (unknown).
  options.feature_categories = ds->feature_categories;
  options.categories_fixed = true;
  auto other = ParseCsv("x,city,l\n1,Rome,0\n2,Oslo,1\n", "test.csv", options);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(Values(other->features), (std::vector<float>{1, -1, 2, 1}));
  EXPECT_EQ(other->feature_categories[1], ds->feature_categories[1]);
  // A column of numbers only stays numeric (integer categories keep their values), and a model
  // with no mapping for a column reads it as numbers.
  CsvOptions numeric = ClassifyBy("l");
  numeric.category_allowed = [](int64_t) { return true; };
  auto ints = ParseCsv("x,size,l\n1,10,0\n2,2,1\n", "n.csv", numeric);
  ASSERT_TRUE(ints.ok()) << ints.status();
  EXPECT_TRUE(ints->feature_categories.empty());
  EXPECT_EQ(Values(ints->features), (std::vector<float>{1, 10, 2, 2}));
  numeric.categories_fixed = true;
  EXPECT_FALSE(ParseCsv("x,size,l\n1,L,0\n", "n.csv", numeric).ok());
}

TEST(DataCsvTest, NumericFeaturesAndIntegerLabels) {
  auto ds = ParseCsv("a,b,label\n1,2.5,0\n-3,4e2,2\n", "t.csv", ClassifyBy("label"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->features.shape(), (Shape{2, 2}));
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1, 2.5f, -3, 400}));
  EXPECT_EQ(ds->labels.dtype(), DType::kInt64);
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{0, 2}));
  EXPECT_TRUE(ds->class_names.empty());
  EXPECT_EQ(ds->size(), 2);
}

TEST(DataCsvTest, LabelByIndexWithoutHeader) {
  CsvOptions options = ClassifyBy(0);
  options.has_header = false;
  auto ds = ParseCsv("1,0.5,0.25\n0,1,2\n", "t.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{0.5f, 0.25f, 1, 2}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{1, 0}));

  options.label_columns = {-1};  // the last column
  ds = ParseCsv("1,0.5,3\n0,1,2\n", "t.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1, 0.5f, 0, 1}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{3, 2}));
}

TEST(DataCsvTest, NoLabels) {
  CsvOptions options;  // no label columns: clustering / predict input
  auto ds = ParseCsv("x,y\n1,2\n3,4\n", "t.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->features.shape(), (Shape{2, 2}));
  EXPECT_FALSE(ds->labels.defined());
}

TEST(DataCsvTest, QuotedFields) {
  // Delimiter, escaped quotes and a line break inside quotes; spaces kept inside quotes.
  const std::string text =
      "\"x, first\",\"y\"\"\",label\n"
      "\"1.5\",2,\"a, \"\"quoted\"\" label\"\n"
      "3,\" 4 \",\"multi\nline\"\n"
      "5,6,plain\n";
  auto ds = ParseCsv(text, "q.csv", ClassifyBy("label"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1.5f, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ds->class_names,
            (std::vector<std::string>{"a, \"quoted\" label", "multi\nline", "plain"}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{0, 1, 2}));

  CsvOptions by_quoted_name = ClassifyBy("label");
  by_quoted_name.feature_columns = {"y\""};
  ds = ParseCsv(text, "q.csv", by_quoted_name);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{2, 4, 6}));
}

TEST(DataCsvTest, LineNumbersCountLineBreaksInsideQuotes) {
  auto ds = ParseCsv("a,label\n1,\"two\nlines\"\nx,b\n", "q.csv", ClassifyBy("label"));
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(),
                                     "q.csv:4:1: expected a number in column \"a\", got \"x\""))
      << ds.status();
}

TEST(DataCsvTest, StringLabelsGetSortedIds) {
  const auto read = [](const std::string& text) {
    auto ds = ParseCsv(text, "s.csv", ClassifyBy("species"));
    EXPECT_TRUE(ds.ok()) << ds.status();
    return *ds;
  };
  Dataset a = read("f,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n");
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(Ids(a.labels), (std::vector<int64_t>{2, 0, 1, 0}));
  // Another shard, other row order: the same mapping.
  Dataset b = read("f,species\n1,setosa\n2,versicolor\n3,virginica\n");
  EXPECT_EQ(b.class_names, a.class_names);
  EXPECT_EQ(Ids(b.labels), (std::vector<int64_t>{0, 1, 2}));
}

TEST(DataCsvTest, OneStringLabelMakesAllLabelsStrings) {
  auto ds = ParseCsv("f,l\n1,10\n2,9\n3,cat\n", "s.csv", ClassifyBy("l"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->class_names, (std::vector<std::string>{"10", "9", "cat"}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{0, 1, 2}));
}

TEST(DataCsvTest, IntegralFloatLabelsAreIntegers) {
  auto ds = ParseCsv("f,l\n1,3.0\n2,+1\n", "s.csv", ClassifyBy("l"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_TRUE(ds->class_names.empty());
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{3, 1}));
}

TEST(DataCsvTest, GivenMappingForEvaluation) {
  CsvOptions options = ClassifyBy("species");
  options.class_names = std::vector<std::string>{"setosa", "versicolor", "virginica"};
  auto ds = ParseCsv("f,species\n1,virginica\n2,virginica\n", "eval.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ds->class_names, *options.class_names);

  ds = ParseCsv("f,species\n1,virginica\n2,rosa\n", "eval.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(ds.status().message()),
            "eval.csv:3:2: unknown label \"rosa\"; the model's classes are \"setosa\", "
            "\"versicolor\", \"virginica\"");
}

TEST(DataCsvTest, GivenEmptyMappingMeansIntegerLabels) {
  CsvOptions options = ClassifyBy("l");
  options.class_names = std::vector<std::string>{};
  auto ds = ParseCsv("f,l\n1,4\n", "e.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{4}));
  ds = ParseCsv("f,l\n1,cat\n", "e.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(
      data_testing::Contains(ds.status().message(), "e.csv:2:2: expected an integer class id"));
}

TEST(DataCsvTest, GivenMappingWithDuplicateIsRejected) {
  CsvOptions options = ClassifyBy("l");
  options.class_names = std::vector<std::string>{"a", "a"};
  auto ds = ParseCsv("f,l\n1,a\n", "e.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), "list a name twice"));
}

TEST(DataCsvTest, Regression) {
  CsvOptions options;
  options.label_kind = LabelKind::kRegression;
  options.label_columns = {"y"};
  auto ds = ParseCsv("x,y\n1,2.5\n2,-0.5\n", "r.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->labels.dtype(), DType::kFloat32);
  EXPECT_EQ(ds->labels.shape(), (Shape{2}));
  EXPECT_EQ(Values(ds->labels), (std::vector<float>{2.5f, -0.5f}));

  options.label_columns = {"y2", "y"};
  ds = ParseCsv("x,y,y2\n1,2,3\n4,5,6\n", "r.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->labels.shape(), (Shape{2, 2}));
  EXPECT_EQ(Values(ds->labels), (std::vector<float>{3, 2, 6, 5}));
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1, 4}));
}

TEST(DataCsvTest, FeatureColumnSelection) {
  CsvOptions options = ClassifyBy("l");
  options.feature_columns = {"c", 0};
  auto ds = ParseCsv("a,b,c,l\n1,2,3,0\n4,5,6,1\n", "f.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{3, 1, 6, 4}));

  options.feature_columns = {"a", "l"};
  ds = ParseCsv("a,b,c,l\n1,2,3,0\n", "f.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(),
                                     "column \"l\" is chosen both as a feature and"));
}

TEST(DataCsvTest, DelimiterWhitespaceLineEndingsAndBom) {
  CsvOptions options = ClassifyBy("l");
  options.delimiter = ';';
  auto ds = ParseCsv(
      "\xEF\xBB\xBF"
      "a; l\r\n 1.5 ;\t2\r\n\r\n\n3;4",
      "d.csv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1.5f, 3}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{2, 4}));

  options.delimiter = '\t';
  ds = ParseCsv("a\tl\n1 \t 2\n", "d.tsv", options);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1}));
}

TEST(DataCsvTest, ReadsFixtureFile) {
  auto ds = ReadCsv(data_testing::TestdataPath("iris_small.csv"), ClassifyBy("species"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->features.shape(), (Shape{4, 3}));
  EXPECT_EQ(ds->class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{0, 1, 2, 0}));
  EXPECT_FLOAT_EQ(ds->features.f32()[2 * 3 + 2], 6.0f);

  CsvOptions by_name = ClassifyBy("species");
  by_name.feature_columns = {"petal, len"};
  ds = ReadCsv(data_testing::TestdataPath("iris_small.csv"), by_name);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1.4f, 4.7f, 6.0f, 1.4f}));
}

TEST(DataCsvTest, ReadsGzipFile) {
  data_testing::TempDir dir;
  data_testing::WriteGzFile(dir.File("t.csv.gz"), "a,l\n1,x\n2,y\n");
  auto ds = ReadCsv(dir.File("t.csv.gz"), ClassifyBy("l"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(Values(ds->features), (std::vector<float>{1, 2}));
  EXPECT_EQ(ds->class_names, (std::vector<std::string>{"x", "y"}));
}

TEST(DataCsvTest, TruncatedGzipFile) {
  data_testing::TempDir dir;
  data_testing::WriteGzFile(dir.File("full.csv.gz"), "a,l\n" + std::string(5000, '1') + ",0\n");
  const std::string compressed = data_testing::ReadBytes(dir.File("full.csv.gz"));
  data_testing::WriteFile(dir.File("cut.csv.gz"), compressed.substr(0, compressed.size() / 2));
  auto ds = ReadCsv(dir.File("cut.csv.gz"), ClassifyBy("l"));
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), "cut.csv.gz: truncated gzip file"));
}

TEST(DataCsvTest, MissingFileIsNotFound) {
  auto ds = ReadCsv("no/such/train.csv", ClassifyBy("l"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), "no/such/train.csv"));
}

// Every malformed input: the exact message, with file:line:column.
struct BadCsv {
  const char* name;
  const char* text;
  const char* label;  // nullptr: no labels
  int64_t num_classes;
  const char* message;
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const BadCsv& bad, std::ostream* os) {
  *os << bad.name;
}

class DataCsvErrorTest : public ::testing::TestWithParam<BadCsv> {};

TEST_P(DataCsvErrorTest, ReportsWhereAndWhat) {
  const BadCsv& bad = GetParam();
  CsvOptions options;
  if (bad.label != nullptr) options.label_columns = {bad.label};
  options.num_classes = bad.num_classes;
  auto ds = ParseCsv(bad.text, "data/train.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(ds.status().message()), bad.message);
}

INSTANTIATE_TEST_SUITE_P(
    AllErrors, DataCsvErrorTest,
    ::testing::Values(
        BadCsv{"RaggedRowShort", "a,b,l\n1,2,0\n3,4\n", "l", 0,
               "data/train.csv:3: expected 3 fields, got 2 (as many as the header has)"},
        BadCsv{"RaggedRowLong", "a,b,l\n1,2,0,9\n", "l", 0,
               "data/train.csv:2: expected 3 fields, got 4 (as many as the header has)"},
        BadCsv{"NonNumericCell", "a,b,l\n1,2,0\n1,abc,0\n", "l", 0,
               "data/train.csv:3:2: expected a number in column \"b\", got \"abc\"; if the "
               "column holds categories, add a one_hot (or ordinal) step for feature 1 to the "
               "job's data.preprocessing, e.g. {\"one_hot\": {\"columns\": [1]}}"},
        BadCsv{"TrailingGarbage", "a,l\n1.5x,0\n", "l", 0,
               "data/train.csv:2:1: expected a number in column \"a\", got \"1.5x\"; if the "
               "column holds categories, add a one_hot (or ordinal) step for feature 0 to the "
               "job's data.preprocessing, e.g. {\"one_hot\": {\"columns\": [0]}}"},
        BadCsv{"MissingValue", "a,b,l\n1,,0\n", "l", 0,
               "data/train.csv:2:2: missing value in column \"b\" (\"\"); fill it in, or add "
               "an impute step for feature 1 to the job's data.preprocessing, e.g. {\"impute\": "
               "{\"strategy\": \"MEDIAN\", \"columns\": [1]}}"},
        BadCsv{"MissingLabel", "a,l\n1,\n", "l", 0,
               "data/train.csv:2:2: missing value in column \"l\" (\"\"); a label must be given "
               "in every row: drop the row or fill the label in"},
        BadCsv{"MissingToken", "a,l\n1,0\nnan,1\n", "l", 0,
               "data/train.csv:3:1: missing value in column \"a\" (\"nan\"); fill it in, or "
               "add an impute step for feature 0 to the job's data.preprocessing, e.g. "
               "{\"impute\": {\"strategy\": \"MEDIAN\", \"columns\": [0]}}"},
        BadCsv{"NotAFiniteNumber", "a,l\n1,0\ninf,1\n", "l", 0,
               "data/train.csv:3:1: expected a finite number in column \"a\", got \"inf\""},
        BadCsv{"LabelOutOfRange", "a,l\n1,0\n2,3\n", "l", 3,
               "data/train.csv:3:2: label 3 is out of range [0, 3) (num_classes = 3)"},
        BadCsv{"NegativeLabel", "a,l\n1,-1\n", "l", 0,
               "data/train.csv:2:2: class ids must be non-negative, got -1"},
        BadCsv{"TooManyStringClasses", "a,l\n1,x\n2,y\n3,z\n", "l", 2,
               "data/train.csv: the label column has 3 distinct labels (\"x\", \"y\", \"z\") but "
               "num_classes is 2"},
        BadCsv{"UnknownLabelColumn", "sepal,petal,species\n1,2,a\n", "specis", 0,
               "data/train.csv: no column named \"specis\" for the label; the columns are "
               "\"sepal\", \"petal\", \"species\""},
        BadCsv{"UnterminatedQuote", "a,l\n1,\"open\n2,3\n", "l", 0,
               "data/train.csv:2:2: unterminated quoted field: no closing '\"' before the end of "
               "the file"},
        BadCsv{"TextAfterClosingQuote", "a,l\n\"1\"2,0\n", "l", 0,
               "data/train.csv:2:1: expected a delimiter or the end of the line after a closing "
               "quote, got '2'"},
        BadCsv{"EmptyFile", "", "l", 0,
               "data/train.csv: the file is empty (expected a header row)"},
        BadCsv{"HeaderOnly", "a,l\n", "l", 0, "data/train.csv: no data rows after the header"},
        BadCsv{"OnlyLabelColumn", "l\n1\n", "l", 0, "data/train.csv: no feature columns are left"}),
    [](const ::testing::TestParamInfo<BadCsv>& info) { return std::string(info.param.name); });

TEST(DataCsvTest, ColumnOptionErrors) {
  CsvOptions options = ClassifyBy(7);
  auto ds = ParseCsv("a,l\n1,0\n", "o.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(std::string(ds.status().message()),
            "o.csv: label column index 7 is out of range: the file has 2 columns (indices are "
            "0-based; -1 is the last)");

  options = ClassifyBy("l");
  options.has_header = false;
  ds = ParseCsv("1,0\n", "o.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(
      data_testing::Contains(ds.status().message(), "chosen by name, but the file has no header"));

  options = ClassifyBy("a");
  ds = ParseCsv("a,a,l\n1,2,0\n", "o.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), "ambiguous"));

  options = CsvOptions();
  options.label_columns = {"a", "l"};  // classification takes one
  ds = ParseCsv("a,b,l\n1,2,0\n", "o.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(
      data_testing::Contains(ds.status().message(), "classification takes one label column"));

  options = ClassifyBy("l");
  options.delimiter = '"';
  ds = ParseCsv("a,l\n1,0\n", "o.csv", options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), "invalid delimiter"));
}

TEST(DataCsvTest, LongCellsAreCutInMessages) {
  const std::string cell(100, 'z');
  auto ds = ParseCsv("a,l\n" + cell + ",0\n", "o.csv", ClassifyBy("l"));
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(
      data_testing::Contains(ds.status().message(), "got \"" + std::string(40, 'z') + "...\""));
}

}  // namespace
}  // namespace hearth
