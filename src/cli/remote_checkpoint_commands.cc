// `hearth checkpoints` and `hearth download`: a coordinator job's checkpoint store.
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "cli/commands.h"
#include "cli/json_writer.h"
#include "cli/remote_client.h"
#include "cli/remote_display.h"
#include "hearth/env.h"

namespace hearth::cli {
namespace {

int RunCheckpoints(const ParsedArgs& args) {
  const CommandSpec& spec = CheckpointsCommand().spec;
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::ListCheckpointsRequest request;
  request.set_job_id(args.positionals[0]);
  v1::ListCheckpointsResponse response;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().ListCheckpoints(context.get(), request, &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  if (args.Has("json")) {
    std::printf("%s\n", ProtoJson(response).c_str());
  } else if (response.checkpoints().empty()) {
    std::printf("no checkpoints yet for %s\n", request.job_id().c_str());
  } else {
    PrintCheckpointTable(stdout, response.checkpoints());
  }
  return 0;
}

std::string Hex(const unsigned char* bytes, unsigned int n) {
  std::string s;
  for (unsigned int i = 0; i < n; ++i) s += absl::StrFormat("%02x", bytes[i]);
  return s;
}

// Where a checkpoint goes: --output FILE, a file named after it inside --output DIR, or in the
// current directory ("j-000042/600" -> j-000042-600.safetensors).
std::string OutputPath(const std::string& flag, const v1::CheckpointInfo& info) {
  const std::string name = absl::StrReplaceAll(info.id(), {{"/", "-"}}) + ".safetensors";
  if (flag.empty()) return name;
  std::error_code error;
  if (std::filesystem::is_directory(flag, error))
    return (std::filesystem::path(flag) / name).string();
  return flag;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct DigestFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Streams the checkpoint into PATH.tmp while hashing it, checks size and sha256 against what the
// coordinator announced, then renames it into place. Nothing is left behind on failure.
int RunDownload(const ParsedArgs& args) {
  const CommandSpec& spec = DownloadCommand().spec;
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::DownloadCheckpointRequest request;
  request.set_job_id(args.positionals[0]);
  request.set_checkpoint_id(args.Get("checkpoint"));
  auto context = (*client)->NewContext(kLongDeadline);
  auto reader = (*client)->stub().DownloadCheckpoint(context.get(), request);

  v1::CheckpointInfo info;
  std::string path, tmp;
  std::unique_ptr<std::FILE, FileCloser> file;
  std::unique_ptr<EVP_MD_CTX, DigestFree> digest(EVP_MD_CTX_new());
  int64_t bytes = 0;
  absl::Status local_error;
  auto fail = [&](const absl::Status& status) {
    file.reset();
    if (!tmp.empty()) std::remove(tmp.c_str());
    return Fail(spec, status);
  };
  if (digest == nullptr || EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr) != 1)
    return fail(absl::InternalError("cannot initialise SHA-256 (OpenSSL)"));
  v1::CheckpointChunk chunk;
  while (reader->Read(&chunk)) {
    if (file == nullptr) {
      if (!chunk.has_info()) {
        local_error = absl::DataLossError("hearthd's first chunk has no checkpoint info");
        context->TryCancel();
        break;
      }
      info = chunk.info();
      path = OutputPath(args.Get("output"), info);
      tmp = path + ".tmp";
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
    if (!data.empty() && (std::fwrite(data.data(), 1, data.size(), file.get()) != data.size() ||
                          EVP_DigestUpdate(digest.get(), data.data(), data.size()) != 1)) {
      local_error = absl::DataLossError(absl::StrFormat("cannot write %s (disk full?)", tmp));
      context->TryCancel();
      break;
    }
    bytes += static_cast<int64_t>(data.size());
  }
  const grpc::Status status = reader->Finish();
  if (!local_error.ok()) return fail(local_error);
  if (!status.ok()) {
    file.reset();
    if (!tmp.empty()) std::remove(tmp.c_str());
    return FailRpc(spec, status, (*client)->address());
  }
  if (file == nullptr) return fail(absl::DataLossError("hearthd sent no checkpoint data"));
  if (std::fflush(file.get()) != 0 || ::fsync(::fileno(file.get())) != 0 ||
      std::fclose(file.release()) != 0)
    return fail(absl::DataLossError(absl::StrFormat("cannot write %s (disk full?)", tmp)));

  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_size = 0;
  if (EVP_DigestFinal_ex(digest.get(), hash, &hash_size) != 1)
    return fail(absl::InternalError("cannot finish SHA-256 (OpenSSL)"));
  const std::string sha256 = Hex(hash, hash_size);
  if (info.size_bytes() > 0 && bytes != info.size_bytes())
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: received %d bytes, hearthd announced %d; the transfer was cut short, try again",
        info.id(), bytes, info.size_bytes())));
  if (sha256 != info.sha256())
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: sha256 of the received bytes is %s, hearthd announced %s; the transfer was "
        "corrupted, try again",
        info.id(), sha256, info.sha256().empty() ? "none" : info.sha256())));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(absl::InvalidArgumentError(absl::StrFormat("cannot rename %s to %s", tmp, path)));
  const std::string dir = std::filesystem::path(path).parent_path().string();
  Env::Default().SyncDir(dir.empty() ? "." : dir).IgnoreError();  // the file itself is complete

  if (args.Has("json")) {
    JsonObject out;
    out.Add("job", info.job_id())
        .Add("checkpoint", info.id())
        .Add("step", static_cast<int64_t>(info.step()))
        .Add("path", path)
        .Add("size_bytes", bytes)
        .Add("sha256", sha256);
    std::printf("%s\n", out.str().c_str());
  } else {
    std::printf("wrote %s (step %lld, %s, sha256 verified) to %s\n", info.id().c_str(),
                static_cast<long long>(info.step()), FormatBytes(bytes).c_str(), path.c_str());
  }
  return 0;
}

}  // namespace

const Command& CheckpointsCommand() {
  static const Command command{
      {"checkpoints",
       "hearth checkpoints JOB [--json] [connection flags]",
       "list a coordinator job's checkpoints",
       "Lists the checkpoints the coordinator stores for a job, oldest first: id, step, size,\n"
       "the monitored metric, the best one (*), and the start of the sha256.",
       {"JOB"},
       WithConnectionFlags({{"json", "", "print the list as one JSON object"}})},
      RunCheckpoints};
  return command;
}

const Command& DownloadCommand() {
  static const Command command{
      {"download",
       "hearth download JOB [--checkpoint ID] [-o FILE] [--json] [connection flags]",
       "download a coordinator job's checkpoint",
       "Downloads a job's checkpoint (the latest, or --checkpoint ID) and verifies its sha256\n"
       "before renaming it into place, so FILE is complete or absent. Use it with\n"
       "`hearth eval`, `hearth predict`, `hearth inspect`, or safetensors in Python.",
       {"JOB"},
       WithConnectionFlags(
           {{"checkpoint", "ID", "a checkpoint id from `hearth checkpoints` (default: latest)"},
            {"output", "FILE", "also -o: a file or directory (default ./JOB-STEP.safetensors)"},
            {"json", "", "print what was written as one JSON object"}})},
      RunDownload,
      [](const CommandSpec& spec, int argc, char** argv) {
        return ParseWithExtras(spec, argc, argv, {.aliases = {{"-o", "output"}}});
      }};
  return command;
}

}  // namespace hearth::cli
