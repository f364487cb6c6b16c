// Reading and preparing a job's data.
#include "run/job_data.h"

#include "absl/strings/str_format.h"
#include "hearth/dist/collectives.h"
#include "hearth/job.h"
#include "hearth/ops.h"
#include "hearth/sampler.h"
#include "run/run_common.h"
#include "run/sharded_data.h"

namespace hearth::run {

StatusOr<int> FoldToTrain(const v1::JobSpec& spec) {
  if (!spec.data().has_fold())
    return absl::FailedPreconditionError(
        "data.folds: a cross-validated job trains one fold at a time; `hearth train` runs every "
        "fold in turn (and a sweep runs them in parallel), or set data.fold to train one");
  return spec.data().fold();
}

Tensor FlatRows(const Tensor& features) {
  if (features.rank() == 2) return features;
  int64_t width = 1;
  for (int i = 1; i < features.rank(); ++i) width *= features.dim(i);
  return reshape(features, Shape{features.dim(0), width});
}

StatusOr<Shape> PreprocessedExampleShape(const Shape& record_shape,
                                         const Preprocessor& preprocess) {
  if (preprocess.empty()) return record_shape;
  // Zero rows of the records' width through the pipeline: only the output width matters.
  HEARTH_ASSIGN_OR_RETURN(Tensor probe,
                          preprocess.Apply(Tensor::Empty(Shape{0, record_shape.numel()})));
  const int64_t width = probe.dim(1);
  if (record_shape.rank() > 1 && width == record_shape.numel()) return record_shape;
  return Shape{width};
}

StatusOr<Tensor> PrepareFeatures(const Tensor& features, const Preprocessor& preprocess,
                                 const Shape& example_shape, const std::string& source,
                                 FeatureOwnership ownership) {
  Tensor x = features;
  if (!preprocess.empty()) {
    // Preprocessing works on flat rows [N, F].
    HEARTH_ASSIGN_OR_RETURN(x, ownership == FeatureOwnership::kOurs
                                   ? preprocess.ApplyInPlace(FlatRows(x))
                                   : preprocess.Apply(FlatRows(x)));
  }
  Shape target{x.dim(0)};
  for (int64_t d : example_shape) target.push_back(d);
  if (target.numel() != x.numel())
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: examples have %d values each after preprocessing, but the model expects shape %s",
        source, x.numel() / std::max<int64_t>(x.dim(0), 1), example_shape.ToString()));
  return x.shape() == target ? x : reshape(x, target);
}

StatusOr<JobData> LoadJobData(const v1::JobSpec& spec) {
  const double start = WallSeconds();
  JobData data;
  const v1::DataSpec& d = spec.data();
  HEARTH_ASSIGN_OR_RETURN(data.train, ReadDataSource(spec, d.train()));
  if (data.train.size() == 0)
    return absl::InvalidArgumentError(
        absl::StrFormat("data.train: %s holds no examples", d.train().path()));
  if (d.deduplicate()) {
    HEARTH_ASSIGN_OR_RETURN(data.train, DropDuplicateRows(data.train, &data.duplicates_removed));
  }
  if (d.has_validation()) {
    HEARTH_ASSIGN_OR_RETURN(data.validation,
                            ReadDataSource(spec, d.validation(), data.train.class_names,
                                           &data.train.feature_categories));
  } else if (d.validation_fraction() > 0) {
    HEARTH_ASSIGN_OR_RETURN(
        SplitDatasets split,
        TrainValidationSplit(data.train, d.validation_fraction(), spec.seed(), d.stratify()));
    data.train = std::move(split.train);
    data.validation = std::move(split.validation);
  } else if (d.folds() > 0) {
    HEARTH_ASSIGN_OR_RETURN(int fold, FoldToTrain(spec));
    StatusOr<SplitDatasets> split =
        KFoldSplit(data.train, d.folds(), fold, spec.seed(), d.stratify());
    if (!split.ok())
      return absl::InvalidArgumentError(
          absl::StrFormat("data.folds: %s: use fewer folds", split.status().message()));
    data.train = std::move(split->train);
    data.validation = std::move(split->validation);
  }
  if (d.has_test()) {
    HEARTH_ASSIGN_OR_RETURN(data.test, ReadDataSource(spec, d.test(), data.train.class_names,
                                                      &data.train.feature_categories));
  }

  HEARTH_ASSIGN_OR_RETURN(data.preprocess, MakePreprocessor(spec));
  const double fit_start = WallSeconds();
  // Fitting passes the training rows through every step but the last anyway: FitApply keeps
  // that output instead of applying the whole pipeline to them a second time.
  Tensor preprocessed_train;
  if (!data.preprocess.empty()) {
    HEARTH_ASSIGN_OR_RETURN(preprocessed_train,
                            data.preprocess.FitApply(FlatRows(data.train.features)));
  }
  // The model's input shape comes from the preprocessed data (one-hot changes the width).
  data.record_shape = ExampleShape(data.train);
  HEARTH_ASSIGN_OR_RETURN(Shape preprocessed,
                          PreprocessedExampleShape(data.record_shape, data.preprocess));
  HEARTH_ASSIGN_OR_RETURN(data.example_shape, ResolveInputShape(spec, preprocessed));
  double preprocess_seconds = WallSeconds() - fit_start;
  data.num_outputs = NumOutputs(spec, data.train);
  data.train_size = data.train.size();
  data.validation_size = data.validation.size();
  data.test_size = data.test.size();

  struct Part {
    Dataset* set;
    const char* name;
  };
  for (Part part : {Part{&data.train, "data.train"}, Part{&data.validation, "data.validation"},
                    Part{&data.test, "data.test"}}) {
    if (part.set->size() == 0) continue;
    const double apply_start = WallSeconds();
    const bool done = part.set == &data.train && preprocessed_train.defined();
    HEARTH_ASSIGN_OR_RETURN(
        part.set->features,
        PrepareFeatures(done ? preprocessed_train : part.set->features,
                        done ? Preprocessor() : data.preprocess, data.example_shape, part.name));
    preprocess_seconds += WallSeconds() - apply_start;
  }
  data.preprocess_seconds = preprocess_seconds;
  data.load_seconds = WallSeconds() - start;
  return data;
}

StatusOr<JobData> LoadJobData(const v1::JobSpec& spec, dist::Communicator& comm) {
  HEARTH_ASSIGN_OR_RETURN(bool sharded, CanShardJobData(spec, comm));
  if (sharded) {
    const double start = WallSeconds();
    StatusOr<JobData> data = LoadShardedJobData(spec, comm);
    if (data.ok()) data->load_seconds = WallSeconds() - start;
    return data;
  }
  // Each rank reads the data itself; a rank that cannot (a file missing on its machine) stops
  // them all with its error.
  StatusOr<JobData> data = LoadJobData(spec);
  HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(comm, data.status()));
  return data;
}

StatusOr<std::vector<float>> TrainingClassWeights(const v1::JobSpec& spec, const JobData& data) {
  const v1::LossSpec& loss = spec.loss();
  if (spec.task() != v1::CLASSIFICATION ||
      (loss.class_weight().empty() && loss.class_weights_size() == 0)) {
    return std::vector<float>{};
  }
  const bool binary = EffectiveLoss(spec) == v1::BINARY_CROSS_ENTROPY;
  std::vector<int64_t> counts(static_cast<size_t>(binary ? 2 : data.num_outputs), 0);
  if (!loss.class_weight().empty()) {
    if (data.shards) {
      return absl::InvalidArgumentError(
          "loss.class_weight: \"balanced\" counts the classes of every training row, which the "
          "ranks of a sharded job (IDX or .npy files, several workers) do not read; give explicit "
          "loss.class_weights (`hearth profile` shows the class counts of a CSV file)");
    }
    const Tensor& labels = data.train.labels;
    for (int64_t i = 0; i < labels.numel(); ++i) {
      const int64_t y = labels.i64()[i];
      if (y >= 0 && y < static_cast<int64_t>(counts.size())) ++counts[static_cast<size_t>(y)];
    }
  }
  return ResolveClassWeights(spec, counts);
}

StatusOr<Sampler> TrainingSampler(const v1::JobSpec& spec, const JobData& data) {
  if (spec.data().sampling() != v1::BALANCED) {
    return Sampler::Create(data.train_size, spec.seed(),
                           spec.data().has_shuffle() ? spec.data().shuffle() : true);
  }
  const Tensor& labels = data.train.labels;
  if (data.shards || !labels.defined() || labels.dtype() != DType::kInt64 ||
      labels.numel() != data.train_size) {
    return absl::InternalError(
        "data.sampling BALANCED: the training labels are not all held by this rank");
  }
  return Sampler::CreateBalanced(
      std::span<const int64_t>(labels.i64(), static_cast<size_t>(labels.numel())), spec.seed());
}

}  // namespace hearth::run
