// Human-readable views of jobs, checkpoints and sweeps for the remote commands.
#include "cli/remote_display.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/remote_client.h"
#include "hearth/job.h"

namespace hearth::cli {
namespace {

std::string Value(double v) {
  return std::isfinite(v) ? absl::StrFormat("%.6g", v) : "nan";
}

// Shortens `s` to `width` characters with a trailing '~'.
std::string Fit(const std::string& s, size_t width) {
  return s.size() <= width ? s : s.substr(0, width - 1) + "~";
}

}  // namespace

MetricList PrefixedMetrics(const google::protobuf::RepeatedPtrField<v1::Metric>& metrics,
                           const std::string& prefix) {
  MetricList out;
  for (const v1::Metric& m : metrics)
    out.emplace_back(absl::StartsWith(m.name(), prefix) ? m.name() : prefix + m.name(), m.value());
  return out;
}

std::string JoinMetrics(const MetricList& metrics) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : metrics) parts.push_back(absl::StrCat(name, "=", Value(value)));
  return absl::StrJoin(parts, " ");
}

std::string JobProgress(const v1::Job& job) {
  if (job.step() == 0 && job.epoch() == 0) return "-";
  std::string s = absl::StrCat("epoch ", job.epoch());
  if (job.spec().epochs() > 0) absl::StrAppend(&s, "/", job.spec().epochs());
  absl::StrAppend(&s, " step ", job.step());
  if (job.total_steps() > 0) absl::StrAppend(&s, "/", job.total_steps());
  return s;
}

std::string FailureSummary(const v1::FailureReport& failure) {
  std::string s = failure.rank() >= 0 ? absl::StrFormat("rank %d: ", failure.rank()) : "";
  absl::StrAppend(&s, failure.error().empty() ? "no error reported" : failure.error());
  if (failure.exit_code() >= 0) absl::StrAppend(&s, " (exit code ", failure.exit_code(), ")");
  return s;
}

std::string FailureLogTail(const v1::FailureReport& failure, const std::string& job_id) {
  if (failure.log_tail().empty()) return "";
  std::string s =
      failure.rank() >= 0
          ? absl::StrFormat("last %d lines of rank %d's log (hearth logs %s --rank %d):\n",
                            failure.log_tail_size(), failure.rank(), job_id, failure.rank())
          : absl::StrFormat("last %d lines of the log (hearth logs %s):\n", failure.log_tail_size(),
                            job_id);
  for (const std::string& line : failure.log_tail()) absl::StrAppend(&s, "  | ", line, "\n");
  return s;
}

void PrintJobDetail(std::FILE* out, const v1::Job& job) {
  const v1::JobSpec& spec = job.spec();
  std::fprintf(out, "%s  %s  %s\n", job.id().c_str(),
               spec.name().empty() ? "(unnamed)" : spec.name().c_str(),
               StateName(job.state()).c_str());
  auto row = [out](const char* key, const std::string& value) {
    std::fprintf(out, "  %-12s %s\n", key, value.c_str());
  };
  row("task", v1::Task_Name(spec.task()));
  if (!job.sweep_id().empty()) row("sweep", job.sweep_id());
  row("created", FormatTime(job.created_at()));
  if (job.started_at() > 0) row("started", FormatTime(job.started_at()));
  if (job.finished_at() > 0) {
    std::string finished = FormatTime(job.finished_at());
    if (job.started_at() > 0)
      absl::StrAppend(&finished,
                      absl::StrFormat(" (ran %.1f s)", job.finished_at() - job.started_at()));
    row("finished", finished);
  }
  std::string progress = JobProgress(job);
  if (job.step() > 0) absl::StrAppend(&progress, " loss ", Value(job.loss()));
  row("progress", progress);
  row("restarts", absl::StrFormat("%d of %d", job.restarts(), spec.max_restarts()));
  if (job.has_result()) {
    const v1::JobResult& r = job.result();
    row("result", absl::StrFormat("%d steps (%d epochs) in %.1f s, %.0f examples/s, train loss %s",
                                  r.steps(), r.epochs(), r.wall_seconds(), r.examples_per_second(),
                                  Value(r.train_loss())));
    if (!r.validation_metrics().empty())
      row("validation", JoinMetrics(PrefixedMetrics(r.validation_metrics(), "")));
    if (!r.test_metrics().empty()) row("test", JoinMetrics(PrefixedMetrics(r.test_metrics(), "")));
    if (!r.checkpoint_id().empty()) row("checkpoint", r.checkpoint_id());
    if (!r.best_checkpoint_id().empty()) row("best", r.best_checkpoint_id());
  }
  if (job.has_failure()) {
    row("failure", FailureSummary(job.failure()));
    std::fputs(FailureLogTail(job.failure(), job.id()).c_str(), out);
  }
}

void PrintJobTable(std::FILE* out, const google::protobuf::RepeatedPtrField<v1::Job>& jobs) {
  std::fprintf(out, "%-10s %-20s %-10s %-28s %-10s %s\n", "ID", "NAME", "STATE", "PROGRESS", "LOSS",
               "CREATED");
  for (const v1::Job& job : jobs) {
    std::fprintf(out, "%-10s %-20s %-10s %-28s %-10s %s\n", job.id().c_str(),
                 Fit(job.spec().name().empty() ? "-" : job.spec().name(), 20).c_str(),
                 StateName(job.state()).c_str(), JobProgress(job).c_str(),
                 job.step() > 0 ? Value(job.loss()).c_str() : "-",
                 FormatTime(job.created_at()).c_str());
  }
}

void PrintCheckpointTable(
    std::FILE* out, const google::protobuf::RepeatedPtrField<v1::CheckpointInfo>& checkpoints) {
  std::fprintf(out, "%-20s %8s %10s %-22s %-4s %-19s %s\n", "ID", "STEP", "SIZE", "METRIC", "BEST",
               "CREATED", "SHA256");
  for (const v1::CheckpointInfo& c : checkpoints) {
    const std::string metric =
        c.metric_name().empty() ? "-" : absl::StrCat(c.metric_name(), "=", Value(c.metric_value()));
    std::fprintf(out, "%-20s %8lld %10s %-22s %-4s %-19s %s\n", c.id().c_str(),
                 static_cast<long long>(c.step()), FormatBytes(c.size_bytes()).c_str(),
                 Fit(metric, 22).c_str(), c.best() ? "*" : "", FormatTime(c.created_at()).c_str(),
                 c.sha256().substr(0, 12).c_str());
  }
}

std::string SweepMetricName(const v1::SweepSpec& spec) {
  return spec.metric().empty() ? "val_loss" : spec.metric();
}

std::string TrialName(const v1::Sweep& sweep, int index) {
  const v1::Trial& trial = sweep.trials(index);
  std::vector<std::string> params;
  for (const v1::Metric& p : trial.parameters())
    params.push_back(absl::StrCat(p.name(), "=", Value(p.value())));
  return absl::StrFormat("trial %d (%s%s%s)", index + 1,
                         trial.job_id().empty() ? "not started" : trial.job_id(),
                         params.empty() ? "" : ", ", absl::StrJoin(params, " "));
}

void PrintSweep(std::FILE* out, const v1::Sweep& sweep) {
  const v1::SweepSpec& spec = sweep.spec();
  const std::string metric = SweepMetricName(spec);
  bool maximize = spec.direction() == v1::SweepSpec::MAXIMIZE;
  if (spec.direction() == v1::SweepSpec::DIRECTION_UNSPECIFIED)
    maximize = ResolveMonitorMode(metric, v1::MONITOR_MODE_UNSPECIFIED) == MetricMode::kMax;
  std::fprintf(
      out, "%s  %s  %s  %s search, %d trial%s, %s %s\n", sweep.id().c_str(),
      spec.name().empty() ? "(unnamed)" : spec.name().c_str(), StateName(sweep.state()).c_str(),
      spec.method() == v1::SweepSpec::RANDOM ? "random" : "grid", sweep.trials_size(),
      sweep.trials_size() == 1 ? "" : "s", maximize ? "maximize" : "minimize", metric.c_str());
  // One column per swept parameter, named by its path.
  std::vector<std::string> columns;
  for (const v1::SweepParameter& p : spec.parameters()) columns.push_back(p.path());
  for (const v1::Trial& t : sweep.trials())
    for (const v1::Metric& p : t.parameters())
      if (std::find(columns.begin(), columns.end(), p.name()) == columns.end())
        columns.push_back(p.name());
  // A cross-validated sweep also shows each point's mean and std over its folds.
  bool cross_validated = false;
  for (const v1::Trial& t : sweep.trials())
    for (const v1::Metric& p : t.parameters()) cross_validated |= p.name() == "data.fold";
  std::string header =
      absl::StrFormat("  %-6s %-10s %-10s %-12s", "TRIAL", "JOB", "STATE", Fit(metric, 12));
  if (cross_validated) absl::StrAppend(&header, absl::StrFormat(" %-22s", "CV MEAN +- STD"));
  for (const std::string& c : columns) absl::StrAppend(&header, " ", absl::StrFormat("%-14s", c));
  std::fprintf(out, "%s\n", std::string(absl::StripTrailingAsciiWhitespace(header)).c_str());
  for (int i = 0; i < sweep.trials_size(); ++i) {
    const v1::Trial& t = sweep.trials(i);
    // metric_value has no "unset": 0 before the first epoch's report.
    const bool has_metric =
        i == sweep.best_trial() || IsTerminal(t.state()) || t.metric_value() != 0;
    const std::string state = t.stopped_early() ? "STOPPED" : StateName(t.state());
    std::string line = absl::StrFormat(
        "%s %-6d %-10s %-10s %-12s", i == sweep.best_trial() ? "*" : " ", i + 1,
        t.job_id().empty() ? "-" : t.job_id(), state, has_metric ? Value(t.metric_value()) : "-");
    if (cross_validated)
      absl::StrAppend(
          &line, absl::StrFormat(" %-22s", t.has_cv_mean() ? absl::StrCat(Value(t.cv_mean()),
                                                                          " +- ", Value(t.cv_std()))
                                                           : "-"));
    for (const std::string& c : columns) {
      std::string v = "-";
      for (const v1::Metric& p : t.parameters())
        if (p.name() == c) v = Value(p.value());
      absl::StrAppend(&line, " ", absl::StrFormat("%-14s", v));
    }
    std::fprintf(out, "%s\n", std::string(absl::StripTrailingAsciiWhitespace(line)).c_str());
  }
  if (cross_validated && sweep.best_trial() >= 0 && sweep.best_trial() < sweep.trials_size())
    std::fprintf(out, "best: %s and its other folds: cross-validated %s %s\n",
                 TrialName(sweep, sweep.best_trial()).c_str(), metric.c_str(),
                 Value(sweep.trials(sweep.best_trial()).cv_mean()).c_str());
  else if (sweep.best_trial() >= 0 && sweep.best_trial() < sweep.trials_size())
    std::fprintf(out, "best: %s: %s %s\n", TrialName(sweep, sweep.best_trial()).c_str(),
                 metric.c_str(), Value(sweep.trials(sweep.best_trial()).metric_value()).c_str());
  else
    std::fprintf(out, "best: none yet (no %s has reported %s)\n",
                 cross_validated ? "point has all its folds" : "trial", metric.c_str());
}

}  // namespace hearth::cli
