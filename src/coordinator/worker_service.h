// The WorkerService gRPC service: what the training workers (rank 0 of each job) call to fetch
// their spec, report progress and upload checkpoints (streamed, checksummed).
#pragma once

#include "coordinator/coordinator_context.h"
#include "hearth/v1/coordinator.grpc.pb.h"

namespace hearth::coordinator {

class WorkerServiceImpl final : public v1::WorkerService::Service {
 public:
  explicit WorkerServiceImpl(CoordinatorContext& context) : c_(context) {}

  grpc::Status FetchSpec(grpc::ServerContext*, const v1::FetchSpecRequest*,
                         v1::FetchSpecResponse*) override;
  grpc::Status ReportProgress(grpc::ServerContext*, const v1::ProgressReport*,
                              v1::ProgressAck*) override;
  grpc::Status UploadCheckpoint(grpc::ServerContext*,
                                grpc::ServerReader<v1::UploadCheckpointRequest>*,
                                v1::CheckpointInfo*) override;

 private:
  // FAILED_PRECONDITION for a report from an attempt that is no longer current.
  Status CheckAttempt(const std::string& job_id, int attempt);

  CoordinatorContext& c_;
};

}  // namespace hearth::coordinator
