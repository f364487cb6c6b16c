// The secrets hearthd issues to the workers of each job attempt. A secret is 32 random bytes
// (hex), made when an attempt starts and forgotten when it ends or a newer attempt replaces it;
// it reaches the workers in their environment (kWorkerSecretVariable) and nowhere else. They are
// kept in memory only: after a hearthd restart every attempt is new (Scheduler::Recover ends the
// old workers), so no secret outlives the process that issued it.
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "hearth/status.h"

namespace hearth::coordinator {

inline constexpr char kWorkerSecretVariable[] = "HEARTH_WORKER_SECRET";

class WorkerCredentials {
 public:
  // A fresh secret for `attempt` of `job_id`, replacing any earlier attempt's.
  StatusOr<std::string> Issue(const std::string& job_id, int attempt);
  // Forgets the secret of `attempt` of `job_id` (a newer attempt's stays).
  void Revoke(const std::string& job_id, int attempt);

  // OK when `presented` is the secret of `job_id`'s `attempt`. UNAUTHENTICATED when it is no
  // worker secret at all, PERMISSION_DENIED when it belongs to another job, FAILED_PRECONDITION
  // when it is this job's but for another attempt (superseded: the worker should stop).
  Status Check(std::string_view presented, const std::string& job_id, int attempt) const;
  // The attempt a valid secret of `job_id` belongs to (as Check, without an attempt to match).
  StatusOr<int> AttemptOf(std::string_view presented, const std::string& job_id) const;

 private:
  struct Issued {
    int attempt = 0;
    std::string secret;
  };
  mutable std::mutex mu_;
  std::map<std::string, Issued> issued_ ABSL_GUARDED_BY(mu_);  // by job id
};

}  // namespace hearth::coordinator
