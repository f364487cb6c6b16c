#include "coordinator/worker_credentials.h"

#include <sys/random.h>

#include <cerrno>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "coordinator/auth.h"

namespace hearth::coordinator {

StatusOr<std::string> WorkerCredentials::Issue(const std::string& job_id, int attempt) {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError("cannot read random bytes for a worker secret");
    got += static_cast<size_t>(n);
  }
  std::string secret =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
  std::lock_guard lock(mu_);
  issued_[job_id] = {attempt, secret};
  return secret;
}

void WorkerCredentials::Revoke(const std::string& job_id, int attempt) {
  std::lock_guard lock(mu_);
  auto it = issued_.find(job_id);
  if (it != issued_.end() && it->second.attempt == attempt) issued_.erase(it);
}

StatusOr<int> WorkerCredentials::AttemptOf(std::string_view presented,
                                           const std::string& job_id) const {
  std::lock_guard lock(mu_);
  auto it = issued_.find(job_id);
  if (it != issued_.end() && ConstantTimeEqual(presented, it->second.secret))
    return it->second.attempt;
  for (const auto& [other, issued] : issued_)
    if (other != job_id && ConstantTimeEqual(presented, issued.secret))
      return absl::PermissionDeniedError(
          absl::StrFormat("this worker secret belongs to job %s, not to job %s", other, job_id));
  return absl::UnauthenticatedError(
      absl::StrFormat("WorkerService calls need the secret hearthd gives the running workers "
                      "of job %s (in %s); the user token is not one, nor is the secret of an "
                      "attempt that has ended",
                      job_id, kWorkerSecretVariable));
}

Status WorkerCredentials::Check(std::string_view presented, const std::string& job_id,
                                int attempt) const {
  HEARTH_ASSIGN_OR_RETURN(const int current, AttemptOf(presented, job_id));
  if (attempt != current)
    return absl::FailedPreconditionError(absl::StrFormat(
        "job %s: attempt %d has been superseded by attempt %d; this worker should stop", job_id,
        attempt, current));
  return absl::OkStatus();
}

}  // namespace hearth::coordinator
