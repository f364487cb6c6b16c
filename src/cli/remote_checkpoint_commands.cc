// `hearth checkpoints` and `hearth download`: a coordinator job's checkpoint store.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "cli/checkpoint_download.h"
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

// Downloads into --output (verified, atomic) and reports where.
int RunDownload(const ParsedArgs& args) {
  const CommandSpec& spec = DownloadCommand().spec;
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  auto downloaded = DownloadCheckpoint(
      **client, args.positionals[0], args.Get("checkpoint"),
      [&](const v1::CheckpointInfo& info) { return OutputPath(args.Get("output"), info); });
  if (!downloaded.ok()) return Fail(spec, downloaded.status());
  const v1::CheckpointInfo& info = downloaded->info;
  const std::string& path = downloaded->path;
  const std::string& sha256 = downloaded->sha256;
  const int64_t bytes = downloaded->bytes;

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
