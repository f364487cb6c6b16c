#include "coordinator/worker_service.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "coordinator/grpc_status.h"
#include "coordinator/sha256.h"

namespace hearth::coordinator {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Status WorkerServiceImpl::CheckAttempt(const std::string& job_id, int attempt) {
  HEARTH_ASSIGN_OR_RETURN(int32_t current, c_.store.CurrentAttempt(job_id));
  if (attempt != current)
    return absl::FailedPreconditionError(absl::StrFormat(
        "job %s: attempt %d has been superseded by attempt %d; this worker should stop", job_id,
        attempt, current));
  return absl::OkStatus();
}

grpc::Status WorkerServiceImpl::FetchSpec(grpc::ServerContext* context,
                                          const v1::FetchSpecRequest* request,
                                          v1::FetchSpecResponse* response) {
  if (grpc::Status s = c_.auth.Check(*context); !s.ok()) return s;
  StatusOr<v1::Job> job = c_.store.GetJob(request->job_id());
  if (!job.ok()) return ToGrpc(job.status());
  StatusOr<int32_t> attempt = c_.store.CurrentAttempt(request->job_id());
  if (!attempt.ok()) return ToGrpc(attempt.status());
  *response->mutable_spec() = job->spec();
  response->set_attempt(*attempt);
  // A restarted job continues from the newest checkpoint it uploaded.
  StatusOr<std::vector<StoredCheckpoint>> checkpoints = c_.store.Checkpoints(request->job_id());
  if (!checkpoints.ok()) return ToGrpc(checkpoints.status());
  if (!checkpoints->empty()) response->set_resume_checkpoint_id(checkpoints->back().info.id());
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportProgress(grpc::ServerContext* context,
                                               const v1::ProgressReport* report,
                                               v1::ProgressAck* ack) {
  if (grpc::Status s = c_.auth.Check(*context); !s.ok()) return s;
  if (Status s = CheckAttempt(report->job_id(), report->attempt()); !s.ok()) return ToGrpc(s);
  StatusOr<v1::Job> job = c_.store.GetJob(report->job_id());
  if (!job.ok()) return ToGrpc(job.status());
  if (report->total_steps() > 0) job->set_total_steps(report->total_steps());
  v1::JobEvent event;
  switch (report->report_case()) {
    case v1::ProgressReport::kStep:
      job->set_step(report->step().step());
      job->set_epoch(report->step().epoch());
      job->set_loss(report->step().loss());
      *event.mutable_step() = report->step();
      break;
    case v1::ProgressReport::kEpoch:
      job->set_step(report->epoch().step());
      job->set_epoch(report->epoch().epoch());
      *event.mutable_epoch() = report->epoch();
      break;
    case v1::ProgressReport::kResult:
      *job->mutable_result() = report->result();
      job->set_step(report->result().steps());
      *event.mutable_result() = report->result();
      c_.scheduler.ResultReported(report->job_id());
      break;
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "report: one of step, epoch or result is required");
  }
  if (Status s = c_.store.UpdateJob(*job); !s.ok()) return ToGrpc(s);
  if (StatusOr<int64_t> s = c_.store.AppendEvent(report->job_id(), event); !s.ok())
    return ToGrpc(s.status());
  c_.hub.Notify();
  ack->set_stop(c_.scheduler.CancelRequested(report->job_id()));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::UploadCheckpoint(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadCheckpointRequest>* reader,
    v1::CheckpointInfo* response) {
  if (grpc::Status s = c_.auth.Check(*context); !s.ok()) return s;
  v1::UploadCheckpointRequest message;
  if (!reader->Read(&message) || !message.has_header())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first message of an upload must be its header");
  const v1::UploadCheckpointRequest::Header header = message.header();
  if (Status s = CheckAttempt(header.job_id(), header.attempt()); !s.ok()) return ToGrpc(s);
  if (header.size_bytes() < 0 || header.size_bytes() > c_.max_checkpoint_bytes)
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrFormat("header.size_bytes: %d is over the limit of %d bytes",
                                        header.size_bytes(), c_.max_checkpoint_bytes));
  const std::string path = StoredCheckpointPath(c_.data_dir, header.job_id(), header.step());
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  const std::string temp = path + ".upload";
  Sha256 hash;
  int64_t received = 0;
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    while (reader->Read(&message)) {
      if (!message.has_data()) continue;
      received += static_cast<int64_t>(message.data().size());
      if (received > header.size_bytes()) break;
      hash.Update(message.data());
      out.write(message.data().data(), static_cast<std::streamsize>(message.data().size()));
    }
    out.flush();
    if (!out) {
      std::filesystem::remove(temp, error);
      return grpc::Status(grpc::StatusCode::INTERNAL, "cannot write " + temp);
    }
  }
  const std::string sha = hash.HexDigest();
  if (received != header.size_bytes() || sha != header.sha256()) {
    std::filesystem::remove(temp, error);
    return grpc::Status(
        grpc::StatusCode::DATA_LOSS,
        absl::StrFormat("checkpoint upload for step %d arrived damaged: %d bytes "
                        "with sha256 %s, expected %d bytes with sha256 %s",
                        header.step(), received, sha, header.size_bytes(), header.sha256()));
  }
  std::filesystem::rename(temp, path, error);
  if (error) return grpc::Status(grpc::StatusCode::INTERNAL, "cannot store " + path);
  StoredCheckpoint stored;
  stored.path = path;
  v1::CheckpointInfo& info = stored.info;
  info.set_id(absl::StrFormat("%s/%d", header.job_id(), header.step()));
  info.set_job_id(header.job_id());
  info.set_step(header.step());
  info.set_size_bytes(received);
  info.set_sha256(sha);
  info.set_created_at(Now());
  info.set_metric_name(header.metric_name());
  info.set_metric_value(header.metric_value());
  if (Status s = c_.store.AddCheckpoint(stored); !s.ok()) return ToGrpc(s);
  v1::JobEvent event;
  *event.mutable_checkpoint()->mutable_checkpoint() = info;
  (void)c_.store.AppendEvent(header.job_id(), event);
  c_.hub.Notify();
  *response = info;
  return grpc::Status::OK;
}

}  // namespace hearth::coordinator
