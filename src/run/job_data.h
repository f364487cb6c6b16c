// The datasets of a job, read, split, preprocessed and shaped the way the model sees them.
#pragma once

#include "hearth/data.h"
#include "hearth/status.h"
#include "hearth/v1/job.pb.h"

namespace hearth::run {

struct JobData {
  Dataset train;
  Dataset validation;  // size() == 0 when the job has none
  Dataset test;        // size() == 0 when the job has none
  Preprocessor preprocess;
  Shape example_shape;  // per example, as the model sees it
  int64_t num_outputs = 0;
};

// Reads train/validation/test, splits validation off train when asked, fits the preprocessing on
// the training part only and applies it everywhere, and reshapes features to the model's input.
StatusOr<JobData> LoadJobData(const v1::JobSpec& spec);

// Applies a fitted preprocessor and reshapes [N, ...] features to [N, example_shape...].
StatusOr<Tensor> PrepareFeatures(const Tensor& features, const Preprocessor& preprocess,
                                 const Shape& example_shape, const std::string& source);

}  // namespace hearth::run
