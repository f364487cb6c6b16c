// The loss, optimizer, defaults and data readers a spec resolves to.
#include <gtest/gtest.h>

#include <cmath>

#include "hearth/job.h"
#include "hearth/loss.h"
#include "job_test_util.h"

namespace hearth {
namespace {

using testing::Contains;
using testing::kCnnSpec;
using testing::kKMeansSpec;
using testing::kRegressionSpec;
using testing::SourceDir;
using testing::SpecFromJson;

TEST(EffectiveLoss, DefaultsByTask) {
  EXPECT_EQ(EffectiveLoss(SpecFromJson(kCnnSpec)), v1::CROSS_ENTROPY);
  EXPECT_EQ(EffectiveLoss(SpecFromJson(kRegressionSpec)), v1::MSE);
  EXPECT_EQ(EffectiveLoss(SpecFromJson(kKMeansSpec)), v1::LOSS_TYPE_UNSPECIFIED);
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  spec.mutable_loss()->set_type(v1::HUBER);
  EXPECT_EQ(EffectiveLoss(spec), v1::HUBER);
}

TEST(MakeLossFn, RegressionLossesMatchTheLossModule) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  const Tensor p = Tensor::FromVector({1.0f, 2.0f, 5.0f}, Shape{3, 1});
  const Tensor y = Tensor::FromVector({1.5f, 2.0f, 2.0f});  // [N] labels against [N, 1] outputs
  StatusOr<LossFn> mse = MakeLossFn(spec);
  ASSERT_TRUE(mse.ok()) << mse.status();
  EXPECT_FLOAT_EQ((*mse)(p, y).item(), (0.25f + 0.0f + 9.0f) / 3);
  spec.mutable_loss()->set_type(v1::HUBER);
  spec.mutable_loss()->set_delta(2.0);
  StatusOr<LossFn> huber = MakeLossFn(spec);
  ASSERT_TRUE(huber.ok()) << huber.status();
  EXPECT_FLOAT_EQ((*huber)(p, y).item(), huber_loss(p, y, 2.0f).item());
  spec.mutable_loss()->set_type(v1::MAE);
  spec.mutable_loss()->clear_delta();
  EXPECT_FLOAT_EQ((*MakeLossFn(spec))(p, y).item(), (0.5f + 0.0f + 3.0f) / 3);
}

TEST(MakeLossFn, BinaryCrossEntropyTakesClassIds) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_loss()->set_type(v1::BINARY_CROSS_ENTROPY);
  StatusOr<LossFn> loss = MakeLossFn(spec);
  ASSERT_TRUE(loss.ok()) << loss.status();
  const Tensor logits = Tensor::FromVector({0.3f, -1.2f}, Shape{2, 1});
  const Tensor ids = Tensor::FromInt64({1, 0}, Shape{2});
  EXPECT_FLOAT_EQ(
      (*loss)(logits, ids).item(),
      binary_cross_entropy_with_logits(logits, Tensor::FromVector({1.0f, 0.0f})).item());
}

TEST(MakeLossFn, CrossEntropy) {
  StatusOr<LossFn> loss = MakeLossFn(SpecFromJson(kCnnSpec));
  ASSERT_TRUE(loss.ok());
  const Tensor logits = Tensor::FromVector({2.0f, 0.0f, 0.0f, 0.0f}, Shape{2, 2});
  const Tensor ids = Tensor::FromInt64({0, 1}, Shape{2});
  const float expected = (std::log(1.0f + std::exp(-2.0f)) + std::log(1.0f + std::exp(0.0f))) / 2;
  EXPECT_NEAR((*loss)(logits, ids).item(), expected, 1e-6);
}

TEST(MakeLossFn, ErrorsForClusteringAndBadSections) {
  EXPECT_TRUE(absl::IsInvalidArgument(MakeLossFn(SpecFromJson(kKMeansSpec)).status()));
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_loss()->set_type(v1::MSE);
  EXPECT_TRUE(Contains(MakeLossFn(spec).status().message(), "loss.type: MSE is a regression loss"));
}

TEST(MakeOptimizerFromSpec, BuildsTheConfiguredOptimizer) {
  StatusOr<std::unique_ptr<Optimizer>> opt = MakeOptimizerFromSpec(SpecFromJson(kCnnSpec));
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_STREQ((*opt)->name(), "sgd");
  const auto* sgd = dynamic_cast<const SGD*>(opt->get());
  ASSERT_NE(sgd, nullptr);
  EXPECT_DOUBLE_EQ(sgd->options().momentum, 0.9);
  EXPECT_DOUBLE_EQ((*opt)->learning_rate(), 0.05);

  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_optimizer()->set_momentum(2);
  EXPECT_EQ(MakeOptimizerFromSpec(spec).status().message(),
            "optimizer.momentum: must be in [0, 1), got 2");
}

TEST(MakeOptimizerFromSpec, WarmupScheduleApplies) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_schedule()->set_warmup_steps(10);
  StatusOr<std::unique_ptr<Optimizer>> opt = MakeOptimizerFromSpec(spec);
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_DOUBLE_EQ((*opt)->learning_rate(), 0.0);  // warm-up starts at factor 0
}

TEST(MakeOptimizerFromSpec, CosineWithoutTotalStepsSpansTheRun) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.mutable_schedule()->set_name("cosine");
  EXPECT_TRUE(
      Contains(MakeOptimizerFromSpec(spec).status().message(), "schedule.total_steps: not given"));
  StatusOr<std::unique_ptr<Optimizer>> opt = MakeOptimizerFromSpec(spec, 100);
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_DOUBLE_EQ((*opt)->learning_rate(), 0.05);
}

TEST(MakeOptimizerFromSpec, ClusteringHasNone) {
  EXPECT_TRUE(absl::IsInvalidArgument(MakeOptimizerFromSpec(SpecFromJson(kKMeansSpec)).status()));
}

TEST(ToOptimizerConfig, UnsetFieldsKeepTheDefaults) {
  const OptimizerConfig defaults;
  const OptimizerConfig c = ToOptimizerConfig(v1::OptimizerSpec());
  EXPECT_EQ(c.name, defaults.name);
  EXPECT_EQ(c.lr, defaults.lr);
  EXPECT_FALSE(c.weight_decay.has_value());
  v1::OptimizerSpec s;
  s.set_name("adamw");
  s.set_weight_decay(0);
  s.set_beta1(0.8);
  const OptimizerConfig d = ToOptimizerConfig(s);
  EXPECT_EQ(d.name, "adamw");
  EXPECT_EQ(d.weight_decay, 0.0);
  EXPECT_EQ(d.beta1, 0.8);
  EXPECT_EQ(ToScheduleConfig(v1::ScheduleSpec()).name, "constant");
}

TEST(MetricNames, DefaultsByTask) {
  EXPECT_EQ(MetricNames(SpecFromJson(kCnnSpec)),
            (std::vector<std::string>{"accuracy", "log_loss"}));
  EXPECT_EQ(MetricNames(SpecFromJson(kRegressionSpec)),
            (std::vector<std::string>{"mse", "mae", "r2"}));
  EXPECT_EQ(MetricNames(SpecFromJson(kKMeansSpec)),
            (std::vector<std::string>{"inertia", "silhouette"}));
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  spec.add_metrics("f1_macro");
  EXPECT_EQ(MetricNames(spec), (std::vector<std::string>{"f1_macro"}));
}

TEST(ResolveMonitorMode, InfersTheDirection) {
  EXPECT_EQ(ResolveMonitorMode("val_loss", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMin);
  EXPECT_EQ(ResolveMonitorMode("val_accuracy", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMax);
  EXPECT_EQ(ResolveMonitorMode("val_f1_macro", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMax);
  EXPECT_EQ(ResolveMonitorMode("val_r2", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMax);
  EXPECT_EQ(ResolveMonitorMode("val_rmse", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMin);
  EXPECT_EQ(ResolveMonitorMode("loss", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMin);
  EXPECT_EQ(ResolveMonitorMode("test_accuracy", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMax);
  EXPECT_EQ(ResolveMonitorMode("val_brier_score", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMin);
  EXPECT_EQ(ResolveMonitorMode("val_mape", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMin);
  EXPECT_EQ(ResolveMonitorMode("val_f1", v1::MONITOR_MODE_UNSPECIFIED), MetricMode::kMax);
  EXPECT_EQ(ResolveMonitorMode("val_loss", v1::MAX), MetricMode::kMax);
}

TEST(Monitors, DefaultsDependOnValidationData) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  EXPECT_EQ(CheckpointMonitor(spec), "val_loss");
  EXPECT_EQ(EarlyStoppingMonitor(spec), "val_loss");
  spec.mutable_data()->set_validation_fraction(0);
  EXPECT_EQ(CheckpointMonitor(spec), "loss");
  spec.mutable_checkpoint()->set_monitor("val_accuracy");
  spec.mutable_early_stopping()->set_monitor("loss");
  EXPECT_EQ(CheckpointMonitor(spec), "val_accuracy");
  EXPECT_EQ(EarlyStoppingMonitor(spec), "loss");
}

TEST(ResolveFormat, InfersFromTheFileName) {
  auto format = [](const char* path) {
    v1::DataSource s;
    s.set_path(path);
    return ResolveFormat(s);
  };
  EXPECT_EQ(format("data/train.csv"), v1::CSV);
  EXPECT_EQ(format("TRAIN.CSV.gz"), v1::CSV);
  EXPECT_EQ(format("x.npy"), v1::NPY);
  EXPECT_EQ(format("data/mnist/train-images-idx3-ubyte"), v1::IDX);
  EXPECT_EQ(format("train-images-idx3-ubyte.gz"), v1::IDX);
  EXPECT_EQ(format("digits.idx"), v1::IDX);
  EXPECT_EQ(format("my-ubyte-dir/train.bin"), v1::DATA_FORMAT_UNSPECIFIED);
  v1::DataSource explicit_format;
  explicit_format.set_path("a.csv");
  explicit_format.set_format(v1::NPY);
  EXPECT_EQ(ResolveFormat(explicit_format), v1::NPY);
}

TEST(ReadDataSource, ReadsTheExampleCsvs) {
  StatusOr<v1::JobSpec> spec = LoadJobSpec(SourceDir() + "/examples/jobs/logistic_regression.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  v1::DataSource train = spec->data().train();
  train.set_path(SourceDir() + "/" + train.path());
  StatusOr<Dataset> data = ReadDataSource(*spec, train);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->features.shape(), (Shape{200, 2}));
  EXPECT_EQ(data->class_names, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(ExampleShape(*data), (Shape{2}));
  EXPECT_EQ(NumOutputs(*spec, *data), 2);

  v1::JobSpec regression = SpecFromJson(kRegressionSpec);
  v1::DataSource source = regression.data().train();
  source.set_path(SourceDir() + "/examples/data/linear_regression.csv");
  data = ReadDataSource(regression, source);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->labels.shape(), (Shape{200}));
  EXPECT_EQ(NumOutputs(regression, *data), 1);

  v1::JobSpec clustering = SpecFromJson(kKMeansSpec);
  source = clustering.data().train();
  source.set_path(SourceDir() + "/examples/data/blobs.csv");
  data = ReadDataSource(clustering, source);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->features.shape(), (Shape{300, 2}));
  EXPECT_FALSE(data->labels.defined());
  EXPECT_EQ(NumOutputs(clustering, *data), 0);
}

TEST(ReadDataSource, ReaderErrorsNameTheFile) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  v1::DataSource source = spec.data().train();
  source.set_path("/nonexistent/train.csv");
  const Status status = ReadDataSource(spec, source).status();
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), "/nonexistent/train.csv"));
}

TEST(MakePreprocessor, MapsEveryStep) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  spec.mutable_data()->add_preprocessing()->mutable_scale()->set_factor(0.5);
  spec.mutable_data()->add_preprocessing()->mutable_standardize();
  spec.mutable_data()->add_preprocessing()->mutable_min_max();
  spec.mutable_data()->add_preprocessing()->mutable_one_hot()->add_columns(0);
  StatusOr<Preprocessor> pre = MakePreprocessor(spec);
  ASSERT_TRUE(pre.ok()) << pre.status();
  EXPECT_EQ(pre->Description(), "scale(0.5),standardize,minmax,onehot(0)");
  spec.mutable_data()->mutable_preprocessing(0)->mutable_scale()->set_factor(0);
  EXPECT_TRUE(Contains(MakePreprocessor(spec).status().message(), "data.preprocessing: "));
}

TEST(Workers, DefaultsToOne) {
  v1::JobSpec spec = SpecFromJson(kCnnSpec);
  EXPECT_EQ(Workers(spec), 1);
  spec.set_workers(4);
  EXPECT_EQ(Workers(spec), 4);
  EXPECT_TRUE(HasValidationData(spec));
  spec.mutable_data()->set_validation_fraction(0);
  EXPECT_FALSE(HasValidationData(spec));
}

}  // namespace
}  // namespace hearth
