// ValidateJobSpec: every error names its field path and says what to do.
#include <gtest/gtest.h>

#include "hearth/job.h"
#include "job_test_util.h"

namespace hearth {
namespace {

using testing::Contains;
using testing::kCnnSpec;
using testing::kKMeansSpec;
using testing::kRegressionSpec;
using testing::Lacks;
using testing::SpecFromJson;
using testing::ValidationMessage;

v1::JobSpec Cnn() {
  return SpecFromJson(kCnnSpec);
}

TEST(ValidateJobSpec, TheTestSpecsAreValid) {
  EXPECT_TRUE(ValidateJobSpec(Cnn()).ok()) << ValidateJobSpec(Cnn());
  EXPECT_TRUE(ValidateJobSpec(SpecFromJson(kRegressionSpec)).ok())
      << ValidateJobSpec(SpecFromJson(kRegressionSpec));
  EXPECT_TRUE(ValidateJobSpec(SpecFromJson(kKMeansSpec)).ok())
      << ValidateJobSpec(SpecFromJson(kKMeansSpec));
}

TEST(ValidateJobSpec, ConvKernelSizeHasTheExactPath) {
  v1::JobSpec spec = Cnn();
  spec.mutable_model()->mutable_layers(2)->mutable_conv2d()->set_kernel_size(0);
  const Status status = ValidateJobSpec(spec);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_EQ(status.message(), "model.layers[2].conv2d.kernel_size: must be > 0, got 0");
}

TEST(ValidateJobSpec, LayerFieldRanges) {
  v1::JobSpec spec = Cnn();
  auto* layers = spec.mutable_model()->mutable_layers();
  layers->Mutable(0)->mutable_conv2d()->set_stride(0);
  layers->Mutable(0)->mutable_conv2d()->set_padding(-1);
  layers->Mutable(1)->mutable_max_pool2d()->set_padding(2);
  layers->Mutable(5)->mutable_dense()->set_units(-4);
  layers->Mutable(6)->mutable_dropout()->set_rate(1.0);
  layers->Mutable(7)->Clear();
  const std::string m = ValidationMessage(spec);
  EXPECT_TRUE(Contains(m, "6 problems in the job spec: "));
  EXPECT_TRUE(Contains(m, "model.layers[0].conv2d.stride: must be > 0, got 0"));
  EXPECT_TRUE(Contains(m, "model.layers[0].conv2d.padding: must be >= 0, got -1"));
  EXPECT_TRUE(Contains(m,
                       "model.layers[1].max_pool2d.padding: must be in [0, kernel_size / 2] = "
                       "[0, 1], got 2"));
  EXPECT_TRUE(Contains(m, "model.layers[5].dense.units: must be > 0, got -4"));
  EXPECT_TRUE(Contains(m, "model.layers[6].dropout.rate: must be in [0, 1), got 1"));
  EXPECT_TRUE(Contains(m, "model.layers[7]: empty layer: set one of dense, conv2d"));
}

TEST(ValidateJobSpec, EmptySpecListsEveryRequiredField) {
  const std::vector<std::string> errors = JobSpecErrors(v1::JobSpec());
  const std::string all = ValidationMessage(v1::JobSpec());
  for (const char* field : {"name: required", "task: required", "data: required", "model: required",
                            "global_batch_size: must be > 0", "epochs: must be > 0"})
    EXPECT_TRUE(Contains(all, field));
  EXPECT_EQ(errors.size(), 6u) << all;
}

TEST(ValidateJobSpec, NameMustBeUsableAsADirectory) {
  v1::JobSpec spec = Cnn();
  spec.set_name("my run/1");
  EXPECT_TRUE(Contains(ValidationMessage(spec), "name: \"my run/1\" is not a valid name"));
}

TEST(ValidateJobSpec, ShapeMisfitNamesTheLayer) {
  v1::JobSpec spec = Cnn();
  // Drop the flatten: the dense layer (now layers[4]) gets [N, 16, 5, 5].
  spec.mutable_model()->mutable_layers()->DeleteSubrange(4, 1);
  EXPECT_EQ(ValidationMessage(spec),
            "model.layers[4].dense: input shape [N, 16, 5, 5] does not fit: expected [N, 400] "
            "(add a flatten layer before it)");
}

TEST(ValidateJobSpec, KernelLargerThanItsInput) {
  v1::JobSpec spec = Cnn();
  spec.mutable_model()->mutable_layers(2)->mutable_conv2d()->set_kernel_size(15);
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "model.layers[2].conv2d: input shape [N, 6, 14, 14] does not fit: expected "
                       "a padded height and width of at least 15 for the 15x15 kernel"));
}

TEST(ValidateJobSpec, ConvOnFlatInputSaysHowToFixIt) {
  v1::JobSpec spec = Cnn();
  spec.mutable_model()->clear_input_shape();
  spec.mutable_model()->add_input_shape(784);
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "model.layers[0].conv2d: input shape [N, 784] does not fit: expected [N, "
                       "C, H, W] (images need [C, H, W] examples: give model.input_shape such as "
                       "[1, 28, 28]"));
}

TEST(ValidateJobSpec, InputShapeDimensions) {
  v1::JobSpec spec = Cnn();
  spec.mutable_model()->set_input_shape(1, 0);
  EXPECT_EQ(ValidationMessage(spec), "model.input_shape[1]: must be > 0, got 0");
}

TEST(ValidateJobSpec, LossMustSuitTheTask) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  spec.mutable_loss()->set_type(v1::CROSS_ENTROPY);
  EXPECT_TRUE(
      Contains(ValidationMessage(spec),
               "loss.type: CROSS_ENTROPY needs task CLASSIFICATION, but task is REGRESSION: "
               "use MSE, MAE or HUBER"));
  spec = Cnn();
  spec.mutable_loss()->set_type(v1::MAE);
  EXPECT_EQ(ValidationMessage(spec),
            "loss.type: MAE is a regression loss, but task is CLASSIFICATION: use CROSS_ENTROPY "
            "(or BINARY_CROSS_ENTROPY for two classes)");
}

TEST(ValidateJobSpec, ClassWeightsOnlyForClassificationAndWellFormed) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  spec.mutable_loss()->set_class_weight("balanced");
  EXPECT_EQ(ValidationMessage(spec),
            "loss.class_weight: only for task CLASSIFICATION (CROSS_ENTROPY or "
            "BINARY_CROSS_ENTROPY): remove it");
  spec = Cnn();
  spec.mutable_loss()->set_class_weight("Balanced");
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.mutable_loss()->set_class_weight("even");
  EXPECT_EQ(ValidationMessage(spec),
            "loss.class_weight: \"even\" is not a weighting (expected \"balanced\", or explicit "
            "class_weights)");
  spec.mutable_loss()->set_class_weight("balanced");
  spec.mutable_loss()->add_class_weights(1.0);
  EXPECT_EQ(
      ValidationMessage(spec),
      "loss.class_weight: give class_weight \"balanced\" or explicit class_weights, not both");
  spec.mutable_loss()->clear_class_weight();
  spec.mutable_loss()->add_class_weights(-2.0);
  EXPECT_EQ(ValidationMessage(spec), "loss.class_weights[1]: must be > 0 and finite, got -2");
}

TEST(ResolveClassWeights, BalancedMatchesScikitLearn) {
  v1::JobSpec spec = Cnn();
  spec.mutable_loss()->set_class_weight("balanced");
  // compute_class_weight("balanced", classes=[0, 1, 2], y=[0, 0, 0, 0, 1, 1, 2])
  auto weights = ResolveClassWeights(spec, {4, 2, 1});
  ASSERT_TRUE(weights.ok()) << weights.status();
  ASSERT_EQ(weights->size(), 3u);
  EXPECT_NEAR((*weights)[0], 0.58333333, 1e-6);
  EXPECT_NEAR((*weights)[1], 1.16666667, 1e-6);
  EXPECT_NEAR((*weights)[2], 2.33333333, 1e-6);
  EXPECT_TRUE(Contains(ResolveClassWeights(spec, {4, 0, 1}).status().message(),
                       "class 1 has none; give explicit class_weights"));
  spec.mutable_loss()->clear_class_weight();
  spec.mutable_loss()->add_class_weights(1.0);
  spec.mutable_loss()->add_class_weights(3.0);
  EXPECT_EQ(ResolveClassWeights(spec, {4, 2, 1}).status().message(),
            "loss.class_weights: 2 weights for 3 classes; give one per class, in class-id order");
  spec.mutable_loss()->clear_class_weights();
  EXPECT_TRUE(ResolveClassWeights(spec, {4, 2, 1})->empty());
}

TEST(ValidateJobSpec, HuberDeltaOnlyWithHuber) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  spec.mutable_loss()->set_delta(2.0);
  EXPECT_EQ(ValidationMessage(spec), "loss.delta: only used by HUBER: remove it");
  spec.mutable_loss()->set_type(v1::HUBER);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.mutable_loss()->set_delta(-1);
  EXPECT_EQ(ValidationMessage(spec), "loss.delta: must be > 0 and finite, got -1");
}

TEST(ValidateJobSpec, LogitLossesWantRawScores) {
  v1::JobSpec spec = Cnn();
  spec.mutable_model()->mutable_layers(7)->mutable_dense()->set_activation(v1::SOFTMAX);
  EXPECT_EQ(ValidationMessage(spec),
            "model.layers[7].dense.activation: CROSS_ENTROPY takes logits and applies the softmax "
            "itself: remove this final activation");
  spec = Cnn();
  spec.mutable_model()->add_layers()->set_activation(v1::SOFTMAX);
  EXPECT_TRUE(Contains(ValidationMessage(spec), "model.layers[8].activation: CROSS_ENTROPY takes"));
  spec = Cnn();
  spec.mutable_model()->mutable_layers(7)->mutable_dense()->set_units(1);
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "model.layers[7].dense.units: CROSS_ENTROPY needs one output per class (at "
                       "least 2), got 1"));
  spec.mutable_loss()->set_type(v1::BINARY_CROSS_ENTROPY);
  EXPECT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec);
  spec.mutable_model()->mutable_layers(7)->mutable_dense()->set_units(2);
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "model.layers[7].dense.units: BINARY_CROSS_ENTROPY needs a single output"));
}

TEST(ValidateJobSpec, OptimizerErrorsComeFromTheOptimModuleWithTheirPath) {
  v1::JobSpec spec = Cnn();
  spec.mutable_optimizer()->set_momentum(1.5);
  EXPECT_EQ(ValidationMessage(spec), "optimizer.momentum: must be in [0, 1), got 1.5");
  spec = Cnn();
  spec.mutable_optimizer()->set_name("adam");
  EXPECT_TRUE(Contains(ValidationMessage(spec), "optimizer.momentum: not used by adam"));
  spec = Cnn();
  spec.mutable_optimizer()->set_name("lbfgs");
  EXPECT_TRUE(Contains(ValidationMessage(spec), "optimizer.name: unknown optimizer 'lbfgs'"));
  spec = Cnn();
  spec.mutable_optimizer()->set_lr(-1);
  EXPECT_EQ(ValidationMessage(spec), "optimizer.lr: must be >= 0 and finite, got -1");
}

TEST(ValidateJobSpec, ScheduleFields) {
  v1::JobSpec spec = Cnn();
  spec.mutable_schedule()->set_name("cosine");
  EXPECT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec);  // total_steps: the run
  spec.mutable_schedule()->set_gamma(0.5);
  spec.mutable_schedule()->set_min_lr(1.0);
  const std::string m = ValidationMessage(spec);
  EXPECT_TRUE(Contains(m,
                       "schedule.gamma: only used by the step and exponential schedules, not "
                       "cosine: remove it"));
  EXPECT_TRUE(Contains(m, "schedule.min_lr: must be in [0, lr = 0.05], got 1"));
  spec = Cnn();
  spec.mutable_schedule()->set_name("step");
  EXPECT_EQ(ValidationMessage(spec),
            "schedule.step_size: must be > 0 for the step schedule, got 0");
  spec.mutable_schedule()->set_warmup_steps(-3);
  spec.mutable_schedule()->set_step_size(10);
  EXPECT_EQ(ValidationMessage(spec), "schedule.warmup_steps: must be >= 0, got -3");
}

TEST(ValidateJobSpec, MetricNames) {
  v1::JobSpec spec = Cnn();
  spec.add_metrics("accuracy");
  spec.add_metrics("acc");
  spec.add_metrics("r2");
  spec.add_metrics("accuracy");
  const std::string m = ValidationMessage(spec);
  EXPECT_TRUE(Contains(m, "metrics[1]: unknown metric \"acc\"; expected one of: accuracy,"));
  EXPECT_TRUE(Contains(m,
                       "metrics[2]: \"r2\" is a regression metric, but task is CLASSIFICATION "
                       "(CLASSIFICATION metrics: accuracy, precision_macro"));
  EXPECT_TRUE(Contains(m, "metrics[3]: \"accuracy\" is listed twice"));
}

TEST(ValidateJobSpec, ClusteringUsesKMeansOnly) {
  v1::JobSpec spec = SpecFromJson(kKMeansSpec);
  spec.mutable_optimizer()->set_lr(0.1);
  spec.set_epochs(3);
  spec.add_metrics("accuracy");
  spec.mutable_model()->mutable_kmeans()->set_n_init(0);
  const std::string m = ValidationMessage(spec);
  EXPECT_TRUE(Contains(m, "optimizer: not used by task CLUSTERING"));
  EXPECT_TRUE(Contains(m, "epochs: not used by task CLUSTERING"));
  EXPECT_TRUE(Contains(m,
                       "metrics[0]: \"accuracy\" is a classification metric, but task is "
                       "CLUSTERING (CLUSTERING metrics: inertia, silhouette)"));
  EXPECT_TRUE(Contains(m, "model.kmeans.n_init: must be >= 1, got 0"));

  spec = Cnn();
  spec.mutable_model()->mutable_kmeans()->set_k(3);
  EXPECT_TRUE(
      Contains(ValidationMessage(spec), "model: set model.layers or model.kmeans, not both"));
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "model.kmeans: only for task CLUSTERING (task is CLASSIFICATION)"));
  spec = SpecFromJson(kKMeansSpec);
  spec.mutable_model()->mutable_kmeans()->set_k(0);
  EXPECT_EQ(ValidationMessage(spec), "model.kmeans.k: must be > 0, got 0");
}

TEST(ValidateJobSpec, MonitorNames) {
  v1::JobSpec spec = Cnn();
  spec.mutable_checkpoint()->set_monitor("val_f1_macro");
  EXPECT_EQ(ValidationMessage(spec),
            "checkpoint.monitor: \"val_f1_macro\" is not computed: add \"f1_macro\" to metrics "
            "(or monitor one of: loss, val_loss, val_accuracy, val_log_loss)");
  spec.mutable_checkpoint()->set_monitor("val_acc");
  EXPECT_TRUE(Contains(ValidationMessage(spec), "checkpoint.monitor: unknown value \"val_acc\""));
  spec.mutable_checkpoint()->set_monitor("accuracy");
  EXPECT_TRUE(Contains(ValidationMessage(spec), "monitor \"val_accuracy\""));
  spec.mutable_checkpoint()->set_monitor("val_accuracy");
  EXPECT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec);

  spec.mutable_data()->set_validation_fraction(0);
  EXPECT_EQ(ValidationMessage(spec),
            "checkpoint.monitor: \"val_accuracy\" needs validation data: set data.validation or "
            "data.validation_fraction (or data.folds)");
  spec.mutable_checkpoint()->set_monitor("loss");
  spec.mutable_early_stopping()->set_patience(2);
  EXPECT_EQ(ValidationMessage(spec),
            "early_stopping.monitor: the default, \"val_loss\" needs validation data: set "
            "data.validation or data.validation_fraction (or data.folds)");
  spec.mutable_early_stopping()->set_monitor("loss");
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.mutable_early_stopping()->set_patience(0);
  EXPECT_EQ(ValidationMessage(spec),
            "early_stopping.patience: must be > 0 (epochs without "
            "improvement), got 0");
}

TEST(ValidateJobSpec, WorkersAndBatch) {
  v1::JobSpec spec = Cnn();
  spec.set_workers(0);
  EXPECT_EQ(ValidationMessage(spec), "workers: must be >= 1, got 0");
  spec.set_workers(3);
  EXPECT_TRUE(
      Contains(ValidationMessage(spec), "global_batch_size: 64 is not divisible by workers = 3"));
  spec.set_workers(4);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
}

TEST(ValidateJobSpec, DataSources) {
  v1::JobSpec spec = Cnn();
  spec.mutable_data()->mutable_train()->set_path("train.bin");
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "data.train.format: cannot infer the format of \"train.bin\""));
  spec.mutable_data()->mutable_train()->set_format(v1::NPY);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());

  spec = Cnn();
  spec.mutable_data()->mutable_train()->set_delimiter(";");
  spec.mutable_data()->mutable_train()->clear_labels_path();
  std::string m = ValidationMessage(spec);
  EXPECT_TRUE(Contains(m, "data.train.delimiter: only used by CSV sources (this one is IDX)"));
  EXPECT_TRUE(Contains(m, "data.train.labels_path: required for task CLASSIFICATION"));

  spec = SpecFromJson(kRegressionSpec);
  spec.mutable_data()->mutable_train()->clear_label_column();
  spec.mutable_data()->mutable_train()->set_has_header(false);
  spec.mutable_data()->mutable_train()->add_feature_columns("x");
  spec.mutable_data()->mutable_train()->set_delimiter("::");
  m = ValidationMessage(spec);
  EXPECT_TRUE(Contains(m, "data.train.label_column: required for task REGRESSION"));
  EXPECT_TRUE(Contains(m,
                       "data.train.feature_columns: columns can be named only when has_header "
                       "is true: use feature_indices"));
  EXPECT_TRUE(Contains(m, "data.train.delimiter: must be a single character, got \"::\""));

  spec = SpecFromJson(kKMeansSpec);
  spec.mutable_data()->mutable_train()->set_label_column("cluster");
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "data.train.label_column: task CLUSTERING takes no labels"));

  spec = Cnn();
  *spec.mutable_data()->mutable_validation() = spec.data().train();
  EXPECT_EQ(ValidationMessage(spec),
            "data.validation_fraction: set data.validation or data.validation_fraction, not both");
  spec.mutable_data()->set_validation_fraction(1.0);
  EXPECT_EQ(ValidationMessage(spec), "data.validation_fraction: must be in [0, 1), got 1");

  spec = Cnn();
  spec.mutable_data()->add_preprocessing()->mutable_scale()->set_factor(0);
  spec.mutable_data()->add_preprocessing();
  m = ValidationMessage(spec);
  EXPECT_TRUE(Contains(m, "data.preprocessing[0].scale.factor: must be finite and non-zero"));
  EXPECT_TRUE(Contains(m, "data.preprocessing[1]: empty step"));
}

TEST(ValidateJobSpec, OneErrorHasNoCountPrefix) {
  v1::JobSpec spec = Cnn();
  spec.set_epochs(0);
  EXPECT_EQ(ValidationMessage(spec), "epochs: must be > 0, got 0");
  spec.set_log_every_steps(-1);
  EXPECT_TRUE(Contains(ValidationMessage(spec),
                       "2 problems in the job spec: epochs: must be > 0, "
                       "got 0; log_every_steps: must be >= 0"));
  EXPECT_TRUE(Lacks(ValidationMessage(spec), "\n"));  // one line, for the CLI
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST(ValidateJobSpec, DataCleaningFieldsSayWhatIsWrong) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  v1::DataSpec& data = *spec.mutable_data();
  data.set_deduplicate(true);
  data.set_stratify(true);
  v1::PreprocessStep* impute = data.add_preprocessing();
  impute->mutable_impute()->set_fill_value(3);
  impute->mutable_impute()->add_columns(1);
  impute->mutable_impute()->add_columns(1);
  data.add_preprocessing()->mutable_clip()->set_lower(0.995);
  data.add_preprocessing()->mutable_robust_scale();
  const std::string message = testing::ValidationMessage(spec);
  EXPECT_TRUE(Contains(message, "data.stratify: only a CLASSIFICATION task has classes"))
      << message;
  EXPECT_TRUE(Contains(message,
                       "data.preprocessing[0].impute.fill_value: only used by strategy "
                       "CONSTANT"))
      << message;
  EXPECT_TRUE(Contains(message,
                       "data.preprocessing[0].impute.columns[1]: column 1 is listed "
                       "twice"))
      << message;
  EXPECT_TRUE(Contains(message,
                       "data.preprocessing[1].clip: expected quantiles 0 <= lower < "
                       "upper <= 1, got lower 0.995 and upper 0.99"))
      << message;
  EXPECT_TRUE(Lacks(message, "deduplicate")) << "a CSV source may be deduplicated";
  data.mutable_train()->set_path("images.npy");
  data.mutable_train()->clear_label_column();
  data.mutable_train()->set_labels_path("labels.npy");
  EXPECT_TRUE(
      Contains(testing::ValidationMessage(spec), "data.deduplicate: only CSV training data"));
}

TEST(ValidateJobSpec, BalancedSamplingNeedsClassesAShuffleAndNoClassWeights) {
  v1::JobSpec spec = SpecFromJson(kRegressionSpec);
  spec.mutable_data()->set_sampling(v1::BALANCED);
  EXPECT_EQ(testing::ValidationMessage(spec),
            "data.sampling: BALANCED balances classes; only a CLASSIFICATION task has them");

  spec = SpecFromJson(testing::kCnnSpec);
  spec.mutable_data()->set_sampling(v1::BALANCED);
  EXPECT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec);
  spec.mutable_data()->set_shuffle(false);
  spec.mutable_loss()->set_class_weight("balanced");
  const std::string message = testing::ValidationMessage(spec);
  EXPECT_TRUE(Contains(message,
                       "data.sampling: BALANCED draws every epoch at random: remove "
                       "data.shuffle: false"))
      << message;
  EXPECT_TRUE(Contains(message,
                       "data.sampling: BALANCED and loss.class_weight(s) both correct the class "
                       "imbalance, and together overcorrect it: keep one"))
      << message;
}

}  // namespace
}  // namespace hearth
