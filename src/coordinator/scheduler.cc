#include "coordinator/scheduler.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "coordinator/data_dir.h"
#include "coordinator/job_logs.h"
#include "coordinator/job_session.h"
#include "core/fault_injection.h"
#include "hearth/env.h"
#include "hearth/job.h"

extern char** environ;

namespace hearth::coordinator {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool Terminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The session file holds "<launcher pid> <boot id>" (job_session.h); a pid from another boot, or
// a file that does not parse, names no session.
pid_t ReadSession(const std::string& attempt_dir) {
  StatusOr<std::string> text = Env::Default().ReadFile(SessionFile(attempt_dir));
  if (!text.ok() || text->size() > 256) return 0;
  std::vector<absl::string_view> fields = absl::StrSplit(*text, ' ', absl::SkipWhitespace());
  int pid = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &pid) || pid <= 1 ||
      absl::StripAsciiWhitespace(fields[1]) != BootId())
    return 0;
  return static_cast<pid_t>(pid);
}

// This process's environment with the worker secret set, for execve.
std::vector<std::string> ChildEnvironment(const std::string& secret) {
  std::vector<std::string> env;
  const std::string prefix = std::string(kWorkerSecretVariable) + "=";
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) env.emplace_back(*e);
  env.push_back(prefix + secret);
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Scheduler::Scheduler(JobStore& store, EventHub& hub, EventHub& log_hub,
                     WorkerCredentials& credentials, SchedulerOptions options)
    : store_(store),
      hub_(hub),
      log_hub_(log_hub),
      credentials_(credentials),
      options_(std::move(options)) {}

Scheduler::~Scheduler() {
  std::unique_lock lock(mu_);
  quit_ = true;
  wake_.notify_all();
  lock.unlock();
  if (loop_.joinable()) loop_.join();
  // Pumps notice quit_ within one poll period; their jobs are left to the next Recover.
  lock.lock();
  finished_.wait(lock, [&] { return pumps_ == 0; });
}

void Scheduler::Start() {
  loop_ = std::thread([this] { Loop(); });
}

void Scheduler::Wake() {
  wake_.notify_all();
}

StatusOr<v1::Job> Scheduler::Transition(const std::string& job_id,
                                        const std::vector<v1::JobState>& expected, v1::JobState to,
                                        const std::string& message,
                                        const std::function<void(v1::Job&)>& change) {
  // Fault point "state_write" (docs/reliability.md): hold the write, to line up a race.
  faults::MaybePause("state_write", {{"job", job_id}, {"state", v1::JobState_Name(to)}});
  v1::JobEvent event;
  event.mutable_state()->set_state(to);
  event.mutable_state()->set_message(message);
  StatusOr<v1::Job> job = store_.UpdateJobIf(
      job_id, expected,
      [&](v1::Job& j) {
        j.set_state(to);
        if (to == v1::RUNNING && j.started_at() == 0) j.set_started_at(Now());
        if (Terminal(to)) j.set_finished_at(Now());
        if (change) change(j);
        return absl::OkStatus();
      },
      event);
  if (job.ok()) hub_.Notify();
  return job;
}

Status Scheduler::Recover() {
  HEARTH_ASSIGN_OR_RETURN(std::vector<v1::Job> jobs,
                          store_.ListJobs({v1::RUNNING, v1::RESTARTING}, 1 << 30));
  for (const v1::Job& job : jobs) {
    // What is left of the old workers would report to us as if nothing happened: stop it.
    const pid_t session = ReadSession(AttemptDir(options_.data_dir, job.id(), job.attempt()));
    if (session > 0 && SignalSession(session, SIGTERM) > 0) EndSession(session, absl::Seconds(5));
    if (job.state() == v1::RESTARTING) continue;  // relaunched by the loop
    if (job.restarts() < job.spec().max_restarts()) {
      HEARTH_RETURN_IF_ERROR(
          Transition(job.id(), {v1::RUNNING}, v1::RESTARTING,
                     absl::StrFormat("hearthd restarted while the job ran; restart %d of %d from "
                                     "its latest checkpoint",
                                     job.restarts() + 1, job.spec().max_restarts()),
                     [](v1::Job& j) { j.set_restarts(j.restarts() + 1); })
              .status());
    } else {
      const std::string error = absl::StrFormat(
          "hearthd restarted while the job ran, and it has no restarts left (max_restarts = %d); "
          "resubmit it, or set max_restarts so the coordinator resumes it from its checkpoint",
          job.spec().max_restarts());
      HEARTH_RETURN_IF_ERROR(
          Transition(job.id(), {v1::RUNNING}, v1::FAILED, error, [&](v1::Job& j) {
            j.mutable_failure()->set_rank(-1);
            j.mutable_failure()->set_exit_code(-1);
            j.mutable_failure()->set_error(error);
          }).status());
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
    // Restarts first, then the queue in submission order. Only the oldest few can start in one
    // pass (first come, first served), so only those are read.
    const int window = std::max(options_.slots, 1) + 16;
    StatusOr<std::vector<v1::Job>> restarting =
        store_.ListJobs({v1::RESTARTING}, window, "", /*oldest_first=*/true);
    StatusOr<std::vector<v1::Job>> queued =
        store_.ListJobs({v1::QUEUED}, window, "", /*oldest_first=*/true);
    std::vector<v1::Job> candidates;
    if (restarting.ok()) candidates = *std::move(restarting);
    if (queued.ok()) candidates.insert(candidates.end(), queued->begin(), queued->end());
    lock.lock();
    for (const v1::Job& job : candidates) {
      if (quit_ || running_.count(job.id()) > 0) continue;
      StatusOr<int32_t> workers = store_.JobWorkers(job.id());
      const int w = workers.ok() ? *workers : 1;
      if (w > options_.slots) {
        lock.unlock();
        const std::string error = absl::StrFormat(
            "the job needs %d worker slots but hearthd has %d; submit it with fewer workers or "
            "start hearthd with --slots %d",
            w, options_.slots, w);
        Transition(job.id(), {v1::QUEUED, v1::RESTARTING}, v1::FAILED, error, [&](v1::Job& j) {
          j.mutable_failure()->set_rank(-1);
          j.mutable_failure()->set_error(error);
        }).IgnoreError();  // a cancel may have ended it meanwhile
        lock.lock();
        continue;
      }
      if (w > FreeSlots()) break;  // first come, first served: no overtaking
      running_[job.id()] = Running{.generation = ++reservations_, .workers = w};
      lock.unlock();
      Launch(job, w);
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
    SignalSession(r.session, SIGKILL);  // the launcher's exit then ends the job (Pump)
    r.kill_at = std::chrono::steady_clock::time_point::max();
  }
}

void Scheduler::FailLaunch(const std::string& job_id, const std::string& error) {
  Transition(job_id, {v1::RUNNING}, v1::FAILED, error, [&](v1::Job& j) {
    j.mutable_failure()->set_rank(-1);
    j.mutable_failure()->set_exit_code(-1);
    j.mutable_failure()->set_error(error);
  }).IgnoreError();
  std::lock_guard lock(mu_);
  running_.erase(job_id);
  wake_.notify_all();
}

void Scheduler::Launch(const v1::Job& queued, int workers) {
  const std::string& id = queued.id();
  const int attempt = queued.attempt() + 1;
  // Started only from QUEUED or RESTARTING: a cancel that got there first wins.
  StatusOr<v1::Job> started = Transition(id, {v1::QUEUED, v1::RESTARTING}, v1::RUNNING,
                                         absl::StrFormat("started %d worker%s (attempt %d)",
                                                         workers, workers == 1 ? "" : "s", attempt),
                                         [&](v1::Job& j) { j.set_attempt(attempt); });
  if (!started.ok()) {
    std::lock_guard lock(mu_);
    running_.erase(id);
    return;
  }
  bool cancelled_early = false;
  {
    std::lock_guard lock(mu_);
    cancelled_early = running_[id].cancel;
  }
  if (cancelled_early) {
    Transition(id, {v1::RUNNING}, v1::CANCELLED, "cancelled before its workers started")
        .IgnoreError();
    std::lock_guard lock(mu_);
    running_.erase(id);
    finished_.notify_all();
    return;
  }
  const std::string dir = AttemptDir(options_.data_dir, id, attempt);
  if (Status made = Env::Default().CreateDirs(AttemptLogDir(dir)); !made.ok())
    return FailLaunch(id, std::string(made.message()));
  StatusOr<std::string> secret = credentials_.Issue(id, attempt);
  if (!secret.ok()) return FailLaunch(id, std::string(secret.status().message()));

  std::vector<std::string> args = {options_.hearthrun, "-n", std::to_string(workers)};
  if (!options_.hostfile.empty()) args.insert(args.end(), {"--hostfile", options_.hostfile});
  // Every line tagged "[1,<rank>]<stdout>:" on the launcher's output: how the logs of every
  // rank, on any machine, reach the pump (launcher_output.h).
  args.insert(args.end(),
              {"--mca", "orte_tag_output", "1", "--", options_.hearth_binary, "worker",
               "--coordinator", options_.worker_address, "--job", id, "--out", AttemptRunDir(dir)});
  if (!options_.ca_file.empty()) args.insert(args.end(), {"--ca", options_.ca_file});
  std::vector<std::string> env = ChildEnvironment(*secret);
  std::vector<char*> argv = Pointers(args), envp = Pointers(env);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    credentials_.Revoke(id, attempt);
    return FailLaunch(id, absl::StrFormat("cannot start the workers: pipe: %s", strerror(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // A session of its own, so Cancel and Finished reach hearthrun, mpirun and every local rank
    // (see job_session.h). Only async-signal-safe calls from here to exec.
    ::setsid();
    // hearthd blocks its stop signals and ignores SIGPIPE; the workers must not inherit either.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(pipe_fds[1]);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    credentials_.Revoke(id, attempt);
    return FailLaunch(id,
                      absl::StrFormat("cannot start the workers: fork: %s", strerror(fork_errno)));
  }
  // From here the pump supervises the attempt whatever else fails: it reaps the launcher, ends
  // what is left of its session and records the outcome, so no worker runs unwatched and the
  // slots stay reserved until they are free.
  bool cancel = false;
  {
    std::lock_guard lock(mu_);
    Running& r = running_[id];
    r.session = pid;
    r.attempt = attempt;
    cancel = r.cancel;
    if (cancel) r.kill_at = std::chrono::steady_clock::now() + options_.cancel_grace;
    ++pumps_;
  }
  if (cancel) ::kill(pid, SIGUSR1);
  std::thread([this, id, pid, fd = pipe_fds[0], dir] { Pump(id, pid, fd, dir); }).detach();
  const std::string session = absl::StrFormat("%d %s\n", pid, BootId());
  if (Status s = Env::Default().WriteFileAtomically(SessionFile(dir), session); !s.ok()) {
    // Without the session file a hearthd restart could not find these workers: stop them now.
    std::fprintf(stderr, "hearthd: job %s: %s; stopping its workers\n", id.c_str(),
                 std::string(s.message()).c_str());
    SignalSession(pid, SIGKILL);
    ::kill(pid, SIGKILL);  // also before it has made its session (the pump reaps it)
  }
}

void Scheduler::Pump(std::string job_id, pid_t pid, int output_fd, std::string attempt_dir) {
  int exit_code = -1;
  bool exited = false, quit = false;
  try {
    LauncherOutputSplitter logs(AttemptLogDir(attempt_dir), options_.logs);
    std::string buffer(64 << 10, '\0');
    bool open = true;
    while (!exited) {
      if (open) {
        pollfd p{output_fd, POLLIN, 0};
        if (::poll(&p, 1, 200) > 0) {
          const ssize_t n = ::read(output_fd, buffer.data(), buffer.size());
          if (n > 0) {
            logs.Consume(std::string_view(buffer.data(), static_cast<size_t>(n)));
            log_hub_.Notify();
          } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            open = false;  // the launcher (and everything holding its output) has closed it
          }
        }
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      int status = 0;
      const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
      if (reaped == pid || (reaped < 0 && errno == ECHILD)) {
        exited = true;
        exit_code = reaped == pid ? ExitCodeOf(status) : -1;
      }
      {
        std::lock_guard lock(mu_);
        quit = quit_;
      }
      if (quit) break;
    }
    if (exited && open) {
      // What the launcher wrote before it exited, up to a bound: a stray process of the session
      // that still holds the pipe and keeps writing must not keep the pump here (it is ended
      // with the session in Finished).
      ::fcntl(output_fd, F_SETFL, O_NONBLOCK);
      ssize_t n = 0;
      for (int reads = 0; reads < 256 && (n = ::read(output_fd, buffer.data(), buffer.size())) > 0;
           ++reads)
        logs.Consume(std::string_view(buffer.data(), static_cast<size_t>(n)));
    }
    logs.Finish();
    log_hub_.Notify();
  } catch (const std::exception& e) {
    // The last resort: a pump must never take hearthd down. The job is failed instead.
    std::fprintf(stderr, "hearthd: job %s: the log pump failed: %s\n", job_id.c_str(), e.what());
  }
  ::close(output_fd);
  if (!quit) {
    if (!exited) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      exit_code = ExitCodeOf(status);
    }
    try {
      Finished(job_id, exit_code, attempt_dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hearthd: job %s: recording its end failed: %s\n", job_id.c_str(),
                   e.what());
    }
  }
  std::lock_guard lock(mu_);
  --pumps_;
  finished_.notify_all();
}

void Scheduler::Finished(const std::string& job_id, int exit_code, const std::string& attempt_dir) {
  pid_t session = 0;
  int attempt = 0;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(job_id);
    if (it == running_.end()) return;
    it->second.finishing = true;  // from now on a cancel waits for the outcome
    session = it->second.session;
    attempt = it->second.attempt;
  }
  // The launcher has exited; ranks it started may still be finishing (saving a checkpoint after
  // a cancel). Give them a moment, then end whatever is left of the session, so a job that reads
  // as ended has no process left.
  EndSession(session, absl::Seconds(5));
  credentials_.Revoke(job_id, attempt);
  bool cancel = false, result = false;
  {
    std::lock_guard lock(mu_);
    cancel = running_[job_id].cancel;
    result = running_[job_id].result;
  }
  auto done = [&] {
    std::lock_guard lock(mu_);
    running_.erase(job_id);
    finished_.notify_all();
    wake_.notify_all();
  };
  StatusOr<v1::Job> found = store_.GetJob(job_id);
  if (!found.ok()) return done();
  const v1::Job& job = *found;
  if (cancel) {
    Transition(job_id, {v1::RUNNING}, v1::CANCELLED, "cancelled").IgnoreError();
    return done();
  }
  if (exit_code == 0 && (result || job.has_result())) {
    Transition(job_id, {v1::RUNNING}, v1::SUCCEEDED, "training finished").IgnoreError();
    return done();
  }
  v1::FailureReport report = DiagnoseFailure(attempt_dir, exit_code);
  if (exit_code == 0)
    report.set_error("the workers exited without reporting a result: " + report.error());
  if (job.restarts() < job.spec().max_restarts()) {
    Transition(
        job_id, {v1::RUNNING}, v1::RESTARTING,
        absl::StrFormat("restart %d of %d from the latest checkpoint: %s%s", job.restarts() + 1,
                        job.spec().max_restarts(),
                        report.rank() >= 0 ? absl::StrFormat("rank %d: ", report.rank()) : "",
                        report.error()),
        [](v1::Job& j) { j.set_restarts(j.restarts() + 1); })
        .IgnoreError();
    return done();
  }
  Transition(job_id, {v1::RUNNING}, v1::FAILED, report.error(), [&](v1::Job& j) {
    *j.mutable_failure() = report;
  }).IgnoreError();
  done();
}

StatusOr<v1::Job> Scheduler::Cancel(const std::string& job_id) {
  // A job moves between "not running" (QUEUED, RESTARTING) and running at most twice while a
  // cancel looks: each pass either applies the cancel or sees the job ended.
  for (int pass = 0; pass < 4; ++pass) {
    {
      std::unique_lock lock(mu_);
      auto it = running_.find(job_id);
      if (it != running_.end()) {
        if (it->second.finishing) {
          // Ending right now: wait until that attempt's outcome is recorded, then look again
          // (it may have ended, or be restarting: a new reservation, which the next pass
          // cancels).
          const uint64_t ending = it->second.generation;
          lock.unlock();
          faults::MaybePause("cancel_wait", {{"job", job_id}});  // tests line up the race here
          lock.lock();
          finished_.wait(lock, [&] {
            auto now = running_.find(job_id);
            return now == running_.end() || now->second.generation != ending;
          });
          continue;
        }
        it->second.cancel = true;
        const pid_t session = it->second.session;
        if (session > 0) {
          // The workers' next progress ack says stop. SIGUSR1 reaches the ones between reports:
          // mpirun forwards it to every rank, on every machine, and they stop together after the
          // same step, rank 0 saving a checkpoint (a SIGTERM would make mpirun end the ranks
          // instead). Whatever is left after the grace period is killed by the loop.
          ::kill(session, SIGUSR1);
          it->second.kill_at = std::chrono::steady_clock::now() + options_.cancel_grace;
        }
        lock.unlock();
        return store_.GetJob(job_id);
      }
    }
    // Not running: queued, or waiting to restart. Nothing to stop.
    StatusOr<v1::Job> cancelled = Transition(job_id, {v1::QUEUED, v1::RESTARTING}, v1::CANCELLED,
                                             "cancelled before it started");
    if (cancelled.ok() || !absl::IsFailedPrecondition(cancelled.status())) return cancelled;
    HEARTH_ASSIGN_OR_RETURN(v1::Job job, store_.GetJob(job_id));
    if (Terminal(job.state()))
      return absl::FailedPreconditionError(
          absl::StrFormat("job %s has already ended (%s)", job_id, v1::JobState_Name(job.state())));
    // RUNNING: the loop started it meanwhile; the next pass finds it running.
  }
  return absl::UnavailableError(absl::StrFormat(
      "job %s changed state while it was being cancelled; cancel it again", job_id));
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
