#include "coordinator/coordinator_service.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "coordinator/data_dir.h"
#include "coordinator/grpc_status.h"
#include "coordinator/job_logs.h"
#include "coordinator/rotating_log.h"
#include "hearth/job.h"
#include "serve/proto_rows.h"

namespace hearth::coordinator {
namespace {

#define HEARTH_AUTHENTICATE(context)                       \
  do {                                                     \
    grpc::Status auth_status_ = c_.auth.Check(*(context)); \
    if (!auth_status_.ok()) return auth_status_;           \
  } while (0)

// Bytes of log text sent per rank per pass and per message.
constexpr int64_t kLogBytesPerPass = 1 << 20;
// How long a stream waits for news before it looks again, and before it notices that its client
// has gone (the sync API says so only when asked): the longest a departed client holds its slot.
constexpr std::chrono::milliseconds kStreamPoll{200};

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

grpc::Status Exhausted(const std::string& message) {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message);
}

grpc::Status NoStreamSlot(int limit) {
  return Exhausted(absl::StrFormat(
      "hearthd serves at most %d streams at once (watch, logs, downloads); try again when one "
      "ends, or start hearthd with a larger --max-streams",
      limit));
}

Status CheckRows(int64_t rows, int64_t limit) {
  if (rows <= limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrFormat("%d examples is more than the %d hearthd evaluates or predicts in one call "
                      "(--max-rows); split the data, or raise the limit",
                      rows, limit));
}

}  // namespace

grpc::Status Guarded(const char* method, const std::function<grpc::Status()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hearthd: %s failed with an internal error: %s\n", method, e.what());
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrFormat("%s: internal error (%s); the request was not carried out "
                                        "and hearthd keeps running",
                                        method, e.what()));
  } catch (...) {
    std::fprintf(stderr, "hearthd: %s failed with an unknown internal error\n", method);
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrFormat("%s: internal error; the request was not carried out and "
                                        "hearthd keeps running",
                                        method));
  }
}

bool MaximizesMonitor(const v1::JobSpec& spec) {
  return ResolveMonitorMode(CheckpointMonitor(spec), spec.checkpoint().mode()) == MetricMode::kMax;
}

grpc::Status CoordinatorService::SubmitJob(grpc::ServerContext* context,
                                           const v1::SubmitJobRequest* request,
                                           v1::SubmitJobResponse* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("SubmitJob", [&] {
    v1::JobSpec spec = request->spec();
    if (Status s = ValidateJobSpec(spec); !s.ok())
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "spec." + std::string(s.message()));
    if (spec.data().folds() > 0 && !spec.data().has_fold())
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "spec.data.folds: hearthd runs the folds of a cross-validation in "
                          "parallel as a sweep: submit it with `hearth sweep` (a SweepSpec whose "
                          "base is this job; parameters may be empty), or set data.fold to train "
                          "one fold");
    if (Status s = c_.roots.ResolveSpec(spec); !s.ok()) return ToGrpc(s);
    if (request->workers() < 0)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "workers: must be >= 0");
    const int workers = request->workers() > 0 ? request->workers() : Workers(spec);
    if (workers > c_.slots)
      return Exhausted(
          absl::StrFormat("workers: %d is more than the coordinator's %d slots; use "
                          "fewer workers or start hearthd with --slots %d",
                          workers, c_.slots, workers));
    StatusOr<int64_t> queued = c_.store.CountJobs({v1::QUEUED});
    if (!queued.ok()) return ToGrpc(queued.status());
    if (*queued >= c_.limits.max_queued_jobs)
      return Exhausted(absl::StrFormat(
          "%d jobs are already queued, hearthd's limit (--max-queued-jobs); wait for some to "
          "start or cancel them, or raise the limit",
          *queued));
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
  });
}

grpc::Status CoordinatorService::GetJob(grpc::ServerContext* context,
                                        const v1::GetJobRequest* request, v1::Job* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("GetJob", [&] {
    StatusOr<v1::Job> job = c_.store.GetJob(request->id());
    if (!job.ok()) return ToGrpc(job.status());
    *response = *job;
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::ListJobs(grpc::ServerContext* context,
                                          const v1::ListJobsRequest* request,
                                          v1::ListJobsResponse* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("ListJobs", [&] {
    if (request->limit() < 0)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must be >= 0");
    const int limit = request->limit() == 0 ? 100 : request->limit();
    if (limit > c_.limits.max_list_page)
      return Exhausted(absl::StrFormat(
          "limit: %d is more than the %d jobs hearthd lists in one answer (--max-list-page); "
          "page through them with page_token instead",
          limit, c_.limits.max_list_page));
    std::vector<v1::JobState> states;
    for (int s : request->states()) states.push_back(static_cast<v1::JobState>(s));
    // One more than asked for tells whether another page follows.
    StatusOr<std::vector<v1::Job>> jobs =
        c_.store.ListJobs(states, limit + 1, request->page_token());
    if (!jobs.ok()) {
      if (absl::IsNotFound(jobs.status()))
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "page_token: not a token from a ListJobs answer");
      return ToGrpc(jobs.status());
    }
    const bool more = static_cast<int>(jobs->size()) > limit;
    if (more) jobs->resize(limit);
    for (v1::Job& job : *jobs) *response->add_jobs() = std::move(job);
    if (more) response->set_next_page_token(response->jobs().rbegin()->id());
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::CancelJob(grpc::ServerContext* context,
                                           const v1::CancelJobRequest* request, v1::Job* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("CancelJob", [&] {
    StatusOr<v1::Job> job = c_.scheduler.Cancel(request->id());
    if (!job.ok()) return ToGrpc(job.status());
    *response = *job;
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::WatchJob(grpc::ServerContext* context,
                                          const v1::WatchJobRequest* request,
                                          grpc::ServerWriter<v1::JobEvent>* writer) {
  HEARTH_AUTHENTICATE(context);
  StreamSlots::Slot slot = c_.streams.Take();
  if (!slot) return NoStreamSlot(c_.limits.max_streams);
  return Guarded("WatchJob", [&] {
    int64_t after = request->from_sequence();
    while (!context->IsCancelled()) {
      const uint64_t version = c_.hub.version();
      StatusOr<v1::Job> job = c_.store.GetJob(request->id());
      if (!job.ok()) return ToGrpc(job.status());
      // A bounded batch per pass, so a long history never sits in memory at once.
      StatusOr<std::vector<v1::JobEvent>> events = c_.store.Events(request->id(), after, 1000);
      if (!events.ok()) return ToGrpc(events.status());
      for (const v1::JobEvent& event : *events) {
        if (!writer->Write(event)) return grpc::Status::CANCELLED;
        after = event.sequence();
      }
      if (events->size() == 1000) continue;  // more to replay
      // The job's state was read before its events, so every event of an ended job is out.
      if (Ended(job->state())) return grpc::Status::OK;
      c_.hub.WaitChange(version, kStreamPoll);
    }
    return grpc::Status::CANCELLED;
  });
}

Status CoordinatorService::StreamLogs(grpc::ServerContext* context,
                                      const v1::GetJobLogsRequest& request,
                                      grpc::ServerWriter<v1::LogChunk>* writer) {
  const bool one_rank = !request.all_ranks() && request.rank() >= 0;
  int attempt = -1;
  std::map<int, LogCursor> cursors;  // of the current attempt, per rank
  v1::LogChunk chunk;
  int64_t chunk_bytes = 0;
  auto flush = [&]() -> Status {
    if (chunk.lines_size() == 0) return absl::OkStatus();
    if (!writer->Write(chunk)) return absl::CancelledError("the client went away");
    chunk.Clear();
    chunk_bytes = 0;
    return absl::OkStatus();
  };
  auto add = [&](int rank, std::string text) -> Status {
    chunk_bytes += static_cast<int64_t>(text.size());
    v1::LogLine* line = chunk.add_lines();
    line->set_rank(rank);
    line->set_attempt(attempt);
    line->set_text(std::move(text));
    return chunk_bytes >= kLogBytesPerPass ? flush() : absl::OkStatus();
  };
  // Everything new in the current attempt's logs, every rank in order.
  auto read_new = [&](const std::string& dir) -> Status {
    std::set<int> ranks;
    if (one_rank) {
      ranks.insert(request.rank());
    } else {
      for (int r : LoggedRanks(dir)) ranks.insert(r);
    }
    for (int rank : ranks) {
      auto [it, fresh] = cursors.try_emplace(rank);
      if (fresh && request.tail() > 0) {
        for (std::string& text : TailLogLines(AttemptLogDir(dir), RankLogName(rank), request.tail(),
                                              kLogBytesPerPass, &it->second))
          HEARTH_RETURN_IF_ERROR(add(rank, std::move(text)));
        continue;
      }
      for (bool more = true; more;) {
        bool skipped = false;
        std::vector<std::string> lines = ReadLogLines(AttemptLogDir(dir), RankLogName(rank),
                                                      it->second, kLogBytesPerPass, &skipped);
        if (skipped && !fresh)
          HEARTH_RETURN_IF_ERROR(add(rank,
                                     "[hearth: lines of this log were rotated away before "
                                     "they could be sent (hearthd --max-log-mb-per-rank)]"));
        for (std::string& text : lines) HEARTH_RETURN_IF_ERROR(add(rank, std::move(text)));
        more = !lines.empty();
      }
    }
    return flush();
  };
  while (!context->IsCancelled()) {
    const uint64_t version = c_.log_hub.version();
    // The state first: a job that had ended by then has all its logs written.
    HEARTH_ASSIGN_OR_RETURN(v1::Job job, c_.store.GetJob(request.id()));
    if (attempt >= 0 && job.attempt() != attempt) {
      // A new attempt (a restart): finish the old one's logs, then follow the new one's.
      HEARTH_RETURN_IF_ERROR(read_new(AttemptDir(c_.data_dir, request.id(), attempt)));
      cursors.clear();
    }
    attempt = job.attempt();
    if (attempt > 0)
      HEARTH_RETURN_IF_ERROR(read_new(AttemptDir(c_.data_dir, request.id(), attempt)));
    if (!request.follow() || Ended(job.state())) return absl::OkStatus();
    c_.log_hub.WaitChange(version, kStreamPoll);
  }
  return absl::CancelledError("the client went away");
}

grpc::Status CoordinatorService::GetJobLogs(grpc::ServerContext* context,
                                            const v1::GetJobLogsRequest* request,
                                            grpc::ServerWriter<v1::LogChunk>* writer) {
  HEARTH_AUTHENTICATE(context);
  if (request->tail() < 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "tail: must be >= 0");
  StreamSlots::Slot slot = c_.streams.Take();
  if (!slot) return NoStreamSlot(c_.limits.max_streams);
  return Guarded("GetJobLogs", [&] { return ToGrpc(StreamLogs(context, *request, writer)); });
}

grpc::Status CoordinatorService::ListCheckpoints(grpc::ServerContext* context,
                                                 const v1::ListCheckpointsRequest* request,
                                                 v1::ListCheckpointsResponse* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("ListCheckpoints", [&] {
    StatusOr<v1::Job> job = c_.store.GetJob(request->job_id());
    if (!job.ok()) return ToGrpc(job.status());
    StatusOr<std::vector<StoredCheckpoint>> checkpoints =
        c_.store.Checkpoints(request->job_id(), MaximizesMonitor(job->spec()));
    if (!checkpoints.ok()) return ToGrpc(checkpoints.status());
    for (const StoredCheckpoint& c : *checkpoints) *response->add_checkpoints() = c.info;
    return grpc::Status::OK;
  });
}

StatusOr<StoredCheckpoint> CoordinatorService::FindCheckpoint(const std::string& job_id,
                                                              const std::string& checkpoint_id) {
  HEARTH_ASSIGN_OR_RETURN(v1::Job job, c_.store.GetJob(job_id));
  HEARTH_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> checkpoints,
                          c_.store.Checkpoints(job_id, MaximizesMonitor(job.spec())));
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
  StreamSlots::Slot slot = c_.streams.Take();
  if (!slot) return NoStreamSlot(c_.limits.max_streams);
  return Guarded("DownloadCheckpoint", [&] {
    StatusOr<StoredCheckpoint> found = FindCheckpoint(request->job_id(), request->checkpoint_id());
    if (!found.ok()) return ToGrpc(found.status());
    // An empty id asks for the latest, not the best.
    if (request->checkpoint_id().empty()) {
      StatusOr<std::vector<StoredCheckpoint>> all = c_.store.Checkpoints(request->job_id());
      if (all.ok() && !all->empty()) found = all->back();
    }
    return ToGrpc(StreamCheckpoint(*found, writer));
  });
}

grpc::Status CoordinatorService::Evaluate(grpc::ServerContext* context,
                                          const v1::EvaluateRequest* request,
                                          v1::EvaluateResponse* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("Evaluate", [&] {
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
    StatusOr<ModelCache::Lease> lease = models_.Acquire(*found);
    if (!lease.ok()) return ToGrpc(lease.status());
    StatusOr<Dataset> set = lease->model->ReadData(*data, labels);
    if (!set.ok()) return ToGrpc(set.status());
    if (Status s = CheckRows(set->size(), c_.limits.max_rows); !s.ok()) return ToGrpc(s);
    MetricResults metrics;
    StatusOr<v1::EvaluationReport> report = lease->model->Report(*set, &metrics);
    if (!report.ok()) return ToGrpc(report.status());
    *response->mutable_checkpoint() = found->info;
    response->set_examples(set->size());
    AddMetrics(metrics, response->mutable_metrics());
    *response->mutable_report() = *std::move(report);
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::Predict(grpc::ServerContext* context,
                                         const v1::PredictRequest* request,
                                         v1::PredictResponse* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("Predict", [&] {
    if (Status s = CheckRows(request->rows_size(), c_.limits.max_rows); !s.ok()) return ToGrpc(s);
    StatusOr<StoredCheckpoint> found = FindCheckpoint(request->job_id(), request->checkpoint_id());
    if (!found.ok()) return ToGrpc(found.status());
    StatusOr<ModelCache::Lease> lease = models_.Acquire(*found);
    if (!lease.ok()) return ToGrpc(lease.status());
    Tensor features;
    if (!request->input_path().empty()) {
      StatusOr<std::string> input = c_.roots.Resolve(request->input_path(), "input_path");
      if (!input.ok()) return ToGrpc(input.status());
      StatusOr<Tensor> read = lease->model->ReadFeatures(*input);
      if (!read.ok()) return ToGrpc(read.status());
      if (Status s = CheckRows(read->dim(0), c_.limits.max_rows); !s.ok()) return ToGrpc(s);
      features = *read;
    } else {
      if (request->rows_size() == 0)
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "rows: give at least one row, or input_path");
      // Decoded as `hearth serve` decodes rows: named fields, and errors naming row and field.
      // A checkpoint too old to record its record width takes rows as wide as the first.
      const serve::FeatureRows layout(*lease->model, request->rows(0).values_size());
      // No reserve from the counts: a million empty rows must not reserve a million widths.
      std::vector<float> values;
      for (int i = 0; i < request->rows_size(); ++i)
        if (Status s = serve::AppendProtoRow(layout, request->rows(i), i, values); !s.ok())
          return ToGrpc(s);
      features = Tensor::FromVector(values, Shape{request->rows_size(), layout.width()});
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
      out->set_distance(p.distance);
    }
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::SubmitSweep(grpc::ServerContext* context,
                                             const v1::SubmitSweepRequest* request,
                                             v1::Sweep* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("SubmitSweep", [&] {
    StatusOr<v1::Sweep> sweep = sweeps_.Submit(request->spec());
    if (!sweep.ok()) return ToGrpc(sweep.status());
    *response = *sweep;
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::GetSweep(grpc::ServerContext* context,
                                          const v1::GetSweepRequest* request, v1::Sweep* response) {
  HEARTH_AUTHENTICATE(context);
  return Guarded("GetSweep", [&] {
    StatusOr<v1::Sweep> sweep = sweeps_.Get(request->id());
    if (!sweep.ok()) return ToGrpc(sweep.status());
    *response = *sweep;
    return grpc::Status::OK;
  });
}

}  // namespace hearth::coordinator
