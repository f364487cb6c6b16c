// Downloading a coordinator job's checkpoint to a local file, verified: what `hearth download`
// and a restarted worker (`hearth worker`, resuming) both do.
#pragma once

#include <functional>
#include <string>

#include "cli/remote_client.h"
#include "hearth/status.h"

namespace hearth::cli {

struct DownloadedCheckpoint {
  v1::CheckpointInfo info;
  std::string path;
  int64_t bytes = 0;
  std::string sha256;
};

// Streams checkpoint `checkpoint_id` of `job_id` (empty: the latest) through Env::NewAtomicFile
// (a unique temp file beside PATH, fsync, rename, directory fsync) while hashing it, where PATH =
// destination(info of the first chunk); checks size and sha256 against what hearthd announced
// before the rename. Nothing is left behind on failure. RPC errors keep their gRPC code, with
// DescribeRpcError's hint as the message.
StatusOr<DownloadedCheckpoint> DownloadCheckpoint(
    RemoteClient& client, const std::string& job_id, const std::string& checkpoint_id,
    const std::function<std::string(const v1::CheckpointInfo&)>& destination);

// The same through WorkerService (a worker resuming, with its attempt's secret).
StatusOr<DownloadedCheckpoint> DownloadCheckpointAsWorker(
    RemoteClient& client, v1::WorkerService::Stub& stub, const std::string& job_id, int attempt,
    const std::string& checkpoint_id,
    const std::function<std::string(const v1::CheckpointInfo&)>& destination);

}  // namespace hearth::cli
