#include "cli/checkpoint_download.h"

#include <memory>

#include "absl/strings/str_format.h"
#include "coordinator/sha256.h"
#include "hearth/env.h"

namespace hearth::cli {
namespace {

// Reads the chunks of a download stream into the file destination() names (see the header).
StatusOr<DownloadedCheckpoint> Receive(
    RemoteClient& client, grpc::ClientContext& context,
    grpc::ClientReader<v1::CheckpointChunk>& reader,
    const std::function<std::string(const v1::CheckpointInfo&)>& destination) {
  DownloadedCheckpoint out;
  std::unique_ptr<AtomicFile> file;
  coordinator::Sha256 hash;
  Status local_error;
  v1::CheckpointChunk chunk;
  while (reader.Read(&chunk)) {
    if (file == nullptr) {
      if (!chunk.has_info()) {
        local_error = absl::DataLossError("hearthd's first chunk has no checkpoint info");
        context.TryCancel();
        break;
      }
      out.info = chunk.info();
      out.path = destination(out.info);
      StatusOr<std::unique_ptr<AtomicFile>> made = Env::Default().NewAtomicFile(out.path);
      if (!made.ok()) {
        local_error = made.status();
        context.TryCancel();
        break;
      }
      file = *std::move(made);
    }
    const std::string& data = chunk.data();
    if (Status s = file->Append(data); !s.ok()) {
      local_error = s;
      context.TryCancel();
      break;
    }
    hash.Update(data);
    out.bytes += static_cast<int64_t>(data.size());
  }
  const grpc::Status status = reader.Finish();
  // Returning before Commit drops the temp file (~AtomicFile).
  if (!local_error.ok()) return local_error;
  if (!status.ok())
    return Status(static_cast<absl::StatusCode>(status.error_code()),
                  DescribeRpcError(status, client.address()));
  if (file == nullptr) return absl::DataLossError("hearthd sent no checkpoint data");
  out.sha256 = hash.HexDigest();
  const v1::CheckpointInfo& info = out.info;
  if (info.size_bytes() > 0 && out.bytes != info.size_bytes())
    return absl::DataLossError(absl::StrFormat(
        "%s: received %d bytes, hearthd announced %d; the transfer was cut short, try again",
        info.id(), out.bytes, info.size_bytes()));
  if (out.sha256 != info.sha256())
    return absl::DataLossError(absl::StrFormat(
        "%s: sha256 of the received bytes is %s, hearthd announced %s; the transfer was "
        "corrupted, try again",
        info.id(), out.sha256, info.sha256().empty() ? "none" : info.sha256()));
  HEARTH_RETURN_IF_ERROR(file->Commit());
  return out;
}

}  // namespace

StatusOr<DownloadedCheckpoint> DownloadCheckpoint(
    RemoteClient& client, const std::string& job_id, const std::string& checkpoint_id,
    const std::function<std::string(const v1::CheckpointInfo&)>& destination) {
  v1::DownloadCheckpointRequest request;
  request.set_job_id(job_id);
  request.set_checkpoint_id(checkpoint_id);
  auto context = client.NewContext(kLongDeadline);
  auto reader = client.stub().DownloadCheckpoint(context.get(), request);
  return Receive(client, *context, *reader, destination);
}

StatusOr<DownloadedCheckpoint> DownloadCheckpointAsWorker(
    RemoteClient& client, v1::WorkerService::Stub& stub, const std::string& job_id, int attempt,
    const std::string& checkpoint_id,
    const std::function<std::string(const v1::CheckpointInfo&)>& destination) {
  v1::WorkerDownloadRequest request;
  request.set_job_id(job_id);
  request.set_attempt(attempt);
  request.set_checkpoint_id(checkpoint_id);
  auto context = client.NewContext(kLongDeadline);
  auto reader = stub.DownloadCheckpoint(context.get(), request);
  return Receive(client, *context, *reader, destination);
}

}  // namespace hearth::cli
