// Train -> eval -> predict through the `hearth` binary on the example jobs: linear regression
// (fits y to r2 > 0.99), logistic regression with string labels (predict prints the label
// strings), and k-means (cluster ids, inertia); what a run directory holds afterwards; inspect.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CommandResult;
using testing::Json;
using testing::ParseJson;
using testing::RunHearth;
using testing::SplitLines;
using testing::TempDir;

// `hearth train JOB --out RUN --json`; returns the report (an empty object on failure).
Json TrainJob(const std::string& job, const std::string& run) {
  const CommandResult r = RunHearth({"train", job, "--out", run, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::optional<Json> report = ParseJson(r.out);
  EXPECT_TRUE(report.has_value()) << r.out;
  return report.value_or(Json());
}

// `hearth eval CKPT --data FILE --json` -> its "metrics" object.
Json EvalMetrics(const std::string& checkpoint, const std::string& data) {
  const CommandResult r = RunHearth({"eval", checkpoint, "--data", data, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::optional<Json> report = ParseJson(r.out);
  EXPECT_TRUE(report.has_value()) << r.out;
  return report ? (*report)["metrics"] : Json();
}

// The CSV's rows split into fields, without the header.
std::vector<std::vector<std::string>> CsvRows(const std::string& text, std::string* header) {
  std::vector<std::string> lines = SplitLines(text);
  std::vector<std::vector<std::string>> rows;
  if (lines.empty()) return rows;
  *header = lines[0];
  for (size_t i = 1; i < lines.size(); ++i) rows.push_back(absl::StrSplit(lines[i], ','));
  return rows;
}

double ToDouble(const std::string& s) {
  double v = std::nan("");
  EXPECT_TRUE(absl::SimpleAtod(s, &v)) << "not a number: " << s;
  return v;
}

// metrics.jsonl, curves.svg and checkpoints.json as a finished run leaves them.
void ExpectCompleteRunDirectory(const std::string& run, int epochs) {
  int step_records = 0, epoch_records = 0;
  for (const std::string& line : SplitLines(testing::ReadFileOrEmpty(run + "/metrics.jsonl"))) {
    std::optional<Json> record = ParseJson(line);
    ASSERT_TRUE(record && record->is_object()) << "metrics.jsonl line is not an object: " << line;
    const std::string type = (*record)["type"].string;
    EXPECT_TRUE(type == "step" || type == "epoch") << line;
    step_records += type == "step";
    epoch_records += type == "epoch";
    EXPECT_EQ((*record)["step"].type, Json::Type::kNumber) << line;
  }
  EXPECT_GT(step_records, 0);
  EXPECT_EQ(epoch_records, epochs);

  const std::string svg = testing::ReadFileOrEmpty(run + "/curves.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos) << "curves.svg: " << svg.substr(0, 200);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);

  std::optional<Json> index = testing::ReadCheckpointIndex(run);
  ASSERT_TRUE(index.has_value()) << "checkpoints.json is missing or not JSON";
  EXPECT_TRUE(std::filesystem::exists(run + "/" + (*index)["latest"].string));
  ASSERT_FALSE((*index)["checkpoints"].array.empty());
  for (const Json& record : (*index)["checkpoints"].array) {
    const std::string path = run + "/" + record["file"].string;
    EXPECT_TRUE(TrainedModel::Load(path).ok()) << path;
  }
}

TEST(TrainRoundTripTest, LinearRegressionFitsAndPredictsTheTargets) {
  TempDir tmp;
  const std::string run = tmp.file("run");
  const std::string data = "examples/data/linear_regression.csv";
  const Json report = TrainJob("examples/jobs/linear_regression.json", run);
  EXPECT_GT(report["validation_metrics"]["r2"].number, 0.99);
  const std::string checkpoint = report["checkpoint"].string;
  ASSERT_FALSE(checkpoint.empty());
  ExpectCompleteRunDirectory(run, 40);

  const Json metrics = EvalMetrics(checkpoint, data);
  EXPECT_GT(metrics["r2"].number, 0.99);
  EXPECT_LT(metrics["mse"].number, 0.05);

  // Predictions against the y column: the CSV may carry the label column, which is ignored.
  const CommandResult r = RunHearth({"predict", checkpoint, "--input", data});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string header, data_header;
  const auto predictions = CsvRows(r.out, &header);
  const auto truth = CsvRows(testing::ReadFileOrEmpty(data), &data_header);
  EXPECT_EQ(header, "prediction");
  ASSERT_EQ(data_header, "x1,x2,y");
  ASSERT_EQ(predictions.size(), truth.size());
  ASSERT_EQ(predictions.size(), 200u);
  double abs_error = 0;
  for (size_t i = 0; i < truth.size(); ++i)
    abs_error += std::abs(ToDouble(predictions[i].at(0)) - ToDouble(truth[i].at(2)));
  EXPECT_LT(abs_error / truth.size(), 0.2);

  // Without the label column, the same numbers.
  std::string features_only = "x1,x2\n";
  for (const auto& row : truth) features_only += row[0] + "," + row[1] + "\n";
  testing::WriteFileOrFail(tmp.file("features.csv"), features_only);
  const CommandResult r2 = RunHearth({"predict", checkpoint, "--input", tmp.file("features.csv")});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(r2.out, r.out);

  const CommandResult inspect = RunHearth({"inspect", checkpoint, "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  std::optional<Json> o = ParseJson(inspect.out);
  ASSERT_TRUE(o.has_value()) << inspect.out;
  EXPECT_EQ((*o)["metadata"]["step"].string, "400");
  std::set<std::string> names;
  for (const Json& t : (*o)["tensors"].array) names.insert(t["name"].string);
  EXPECT_TRUE(names.count("0.weight") && names.count("0.bias")) << inspect.out;
  EXPECT_TRUE(testing::Contains((*o)["model"].string, "REGRESSION"));
}

TEST(TrainRoundTripTest, LogisticRegressionPredictsTheOriginalLabelStrings) {
  TempDir tmp;
  const std::string run = tmp.file("run");
  const std::string data = "examples/data/logistic_regression.csv";
  const Json report = TrainJob("examples/jobs/logistic_regression.json", run);
  const std::string checkpoint = report["checkpoint"].string;
  ASSERT_FALSE(checkpoint.empty());
  EXPECT_GT(report["validation_metrics"]["accuracy"].number, 0.85);
  EXPECT_EQ(report["validation_metrics"]["f1_macro"].type, Json::Type::kNumber);
  EXPECT_GT(EvalMetrics(checkpoint, data)["accuracy"].number, 0.85);

  const CommandResult r = RunHearth({"predict", checkpoint, "--input", data});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string header, data_header;
  const auto predictions = CsvRows(r.out, &header);
  const auto truth = CsvRows(testing::ReadFileOrEmpty(data), &data_header);
  EXPECT_EQ(header, "class,p_no,p_yes");
  ASSERT_EQ(predictions.size(), truth.size());
  int correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const auto& p = predictions[i];
    ASSERT_EQ(p.size(), 3u) << r.out;
    EXPECT_TRUE(p[0] == "no" || p[0] == "yes") << "row " << i << ": " << p[0];
    const double p_no = ToDouble(p[1]), p_yes = ToDouble(p[2]);
    EXPECT_NEAR(p_no + p_yes, 1.0, 1e-5);
    EXPECT_EQ(p[0], p_yes > p_no ? "yes" : "no");
    correct += p[0] == truth[i].at(2);
  }
  EXPECT_GT(correct, 0.85 * truth.size());

  // --json: one object per example, with the label.
  const CommandResult j = RunHearth({"predict", checkpoint, "--input", data, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const std::vector<std::string> lines = SplitLines(j.out);
  ASSERT_EQ(lines.size(), truth.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    std::optional<Json> o = ParseJson(lines[i]);
    ASSERT_TRUE(o.has_value()) << lines[i];
    EXPECT_EQ((*o)["label"].string, predictions[i][0]);
    EXPECT_EQ((*o)["probabilities"].array.size(), 2u);
  }
}

TEST(TrainRoundTripTest, KMeansPredictsClusterIdsAndReportsInertia) {
  TempDir tmp;
  const std::string run = tmp.file("run");
  const std::string data = "examples/data/blobs.csv";
  const Json report = TrainJob("examples/jobs/kmeans.json", run);
  const std::string checkpoint = report["checkpoint"].string;
  ASSERT_FALSE(checkpoint.empty());
  EXPECT_GT(report["validation_metrics"]["inertia"].number, 0);
  EXPECT_GT(report["validation_metrics"]["silhouette"].number, 0.5);  // three clear blobs

  const Json metrics = EvalMetrics(checkpoint, data);
  EXPECT_NEAR(metrics["inertia"].number, report["validation_metrics"]["inertia"].number,
              1e-6 * report["validation_metrics"]["inertia"].number);

  const CommandResult r = RunHearth({"predict", checkpoint, "--input", data});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string header;
  const auto predictions = CsvRows(r.out, &header);
  EXPECT_EQ(header, "cluster");
  ASSERT_EQ(predictions.size(), 300u);
  std::set<std::string> clusters;
  for (const auto& p : predictions) clusters.insert(p.at(0));
  EXPECT_EQ(clusters, (std::set<std::string>{"0", "1", "2"}));
}

}  // namespace
}  // namespace hearth
