// The job queue: launches queued jobs through launch/hearthrun when enough worker slots are free,
// watches their processes, restarts failed jobs from their latest checkpoint (max_restarts),
// cancels by stopping every process of the attempt (job_session.h), and after a hearthd restart
// deals with the jobs that were running (restart or FAILED, by the same policy).
//
// Workers are `hearth worker --coordinator ADDR --job ID --out DIR` processes: they fetch the
// spec and report progress and checkpoints through WorkerService, so worker machines need no
// shared filesystem with the coordinator.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "coordinator/event_hub.h"
#include "coordinator/job_store.h"
#include "hearth/status.h"

namespace hearth::coordinator {

struct SchedulerOptions {
  std::string data_dir;
  int slots = 1;               // worker processes that may run at once
  std::string hostfile;        // remote machines for mpirun (empty: this machine)
  std::string hearthrun;       // path of launch/hearthrun
  std::string hearth_binary;   // path of `hearth` for the workers
  std::string worker_address;  // how workers reach this coordinator, host:port
  std::string token_file;      // passed to workers (empty: no token)
  std::string ca_file;         // passed to workers when TLS is on
};

class Scheduler {
 public:
  Scheduler(JobStore& store, EventHub& hub, SchedulerOptions options);
  ~Scheduler();  // stops the loop; running jobs keep running (see Recover)

  // Jobs left RUNNING/RESTARTING by a previous hearthd: kills what is left of their processes
  // and restarts them from their latest checkpoint, or fails them when out of restarts. Queued
  // jobs are picked up by the loop. Call once before Start.
  Status Recover();
  void Start();
  // Where the workers reach the coordinator, when only known once the server is bound.
  void SetWorkerAddress(const std::string& address) { options_.worker_address = address; }

  // A new QUEUED job is waiting.
  void Wake();
  // QUEUED: cancelled at once. RUNNING/RESTARTING: the workers are told to stop (progress acks
  // and SIGUSR1 through mpirun; they stop together and save a checkpoint), what is left of the
  // attempt's session is SIGKILLed 10 s later; the job ends CANCELLED.
  StatusOr<v1::Job> Cancel(const std::string& job_id);
  // Whether a cancel is pending for a running job (the workers' progress acks say stop).
  bool CancelRequested(const std::string& job_id);
  // The worker reported its final result (the job becomes SUCCEEDED when its processes exit 0).
  void ResultReported(const std::string& job_id);

  // Records a state change as a job field and an event.
  Status SetState(v1::Job& job, v1::JobState state, const std::string& message);

 private:
  struct Running {
    pid_t session = 0;  // the launcher's pid (see job_session.h)
    int workers = 0;
    int attempt = 0;
    bool cancel = false;
    bool result = false;
    // After a cancel: when the loop SIGKILLs what is left of the session.
    std::chrono::steady_clock::time_point kill_at = std::chrono::steady_clock::time_point::max();
  };
  // SIGKILLs the sessions of cancelled jobs whose grace period is over. With mu_ held.
  void KillOverdueCancels();
  void Loop();
  Status Launch(v1::Job job, int workers);
  void Reap(std::string job_id, pid_t pid);
  void Finished(const std::string& job_id, int exit_code);
  int FreeSlots() const;  // with mu_ held

  JobStore& store_;
  EventHub& hub_;
  SchedulerOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, Running> running_;
  bool quit_ = false;
  std::thread loop_;
};

}  // namespace hearth::coordinator
