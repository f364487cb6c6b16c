// hearthd's checkpoint files (data_dir.h): receiving an upload, serving a stored file, and making
// the files and the store agree again after a crash.
//
// An upload is written through Env::NewAtomicFile (a unique temp file, fsync, rename, directory
// fsync) and recorded in the store only once its file is complete, checked against the header's
// size and sha256, and validated like user input (TrainedModel::FromCheckpoint: the embedded job
// spec, every size) as a checkpoint of this very job. So the store never lists a checkpoint
// without its complete file, and nothing hearthd later loads in process was not checked first.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include <cstdint>
#include <functional>
#include <string>

#include "coordinator/job_store.h"
#include "hearth/status.h"
#include "hearth/v1/coordinator.pb.h"

namespace hearth::coordinator {

struct UploadLimits {
  int64_t max_bytes = int64_t{4} << 30;
};

// Receives the upload that `header` announces: `next` yields the following data chunks (false at
// the end of the stream). `job` is the job as stored. Returns the stored checkpoint (or the one
// already stored, for identical bytes sent again).
StatusOr<StoredCheckpoint> ReceiveCheckpoint(JobStore& store, const std::string& data_dir,
                                             const v1::Job& job,
                                             const v1::UploadCheckpointRequest::Header& header,
                                             const std::function<bool(std::string*)>& next,
                                             const UploadLimits& limits);

// Streams a stored checkpoint: DATA_LOSS, before the first byte, for a file whose sha256 is not
// what the store says; CANCELLED when the client goes away.
Status StreamCheckpoint(const StoredCheckpoint& checkpoint,
                        grpc::ServerWriter<v1::CheckpointChunk>* writer);

// At start-up: removes the temp files of uploads that a crash interrupted, and forgets stored
// checkpoints whose file is missing or of the wrong size (each with a line on stderr).
Status RepairCheckpoints(JobStore& store, const std::string& data_dir);

}  // namespace hearth::coordinator
