// The layout of hearthd's data directory, in one place (as leveldb keeps its file names in
// db/filename.cc):
//
//   <data dir>/hearthd.db                          the job store (SQLite, with -wal and -shm)
//   <data dir>/jobs/<job>/attempt-<n>/session      the attempt's launcher pid and boot id
//   <data dir>/jobs/<job>/attempt-<n>/logs/        launcher.<seg>.log, rank-<r>.<seg>.log
//   <data dir>/jobs/<job>/attempt-<n>/run/         rank 0's run directory, when it runs here
//   <data dir>/checkpoints/<job>/ckpt-<step>.safetensors   the job's uploaded checkpoints
//   <data dir>/models/<name>/<version>/model.safetensors   deployed models (a model repository,
//   <data dir>/models/<name>/<version>/deployment.json     as `hearth serve` reads one), with
//   <data dir>/models/<name>/aliases.json                  where each version came from
//
// A checkpoint's id is "<job>/<step>", e.g. "j-000042/600".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::coordinator {

std::string DatabasePath(const std::string& data_dir);
std::string AttemptDir(const std::string& data_dir, const std::string& job_id, int attempt);
std::string AttemptLogDir(const std::string& attempt_dir);
std::string AttemptRunDir(const std::string& attempt_dir);
std::string SessionFile(const std::string& attempt_dir);
std::string JobCheckpointDir(const std::string& data_dir, const std::string& job_id);
std::string StoredCheckpointPath(const std::string& data_dir, const std::string& job_id,
                                 int64_t step);
std::string DeployedModelsDir(const std::string& data_dir);

// The names of an attempt's logs in AttemptLogDir (rotating_log.h adds ".<seg>.log").
inline constexpr char kLauncherLogName[] = "launcher";
std::string RankLogName(int rank);

// "<job>/<step>", and back: false unless `id` is exactly that form with a step >= 0.
std::string CheckpointId(std::string_view job_id, int64_t step);
bool ParseCheckpointId(std::string_view id, std::string* job_id, int64_t* step);

}  // namespace hearth::coordinator
