// Training on a messy table (examples/jobs/messy_houses.json: empty cells and NA/null tokens, a
// category column of strings, repeated rows, an outlier): the job trains as it stands, and eval
// and predict accept the same raw rows training did. Its fit matches scikit-learn's pipeline of
// SimpleImputer(most_frequent) + OneHotEncoder(handle_unknown="ignore") for the neighborhood,
// SimpleImputer(median, add_indicator), 1%/99% clipping, RobustScaler and LinearRegression on
// the deduplicated rows, which scores r2 0.8977 on every row.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "absl/strings/match.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "run/job_data.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

TEST(MessyDataTest, TheExampleTrainsAndPredictsFromRawRows) {
  StatusOr<v1::JobSpec> spec = LoadJobSpec("examples/jobs/messy_houses.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  // 305 rows, 5 of them repeats: 300 left, 60 of them for validation.
  StatusOr<run::JobData> data = run::LoadJobData(*spec);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->duplicates_removed, 5);
  EXPECT_EQ(data->train_size + data->validation_size, 300);
  // Four numbers, five neighborhoods one-hot, then three indicators (each imputed number column
  // had gaps).
  EXPECT_EQ(data->example_shape, (Shape{12}));
  EXPECT_EQ(
      data->train.feature_categories[4],
      (std::vector<std::string>{"Docklands", "Hillcrest", "Meadowbrook", "Old Town", "Riverside"}));

  const std::string dir =
      std::filesystem::temp_directory_path() / ("hearth-messy-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  StatusOr<TrainResult> trained = testing::TrainQuietly(*spec, dir, false);
  ASSERT_TRUE(trained.ok()) << trained.status();
  StatusOr<std::unique_ptr<TrainedModel>> model = TrainedModel::Load(trained->checkpoint);
  ASSERT_TRUE(model.ok()) << model.status();
  StatusOr<Dataset> all = (*model)->ReadData("examples/data/messy_houses.csv");
  ASSERT_TRUE(all.ok()) << all.status();
  StatusOr<MetricResults> metrics = (*model)->Evaluate(*all);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  double r2 = NAN;
  for (const auto& [name, value] : *metrics)
    if (name == "r2") r2 = value;
  EXPECT_GT(r2, 0.87) << "scikit-learn's closed-form fit of the same pipeline scores 0.898";

  // Missing cells where training had them are filled as in training.
  const std::string rows = dir + "/rows.csv";
  // A neighborhood training never saw is "unknown": none of its one-hot columns is set.
  testing::WriteFileOrFail(rows,
                           "sqft,bedrooms,age_years,distance_km,neighborhood\n"
                           "1500,,NA,5,Hillcrest\n1500,3,40,null,\n1500,3,40,5,Atlantis\n");
  StatusOr<Tensor> features = (*model)->ReadFeatures(rows);
  ASSERT_TRUE(features.ok()) << features.status();
  StatusOr<std::vector<TrainedModel::Prediction>> predicted = (*model)->Predict(*features);
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  ASSERT_EQ(predicted->size(), 3u);
  for (const auto& p : *predicted) EXPECT_TRUE(std::isfinite(p.values[0]));
  // Hillcrest is the dearest neighborhood (+40k in the data), an unknown one gets no bonus.
  EXPECT_GT((*predicted)[0].values[0], (*predicted)[2].values[0]);
  // sqft had no gaps in training and has no impute step: a gap there names the step to add.
  testing::WriteFileOrFail(rows, "sqft,bedrooms,age_years,distance_km,neighborhood\n,3,40,5,x\n");
  const StatusOr<Tensor> refused = (*model)->ReadFeatures(rows);
  EXPECT_TRUE(absl::StrContains(refused.status().message(),
                                "rows.csv:2:1: missing value in column \"sqft\""))
      << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "add an impute step for feature 0"))
      << refused.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hearth
