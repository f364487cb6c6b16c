#include "cli/checkpoint_download.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "absl/strings/str_format.h"
#include "coordinator/sha256.h"
#include "hearth/env.h"

namespace hearth::cli {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

StatusOr<DownloadedCheckpoint> DownloadCheckpoint(
    RemoteClient& client, const std::string& job_id, const std::string& checkpoint_id,
    const std::function<std::string(const v1::CheckpointInfo&)>& destination) {
  v1::DownloadCheckpointRequest request;
  request.set_job_id(job_id);
  request.set_checkpoint_id(checkpoint_id);
  auto context = client.NewContext(kLongDeadline);
  auto reader = client.stub().DownloadCheckpoint(context.get(), request);

  DownloadedCheckpoint out;
  std::string tmp;
  std::unique_ptr<std::FILE, FileCloser> file;
  coordinator::Sha256 hash;
  Status local_error;
  v1::CheckpointChunk chunk;
  while (reader->Read(&chunk)) {
    if (file == nullptr) {
      if (!chunk.has_info()) {
        local_error = absl::DataLossError("hearthd's first chunk has no checkpoint info");
        context->TryCancel();
        break;
      }
      out.info = chunk.info();
      out.path = destination(out.info);
      tmp = out.path + ".tmp";
      file.reset(std::fopen(tmp.c_str(), "wb"));
      if (file == nullptr) {
        local_error = absl::InvalidArgumentError(
            absl::StrFormat("cannot write %s: check the directory exists and is writable", tmp));
        tmp.clear();  // not ours to remove
        context->TryCancel();
        break;
      }
    }
    const std::string& data = chunk.data();
    if (!data.empty() && std::fwrite(data.data(), 1, data.size(), file.get()) != data.size()) {
      local_error = absl::DataLossError(absl::StrFormat("cannot write %s (disk full?)", tmp));
      context->TryCancel();
      break;
    }
    hash.Update(data);
    out.bytes += static_cast<int64_t>(data.size());
  }
  const grpc::Status status = reader->Finish();
  auto fail = [&](const Status& error) -> Status {
    file.reset();
    if (!tmp.empty()) std::remove(tmp.c_str());
    return error;
  };
  if (!local_error.ok()) return fail(local_error);
  if (!status.ok())
    return fail(Status(static_cast<absl::StatusCode>(status.error_code()),
                       DescribeRpcError(status, client.address())));
  if (file == nullptr) return fail(absl::DataLossError("hearthd sent no checkpoint data"));
  if (std::fflush(file.get()) != 0 || ::fsync(::fileno(file.get())) != 0 ||
      std::fclose(file.release()) != 0)
    return fail(absl::DataLossError(absl::StrFormat("cannot write %s (disk full?)", tmp)));
  out.sha256 = hash.HexDigest();
  const v1::CheckpointInfo& info = out.info;
  if (info.size_bytes() > 0 && out.bytes != info.size_bytes())
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: received %d bytes, hearthd announced %d; the transfer was cut short, try again",
        info.id(), out.bytes, info.size_bytes())));
  if (out.sha256 != info.sha256())
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: sha256 of the received bytes is %s, hearthd announced %s; the transfer was "
        "corrupted, try again",
        info.id(), out.sha256, info.sha256().empty() ? "none" : info.sha256())));
  if (std::rename(tmp.c_str(), out.path.c_str()) != 0)
    return fail(
        absl::InvalidArgumentError(absl::StrFormat("cannot rename %s to %s", tmp, out.path)));
  const std::string dir = std::filesystem::path(out.path).parent_path().string();
  Env::Default().SyncDir(dir.empty() ? "." : dir).IgnoreError();  // the file itself is complete
  return out;
}

}  // namespace hearth::cli
