#include "coordinator/checkpoint_store.h"

#include <fcntl.h>
#include <google/protobuf/util/message_differencer.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>

#include "absl/strings/str_format.h"
#include "coordinator/data_dir.h"
#include "coordinator/sha256.h"
#include "core/fault_injection.h"
#include "hearth/checkpoint.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "hearth/train.h"

namespace hearth::coordinator {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool IsLowerHex(const std::string& s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The uploaded file must be a checkpoint this job could have written: one that loads (every
// check of TrainedModel::FromCheckpoint) and whose model and task are the job's.
Status ValidateUpload(const std::string& path, const v1::Job& job, int64_t step) {
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, Env::Default().ReadFile(path));
  StatusOr<Checkpoint> parsed = ParseCheckpoint(bytes, absl::StrFormat("step %d", step));
  bytes.clear();
  bytes.shrink_to_fit();
  if (!parsed.ok()) return absl::InvalidArgumentError(parsed.status().message());
  const auto written = parsed->metadata.find(ckpt_keys::kStep);
  if (written == parsed->metadata.end() || written->second != std::to_string(step))
    return absl::InvalidArgumentError(
        absl::StrFormat("the file is not the checkpoint of step %d (its metadata says step %s)",
                        step, written == parsed->metadata.end() ? "nothing" : written->second));
  StatusOr<std::unique_ptr<TrainedModel>> model =
      TrainedModel::FromCheckpoint(*std::move(parsed), absl::StrFormat("step %d", step));
  if (!model.ok()) return absl::InvalidArgumentError(model.status().message());
  using google::protobuf::util::MessageDifferencer;
  if ((*model)->spec().task() != job.spec().task() ||
      !MessageDifferencer::Equals((*model)->spec().model(), job.spec().model()))
    return absl::InvalidArgumentError(absl::StrFormat(
        "the checkpoint's model is not the model of job %s; it comes from another job", job.id()));
  return absl::OkStatus();
}

}  // namespace

StatusOr<StoredCheckpoint> ReceiveCheckpoint(JobStore& store, const std::string& data_dir,
                                             const v1::Job& job,
                                             const v1::UploadCheckpointRequest::Header& header,
                                             const std::function<bool(std::string*)>& next,
                                             const UploadLimits& limits) {
  if (header.step() < 0)
    return absl::InvalidArgumentError(
        absl::StrFormat("header.step: must be >= 0, got %d", header.step()));
  if (header.size_bytes() <= 0 || header.size_bytes() > limits.max_bytes)
    return absl::ResourceExhaustedError(absl::StrFormat(
        "header.size_bytes: %d is not within 1 to %d bytes, the upload limit (hearthd "
        "--max-checkpoint-mb)",
        header.size_bytes(), limits.max_bytes));
  if (!IsLowerHex(header.sha256(), 64))
    return absl::InvalidArgumentError("header.sha256: expected 64 lowercase hex digits");
  if (header.metric_name().size() > 256)
    return absl::InvalidArgumentError("header.metric_name: longer than 256 characters");
  const bool maximize = ResolveMonitorMode(CheckpointMonitor(job.spec()),
                                           job.spec().checkpoint().mode()) == MetricMode::kMax;
  // The step already stored, if it is: then accepted again only with the same bytes, and never
  // stored over the first.
  auto find_stored = [&]() -> StatusOr<std::optional<StoredCheckpoint>> {
    HEARTH_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> stored,
                            store.Checkpoints(job.id(), maximize));
    for (const StoredCheckpoint& c : stored)
      if (c.info.step() == header.step()) return c;
    return std::nullopt;
  };
  auto same_or_refuse = [&](const StoredCheckpoint& existing,
                            const std::string& sha) -> StatusOr<StoredCheckpoint> {
    if (existing.info.sha256() == sha) return existing;  // ~AtomicFile drops the copy
    return absl::AlreadyExistsError(absl::StrFormat(
        "step %d of job %s is already stored with other bytes (sha256 %s); a checkpoint is never "
        "replaced",
        header.step(), job.id(), existing.info.sha256()));
  };

  const std::string path = StoredCheckpointPath(data_dir, job.id(), header.step());
  Env& env = Env::Default();
  HEARTH_RETURN_IF_ERROR(env.CreateDirs(JobCheckpointDir(data_dir, job.id())));
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, env.NewAtomicFile(path));
  Sha256 hash;
  int64_t received = 0;
  std::string chunk;
  while (next(&chunk)) {
    received += static_cast<int64_t>(chunk.size());
    if (received > header.size_bytes())
      return absl::DataLossError(
          absl::StrFormat("checkpoint upload for step %d: more than the %d bytes announced",
                          header.step(), header.size_bytes()));
    hash.Update(chunk);
    HEARTH_RETURN_IF_ERROR(file->Append(chunk));
    // Fault point: hearthd killed mid-upload (docs/reliability.md).
    if (received * 2 >= header.size_bytes())
      faults::MaybeKill("crash", {{"point", "upload"}, {"job", job.id()}});
  }
  const std::string sha = hash.HexDigest();
  if (received != header.size_bytes() || sha != header.sha256())
    return absl::DataLossError(
        absl::StrFormat("checkpoint upload for step %d arrived damaged: %d bytes with sha256 %s, "
                        "expected %d bytes with sha256 %s",
                        header.step(), received, sha, header.size_bytes(), header.sha256()));
  // One validation and commit at a time: two uploads of one step cannot both pass the check and
  // then rename over each other, and at most one checkpoint is held in memory to validate.
  static std::mutex* commit_mu = new std::mutex;
  std::lock_guard commit(*commit_mu);
  HEARTH_ASSIGN_OR_RETURN(std::optional<StoredCheckpoint> existing, find_stored());
  if (existing) return same_or_refuse(*existing, sha);
  if (Status valid = ValidateUpload(file->temp_path(), job, header.step()); !valid.ok())
    return Status(valid.code(), absl::StrFormat("checkpoint upload for step %d refused: %s",
                                                header.step(), valid.message()));
  HEARTH_RETURN_IF_ERROR(file->Commit());

  StoredCheckpoint checkpoint;
  checkpoint.path = path;
  v1::CheckpointInfo& info = checkpoint.info;
  info.set_id(CheckpointId(job.id(), header.step()));
  info.set_job_id(job.id());
  info.set_step(header.step());
  info.set_size_bytes(received);
  info.set_sha256(sha);
  info.set_created_at(Now());
  info.set_metric_name(header.metric_name());
  info.set_metric_value(header.metric_value());
  StatusOr<JobStore::Added> added = store.AddCheckpoint(checkpoint, maximize);
  if (!added.ok()) {
    // Not recorded: the file must not stay either (a store write failed, or a race lost).
    env.RemoveFile(path).IgnoreError();
    return added.status();
  }
  for (const std::string& evicted : added->evicted_paths) env.RemoveFile(evicted).IgnoreError();
  return checkpoint;
}

Status StreamCheckpoint(const StoredCheckpoint& checkpoint,
                        grpc::ServerWriter<v1::CheckpointChunk>* writer) {
  // One descriptor for both passes: the bytes served are the bytes verified.
  const int fd = ::open(checkpoint.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus("cannot open checkpoint", checkpoint.path, errno);
  std::string buffer(1 << 20, '\0');
  auto read_all = [&](const std::function<bool(std::string_view)>& sink) -> Status {
    for (off_t offset = 0;;) {
      const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoToStatus("cannot read checkpoint", checkpoint.path, errno);
      if (n == 0) return absl::OkStatus();
      offset += n;
      if (!sink(std::string_view(buffer.data(), static_cast<size_t>(n))))
        return absl::CancelledError("the client went away");
    }
  };
  Sha256 hash;
  Status status = read_all([&](std::string_view bytes) {
    hash.Update(bytes);
    return true;
  });
  if (status.ok()) {
    const std::string sha = hash.HexDigest();
    if (sha != checkpoint.info.sha256())
      status = absl::DataLossError(
          absl::StrFormat("checkpoint %s is damaged on the coordinator's disk (sha256 %s, "
                          "expected %s); use another checkpoint",
                          checkpoint.info.id(), sha, checkpoint.info.sha256()));
  }
  if (status.ok()) {
    v1::CheckpointChunk chunk;
    *chunk.mutable_info() = checkpoint.info;
    status = read_all([&](std::string_view bytes) {
      chunk.set_data(bytes.data(), bytes.size());
      const bool ok = writer->Write(chunk);
      chunk.clear_info();
      return ok;
    });
  }
  ::close(fd);
  return status;
}

Status RepairCheckpoints(JobStore& store, const std::string& data_dir) {
  Env& env = Env::Default();
  const std::string root = data_dir + "/checkpoints";
  if (StatusOr<std::vector<std::string>> jobs = env.ListDir(root); jobs.ok()) {
    for (const std::string& job : *jobs) {
      StatusOr<std::vector<std::string>> files = env.ListDir(JoinPath(root, job));
      if (!files.ok()) continue;
      for (const std::string& name : *files)
        if (IsAtomicWriteTempName(name)) {
          std::fprintf(stderr, "hearthd: removing %s/%s/%s, left by an interrupted upload\n",
                       root.c_str(), job.c_str(), name.c_str());
          env.RemoveFile(JoinPath(JoinPath(root, job), name)).IgnoreError();
        }
    }
  }
  HEARTH_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> all, store.AllCheckpoints());
  for (const StoredCheckpoint& c : all) {
    struct stat st;
    if (::stat(c.path.c_str(), &st) == 0 && st.st_size == c.info.size_bytes()) continue;
    std::fprintf(stderr,
                 "hearthd: forgetting checkpoint %s: its file %s is missing or not %lld bytes\n",
                 c.info.id().c_str(), c.path.c_str(), static_cast<long long>(c.info.size_bytes()));
    HEARTH_RETURN_IF_ERROR(store.RemoveCheckpoint(c.info.job_id(), c.info.step()));
  }
  return absl::OkStatus();
}

}  // namespace hearth::coordinator
