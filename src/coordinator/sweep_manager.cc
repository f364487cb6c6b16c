#include "coordinator/sweep_manager.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/spec_fields.h"
#include "coordinator/sweep_plan.h"
#include "hearth/job.h"
#include "hearth/metrics.h"
#include "hearth/random.h"

namespace hearth::coordinator {
namespace {

bool Ended(v1::JobState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED;
}

// A trial job's metric after each epoch, from its events.
std::map<int, double> MetricByEpoch(const std::vector<v1::JobEvent>& events,
                                    const std::string& metric) {
  std::map<int, double> out;
  for (const v1::JobEvent& e : events) {
    if (!e.has_epoch()) continue;
    if (metric == "train_loss" || metric == "loss") out[e.epoch().epoch()] = e.epoch().train_loss();
    for (const v1::Metric& m : e.epoch().validation_metrics())
      if (m.name() == metric) out[e.epoch().epoch()] = m.value();
  }
  return out;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// The fold a trial of a cross-validated sweep trains, or -1 in a sweep without folds.
int FoldOf(const v1::Trial& trial) {
  for (const v1::Metric& p : trial.parameters())
    if (p.name() == kFoldParameter) return static_cast<int>(p.value());
  return -1;
}

// A cross-validated sweep's best point: each point's folds (its trials with the same parameters
// but the fold) get the mean and standard deviation of their metric values once they have all
// ended with one; the best point by mean is returned as the index of its first fold, or -1.
int RankPointsByFolds(v1::Sweep& sweep, const std::vector<std::map<int, double>>& curves,
                      bool minimize) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<int>> points;
  for (int i = 0; i < sweep.trials_size(); ++i) {
    std::string key;
    for (const v1::Metric& p : sweep.trials(i).parameters())
      if (p.name() != kFoldParameter) absl::StrAppend(&key, p.name(), "=", p.value(), ";");
    auto [it, added] = points.try_emplace(key);
    if (added) order.push_back(key);
    it->second.push_back(i);
  }
  int best = -1;
  double best_mean = 0;
  for (const std::string& key : order) {
    const std::vector<int>& folds = points[key];
    bool complete = true;
    std::vector<double> values;
    for (int i : folds) {
      const v1::Trial& t = sweep.trials(i);
      complete = complete && !t.job_id().empty() && Ended(t.state()) && !curves[i].empty();
      values.push_back(t.metric_value());
    }
    if (!complete) continue;
    const MeanAndStd spread = MeanAndPopulationStd(values);
    for (int i : folds) {
      sweep.mutable_trials(i)->set_cv_mean(spread.mean);
      sweep.mutable_trials(i)->set_cv_std(spread.std);
    }
    if (best < 0 || (minimize ? spread.mean < best_mean : spread.mean > best_mean)) {
      best = folds.front();
      best_mean = spread.mean;
    }
  }
  return best;
}

}  // namespace

bool Minimize(const std::string& metric, v1::SweepSpec::MetricDirection direction) {
  if (direction == v1::SweepSpec::MINIMIZE) return true;
  if (direction == v1::SweepSpec::MAXIMIZE) return false;
  // The checkpoint monitor's rule: scores grow with quality, losses and errors shrink.
  return ResolveMonitorMode(metric, v1::MONITOR_MODE_UNSPECIFIED) == MetricMode::kMin;
}

SweepManager::SweepManager(JobStore& store, Scheduler& scheduler, EventHub& hub,
                           const DataRoots& roots)
    : store_(store), scheduler_(scheduler), hub_(hub), roots_(roots) {}

SweepManager::~SweepManager() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SweepManager::Start() {
  thread_ = std::thread([this] { Loop(); });
}

StatusOr<v1::Sweep> SweepManager::Submit(v1::SweepSpec spec) {
  if (Status s = ValidateJobSpec(spec.base()); !s.ok())
    return absl::InvalidArgumentError("spec.base: " + std::string(s.message()));
  HEARTH_RETURN_IF_ERROR(roots_.ResolveSpec(*spec.mutable_base()));
  HEARTH_ASSIGN_OR_RETURN(std::vector<v1::Trial> trials, PlanSweep(spec));
  v1::Sweep sweep;
  for (v1::Trial& trial : trials) *sweep.add_trials() = std::move(trial);
  std::lock_guard lock(mu_);
  HEARTH_ASSIGN_OR_RETURN(v1::Sweep created, store_.CreateSweep(spec));
  *created.mutable_trials() = sweep.trials();
  created.set_best_trial(-1);
  HEARTH_RETURN_IF_ERROR(Refresh(created));
  return created;
}

Status SweepManager::StartTrial(v1::Sweep& sweep, int index) {
  v1::Trial* trial = sweep.mutable_trials(index);
  v1::JobSpec spec = sweep.spec().base();
  for (const v1::Metric& p : trial->parameters())
    HEARTH_RETURN_IF_ERROR(SetNumericField(spec, p.name(), p.value()));
  spec.set_name(SweepTrialName(sweep.spec().name(), sweep.id(), index));
  HEARTH_ASSIGN_OR_RETURN(v1::Job job, store_.CreateJob(spec, Workers(spec), sweep.id()));
  trial->set_job_id(job.id());
  v1::JobEvent event;
  event.mutable_state()->set_state(v1::QUEUED);
  event.mutable_state()->set_message(absl::StrFormat("trial %d of sweep %s", index, sweep.id()));
  (void)store_.AppendEvent(job.id(), event);
  scheduler_.Wake();
  return absl::OkStatus();
}

Status SweepManager::Refresh(v1::Sweep& sweep) {
  const v1::SweepSpec& spec = sweep.spec();
  const bool minimize = Minimize(spec.metric(), spec.direction());
  const int grace = spec.grace_epochs() > 0 ? spec.grace_epochs() : 1;
  std::vector<std::map<int, double>> curves(sweep.trials_size());
  int running = 0;
  for (int i = 0; i < sweep.trials_size(); ++i) {
    v1::Trial* trial = sweep.mutable_trials(i);
    if (trial->job_id().empty()) continue;
    HEARTH_ASSIGN_OR_RETURN(v1::Job job, store_.GetJob(trial->job_id()));
    trial->set_state(job.state());
    HEARTH_ASSIGN_OR_RETURN(std::vector<v1::JobEvent> events, store_.Events(job.id(), 0, 0));
    curves[i] = MetricByEpoch(events, spec.metric());
    // The best value the trial reached at any epoch.
    bool seen = false;
    for (const auto& [epoch, value] : curves[i]) {
      if (!std::isfinite(value)) continue;
      if (!seen || (minimize ? value < trial->metric_value() : value > trial->metric_value()))
        trial->set_metric_value(value);
      seen = true;
    }
    if (!Ended(job.state())) ++running;
  }
  // Median stopping: a running trial worse than the median of the others at its latest epoch.
  if (spec.early_stopping() == v1::SweepSpec::MEDIAN) {
    for (int i = 0; i < sweep.trials_size(); ++i) {
      v1::Trial* trial = sweep.mutable_trials(i);
      if (trial->job_id().empty() || Ended(trial->state()) || curves[i].empty()) continue;
      const auto [epoch, value] = *curves[i].rbegin();
      if (epoch < grace) continue;
      std::vector<double> others;
      // In a cross-validated sweep, only the same fold is a fair comparison.
      for (int j = 0; j < sweep.trials_size(); ++j)
        if (auto it = curves[j].find(epoch);
            j != i && it != curves[j].end() && FoldOf(sweep.trials(j)) == FoldOf(*trial))
          others.push_back(it->second);
      if (others.size() < 2) continue;
      const double median = Median(others);
      if (minimize ? value > median : value < median) {
        if (scheduler_.Cancel(trial->job_id()).ok()) trial->set_stopped_early(true);
      }
    }
  }
  // Start pending trials as parallelism allows (the scheduler still applies the slots).
  const int limit = spec.parallelism() > 0 ? spec.parallelism() : sweep.trials_size();
  for (int i = 0; i < sweep.trials_size() && running < limit; ++i) {
    if (!sweep.trials(i).job_id().empty()) continue;
    HEARTH_RETURN_IF_ERROR(StartTrial(sweep, i));
    ++running;
  }
  int best = -1;
  bool all_ended = true, any_result = false;
  for (int i = 0; i < sweep.trials_size(); ++i) {
    const v1::Trial& t = sweep.trials(i);
    all_ended = all_ended && !t.job_id().empty() && Ended(t.state());
    if (curves[i].empty()) continue;
    any_result = any_result || t.state() == v1::SUCCEEDED;
    if (best < 0 || (minimize ? t.metric_value() < sweep.trials(best).metric_value()
                              : t.metric_value() > sweep.trials(best).metric_value()))
      best = i;
  }
  const bool cross_validated = sweep.trials_size() > 0 && FoldOf(sweep.trials(0)) >= 0;
  sweep.set_best_trial(cross_validated ? RankPointsByFolds(sweep, curves, minimize) : best);
  if (all_ended) sweep.set_state(any_result ? v1::SUCCEEDED : v1::FAILED);
  HEARTH_RETURN_IF_ERROR(store_.UpdateSweep(sweep));
  hub_.Notify();
  return absl::OkStatus();
}

StatusOr<v1::Sweep> SweepManager::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  HEARTH_ASSIGN_OR_RETURN(v1::Sweep sweep, store_.GetSweep(id));
  if (sweep.state() == v1::RUNNING) HEARTH_RETURN_IF_ERROR(Refresh(sweep));
  return sweep;
}

void SweepManager::Loop() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (quit_) return;
      try {
        StatusOr<std::vector<v1::Sweep>> active = store_.ActiveSweeps();
        if (active.ok())
          for (v1::Sweep& sweep : *active) (void)Refresh(sweep);
      } catch (const std::exception& e) {
        // The last resort: a sweep's bookkeeping must never take hearthd down.
        std::fprintf(stderr, "hearthd: refreshing the sweeps failed: %s\n", e.what());
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace hearth::coordinator
