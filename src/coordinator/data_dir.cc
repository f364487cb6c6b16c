#include "coordinator/data_dir.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "hearth/checkpoint.h"

namespace hearth::coordinator {

std::string DatabasePath(const std::string& data_dir) {
  return data_dir + "/hearthd.db";
}

std::string AttemptDir(const std::string& data_dir, const std::string& job_id, int attempt) {
  return absl::StrCat(data_dir, "/jobs/", job_id, "/attempt-", attempt);
}

std::string AttemptLogDir(const std::string& attempt_dir) {
  return attempt_dir + "/logs";
}

std::string AttemptRunDir(const std::string& attempt_dir) {
  return attempt_dir + "/run";
}

std::string SessionFile(const std::string& attempt_dir) {
  return attempt_dir + "/session";
}

std::string JobCheckpointDir(const std::string& data_dir, const std::string& job_id) {
  return absl::StrCat(data_dir, "/checkpoints/", job_id);
}

std::string DeployedModelsDir(const std::string& data_dir) {
  return absl::StrCat(data_dir, "/models");
}

std::string StoredCheckpointPath(const std::string& data_dir, const std::string& job_id,
                                 int64_t step) {
  return absl::StrCat(JobCheckpointDir(data_dir, job_id), "/", CheckpointFileName(step));
}

std::string RankLogName(int rank) {
  return absl::StrCat("rank-", rank);
}

std::string CheckpointId(std::string_view job_id, int64_t step) {
  return std::string(job_id) + "/" + std::to_string(step);
}

bool ParseCheckpointId(std::string_view id, std::string* job_id, int64_t* step) {
  const size_t slash = id.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  const std::string_view digits = id.substr(slash + 1);
  int64_t value = 0;
  // The canonical decimal only ("j-1/07" is not the id of step 7).
  if (digits.empty() ||
      !absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &value) || value < 0 ||
      absl::StrCat(value) != digits)
    return false;
  if (job_id != nullptr) *job_id = std::string(id.substr(0, slash));
  if (step != nullptr) *step = value;
  return true;
}

}  // namespace hearth::coordinator
