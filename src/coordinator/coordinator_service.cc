#include "coordinator/coordinator_service.h"

#include <chrono>
#include <fstream>
#include <map>

#include "absl/strings/str_format.h"
#include "coordinator/grpc_status.h"
#include "coordinator/job_logs.h"
#include "coordinator/sha256.h"
#include "hearth/job.h"

namespace hearth::coordinator {
namespace {

#define HEARTH_AUTHENTICATE(context)                       \
  do {                                                     \
    grpc::Status auth_status_ = c_.auth.Check(*(context)); \
    if (!auth_status_.ok()) return auth_status_;           \
  } while (0)

bool Ended(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

void AddMetrics(const MetricResults& metrics, google::protobuf::RepeatedPtrField<v1::Metric>* out) {
  for (const auto& [name, value] : metrics) {
    v1::Metric* m = out->Add();
    m->set_name(name);
    m->set_value(value);
  }
}

bool IsBetterMaximized(const std::string& metric) {
  for (const char* up : {"accuracy", "f1", "precision", "recall", "r2", "silhouette"})
    if (metric.find(up) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string StoredCheckpointPath(const std::string& data_dir, const std::string& job_id,
                                 int64_t step) {
  return absl::StrFormat("%s/checkpoints/%s/ckpt-%d.safetensors", data_dir, job_id, step);
}

grpc::Status CoordinatorService::SubmitJob(grpc::ServerContext* context,
                                           const v1::SubmitJobRequest* request,
                                           v1::SubmitJobResponse* response) {
  HEARTH_AUTHENTICATE(context);
  v1::JobSpec spec = request->spec();
  if (Status s = ValidateJobSpec(spec); !s.ok())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "spec." + std::string(s.message()));
  if (Status s = c_.roots.ResolveSpec(spec); !s.ok()) return ToGrpc(s);
  if (request->workers() < 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "workers: must be >= 0");
  const int workers = request->workers() > 0 ? request->workers() : Workers(spec);
  if (workers > c_.slots)
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrFormat("workers: %d is more than the coordinator's %d slots; "
                                        "use fewer workers or start hearthd with --slots %d",
                                        workers, c_.slots, workers));
  StatusOr<v1::Job> job = c_.store.CreateJob(spec, workers, "");
  if (!job.ok()) return ToGrpc(job.status());
  v1::JobEvent event;
  event.mutable_state()->set_state(v1::QUEUED);
  event.mutable_state()->set_message(
      absl::StrFormat("queued with %d worker%s", workers, workers == 1 ? "" : "s"));
  (void)c_.store.AppendEvent(job->id(), event);
  c_.hub.Notify();
  c_.scheduler.Wake();
  *response->mutable_job() = *job;
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetJob(grpc::ServerContext* context,
                                        const v1::GetJobRequest* request, v1::Job* response) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<v1::Job> job = c_.store.GetJob(request->id());
  if (!job.ok()) return ToGrpc(job.status());
  *response = *job;
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ListJobs(grpc::ServerContext* context,
                                          const v1::ListJobsRequest* request,
                                          v1::ListJobsResponse* response) {
  HEARTH_AUTHENTICATE(context);
  std::vector<v1::JobState> states;
  for (int s : request->states()) states.push_back(static_cast<v1::JobState>(s));
  StatusOr<std::vector<v1::Job>> jobs = c_.store.ListJobs(states, request->limit());
  if (!jobs.ok()) return ToGrpc(jobs.status());
  for (v1::Job& job : *jobs) *response->add_jobs() = std::move(job);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::CancelJob(grpc::ServerContext* context,
                                           const v1::CancelJobRequest* request, v1::Job* response) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<v1::Job> job = c_.scheduler.Cancel(request->id());
  if (!job.ok()) return ToGrpc(job.status());
  *response = *job;
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::WatchJob(grpc::ServerContext* context,
                                          const v1::WatchJobRequest* request,
                                          grpc::ServerWriter<v1::JobEvent>* writer) {
  HEARTH_AUTHENTICATE(context);
  int64_t after = request->from_sequence();
  while (!context->IsCancelled()) {
    const uint64_t version = c_.hub.version();
    StatusOr<v1::Job> job = c_.store.GetJob(request->id());
    if (!job.ok()) return ToGrpc(job.status());
    StatusOr<std::vector<v1::JobEvent>> events = c_.store.Events(request->id(), after, 0);
    if (!events.ok()) return ToGrpc(events.status());
    for (const v1::JobEvent& event : *events) {
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
      after = event.sequence();
    }
    // The job's state was read before its events, so every event of an ended job is out.
    if (Ended(job->state())) return grpc::Status::OK;
    c_.hub.WaitChange(version, std::chrono::milliseconds(1000));
  }
  return grpc::Status::CANCELLED;
}

grpc::Status CoordinatorService::GetJobLogs(grpc::ServerContext* context,
                                            const v1::GetJobLogsRequest* request,
                                            grpc::ServerWriter<v1::LogChunk>* writer) {
  HEARTH_AUTHENTICATE(context);
  std::map<int, size_t> sent;  // lines already sent per rank
  bool first = true;
  while (!context->IsCancelled()) {
    const uint64_t version = c_.hub.version();
    StatusOr<v1::Job> job = c_.store.GetJob(request->id());
    if (!job.ok()) return ToGrpc(job.status());
    StatusOr<int32_t> attempt = c_.store.CurrentAttempt(request->id());
    if (!attempt.ok()) return ToGrpc(attempt.status());
    const std::string dir = AttemptDir(c_.data_dir, request->id(), *attempt);
    std::vector<int> ranks = LoggedRanks(dir);
    if (!request->all_ranks() && request->rank() >= 0) ranks = {request->rank()};
    v1::LogChunk chunk;
    for (int rank : ranks) {
      std::vector<std::string> lines = RankLogLines(dir, rank);
      size_t from = sent[rank];
      if (first && request->tail() > 0 && lines.size() > static_cast<size_t>(request->tail()))
        from = lines.size() - request->tail();
      for (size_t i = from; i < lines.size(); ++i) {
        v1::LogLine* line = chunk.add_lines();
        line->set_rank(rank);
        line->set_text(lines[i]);
      }
      sent[rank] = lines.size();
    }
    first = false;
    if (chunk.lines_size() > 0 && !writer->Write(chunk)) return grpc::Status::CANCELLED;
    if (!request->follow() || Ended(job->state())) return grpc::Status::OK;
    c_.hub.WaitChange(version, std::chrono::milliseconds(500));
  }
  return grpc::Status::CANCELLED;
}

grpc::Status CoordinatorService::ListCheckpoints(grpc::ServerContext* context,
                                                 const v1::ListCheckpointsRequest* request,
                                                 v1::ListCheckpointsResponse* response) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<v1::Job> job = c_.store.GetJob(request->job_id());
  if (!job.ok()) return ToGrpc(job.status());
  StatusOr<std::vector<StoredCheckpoint>> checkpoints =
      c_.store.Checkpoints(request->job_id(), IsBetterMaximized(CheckpointMonitor(job->spec())));
  if (!checkpoints.ok()) return ToGrpc(checkpoints.status());
  for (const StoredCheckpoint& c : *checkpoints) *response->add_checkpoints() = c.info;
  return grpc::Status::OK;
}

StatusOr<StoredCheckpoint> CoordinatorService::FindCheckpoint(const std::string& job_id,
                                                              const std::string& checkpoint_id) {
  HEARTH_ASSIGN_OR_RETURN(v1::Job job, c_.store.GetJob(job_id));
  HEARTH_ASSIGN_OR_RETURN(
      std::vector<StoredCheckpoint> checkpoints,
      c_.store.Checkpoints(job_id, IsBetterMaximized(CheckpointMonitor(job.spec()))));
  if (checkpoints.empty())
    return absl::FailedPreconditionError(
        absl::StrFormat("job %s has no checkpoint yet (%s); wait until it saves one", job_id,
                        v1::JobState_Name(job.state())));
  if (!checkpoint_id.empty()) {
    for (const StoredCheckpoint& c : checkpoints)
      if (c.info.id() == checkpoint_id) return c;
    return absl::NotFoundError(
        absl::StrFormat("job %s has no checkpoint %s; list them with `hearth checkpoints %s`",
                        job_id, checkpoint_id, job_id));
  }
  for (const StoredCheckpoint& c : checkpoints)
    if (c.info.best()) return c;
  return checkpoints.back();
}

grpc::Status CoordinatorService::DownloadCheckpoint(
    grpc::ServerContext* context, const v1::DownloadCheckpointRequest* request,
    grpc::ServerWriter<v1::CheckpointChunk>* writer) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<StoredCheckpoint> found = FindCheckpoint(request->job_id(), request->checkpoint_id());
  if (!found.ok()) return ToGrpc(found.status());
  // An empty id asks for the latest, not the best.
  if (request->checkpoint_id().empty()) {
    StatusOr<std::vector<StoredCheckpoint>> all = c_.store.Checkpoints(request->job_id());
    if (all.ok() && !all->empty()) found = all->back();
  }
  // Verified before sending: a file damaged on disk is DATA_LOSS, never served.
  StatusOr<std::string> sha = Sha256OfFile(found->path);
  if (!sha.ok()) return ToGrpc(sha.status());
  if (*sha != found->info.sha256())
    return grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrFormat("checkpoint %s is damaged on the coordinator's disk "
                                        "(sha256 %s, expected %s); use another checkpoint",
                                        found->info.id(), *sha, found->info.sha256()));
  std::ifstream in(found->path, std::ios::binary);
  v1::CheckpointChunk chunk;
  *chunk.mutable_info() = found->info;
  std::string buffer(1 << 20, '\0');
  do {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
    if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
    chunk.clear_info();
  } while (in);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Evaluate(grpc::ServerContext* context,
                                          const v1::EvaluateRequest* request,
                                          v1::EvaluateResponse* response) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<StoredCheckpoint> found = FindCheckpoint(request->job_id(), request->checkpoint_id());
  if (!found.ok()) return ToGrpc(found.status());
  StatusOr<std::string> data = c_.roots.Resolve(request->data_path(), "data_path");
  if (!data.ok()) return ToGrpc(data.status());
  std::string labels;
  if (!request->labels_path().empty()) {
    StatusOr<std::string> resolved = c_.roots.Resolve(request->labels_path(), "labels_path");
    if (!resolved.ok()) return ToGrpc(resolved.status());
    labels = *resolved;
  }
  StatusOr<ModelCache::Lease> lease = models_.Acquire(found->path);
  if (!lease.ok()) return ToGrpc(lease.status());
  StatusOr<Dataset> set = lease->model->ReadData(*data, labels);
  if (!set.ok()) return ToGrpc(set.status());
  StatusOr<MetricResults> metrics = lease->model->Evaluate(*set);
  if (!metrics.ok()) return ToGrpc(metrics.status());
  *response->mutable_checkpoint() = found->info;
  response->set_examples(set->size());
  AddMetrics(*metrics, response->mutable_metrics());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Predict(grpc::ServerContext* context,
                                         const v1::PredictRequest* request,
                                         v1::PredictResponse* response) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<StoredCheckpoint> found = FindCheckpoint(request->job_id(), request->checkpoint_id());
  if (!found.ok()) return ToGrpc(found.status());
  StatusOr<ModelCache::Lease> lease = models_.Acquire(found->path);
  if (!lease.ok()) return ToGrpc(lease.status());
  Tensor features;
  if (!request->input_path().empty()) {
    StatusOr<std::string> input = c_.roots.Resolve(request->input_path(), "input_path");
    if (!input.ok()) return ToGrpc(input.status());
    StatusOr<Tensor> read = lease->model->ReadFeatures(*input);
    if (!read.ok()) return ToGrpc(read.status());
    features = *read;
  } else {
    if (request->rows_size() == 0)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "rows: give at least one row, or input_path");
    const int width = request->rows(0).values_size();
    std::vector<float> values;
    for (int i = 0; i < request->rows_size(); ++i) {
      if (request->rows(i).values_size() != width)
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrFormat("rows[%d]: %d values, but rows[0] has %d", i,
                                            request->rows(i).values_size(), width));
      values.insert(values.end(), request->rows(i).values().begin(),
                    request->rows(i).values().end());
    }
    features = Tensor::FromVector(values, Shape{request->rows_size(), width});
  }
  StatusOr<std::vector<TrainedModel::Prediction>> predictions = lease->model->Predict(features);
  if (!predictions.ok()) return ToGrpc(predictions.status());
  *response->mutable_checkpoint() = found->info;
  for (const TrainedModel::Prediction& p : *predictions) {
    v1::Prediction* out = response->add_predictions();
    out->set_class_id(p.class_id);
    out->set_label(p.label);
    out->mutable_probabilities()->Add(p.probabilities.begin(), p.probabilities.end());
    out->mutable_values()->Add(p.values.begin(), p.values.end());
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::SubmitSweep(grpc::ServerContext* context,
                                             const v1::SubmitSweepRequest* request,
                                             v1::Sweep* response) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<v1::Sweep> sweep = sweeps_.Submit(request->spec());
  if (!sweep.ok()) return ToGrpc(sweep.status());
  *response = *sweep;
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetSweep(grpc::ServerContext* context,
                                          const v1::GetSweepRequest* request, v1::Sweep* response) {
  HEARTH_AUTHENTICATE(context);
  StatusOr<v1::Sweep> sweep = sweeps_.Get(request->id());
  if (!sweep.ok()) return ToGrpc(sweep.status());
  *response = *sweep;
  return grpc::Status::OK;
}

}  // namespace hearth::coordinator
