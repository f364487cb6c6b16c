// The datasets of a job, read, split, preprocessed and shaped the way the model sees them.
#pragma once

#include <memory>

#include "hearth/data.h"
#include "hearth/dist/communicator.h"
#include "hearth/sampler.h"
#include "hearth/status.h"
#include "hearth/v1/job.pb.h"

namespace hearth::run {

class TrainingShards;

struct JobData {
  Dataset train;
  Dataset validation;  // size() == 0 when the job has none
  Dataset test;        // size() == 0 when the job has none
  Preprocessor preprocess;
  Shape example_shape;  // per example, as the model sees it
  Shape record_shape;   // per example as the files hold it, before preprocessing
  int64_t num_outputs = 0;
  // Examples in each whole set. With `shards` the Datasets above hold less: `train` nothing (the
  // shards read each epoch's rows) and validation/test only this rank's contiguous part
  // [r * n / N, (r + 1) * n / N).
  int64_t train_size = 0;
  int64_t validation_size = 0;
  int64_t test_size = 0;
  // Training rows data.deduplicate dropped as repeats.
  int64_t duplicates_removed = 0;
  // This rank's seconds reading, splitting and preprocessing the data, and of those the seconds
  // fitting data.preprocessing and applying it to the sets held (a sharded job applies it to each
  // epoch's rows as they are read, which these do not count).
  double load_seconds = 0;
  double preprocess_seconds = 0;
  // Set when this rank reads only its own rows of the training files (run/sharded_data.h).
  std::shared_ptr<const TrainingShards> shards;
};

// The loss's class weights for this job's training rows (ResolveClassWeights); empty when the
// spec asks for none. "balanced" needs every training label, which a sharded job's rank does not
// read: INVALID_ARGUMENT saying to give explicit weights.
StatusOr<std::vector<float>> TrainingClassWeights(const v1::JobSpec& spec, const JobData& data);

// The order of the training examples, one global order on every rank: uniform (data.shuffle) or,
// with data.sampling BALANCED, class-balanced epochs over data.train's labels, which every rank
// holds (CanShardJobData keeps balanced jobs unsharded).
StatusOr<Sampler> TrainingSampler(const v1::JobSpec& spec, const JobData& data);

// The fold a cross-validated spec (data.folds) trains: data.fold, or FAILED_PRECONDITION when
// it is unset (the caller runs the folds: CrossValidate).
StatusOr<int> FoldToTrain(const v1::JobSpec& spec);

// Reads train/validation/test, splits validation off train when asked, fits the preprocessing on
// the training part only and applies it everywhere, and reshapes features to the model's input.
StatusOr<JobData> LoadJobData(const v1::JobSpec& spec);

// The same for rank comm.rank() of a job: with several ranks and IDX or .npy training data each
// rank reads only its own rows (LoadShardedJobData); otherwise every rank reads everything. The
// result is collective: an error on any rank is returned on every rank (dist::CollectiveError).
StatusOr<JobData> LoadJobData(const v1::JobSpec& spec, dist::Communicator& comm);

// The per-example shape of features whose examples have `record_shape` once `preprocess` is
// applied (fitted, or with nothing to fit): preprocessing works on flat rows, and a pipeline that
// keeps their width keeps the records' shape (images stay [28, 28] for a conv net), while one
// that changes it (one-hot) leaves flat rows. The model's input shape still comes from
// ResolveInputShape.
StatusOr<Shape> PreprocessedExampleShape(const Shape& record_shape, const Preprocessor& preprocess);

// [N, ...] features as flat rows [N, values per row], also when N is 0.
Tensor FlatRows(const Tensor& features);

// Whether PrepareFeatures may overwrite the features it is given (Preprocessor::ApplyInPlace).
enum class FeatureOwnership { kShared, kOurs };

// Applies a fitted preprocessor and reshapes [N, ...] features to [N, example_shape...]. With
// kOurs (rows just read, held nowhere else) the preprocessing overwrites them instead of copying.
StatusOr<Tensor> PrepareFeatures(const Tensor& features, const Preprocessor& preprocess,
                                 const Shape& example_shape, const std::string& source,
                                 FeatureOwnership ownership = FeatureOwnership::kShared);

}  // namespace hearth::run
