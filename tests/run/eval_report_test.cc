// The evaluation report against scikit-learn 1.2.1 (python3-sklearn) on the same model outputs;
// the reference values were computed on softmax / sigmoid of the float32 logits below with
//   accuracy_score, precision/recall/f1_score(average="macro"|"weighted"|"binary"),
//   log_loss, brier_score_loss, roc_auc_score(multi_class="ovr"),
//   average_precision_score(label_binarize(y)), precision_recall_fscore_support,
//   confusion_matrix, calibration_curve(n_bins=10), median_absolute_error
// and are stored here, so the suite needs no Python. Then a training run's test report, and the
// files `hearth eval` writes.
#include "run/eval_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "run/report_files.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

constexpr double kTol = 1e-6;

std::map<std::string, double> MetricsOf(const v1::EvaluationReport& report) {
  std::map<std::string, double> out;
  for (const v1::Metric& m : report.metrics()) out[m.name()] = m.value();
  return out;
}

v1::JobSpec SpecFor(v1::Task task, const std::string& metrics) {
  return testing::MustParseSpec(absl::StrCat(R"({"name": "report", "task": ")", v1::Task_Name(task),
                                             R"(",
        "data": {"train": {"path": "unused.csv", "label_column": "y"}},
        "model": {"layers": [{"dense": {"units": 1}}]}, "global_batch_size": 4, "epochs": 1,
        "metrics": )",
                                             metrics, "}"));
}

// Feeds rows in uneven batches, as an evaluation does.
void FeedInBatches(run::ReportCollector& c, const std::vector<float>& outputs, int64_t width,
                   const Tensor& labels) {
  const int64_t n = labels.dim(0);
  for (int64_t b = 0; b < n; b += 7) {
    const int64_t e = std::min(n, b + 7);
    std::vector<float> rows(outputs.begin() + b * width, outputs.begin() + e * width);
    std::vector<int64_t> ids;
    std::vector<float> targets;
    const int64_t label_width = labels.rank() == 2 ? labels.dim(1) : 1;
    for (int64_t i = b * label_width; i < e * label_width; ++i) {
      if (labels.dtype() == DType::kInt64)
        ids.push_back(labels.i64()[i]);
      else
        targets.push_back(labels.f32()[i]);
    }
    const Tensor y = labels.dtype() == DType::kInt64
                         ? Tensor::FromInt64(ids, Shape{e - b})
                         : Tensor::FromVector(targets, Shape{e - b, label_width});
    ASSERT_TRUE(c.Add(Tensor::FromVector(rows, Shape{e - b, width}), y).ok());
  }
}

const std::vector<int64_t> kY3 = {2, 2, 0, 2, 1, 1, 1, 0, 2, 0, 0, 1, 1, 1, 0,
                                  0, 0, 0, 0, 2, 0, 1, 2, 0, 0, 1, 0, 2, 0, 2};
const std::vector<float> kL3 = {
    -1.7321, -0.0837, -0.3632, -0.6293, -0.488,  0.0867,  1.3534,  -0.0631, -0.5894, 0.4096,
    0.8299,  -0.843,  -0.2567, -0.1807, -0.1732, -1.2894, 0.8207,  -0.0379, -0.3043, -0.2479,
    -0.3962, -0.2913, -1.3552, 0.2248,  -1.1093, 1.1703,  1.5166,  -1.1978, 0.2721,  -1.1017,
    0.8331,  0.0436,  -1.9884, -0.2334, 0.5442,  0.962,   -1.1814, 1.538,   -1.099,  -0.3313,
    -0.0405, 1.4487,  1.3682,  2.4317,  0.6419,  1.645,   0.8407,  -0.6066, 0.73,    1.3504,
    -0.3966, 0.9888,  -0.0212, 0.6092,  0.4351,  -0.1524, 0.2424,  0.103,   -0.865,  1.6958,
    -0.4985, -1.2011, -1.2825, 0.967,   0.4394,  -0.971,  -1.136,  0.4211,  -0.2548, -0.4721,
    0.614,   -1.1967, 0.4776,  -0.0068, -0.4453, -0.0541, 2.1388,  -0.5169, -0.4593, -1.8367,
    -0.2048, -0.3523, 0.2651,  0.3358,  0.3214,  -0.7213, -0.5198, 0.1602,  -0.3804, 0.9004};

TEST(EvalReportTest, ThreeClassesMatchScikitLearn) {
  run::ReportCollector collector;
  FeedInBatches(collector, kL3, 3, Tensor::FromInt64(kY3, Shape{30}));
  StatusOr<v1::EvaluationReport> report =
      collector.Build(SpecFor(v1::CLASSIFICATION, R"(["accuracy"])"), 3, {"ant", "bee", "cat"},
                      {{"accuracy", 0.5}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->examples(), 30);
  // The job's own metric comes first, as given; then the rest of the task's.
  EXPECT_EQ(report->metrics(0).name(), "accuracy");
  EXPECT_EQ(report->metrics(0).value(), 0.5);
  std::map<std::string, double> m = MetricsOf(*report);
  const std::map<std::string, double> want = {
      {"precision_macro", 0.5841750841750842}, {"recall_macro", 0.5654761904761905},
      {"f1_macro", 0.5574201203491821},        {"precision_weighted", 0.6451178451178451},
      {"recall_weighted", 0.5666666666666667}, {"f1_weighted", 0.5850665310619545},
      {"log_loss", 0.9005588594811567},        {"roc_auc", 0.7690746753246752},
      {"pr_auc", 0.6592803248512835}};
  for (const auto& [name, value] : want) {
    ASSERT_TRUE(m.count(name)) << name;
    EXPECT_NEAR(m[name], value, kTol) << name;
  }
  // Binary metrics have no meaning for three classes: left out, not failed.
  EXPECT_EQ(m.count("precision"), 0u);
  EXPECT_EQ(m.count("brier_score"), 0u);

  const std::vector<double> precision = {0.8888888888888888, 0.36363636363636365, 0.5};
  const std::vector<double> recall = {0.5714285714285714, 0.5, 0.625};
  const std::vector<double> f1 = {0.6956521739130435, 0.4210526315789474, 0.5555555555555556};
  const std::vector<int64_t> support = {14, 8, 8};
  const std::vector<double> roc = {0.8526785714285714, 0.6761363636363636, 0.7784090909090908};
  const std::vector<double> ap = {0.8317264293768052, 0.5387534340659341, 0.6073611111111111};
  ASSERT_EQ(report->classes_size(), 3);
  for (int c = 0; c < 3; ++c) {
    const v1::ClassScores& row = report->classes(c);
    EXPECT_EQ(row.name(), std::vector<std::string>({"ant", "bee", "cat"})[c]);
    EXPECT_NEAR(row.precision(), precision[c], kTol);
    EXPECT_NEAR(row.recall(), recall[c], kTol);
    EXPECT_NEAR(row.f1(), f1[c], kTol);
    EXPECT_EQ(row.support(), support[c]);
    EXPECT_NEAR(row.roc_auc(), roc[c], kTol);
    EXPECT_NEAR(row.pr_auc(), ap[c], kTol);
    EXPECT_NEAR(report->roc_curves(c).area(), roc[c], kTol);
    EXPECT_NEAR(report->pr_curves(c).area(), ap[c], kTol);
  }
  const std::vector<int64_t> cm = {8, 4, 2, 1, 4, 3, 0, 3, 5};
  EXPECT_EQ(std::vector<int64_t>(report->confusion_matrix().counts().begin(),
                                 report->confusion_matrix().counts().end()),
            cm);
  // Reliability of the top class's probability against being right.
  const std::vector<double> fraction = {0.5, 1.0, 0.3333333333333333, 0.5, 0.6666666666666666, 1.0};
  const std::vector<double> mean = {0.34978354614160395, 0.46063629687086466, 0.5478710536402294,
                                    0.6589560707831974,  0.7399061379675521,  0.8626325949118726};
  ASSERT_EQ(report->reliability_size(), 6);
  for (int b = 0; b < 6; ++b) {
    EXPECT_NEAR(report->reliability(b).fraction_positive(), fraction[b], kTol);
    EXPECT_NEAR(report->reliability(b).mean_predicted(), mean[b], kTol);
  }
}

TEST(EvalReportTest, OneLogitBinaryMatchesScikitLearn) {
  const std::vector<int64_t> y = {1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0};
  const std::vector<float> z = {-0.243, -0.702, 1.819,  0.425,  1.171,  1.126,  -0.465,
                                1.008,  0.444,  -1.809, -1.776, -0.765, -0.316, -1.282,
                                0.804,  -0.028, 1.047,  0.119,  1.211,  -0.262};
  run::ReportCollector collector;
  FeedInBatches(collector, z, 1, Tensor::FromInt64(y, Shape{20}));
  StatusOr<v1::EvaluationReport> report =
      collector.Build(SpecFor(v1::CLASSIFICATION, R"(["log_loss"])"), 1, {}, {});
  ASSERT_TRUE(report.ok()) << report.status();
  std::map<std::string, double> m = MetricsOf(*report);
  const std::map<std::string, double> want = {{"accuracy", 0.8},
                                              {"precision", 0.8},
                                              {"recall", 0.8},
                                              {"f1", 0.8000000000000002},
                                              {"log_loss", 0.4866248570134597},
                                              {"brier_score", 0.15612109076016584},
                                              {"roc_auc", 0.87},
                                              {"pr_auc", 0.8671031746031745}};
  for (const auto& [name, value] : want) {
    ASSERT_TRUE(m.count(name)) << name;
    EXPECT_NEAR(m[name], value, kTol) << name;
  }
  // One curve, of the positive class; classes named by their ids.
  ASSERT_EQ(report->roc_curves_size(), 1);
  EXPECT_EQ(report->roc_curves(0).name(), "1");
  EXPECT_NEAR(report->roc_curves(0).area(), 0.87, kTol);
  EXPECT_EQ(report->reliability_of(), "p(1)");
  const std::vector<double> fraction = {0.0, 0.0, 0.3333333333333333, 0.25, 0.0, 1.0, 0.8, 1.0};
  const std::vector<double> mean = {0.1427783898333762, 0.21720998089359278, 0.34491033458775044,
                                    0.4472676624474302, 0.5297149428484286,  0.6349067663742132,
                                    0.7523457002536249, 0.8604460923867384};
  ASSERT_EQ(report->reliability_size(), 8);
  for (int b = 0; b < 8; ++b) {
    EXPECT_NEAR(report->reliability(b).fraction_positive(), fraction[b], kTol);
    EXPECT_NEAR(report->reliability(b).mean_predicted(), mean[b], kTol);
  }
}

TEST(EvalReportTest, RegressionHasTheMedianAbsoluteErrorAndResiduals) {
  const std::vector<float> actual = {0.699,  0.069,  0.121, -0.687, -0.002, 0.435,
                                     -1.911, -1.61,  1.085, 0.843,  -0.507, -1.02,
                                     -0.186, -1.194, -0.34, 1.651,  0.132,  1.166};
  const std::vector<float> predicted = {0.588,  0.254,  0.814,  -1.355, -0.176, 0.357,
                                        -1.77,  -0.833, 1.428,  0.094,  -0.642, -1.467,
                                        -0.646, -0.182, -0.871, 1.769,  -0.226, 1.596};
  run::ReportCollector collector;
  FeedInBatches(collector, predicted, 2, Tensor::FromVector(actual, Shape{9, 2}));
  StatusOr<v1::EvaluationReport> report =
      collector.Build(SpecFor(v1::REGRESSION, R"(["mse"])"), 2, {}, {});
  ASSERT_TRUE(report.ok()) << report.status();
  std::map<std::string, double> m = MetricsOf(*report);
  EXPECT_NEAR(m["median_absolute_error"], 0.39499998092651367, kTol);
  for (const char* name : {"mse", "rmse", "mae", "r2", "mape"})
    EXPECT_EQ(m.count(name), 1u) << name;
  ASSERT_EQ(report->residuals_size(), 18);
  EXPECT_EQ(report->residuals(3).column(), 1);
  EXPECT_FLOAT_EQ(report->residuals(3).actual(), -0.687f);
  EXPECT_FLOAT_EQ(report->residuals(3).predicted(), -1.355f);
  const auto figures = run::RenderReportFigures(*report);
  ASSERT_EQ(figures.size(), 1u);
  EXPECT_EQ(figures[0].first, "residuals.svg");
  EXPECT_TRUE(absl::StrContains(figures[0].second, "<circle")) << "no points drawn";
}

TEST(EvalReportTest, ATrainingRunWritesItsTestReport) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("hearth-eval-report-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  v1::JobSpec spec = testing::MustParseSpec(R"({"name": "report", "task": "CLASSIFICATION",
    "data": {"train": {"path": "examples/data/logistic_regression.csv", "label_column": "label"},
             "test": {"path": "examples/data/logistic_regression.csv", "label_column": "label"},
             "preprocessing": [{"standardize": {}}]},
    "model": {"layers": [{"dense": {"units": 1}}]}, "loss": {"type": "BINARY_CROSS_ENTROPY"},
    "optimizer": {"name": "sgd", "lr": 0.1}, "global_batch_size": 16, "epochs": 3})");
  StatusOr<TrainResult> trained = testing::TrainQuietly(spec, dir, false);
  ASSERT_TRUE(trained.ok()) << trained.status();
  for (const char* file :
       {"report.json", "confusion_matrix.svg", "roc.svg", "pr.svg", "reliability.svg"})
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / "report" / file)) << file;

  // `hearth eval`'s report on the same data and checkpoint holds the same figures.
  StatusOr<std::unique_ptr<TrainedModel>> model = TrainedModel::Load(trained->checkpoint);
  ASSERT_TRUE(model.ok()) << model.status();
  StatusOr<Dataset> data = (*model)->ReadData("examples/data/logistic_regression.csv");
  ASSERT_TRUE(data.ok()) << data.status();
  StatusOr<v1::EvaluationReport> report = (*model)->Report(*data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->examples(), 200);
  EXPECT_EQ(report->class_names(1), "yes");
  const std::string json = run::ReportJson(*report);
  EXPECT_TRUE(absl::StrContains(json, "\"roc_auc\"")) << json.substr(0, 400);
  const std::string text = run::FormatReport(*report);
  EXPECT_TRUE(absl::StrContains(text, "confusion matrix")) << text;
  EXPECT_TRUE(absl::StrContains(text, "per class")) << text;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hearth
