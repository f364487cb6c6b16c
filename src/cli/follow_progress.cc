// WatchJob events -> ProgressReporter calls, so a followed job looks like `hearth train`.
//
// Step events are a sample of the steps (the workers report every log_every_steps), so each Step()
// call is credited with the examples of every step since the previous event, and an epoch's
// summary line averages the sampled losses (the exact epoch mean is in `hearth status`). The
// reporter's clock is the events' own timestamps: elapsed time, speed and ETA are the job's, also
// when old events are replayed in a burst.
#include "cli/follow_progress.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/remote_display.h"
#include "hearth/report.h"

namespace hearth::cli {
namespace {

volatile std::sig_atomic_t interrupt_signal = 0;
void OnInterrupt(int) {
  interrupt_signal = 1;
}

// Cancels the call in progress when Ctrl-C arrives: a signal handler may not call into gRPC, so a
// thread polls the flag the handler sets.
class InterruptCanceller {
 public:
  InterruptCanceller() {
    interrupt_signal = 0;
    previous_ = std::signal(SIGINT, OnInterrupt);
    thread_ = std::thread([this] { Loop(); });
  }
  ~InterruptCanceller() {
    stop_ = true;
    thread_.join();
    std::signal(SIGINT, previous_);
  }
  InterruptCanceller(const InterruptCanceller&) = delete;
  InterruptCanceller& operator=(const InterruptCanceller&) = delete;

  // The call to cancel (nullptr: none).
  void Watch(grpc::ClientContext* context) {
    std::lock_guard<std::mutex> lock(mu_);
    context_ = context;
  }
  bool fired() const { return interrupt_signal != 0; }

 private:
  void Loop() {
    while (!stop_) {
      if (fired()) {
        std::lock_guard<std::mutex> lock(mu_);
        if (context_ != nullptr) context_->TryCancel();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  void (*previous_)(int) = SIG_DFL;
};

// Turns one job's events into progress display calls. Not thread-safe.
class Follower {
 public:
  Follower(RemoteClient& client, const v1::Job& job, bool quiet)
      : client_(client),
        job_(job),
        progress_(ProgressOptions{
            .quiet = quiet,
            .plain_every_steps =
                job.spec().log_every_steps() > 0 ? job.spec().log_every_steps() : 50,
            // The events are a sample already, log_every_steps apart: smoothing would lag.
            .loss_smoothing = 0,
            .clock = [this] { return now_; }}) {
    batch_ = std::max(1, job.spec().global_batch_size());
    epochs_ = std::max(1, job.spec().epochs());
    now_ = job.created_at();
    previous_time_ = now_;
  }

  void Note(const std::string& text) { progress_.Message(text); }

  void Handle(const v1::JobEvent& event) {
    switch (event.event_case()) {
      case v1::JobEvent::kState:
        OnState(event.time(), event.state());
        break;
      case v1::JobEvent::kStep:
        OnStep(event.time(), event.step());
        break;
      case v1::JobEvent::kEpoch:
        OnEpoch(event.time(), event.epoch());
        break;
      case v1::JobEvent::kCheckpoint:
        OnCheckpoint(event.time(), event.checkpoint().checkpoint());
        break;
      case v1::JobEvent::kResult:
      case v1::JobEvent::EVENT_NOT_SET:
        break;  // the final job (GetJob) carries the result
    }
  }

  // The final line for a job that succeeded.
  void Finish(const v1::Job& job) {
    if (job.state() != v1::SUCCEEDED) return;
    const v1::JobResult& result = job.result();
    if (!started_) StartRun(result.steps(), false, job);
    if (job.finished_at() > 0) now_ = job.finished_at();
    const MetricList metrics = result.test_metrics().empty()
                                   ? PrefixedMetrics(result.validation_metrics(), "val_")
                                   : PrefixedMetrics(result.test_metrics(), "test_");
    progress_.Finish(metrics);
  }

 private:
  void OnState(double time, const v1::StateEvent& e) {
    now_ = std::max(now_, time);
    if (e.state() == v1::RUNNING && job_.started_at() <= 0) job_.set_started_at(time);
    if (e.state() == v1::RESTARTING) restart_pending_ = true;
    // How a job ends is reported after the stream, with the final job.
    if (IsTerminal(e.state())) return;
    progress_.Message(absl::StrCat(job_.id(), " ", StateName(e.state()),
                                   e.message().empty() ? "" : ": ", e.message()));
  }

  void OnStep(double time, const v1::StepEvent& e) {
    EnsureStarted(e.step());
    if (e.step() == last_step_ && epoch_ == e.epoch()) return;  // shown already
    EnterEpoch(e.epoch());
    now_ = time;
    progress_.Step(e.step(), e.loss(), std::max<int64_t>(1, e.step() - last_step_) * batch_);
    last_step_ = e.step();
    previous_time_ = time;
  }

  void OnEpoch(double time, const v1::EpochEvent& e) {
    EnsureStarted(e.step());
    EnterEpoch(e.epoch());
    now_ = time;
    // The epoch's last steps may not have been sampled: credit them, with the epoch's loss.
    if (e.step() > last_step_) {
      progress_.Step(e.step(), e.train_loss(), (e.step() - last_step_) * batch_);
      last_step_ = e.step();
    }
    progress_.EndEpoch(PrefixedMetrics(e.validation_metrics(), "val_"));
    previous_time_ = time;
    // No total from the workers: the first epoch of a fresh run tells the steps per epoch, so
    // the bar and the ETA can appear from the second epoch on.
    if (total_steps_ == 0 && fresh_run_ && e.epoch() == 1 && e.step() > 0) {
      total_steps_ = e.step() * epochs_;
      now_ = run_start_;
      progress_.Start({.total_steps = total_steps_, .epochs = epochs_, .start_step = 0});
      now_ = time;
    }
  }

  void OnCheckpoint(double time, const v1::CheckpointInfo& c) {
    now_ = std::max(now_, time);
    std::string text =
        absl::StrFormat("checkpoint %s saved (%s", c.id(), FormatBytes(c.size_bytes()));
    if (!c.metric_name().empty())
      absl::StrAppend(&text, absl::StrFormat(", %s %.6g", c.metric_name(), c.metric_value()));
    absl::StrAppend(&text, c.best() ? ", best so far)" : ")");
    progress_.Message(text);
  }

  // A fresh display at the first progress event, and again after a restart (which resumes from a
  // checkpoint, so the step goes back).
  void EnsureStarted(int64_t step) {
    // (An epoch event repeats the step of the step event before it: not a restart.)
    const bool restart = started_ && (restart_pending_ || step < last_step_);
    if (started_ && !restart) return;
    StartRun(step, restart, job_);
  }

  void StartRun(int64_t step, bool restart, const v1::Job& job) {
    int64_t total = job.total_steps();
    if (total == 0) {
      // Known once the workers have reported; the job we started with may predate that.
      auto context = client_.NewContext();
      v1::GetJobRequest request;
      request.set_id(job.id());
      v1::Job latest;
      if (client_.stub().GetJob(context.get(), request, &latest).ok()) total = latest.total_steps();
    }
    const int64_t start_step = restart ? std::max<int64_t>(0, step - 1) : 0;
    if (!restart && job.started_at() > 0) now_ = previous_time_ = job.started_at();
    total_steps_ = total;
    fresh_run_ = !restart;
    run_start_ = now_;
    progress_.Start({.total_steps = total, .epochs = epochs_, .start_step = start_step});
    last_step_ = start_step;
    epoch_ = 0;
    started_ = true;
    restart_pending_ = false;
  }

  void EnterEpoch(int epoch) {
    if (epoch == epoch_) return;
    now_ = previous_time_;  // the epoch began when the previous event's work ended
    progress_.StartEpoch(epoch);
    epoch_ = epoch;
  }

  RemoteClient& client_;
  v1::Job job_;
  double now_ = 0;  // the reporter's clock: the latest event's time
  double previous_time_ = 0;
  ProgressReporter progress_;
  int64_t batch_ = 1;
  int epochs_ = 1;
  int64_t total_steps_ = 0;  // 0: unknown
  double run_start_ = 0;     // the clock when the display (re)started
  bool fresh_run_ = true;    // started from step 0, not from a restart's checkpoint
  bool started_ = false;
  bool restart_pending_ = false;
  int epoch_ = 0;
  int64_t last_step_ = 0;
};

void PrintMetrics(const char* title, const MetricList& metrics) {
  if (metrics.empty()) return;
  std::printf("%s:", title);
  for (const auto& [name, value] : metrics) std::printf(" %s=%.4f", name.c_str(), value);
  std::printf("\n");
}

}  // namespace

FollowResult FollowJob(RemoteClient& client, const std::string& job_id, bool quiet) {
  FollowResult result;
  v1::GetJobRequest get;
  get.set_id(job_id);
  v1::Job job;
  {
    auto context = client.NewContext();
    result.status = client.stub().GetJob(context.get(), get, &job);
    if (!result.status.ok()) return result;
  }
  Follower follower(client, job, quiet);
  InterruptCanceller canceller;
  int64_t last_sequence = 0;
  int rewatches = 0;
  while (true) {
    auto context = client.NewContext(std::chrono::seconds(0));
    canceller.Watch(context.get());
    v1::WatchJobRequest request;
    request.set_id(job_id);
    request.set_from_sequence(last_sequence);
    auto reader = client.stub().WatchJob(context.get(), request);
    v1::JobEvent event;
    while (reader->Read(&event)) {
      last_sequence = event.sequence();
      follower.Handle(event);
    }
    const grpc::Status status = reader->Finish();
    canceller.Watch(nullptr);
    if (canceller.fired()) {
      result.interrupted = true;
      return result;
    }
    if (status.ok()) {
      auto get_context = client.NewContext();
      result.status = client.stub().GetJob(get_context.get(), get, &result.job);
      if (!result.status.ok()) return result;
      // The stream ends when the job does; should the job have started again meanwhile (a
      // coordinator restart racing with its end), keep watching.
      if (IsTerminal(result.job.state()) || ++rewatches > 10) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      result.status = status;
      return result;
    }
    // hearthd went away (a restart, say): wait for it, then resume after the last event seen.
    follower.Note(
        absl::StrFormat("lost the connection to hearthd at %s; reconnecting for up to "
                        "a minute (Ctrl-C stops following)",
                        client.address()));
    const auto give_up = std::chrono::system_clock::now() + std::chrono::seconds(60);
    bool connected = false;
    while (!connected && !canceller.fired() && std::chrono::system_clock::now() < give_up)
      connected = client.channel().WaitForConnected(std::chrono::system_clock::now() +
                                                    std::chrono::seconds(1));
    if (canceller.fired()) {
      result.interrupted = true;
      return result;
    }
    if (!connected) {
      result.status = status;
      return result;
    }
    follower.Note("reconnected to hearthd");
  }
  follower.Finish(result.job);
  return result;
}

int ReportFollowed(const CommandSpec& spec, const RemoteClient& client, const FollowResult& result,
                   const std::string& job_id, bool json) {
  const char* name = spec.name.c_str();
  if (result.interrupted) {
    std::fprintf(stderr,
                 "hearth %s: stopped following %s; it keeps running (`hearth status %s`, "
                 "`hearth cancel %s`)\n",
                 name, job_id.c_str(), job_id.c_str(), job_id.c_str());
    return 130;
  }
  if (!result.status.ok()) return FailRpc(spec, result.status, client.address());
  const v1::Job& job = result.job;
  if (json) std::printf("%s\n", ProtoJson(job).c_str());
  switch (job.state()) {
    case v1::SUCCEEDED: {
      if (json) return 0;
      const v1::JobResult& r = job.result();
      std::printf("trained %lld steps (%d epochs) in %.1f s, %.0f examples/s\n",
                  static_cast<long long>(r.steps()), r.epochs(), r.wall_seconds(),
                  r.examples_per_second());
      PrintMetrics("validation", PrefixedMetrics(r.validation_metrics(), ""));
      PrintMetrics("test", PrefixedMetrics(r.test_metrics(), ""));
      if (!r.checkpoint_id().empty()) std::printf("checkpoint: %s\n", r.checkpoint_id().c_str());
      if (!r.best_checkpoint_id().empty() && r.best_checkpoint_id() != r.checkpoint_id())
        std::printf("best checkpoint: %s\n", r.best_checkpoint_id().c_str());
      return 0;
    }
    case v1::FAILED:
      std::fprintf(stderr, "hearth %s: %s failed: %s\n%s", name, job.id().c_str(),
                   FailureSummary(job.failure()).c_str(),
                   FailureLogTail(job.failure(), job.id()).c_str());
      return 1;
    case v1::CANCELLED:
      std::fprintf(stderr, "hearth %s: %s was cancelled\n", name, job.id().c_str());
      return 1;
    default:
      std::fprintf(stderr,
                   "hearth %s: %s is %s but hearthd ended its event stream; follow it again "
                   "with `hearth status %s --follow`\n",
                   name, job.id().c_str(), StateName(job.state()).c_str(), job.id().c_str());
      return 1;
  }
}

}  // namespace hearth::cli
