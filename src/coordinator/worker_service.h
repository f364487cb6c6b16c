// The WorkerService gRPC service: what the training workers (rank 0 of each job) call to fetch
// their spec, report progress, upload checkpoints and download the one they resume from. Every
// call is authorised by the attempt's secret (worker_credentials.h) and accepted only while the
// job is RUNNING; the user token is no credential here.
//
// Thread-safety: handlers run on gRPC's threads concurrently; all state is in the context.
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
  grpc::Status DownloadCheckpoint(grpc::ServerContext*, const v1::WorkerDownloadRequest*,
                                  grpc::ServerWriter<v1::CheckpointChunk>*) override;

 private:
  // The running job whose `attempt` the call's secret belongs to: UNAUTHENTICATED,
  // PERMISSION_DENIED or FAILED_PRECONDITION otherwise (see worker_credentials.h).
  StatusOr<v1::Job> Authorize(const grpc::ServerContext& context, const std::string& job_id,
                              int attempt);

  CoordinatorContext& c_;
};

}  // namespace hearth::coordinator
