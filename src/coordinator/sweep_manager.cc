#include "coordinator/sweep_manager.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "coordinator/spec_fields.h"
#include "hearth/job.h"
#include "hearth/random.h"

namespace hearth::coordinator {
namespace {

constexpr int kMaxTrials = 1000;

bool Ended(v1::JobState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED;
}

// How many trials a grid has, or -1 past kMaxTrials: multiplied out with that bound before
// anything is built, so a small request cannot ask for a huge grid.
int64_t GridSize(const v1::SweepSpec& spec) {
  int64_t size = 1;
  for (const v1::SweepParameter& p : spec.parameters()) {
    size *= p.values_size();
    if (size > kMaxTrials) return -1;
  }
  return size;
}

// A trial's job name: "<sweep name, else id>-t<index>".
std::string TrialName(const std::string& sweep_name, const std::string& sweep_id, size_t index) {
  return absl::StrFormat("%s-t%d", sweep_name.empty() ? sweep_id : sweep_name, index);
}

// Every combination of the grid's values, first parameter varying slowest.
std::vector<std::vector<double>> Grid(const v1::SweepSpec& spec) {
  std::vector<std::vector<double>> out = {{}};
  for (const v1::SweepParameter& p : spec.parameters()) {
    std::vector<std::vector<double>> next;
    for (const auto& prefix : out)
      for (double v : p.values()) {
        next.push_back(prefix);
        next.back().push_back(v);
      }
    out = std::move(next);
  }
  return out;
}

std::vector<std::vector<double>> RandomSamples(const v1::SweepSpec& spec, uint64_t seed) {
  Generator rng(seed ^ 0x5eedull);
  std::vector<std::vector<double>> out(spec.trials());
  for (auto& trial : out)
    for (const v1::SweepParameter& p : spec.parameters()) {
      const double u = rng.Uniform();
      trial.push_back(
          p.log_scale() ? std::exp(std::log(p.min()) + u * (std::log(p.max()) - std::log(p.min())))
                        : p.min() + u * (p.max() - p.min()));
    }
  return out;
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

}  // namespace

bool Minimize(const std::string& metric, v1::SweepSpec::MetricDirection direction) {
  if (direction == v1::SweepSpec::MINIMIZE) return true;
  if (direction == v1::SweepSpec::MAXIMIZE) return false;
  for (const char* down : {"loss", "mse", "mae", "rmse", "inertia", "error"})
    if (metric.find(down) != std::string::npos) return true;
  return false;
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
  auto invalid = [](const std::string& field, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %s", field, what));
  };
  if (Status s = ValidateJobSpec(spec.base()); !s.ok())
    return invalid("spec.base", std::string(s.message()));
  HEARTH_RETURN_IF_ERROR(roots_.ResolveSpec(*spec.mutable_base()));
  if (spec.parameters().empty()) return invalid("spec.parameters", "give at least one");
  if (spec.metric().empty())
    return invalid("spec.metric", "name the metric to optimise, e.g. val_loss or val_accuracy");
  for (int i = 0; i < spec.parameters_size(); ++i) {
    const v1::SweepParameter& p = spec.parameters(i);
    const std::string field = absl::StrFormat("spec.parameters[%d]", i);
    if (StatusOr<bool> integer = IsIntegerField(spec.base(), p.path()); !integer.ok())
      return invalid(field + ".path", std::string(integer.status().message()));
    if (spec.method() == v1::SweepSpec::GRID && p.values().empty())
      return invalid(field + ".values", "a grid needs values for every parameter");
    if (spec.method() == v1::SweepSpec::RANDOM &&
        (!(p.min() < p.max()) || (p.log_scale() && p.min() <= 0)))
      return invalid(field, "random search needs min < max (and min > 0 with log_scale)");
  }
  if (spec.parameters_size() > 32) return invalid("spec.parameters", "at most 32 parameters");
  std::vector<std::vector<double>> values;
  if (spec.method() == v1::SweepSpec::GRID) {
    if (GridSize(spec) < 0)
      return absl::ResourceExhaustedError(absl::StrFormat(
          "spec.parameters: the grid's combinations (the product of the number of values of each "
          "parameter) are more than %d trials; use fewer values, or RANDOM search with trials",
          kMaxTrials));
    values = Grid(spec);
  } else if (spec.method() == v1::SweepSpec::RANDOM) {
    if (spec.trials() < 1 || spec.trials() > kMaxTrials)
      return invalid("spec.trials", absl::StrFormat("must be from 1 to %d", kMaxTrials));
    values = RandomSamples(spec, spec.base().seed());
  } else {
    return invalid("spec.method", "GRID or RANDOM");
  }

  v1::Sweep sweep;
  for (size_t t = 0; t < values.size(); ++t) {
    v1::Trial* trial = sweep.add_trials();
    trial->set_state(v1::QUEUED);
    v1::JobSpec trial_spec = spec.base();
    for (int i = 0; i < spec.parameters_size(); ++i) {
      HEARTH_RETURN_IF_ERROR(SetNumericField(trial_spec, spec.parameters(i).path(), values[t][i]));
      HEARTH_ASSIGN_OR_RETURN(bool integer, IsIntegerField(trial_spec, spec.parameters(i).path()));
      v1::Metric* m = trial->add_parameters();
      m->set_name(spec.parameters(i).path());
      m->set_value(integer ? std::round(values[t][i]) : values[t][i]);
    }
    // The name the trial will run under (a placeholder id when the sweep has no name: ids are
    // always valid names).
    trial_spec.set_name(TrialName(spec.name(), "s-000000", t));
    if (Status s = ValidateJobSpec(trial_spec); !s.ok()) {
      if (absl::StartsWith(s.message(), "name:"))
        return invalid("spec.name",
                       absl::StrFormat("trials are named \"%s\", which is not a valid job name: "
                                       "use up to 120 letters, digits, '.', '_' or '-'",
                                       trial_spec.name()));
      return invalid(absl::StrFormat("trial %d", t), std::string(s.message()));
    }
  }
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
  spec.set_name(TrialName(sweep.spec().name(), sweep.id(), index));
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
      for (int j = 0; j < sweep.trials_size(); ++j)
        if (auto it = curves[j].find(epoch); j != i && it != curves[j].end())
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
  sweep.set_best_trial(best);
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
