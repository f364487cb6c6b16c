// Training a CLUSTERING job: k-means, sharded across ranks when there are several.
#pragma once

#include "hearth/dist/communicator.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "run/job_data.h"

namespace hearth::run {

// Every rank seeds from the whole training set (so the seeds agree), runs the Lloyd iterations on
// its shard of the rows with the cluster statistics allreduced, and ends with the centroids one
// process would find. Rank 0 alone writes the checkpoint, metrics.jsonl and curves.svg. The
// validation metrics (silhouette is not a sum over shards) are computed by every rank on all of
// the data.
StatusOr<TrainResult> TrainKMeans(const v1::JobSpec& spec, const TrainOptions& options,
                                  JobData& data, dist::Communicator& comm);

}  // namespace hearth::run
