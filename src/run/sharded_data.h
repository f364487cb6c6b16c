// A data-parallel rank's own rows of a job's IDX or .npy data, read without the rest of the file.
//
// Each rank holds in memory only:
//   - the training examples its blocks of the current epoch's global batches use (DataLoader::
//     ExamplesOf), read at the start of every epoch and at resume (TrainingShards::LoadEpoch);
//   - its contiguous part [r * n / N, (r + 1) * n / N) of the validation and test sets.
// To fit the preprocessing it also reads, once, its part Preprocessor::FitPartRows of the
// training set (the parts cover every training example once) and combines the statistics with
// the other ranks', so they are bit for bit those of one process fitting on everything. A
// validation split (validation_fraction) is planned from the file's record count alone.
//
// CSV and gzip-compressed training files cannot be read by row: every rank reads them whole
// (LoadJobData), as does k-means, which seeds from every row.
#pragma once

#include <cstdint>
#include <vector>

#include "hearth/dist/communicator.h"
#include "hearth/sampler.h"
#include "run/job_data.h"

namespace hearth::run {

// The training examples of a sharded job, read epoch by epoch.
class TrainingShards {
 public:
  // `records`: the file record of each training example, ascending (empty: example i is record
  // i). `preprocess` is fitted; `example_shape` is what the model takes.
  TrainingShards(const v1::JobSpec& spec, std::vector<int64_t> records, Preprocessor preprocess,
                 Shape example_shape);

  // Reads the training examples that batches [first_step, ...) of `epoch` take on this rank
  // (loader.ExamplesOf), preprocesses them and makes them the loader's resident rows, after
  // releasing the previous ones. Returns how many rows are resident. Errors are this rank's own:
  // make them collective with dist::AgreeOnStatus.
  StatusOr<int64_t> LoadEpoch(int64_t epoch, int64_t first_step, DataLoader& loader) const;

 private:
  v1::JobSpec spec_;
  std::vector<int64_t> records_;
  Preprocessor preprocess_;
  Shape example_shape_;
};

// Whether LoadShardedJobData applies: several ranks, a supervised task, and IDX or NPY training
// files that are not compressed. Collective: the same answer on every rank, or the same error
// when some rank cannot read the files' headers.
StatusOr<bool> CanShardJobData(const v1::JobSpec& spec, dist::Communicator& comm);

// This rank's JobData with `shards` set (see the top of this file). Collective: errors are
// returned on every rank.
StatusOr<JobData> LoadShardedJobData(const v1::JobSpec& spec, dist::Communicator& comm);

}  // namespace hearth::run
