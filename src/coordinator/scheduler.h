// The job queue: launches queued jobs through launch/hearthrun when enough worker slots are free,
// pumps their output into capped per-rank logs, watches their processes, restarts failed jobs
// from their latest checkpoint (max_restarts), cancels by stopping every process of the attempt
// (job_session.h), and after a hearthd restart deals with the jobs that were running (restart or
// FAILED, by the same policy).
//
// Workers are `hearth worker --coordinator ADDR --job ID --out DIR` processes: they fetch the
// spec and report progress and checkpoints through WorkerService with the attempt's secret
// (worker_credentials.h), so worker machines need no shared filesystem with the coordinator.
//
// Every state change is a compare-and-set in the store (JobStore::UpdateJobIf): a job is started
// only from QUEUED or RESTARTING, and ended only from RUNNING, so no race between a cancel, a
// finish and a restart can resurrect a job or lose a cancel.
//
// Thread-safety: all public methods may be called from any thread. mu_ guards the table of
// running attempts; it is never held across a store call, a fork or a wait. Each attempt has one
// pump thread (its launcher's output, then its exit); the scheduling loop has another.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "coordinator/event_hub.h"
#include "coordinator/job_store.h"
#include "coordinator/launcher_output.h"
#include "coordinator/worker_credentials.h"
#include "hearth/status.h"

namespace hearth::coordinator {

struct SchedulerOptions {
  std::string data_dir;
  int slots = 1;               // worker processes that may run at once
  std::string hostfile;        // remote machines for mpirun (empty: this machine)
  std::string hearthrun;       // path of launch/hearthrun
  std::string hearth_binary;   // path of `hearth` for the workers
  std::string worker_address;  // how workers reach this coordinator, host:port
  std::string ca_file;         // passed to workers when TLS is on
  LauncherOutputSplitter::Options logs;
  // How long a cancelled job's workers get to save a checkpoint and stop before they are killed.
  std::chrono::seconds cancel_grace{10};
};

class Scheduler {
 public:
  Scheduler(JobStore& store, EventHub& hub, EventHub& log_hub, WorkerCredentials& credentials,
            SchedulerOptions options);
  ~Scheduler();  // stops the loop and the pumps; running jobs are left to the next Recover

  // Jobs left RUNNING/RESTARTING by a previous hearthd: kills what is left of their processes
  // and restarts them from their latest checkpoint, or fails them when out of restarts. Queued
  // jobs are picked up by the loop. Call once before Start.
  Status Recover();
  void Start();
  // Where the workers reach the coordinator, when only known once the server is bound. Before
  // Start.
  void SetWorkerAddress(const std::string& address) { options_.worker_address = address; }

  // A new QUEUED job is waiting.
  void Wake();
  // QUEUED/RESTARTING: cancelled at once. RUNNING: the workers are told to stop (progress acks
  // and SIGUSR1 through mpirun; they stop together and save a checkpoint), what is left of the
  // attempt's session is SIGKILLed after cancel_grace; the job ends CANCELLED. A job that is
  // ending as the cancel arrives ends as it would have, and the cancel is FAILED_PRECONDITION.
  StatusOr<v1::Job> Cancel(const std::string& job_id);
  // Whether a cancel is pending for a running job (the workers' progress acks say stop).
  bool CancelRequested(const std::string& job_id);
  // The worker reported its final result (the job becomes SUCCEEDED when its processes exit 0).
  void ResultReported(const std::string& job_id);

 private:
  struct Running {
    uint64_t generation = 0;  // which reservation this is: a restart reserves the job anew
    pid_t session = 0;        // the launcher's pid (see job_session.h); 0 while launching
    int workers = 0;
    int attempt = 0;
    bool cancel = false;
    bool result = false;
    bool finishing = false;  // the attempt has exited; its outcome is being recorded
    // After a cancel: when the loop SIGKILLs what is left of the session.
    std::chrono::steady_clock::time_point kill_at = std::chrono::steady_clock::time_point::max();
  };

  void Loop();
  // SIGKILLs the sessions of cancelled jobs whose grace period is over.
  void KillOverdueCancels() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int FreeSlots() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts an attempt of a job whose slots are reserved in running_. Whatever happens, the job
  // ends up running under a pump, or ended, and its reservation released.
  void Launch(const v1::Job& job, int workers);
  // Records a state change from one of `expected` (compare-and-set) with its event.
  StatusOr<v1::Job> Transition(const std::string& job_id, const std::vector<v1::JobState>& expected,
                               v1::JobState to, const std::string& message,
                               const std::function<void(v1::Job&)>& change = nullptr);
  // An attempt's pump: its launcher's output into the logs, until the launcher exits.
  void Pump(std::string job_id, pid_t pid, int output_fd, std::string attempt_dir);
  void Finished(const std::string& job_id, int exit_code, const std::string& attempt_dir);
  // Ends a job that failed to start (or whose start was undone) and frees its slots.
  void FailLaunch(const std::string& job_id, const std::string& error);

  JobStore& store_;
  EventHub& hub_;
  EventHub& log_hub_;
  WorkerCredentials& credentials_;
  SchedulerOptions options_;

  std::mutex mu_;
  std::condition_variable wake_;      // the loop: something to start or kill
  std::condition_variable finished_;  // Cancel: a finishing attempt has been recorded; the
                                      // destructor: a pump has left
  std::map<std::string, Running> running_ ABSL_GUARDED_BY(mu_);
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  int pumps_ ABSL_GUARDED_BY(mu_) = 0;              // pump threads (detached) still running
  uint64_t reservations_ ABSL_GUARDED_BY(mu_) = 0;  // Running::generation of the latest
  std::thread loop_;
};

}  // namespace hearth::coordinator
