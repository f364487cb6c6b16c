#include "coordinator/worker_service.h"

#include "absl/strings/str_format.h"
#include "coordinator/checkpoint_store.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/data_dir.h"
#include "coordinator/grpc_status.h"

namespace hearth::coordinator {

StatusOr<v1::Job> WorkerServiceImpl::Authorize(const grpc::ServerContext& context,
                                               const std::string& job_id, int attempt) {
  const std::optional<std::string_view> secret = PresentedCredential(context);
  HEARTH_RETURN_IF_ERROR(c_.credentials.Check(secret.value_or(""), job_id, attempt));
  HEARTH_ASSIGN_OR_RETURN(v1::Job job, c_.store.GetJob(job_id));
  if (job.state() != v1::RUNNING)
    return absl::FailedPreconditionError(
        absl::StrFormat("job %s is %s, not running; its workers should stop", job_id,
                        v1::JobState_Name(job.state())));
  return job;
}

grpc::Status WorkerServiceImpl::FetchSpec(grpc::ServerContext* context,
                                          const v1::FetchSpecRequest* request,
                                          v1::FetchSpecResponse* response) {
  return Guarded("FetchSpec", [&] {
    const std::optional<std::string_view> secret = PresentedCredential(*context);
    StatusOr<int> attempt = c_.credentials.AttemptOf(secret.value_or(""), request->job_id());
    if (!attempt.ok()) return ToGrpc(attempt.status());
    StatusOr<v1::Job> job = Authorize(*context, request->job_id(), *attempt);
    if (!job.ok()) return ToGrpc(job.status());
    *response->mutable_spec() = job->spec();
    response->set_attempt(*attempt);
    for (const std::string& root : c_.roots.roots()) response->add_data_roots(root);
    for (const std::string& path : c_.roots.excluded()) response->add_excluded_paths(path);
    // A restarted job continues from the newest checkpoint it uploaded.
    StatusOr<std::vector<StoredCheckpoint>> checkpoints = c_.store.Checkpoints(request->job_id());
    if (!checkpoints.ok()) return ToGrpc(checkpoints.status());
    if (!checkpoints->empty()) response->set_resume_checkpoint_id(checkpoints->back().info.id());
    return grpc::Status::OK;
  });
}

grpc::Status WorkerServiceImpl::ReportProgress(grpc::ServerContext* context,
                                               const v1::ProgressReport* report,
                                               v1::ProgressAck* ack) {
  return Guarded("ReportProgress", [&] {
    StatusOr<v1::Job> authorized = Authorize(*context, report->job_id(), report->attempt());
    if (!authorized.ok()) return ToGrpc(authorized.status());
    v1::JobEvent event;
    switch (report->report_case()) {
      case v1::ProgressReport::kStep:
        *event.mutable_step() = report->step();
        break;
      case v1::ProgressReport::kEpoch:
        if (report->epoch().validation_metrics_size() > 1000)
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "epoch.validation_metrics: more than 1000 metrics");
        *event.mutable_epoch() = report->epoch();
        break;
      case v1::ProgressReport::kResult:
        *event.mutable_result() = report->result();
        break;
      default:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "report: one of step, epoch or result is required");
    }
    // Compare-and-set: a report changes a job only while it runs, so a late or forged report can
    // never rewrite a job that has ended.
    StatusOr<v1::Job> job = c_.store.UpdateJobIf(
        report->job_id(), {v1::RUNNING},
        [&](v1::Job& j) {
          if (report->total_steps() > 0) j.set_total_steps(report->total_steps());
          switch (report->report_case()) {
            case v1::ProgressReport::kStep:
              j.set_step(report->step().step());
              j.set_epoch(report->step().epoch());
              j.set_loss(report->step().loss());
              break;
            case v1::ProgressReport::kEpoch:
              j.set_step(report->epoch().step());
              j.set_epoch(report->epoch().epoch());
              break;
            default:
              *j.mutable_result() = report->result();
              j.set_step(report->result().steps());
          }
          return absl::OkStatus();
        },
        event);
    if (!job.ok()) return ToGrpc(job.status());
    if (report->has_result()) c_.scheduler.ResultReported(report->job_id());
    c_.hub.Notify();
    ack->set_stop(c_.scheduler.CancelRequested(report->job_id()));
    return grpc::Status::OK;
  });
}

grpc::Status WorkerServiceImpl::UploadCheckpoint(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadCheckpointRequest>* reader,
    v1::CheckpointInfo* response) {
  return Guarded("UploadCheckpoint", [&] {
    v1::UploadCheckpointRequest message;
    if (!reader->Read(&message) || !message.has_header())
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the first message of an upload must be its header");
    const v1::UploadCheckpointRequest::Header header = message.header();
    StatusOr<v1::Job> job = Authorize(*context, header.job_id(), header.attempt());
    if (!job.ok()) return ToGrpc(job.status());
    StatusOr<StoredCheckpoint> stored = ReceiveCheckpoint(
        c_.store, c_.data_dir, *job, header,
        [&](std::string* chunk) {
          while (reader->Read(&message)) {
            if (!message.has_data()) continue;
            *chunk = std::move(*message.mutable_data());
            return true;
          }
          return false;
        },
        c_.limits.upload);
    if (!stored.ok()) return ToGrpc(stored.status());
    v1::JobEvent event;
    *event.mutable_checkpoint()->mutable_checkpoint() = stored->info;
    (void)c_.store.AppendEvent(header.job_id(), event);
    c_.hub.Notify();
    *response = stored->info;
    return grpc::Status::OK;
  });
}

grpc::Status WorkerServiceImpl::DownloadCheckpoint(
    grpc::ServerContext* context, const v1::WorkerDownloadRequest* request,
    grpc::ServerWriter<v1::CheckpointChunk>* writer) {
  return Guarded("WorkerService.DownloadCheckpoint", [&] {
    StatusOr<v1::Job> job = Authorize(*context, request->job_id(), request->attempt());
    if (!job.ok()) return ToGrpc(job.status());
    std::string owner;
    int64_t step = 0;
    if (!ParseCheckpointId(request->checkpoint_id(), &owner, &step) || owner != request->job_id())
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          absl::StrFormat("checkpoint_id: \"%s\" is not one of job %s's "
                                          "checkpoints",
                                          request->checkpoint_id(), request->job_id()));
    StatusOr<std::vector<StoredCheckpoint>> checkpoints = c_.store.Checkpoints(request->job_id());
    if (!checkpoints.ok()) return ToGrpc(checkpoints.status());
    for (const StoredCheckpoint& c : *checkpoints)
      if (c.info.step() == step) return ToGrpc(StreamCheckpoint(c, writer));
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrFormat("job %s has no checkpoint %s", request->job_id(),
                                        request->checkpoint_id()));
  });
}

}  // namespace hearth::coordinator
