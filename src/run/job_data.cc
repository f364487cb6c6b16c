// Reading and preparing a job's data.
#include "run/job_data.h"

#include "absl/strings/str_format.h"
#include "hearth/job.h"
#include "hearth/ops.h"
#include "hearth/sampler.h"

namespace hearth::run {

StatusOr<Tensor> PrepareFeatures(const Tensor& features, const Preprocessor& preprocess,
                                 const Shape& example_shape, const std::string& source) {
  Tensor x = features;
  if (!preprocess.empty()) {
    // Preprocessing works on flat rows [N, F].
    Tensor flat = x.rank() == 2 ? x : reshape(x, Shape{x.dim(0), -1});
    HEARTH_ASSIGN_OR_RETURN(x, preprocess.Apply(flat));
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
  JobData data;
  const v1::DataSpec& d = spec.data();
  HEARTH_ASSIGN_OR_RETURN(data.train, ReadDataSource(spec, d.train()));
  if (data.train.size() == 0)
    return absl::InvalidArgumentError(
        absl::StrFormat("data.train: %s holds no examples", d.train().path()));
  if (d.has_validation()) {
    HEARTH_ASSIGN_OR_RETURN(data.validation,
                            ReadDataSource(spec, d.validation(), data.train.class_names));
  } else if (d.validation_fraction() > 0) {
    HEARTH_ASSIGN_OR_RETURN(SplitDatasets split,
                            TrainValidationSplit(data.train, d.validation_fraction(), spec.seed()));
    data.train = std::move(split.train);
    data.validation = std::move(split.validation);
  }
  if (d.has_test()) {
    HEARTH_ASSIGN_OR_RETURN(data.test, ReadDataSource(spec, d.test(), data.train.class_names));
  }

  HEARTH_ASSIGN_OR_RETURN(data.preprocess, MakePreprocessor(spec));
  if (!data.preprocess.empty()) {
    const Tensor& x = data.train.features;
    HEARTH_RETURN_IF_ERROR(
        data.preprocess.Fit(x.rank() == 2 ? x : reshape(x, Shape{x.dim(0), -1})));
  }
  // The model's input shape comes from the preprocessed data (one-hot changes the width).
  Tensor probe = data.train.features;
  if (!data.preprocess.empty()) {
    HEARTH_ASSIGN_OR_RETURN(probe, data.preprocess.Apply(reshape(probe, Shape{probe.dim(0), -1})));
    if (data.train.features.rank() > 2 && probe.numel() == data.train.features.numel())
      probe = reshape(probe, data.train.features.shape());
  }
  HEARTH_ASSIGN_OR_RETURN(data.example_shape,
                          ResolveInputShape(spec, ExampleShape({probe, {}, {}})));
  data.num_outputs = NumOutputs(spec, data.train);

  struct Part {
    Dataset* set;
    const char* name;
  };
  for (Part part : {Part{&data.train, "data.train"}, Part{&data.validation, "data.validation"},
                    Part{&data.test, "data.test"}}) {
    if (part.set->size() == 0) continue;
    HEARTH_ASSIGN_OR_RETURN(part.set->features, PrepareFeatures(part.set->features, data.preprocess,
                                                                data.example_shape, part.name));
  }
  return data;
}

}  // namespace hearth::run
