#include "cli/worker_reporter.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "coordinator/data_dir.h"
#include "coordinator/grpc_status.h"
#include "coordinator/sha256.h"
#include "hearth/checkpoint.h"
#include "hearth/env.h"
#include "hearth/report.h"

namespace hearth::cli {
namespace {

using coordinator::CheckpointId;
using coordinator::FromGrpc;
using coordinator::Sha256Hex;

void AddMetrics(const MetricsRecord& record, const std::string& prefix,
                google::protobuf::RepeatedPtrField<v1::Metric>* out) {
  for (const auto& [key, value] : record.fields()) {
    if (!key.starts_with(prefix)) continue;
    v1::Metric* m = out->Add();
    m->set_name(key);
    m->set_value(record.Number(key));
  }
}

}  // namespace

WorkerReporter::WorkerReporter(const RemoteClient& client, v1::WorkerService::Stub& stub,
                               std::string job_id, int attempt, std::string run_dir)
    : client_(client),
      stub_(stub),
      job_id_(std::move(job_id)),
      run_dir_(std::move(run_dir)),
      attempt_(attempt) {
  // Checkpoints already in the run directory came from the coordinator (a resume).
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir_, error))
    if (std::optional<int64_t> step = CheckpointStepOfFileName(entry.path().filename().string()))
      uploaded_.insert(*step);
}

WorkerReporter::~WorkerReporter() {
  quit_ = true;
  if (thread_.joinable()) thread_.join();
}

void WorkerReporter::Start(int period_ms) {
  thread_ = std::thread([this, period_ms] { Loop(period_ms); });
}

void WorkerReporter::Loop(int period_ms) {
  while (!quit_) {
    {
      std::lock_guard lock(mu_);
      Status s;
      try {
        s = Poll();
      } catch (const std::exception& e) {  // the last resort: reporting must not end training
        s = absl::InternalError(std::string("reporting to the coordinator: ") + e.what());
      }
      if (!s.ok() && error_.ok()) error_ = s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(period_ms));
  }
}

Status WorkerReporter::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

Status WorkerReporter::Report(const v1::ProgressReport& report) {
  auto context = client_.NewContext(std::chrono::seconds(60));
  v1::ProgressAck ack;
  Status status = FromGrpc(stub_.ReportProgress(context.get(), report, &ack));
  // A newer attempt has replaced this one, the job has ended or this attempt's secret is no
  // longer valid: stop training.
  if (absl::IsFailedPrecondition(status) || absl::IsUnauthenticated(status) ||
      absl::IsPermissionDenied(status))
    stop_ = true;
  HEARTH_RETURN_IF_ERROR(status);
  if (ack.stop()) stop_ = true;
  return absl::OkStatus();
}

Status WorkerReporter::Poll(bool final_pass) {
  const std::string log = run_dir_ + "/" + kMetricsLogName;
  if (std::filesystem::exists(log)) {
    HEARTH_ASSIGN_OR_RETURN(std::vector<MetricsRecord> records, ReadMetricsLog(log));
    for (; records_seen_ < records.size(); ++records_seen_) {
      const MetricsRecord& r = records[records_seen_];
      v1::ProgressReport report;
      report.set_job_id(job_id_);
      report.set_attempt(attempt_);
      if (r.type() == "step") {
        v1::StepEvent* step = report.mutable_step();
        step->set_step(static_cast<int64_t>(r.Number("step")));
        step->set_epoch(static_cast<int32_t>(r.Number("epoch")));
        step->set_loss(r.Number("loss"));
        step->set_learning_rate(r.Number("lr"));
        step->set_examples_per_second(r.Number("examples_per_second"));
      } else if (r.type() == "epoch") {
        v1::EpochEvent* epoch = report.mutable_epoch();
        epoch->set_epoch(static_cast<int32_t>(r.Number("epoch")));
        epoch->set_step(static_cast<int64_t>(r.Number("step")));
        epoch->set_train_loss(r.Number("train_loss"));
        AddMetrics(r, "val_", epoch->mutable_validation_metrics());
      } else {
        continue;
      }
      HEARTH_RETURN_IF_ERROR(Report(report));
    }
  }
  std::error_code error;
  std::vector<std::pair<int64_t, std::string>> fresh;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir_, error)) {
    const std::optional<int64_t> step = CheckpointStepOfFileName(entry.path().filename().string());
    if (step && !uploaded_.count(*step)) fresh.push_back({*step, entry.path().string()});
  }
  std::sort(fresh.begin(), fresh.end());
  if (fresh.empty()) return absl::OkStatus();
  // The monitored metric of each checkpoint, from the trainer's index (read-only beside it).
  CheckpointManagerOptions read_only;
  read_only.read_only = true;
  StatusOr<std::unique_ptr<CheckpointManager>> index =
      CheckpointManager::Open(Env::Default(), run_dir_, read_only);
  for (const auto& [step, path] : fresh) {
    // A file retention deleted meanwhile is simply skipped.
    if (!std::filesystem::exists(path)) continue;
    std::string metric_name;
    double metric_value = 0;
    bool indexed = false;
    if (index.ok())
      for (const CheckpointRecord& record : (*index)->records()) {
        if (record.step != step) continue;
        indexed = true;
        if (record.metric) {
          metric_name = (*index)->monitor_name();
          metric_value = *record.metric;
        }
      }
    // The trainer writes the file, then the index: wait a round for its metric.
    if (!indexed && !final_pass) continue;
    HEARTH_RETURN_IF_ERROR(Upload(path, step, metric_name, metric_value));
    uploaded_.insert(step);
  }
  return absl::OkStatus();
}

Status WorkerReporter::Upload(const std::string& path, int64_t step, const std::string& metric_name,
                              double metric_value) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return absl::DataLossError("cannot read " + path);
  v1::UploadCheckpointRequest header;
  v1::UploadCheckpointRequest::Header* h = header.mutable_header();
  h->set_job_id(job_id_);
  h->set_attempt(attempt_);
  h->set_step(step);
  h->set_size_bytes(static_cast<int64_t>(bytes.size()));
  h->set_sha256(Sha256Hex(bytes));
  h->set_metric_name(metric_name);
  h->set_metric_value(metric_value);
  auto context = client_.NewContext(kLongDeadline);
  v1::CheckpointInfo info;
  std::unique_ptr<grpc::ClientWriter<v1::UploadCheckpointRequest>> writer(
      stub_.UploadCheckpoint(context.get(), &info));
  bool ok = writer->Write(header);
  constexpr size_t kChunk = 1 << 20;
  for (size_t offset = 0; ok && offset < bytes.size(); offset += kChunk) {
    v1::UploadCheckpointRequest chunk;
    chunk.set_data(bytes.substr(offset, kChunk));
    ok = writer->Write(chunk);
  }
  writer->WritesDone();
  return FromGrpc(writer->Finish());
}

Status WorkerReporter::Flush() {
  quit_ = true;
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return Poll(/*final_pass=*/true);
}

Status WorkerReporter::Finish(const TrainResult& result) {
  HEARTH_RETURN_IF_ERROR(Flush());
  std::lock_guard lock(mu_);
  v1::ProgressReport report;
  report.set_job_id(job_id_);
  report.set_attempt(attempt_);
  v1::JobResult* r = report.mutable_result();
  r->set_steps(result.steps);
  r->set_epochs(static_cast<int32_t>(result.epochs));
  r->set_wall_seconds(result.wall_seconds);
  r->set_examples_per_second(result.examples_per_second);
  r->set_train_loss(result.train_loss);
  for (const auto& [name, value] : result.validation_metrics) {
    v1::Metric* m = r->add_validation_metrics();
    m->set_name(name);
    m->set_value(value);
  }
  for (const auto& [name, value] : result.test_metrics) {
    v1::Metric* m = r->add_test_metrics();
    m->set_name(name);
    m->set_value(value);
  }
  const auto step_of = [](const std::string& path) {
    return CheckpointStepOfFileName(std::filesystem::path(path).filename().string());
  };
  if (auto step = step_of(result.checkpoint)) r->set_checkpoint_id(CheckpointId(job_id_, *step));
  if (auto step = step_of(result.best_checkpoint))
    r->set_best_checkpoint_id(CheckpointId(job_id_, *step));
  return Report(report);
}

}  // namespace hearth::cli
