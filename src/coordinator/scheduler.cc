#include "coordinator/scheduler.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_format.h"
#include "coordinator/job_logs.h"
#include "coordinator/job_session.h"
#include "hearth/job.h"

namespace hearth::coordinator {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool Terminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

// "<launcher pid> <boot id>": the pid is also the session id of every local process of the
// attempt; the boot id tells whether it still means that (see BootId).
std::string SessionFile(const std::string& attempt_dir) {
  return attempt_dir + "/session";
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Scheduler::Scheduler(JobStore& store, EventHub& hub, SchedulerOptions options)
    : store_(store), hub_(hub), options_(std::move(options)) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  wake_.notify_all();
  if (loop_.joinable()) loop_.join();
}

void Scheduler::Start() {
  loop_ = std::thread([this] { Loop(); });
}

void Scheduler::Wake() {
  wake_.notify_all();
}

Status Scheduler::SetState(v1::Job& job, v1::JobState state, const std::string& message) {
  job.set_state(state);
  if (state == v1::RUNNING && job.started_at() == 0) job.set_started_at(Now());
  if (Terminal(state)) job.set_finished_at(Now());
  HEARTH_RETURN_IF_ERROR(store_.UpdateJob(job));
  v1::JobEvent event;
  event.mutable_state()->set_state(state);
  event.mutable_state()->set_message(message);
  HEARTH_RETURN_IF_ERROR(store_.AppendEvent(job.id(), event).status());
  hub_.Notify();
  return absl::OkStatus();
}

Status Scheduler::Recover() {
  HEARTH_ASSIGN_OR_RETURN(std::vector<v1::Job> jobs,
                          store_.ListJobs({v1::RUNNING, v1::RESTARTING}, 1 << 30));
  for (v1::Job& job : jobs) {
    HEARTH_ASSIGN_OR_RETURN(int attempt, store_.CurrentAttempt(job.id()));
    // What is left of the old workers would report to us as if nothing happened: stop it.
    std::ifstream session_file(SessionFile(AttemptDir(options_.data_dir, job.id(), attempt)));
    pid_t session = 0;
    std::string boot;
    if (session_file >> session >> boot && boot == BootId() && SignalSession(session, SIGTERM) > 0)
      EndSession(session, absl::Seconds(5));
    if (job.state() == v1::RESTARTING) continue;  // relaunched by the loop
    if (job.restarts() < job.spec().max_restarts()) {
      job.set_restarts(job.restarts() + 1);
      HEARTH_RETURN_IF_ERROR(SetState(
          job, v1::RESTARTING,
          absl::StrFormat("hearthd restarted while the job ran; restart %d of %d from its latest "
                          "checkpoint",
                          job.restarts(), job.spec().max_restarts())));
    } else {
      v1::FailureReport* failure = job.mutable_failure();
      failure->set_rank(-1);
      failure->set_exit_code(-1);
      failure->set_error(absl::StrFormat(
          "hearthd restarted while the job ran, and it has no restarts left (max_restarts = %d); "
          "resubmit it, or set max_restarts so the coordinator resumes it from its checkpoint",
          job.spec().max_restarts()));
      HEARTH_RETURN_IF_ERROR(SetState(job, v1::FAILED, failure->error()));
    }
  }
  return absl::OkStatus();
}

int Scheduler::FreeSlots() const {
  int used = 0;
  for (const auto& [id, r] : running_) used += r.workers;
  return options_.slots - used;
}

void Scheduler::Loop() {
  std::unique_lock lock(mu_);
  while (!quit_) {
    lock.unlock();
    // Restarts first, then the queue in submission order (the store lists newest first).
    StatusOr<std::vector<v1::Job>> restarting = store_.ListJobs({v1::RESTARTING}, 1 << 30);
    StatusOr<std::vector<v1::Job>> queued = store_.ListJobs({v1::QUEUED}, 1 << 30);
    std::vector<v1::Job> candidates;
    if (restarting.ok())
      candidates.insert(candidates.end(), restarting->rbegin(), restarting->rend());
    if (queued.ok()) candidates.insert(candidates.end(), queued->rbegin(), queued->rend());
    lock.lock();
    for (v1::Job& job : candidates) {
      if (quit_ || running_.count(job.id()) > 0) continue;
      StatusOr<int32_t> workers = store_.JobWorkers(job.id());
      const int w = workers.ok() ? *workers : 1;
      if (w > options_.slots) {
        lock.unlock();
        job.mutable_failure()->set_rank(-1);
        job.mutable_failure()->set_error(absl::StrFormat(
            "the job needs %d worker slots but hearthd has %d; submit it with fewer workers or "
            "start hearthd with --slots %d",
            w, options_.slots, w));
        (void)SetState(job, v1::FAILED, job.failure().error());
        lock.lock();
        continue;
      }
      if (w > FreeSlots()) break;  // first come, first served: no overtaking
      running_[job.id()] = Running{0, w, 0, false, false};
      lock.unlock();
      // The list was read a moment ago: a cancel may have ended the job since.
      StatusOr<v1::Job> fresh = store_.GetJob(job.id());
      if (!fresh.ok() || (fresh->state() != v1::QUEUED && fresh->state() != v1::RESTARTING)) {
        lock.lock();
        running_.erase(job.id());
        continue;
      }
      job = *fresh;
      if (Status s = Launch(job, w); !s.ok()) {
        job.mutable_failure()->set_rank(-1);
        job.mutable_failure()->set_error(std::string(s.message()));
        (void)SetState(job, v1::FAILED, std::string(s.message()));
        lock.lock();
        running_.erase(job.id());
        continue;
      }
      lock.lock();
    }
    KillOverdueCancels();
    wake_.wait_for(lock, std::chrono::seconds(1));
  }
}

void Scheduler::KillOverdueCancels() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, r] : running_) {
    if (r.session <= 0 || r.kill_at > now) continue;
    SignalSession(r.session, SIGKILL);  // the launcher's exit then ends the job (Reap)
    r.kill_at = std::chrono::steady_clock::time_point::max();
  }
}

Status Scheduler::Launch(v1::Job job, int workers) {
  HEARTH_ASSIGN_OR_RETURN(int attempt, store_.NextAttempt(job.id()));
  const std::string dir = AttemptDir(options_.data_dir, job.id(), attempt);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return absl::InternalError(absl::StrFormat("cannot create %s: %s", dir, error.message()));
  std::vector<std::string> args = {options_.hearthrun, "-n", std::to_string(workers)};
  if (!options_.hostfile.empty()) args.insert(args.end(), {"--hostfile", options_.hostfile});
  args.insert(args.end(),
              // Per-rank files where each rank runs, and every line tagged "[1,<rank>]<stdout>:"
              // in the launcher log: how the logs of ranks on other machines reach us.
              {"--output-dir", RankLogDir(dir), "--mca", "orte_tag_output", "1", "--",
               options_.hearth_binary, "worker", "--coordinator", options_.worker_address, "--job",
               job.id(), "--out", dir + "/run"});
  if (!options_.token_file.empty()) args.insert(args.end(), {"--token-file", options_.token_file});
  if (!options_.ca_file.empty()) args.insert(args.end(), {"--ca", options_.ca_file});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = LauncherLog(dir);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0) return absl::InternalError("cannot create " + log);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // A session of its own, so Cancel and Finished reach hearthrun, mpirun and every local rank
    // (see job_session.h).
    ::setsid();
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return absl::InternalError("fork failed: cannot start the workers");
  std::ofstream(SessionFile(dir)) << pid << " " << BootId() << "\n";
  {
    std::lock_guard lock(mu_);
    running_[job.id()].session = pid;
    running_[job.id()].attempt = attempt;
  }
  HEARTH_RETURN_IF_ERROR(SetState(job, v1::RUNNING,
                                  absl::StrFormat("started %d worker%s (attempt %d)", workers,
                                                  workers == 1 ? "" : "s", attempt)));
  std::thread([this, id = job.id(), pid] { Reap(id, pid); }).detach();
  return absl::OkStatus();
}

void Scheduler::Reap(std::string job_id, pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Finished(job_id, ExitCodeOf(status));
}

void Scheduler::Finished(const std::string& job_id, int exit_code) {
  Running r;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(job_id);
    if (it == running_.end()) return;
    r = it->second;
    running_.erase(it);
  }
  // The launcher has exited; ranks it started may still be finishing (saving a checkpoint after
  // a cancel). Give them a moment, then end whatever is left of the session, so a job that reads
  // as ended has no process left.
  EndSession(r.session, absl::Seconds(5));
  wake_.notify_all();
  StatusOr<v1::Job> found = store_.GetJob(job_id);
  if (!found.ok()) return;
  v1::Job job = *found;
  const std::string dir = AttemptDir(options_.data_dir, job_id, r.attempt);
  if (r.cancel) {
    (void)SetState(job, v1::CANCELLED, "cancelled");
    return;
  }
  if (exit_code == 0 && (r.result || job.has_result())) {
    (void)SetState(job, v1::SUCCEEDED, "training finished");
    return;
  }
  v1::FailureReport report = DiagnoseFailure(dir, exit_code);
  if (exit_code == 0)
    report.set_error("the workers exited without reporting a result: " + report.error());
  if (job.restarts() < job.spec().max_restarts()) {
    job.set_restarts(job.restarts() + 1);
    (void)SetState(
        job, v1::RESTARTING,
        absl::StrFormat("restart %d of %d from the latest checkpoint: %s%s", job.restarts(),
                        job.spec().max_restarts(),
                        report.rank() >= 0 ? absl::StrFormat("rank %d: ", report.rank()) : "",
                        report.error()));
    return;
  }
  *job.mutable_failure() = report;
  (void)SetState(job, v1::FAILED, report.error());
}

StatusOr<v1::Job> Scheduler::Cancel(const std::string& job_id) {
  HEARTH_ASSIGN_OR_RETURN(v1::Job job, store_.GetJob(job_id));
  if (Terminal(job.state()))
    return absl::FailedPreconditionError(
        absl::StrFormat("job %s has already ended (%s)", job_id, v1::JobState_Name(job.state())));
  pid_t session = 0;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(job_id);
    if (it != running_.end()) {
      it->second.cancel = true;
      session = it->second.session;
    }
  }
  if (session <= 0) {  // queued or waiting to restart: nothing runs
    HEARTH_RETURN_IF_ERROR(SetState(job, v1::CANCELLED, "cancelled before it started"));
    return job;
  }
  // The workers' next progress ack says stop. SIGUSR1 reaches the ones between reports: mpirun
  // forwards it to every rank, on every machine, and they stop together after the same step,
  // rank 0 saving a checkpoint (a SIGTERM would make mpirun end the ranks instead).
  // Whatever is left 10 s later is killed by the loop (KillOverdueCancels).
  ::kill(session, SIGUSR1);
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(job_id);
    if (it != running_.end() && it->second.session == session)
      it->second.kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  }
  return job;
}

bool Scheduler::CancelRequested(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto it = running_.find(job_id);
  return it != running_.end() && it->second.cancel;
}

void Scheduler::ResultReported(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto it = running_.find(job_id);
  if (it != running_.end()) it->second.result = true;
}

}  // namespace hearth::coordinator
