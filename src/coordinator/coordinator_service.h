// The Coordinator gRPC service (rpc/hearth/v1/coordinator.proto) on the sync API: every call is
// authenticated first, absl::Status errors map 1:1 to gRPC codes, every request is bounded by
// the limits in CoordinatorContext, and an exception escaping a handler fails that request
// (INTERNAL) rather than the process.
//
// Thread-safety: handlers run on gRPC's threads concurrently; the service's own state (the model
// cache) is thread-safe, the rest lives in the context's thread-safe parts.
#pragma once

#include "coordinator/coordinator_context.h"
#include "coordinator/model_cache.h"
#include "coordinator/sweep_manager.h"
#include "hearth/v1/coordinator.grpc.pb.h"

namespace hearth::coordinator {

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(CoordinatorContext& context, SweepManager& sweeps)
      : c_(context), sweeps_(sweeps) {}

  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest*,
                         v1::SubmitJobResponse*) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest*, v1::Job*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*, v1::Job*) override;
  grpc::Status WatchJob(grpc::ServerContext*, const v1::WatchJobRequest*,
                        grpc::ServerWriter<v1::JobEvent>*) override;
  grpc::Status GetJobLogs(grpc::ServerContext*, const v1::GetJobLogsRequest*,
                          grpc::ServerWriter<v1::LogChunk>*) override;
  grpc::Status ListCheckpoints(grpc::ServerContext*, const v1::ListCheckpointsRequest*,
                               v1::ListCheckpointsResponse*) override;
  grpc::Status DownloadCheckpoint(grpc::ServerContext*, const v1::DownloadCheckpointRequest*,
                                  grpc::ServerWriter<v1::CheckpointChunk>*) override;
  grpc::Status Evaluate(grpc::ServerContext*, const v1::EvaluateRequest*,
                        v1::EvaluateResponse*) override;
  grpc::Status Predict(grpc::ServerContext*, const v1::PredictRequest*,
                       v1::PredictResponse*) override;
  grpc::Status SubmitSweep(grpc::ServerContext*, const v1::SubmitSweepRequest*,
                           v1::Sweep*) override;
  grpc::Status GetSweep(grpc::ServerContext*, const v1::GetSweepRequest*, v1::Sweep*) override;
  // Deployments (deploy_handlers.cc).
  grpc::Status Deploy(grpc::ServerContext*, const v1::DeployRequest*, v1::DeployResponse*) override;
  grpc::Status ListDeployments(grpc::ServerContext*, const v1::ListDeploymentsRequest*,
                               v1::ListDeploymentsResponse*) override;
  grpc::Status Undeploy(grpc::ServerContext*, const v1::UndeployRequest*,
                        v1::UndeployResponse*) override;

 private:
  // The checkpoint a request names: `checkpoint_id`, else the best, else the latest.
  StatusOr<StoredCheckpoint> FindCheckpoint(const std::string& job_id,
                                            const std::string& checkpoint_id);
  Status StreamLogs(grpc::ServerContext* context, const v1::GetJobLogsRequest& request,
                    grpc::ServerWriter<v1::LogChunk>* writer);

  CoordinatorContext& c_;
  SweepManager& sweeps_;
  ModelCache models_;
};

// Runs a handler body, turning an exception that escapes it into INTERNAL for this request:
// hearthd itself keeps serving. Shared by both services.
grpc::Status Guarded(const char* method, const std::function<grpc::Status()>& body);

// The best checkpoint's direction for a job: its checkpoint.mode, else inferred from the name.
bool MaximizesMonitor(const v1::JobSpec& spec);

}  // namespace hearth::coordinator
