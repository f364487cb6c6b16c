// Validation of the training settings: loss, optimizer and schedule (through the optim module's
// own checks, which already name "optimizer.<field>" / "schedule.<field>"), metrics, and the
// values checkpoints and early stopping monitor.
#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hearth/metrics.h"
#include "job/internal.h"

namespace hearth::job_internal {
namespace {

bool IsClassificationLoss(v1::LossType loss) {
  return loss == v1::CROSS_ENTROPY || loss == v1::BINARY_CROSS_ENTROPY;
}

// The task a metric belongs to; TASK_UNSPECIFIED for a name this table does not know yet.
v1::Task MetricTask(std::string_view name) {
  if (name == "accuracy" || name == "log_loss" || name == "brier_score" || name == "roc_auc" ||
      name == "pr_auc" || name.starts_with("precision") || name.starts_with("recall") ||
      name.starts_with("f1"))
    return v1::CLASSIFICATION;
  if (name == "mse" || name == "rmse" || name == "mae" || name == "r2" || name == "mape")
    return v1::REGRESSION;
  if (name == "inertia" || name == "silhouette") return v1::CLUSTERING;
  return v1::TASK_UNSPECIFIED;
}

std::string MetricsOf(v1::Task task) {
  std::vector<std::string> names;
  for (const std::string& n : hearth::MetricNames())
    if (MetricTask(n) == task) names.push_back(n);
  return absl::StrJoin(names, ", ");
}

void CheckMonitor(const v1::JobSpec& spec, const std::string& path, const std::string& monitor,
                  bool defaulted, ErrorList& errors) {
  if (monitor == "loss") return;
  const std::vector<std::string> metrics = MetricNames(spec);
  auto computed = [&](std::string_view m) {
    return std::find(metrics.begin(), metrics.end(), m) != metrics.end();
  };
  std::string_view name = monitor;
  const bool val = name.starts_with("val_");
  if (val) name.remove_prefix(4);
  if (val && (name == "loss" || computed(name))) {
    if (!HasValidationData(spec))
      errors.Addf(path,
                  "%s\"%s\" needs validation data: set data.validation or "
                  "data.validation_fraction (or data.folds)",
                  defaulted ? "the default, " : "", monitor);
    return;
  }
  std::vector<std::string> valid = {"loss", "val_loss"};
  for (const std::string& m : metrics) valid.push_back("val_" + m);
  const auto& known = hearth::MetricNames();
  if (val && std::find(known.begin(), known.end(), name) != known.end()) {
    errors.Addf(path, "\"%s\" is not computed: add \"%s\" to metrics (or monitor one of: %s)",
                monitor, name, absl::StrJoin(valid, ", "));
  } else if (!val && computed(name)) {
    errors.Addf(path, "metrics are computed on validation data: monitor \"val_%s\"", name);
  } else {
    errors.Addf(path, "unknown value \"%s\" (expected one of: %s)", monitor,
                absl::StrJoin(valid, ", "));
  }
}

void CheckMode(v1::MonitorMode mode, const std::string& path, ErrorList& errors) {
  if (!v1::MonitorMode_IsValid(mode))
    errors.Addf(path, "invalid value %d (expected MIN or MAX)", static_cast<int>(mode));
}

}  // namespace

void CheckLoss(const v1::JobSpec& spec, ErrorList& errors) {
  const v1::LossSpec& l = spec.loss();
  if (!v1::LossType_IsValid(l.type())) {
    errors.Addf("loss.type",
                "invalid value %d (expected MSE, MAE, HUBER, CROSS_ENTROPY or "
                "BINARY_CROSS_ENTROPY)",
                static_cast<int>(l.type()));
  } else if (IsSupervised(spec.task())) {
    const v1::LossType loss = EffectiveLoss(spec);
    if (spec.task() == v1::CLASSIFICATION && !IsClassificationLoss(loss))
      errors.Addf("loss.type",
                  "%s is a regression loss, but task is CLASSIFICATION: use CROSS_ENTROPY (or "
                  "BINARY_CROSS_ENTROPY for two classes)",
                  LossName(loss));
    if (spec.task() == v1::REGRESSION && IsClassificationLoss(loss))
      errors.Addf("loss.type",
                  "%s needs task CLASSIFICATION, but task is REGRESSION: use MSE, MAE or HUBER",
                  LossName(loss));
  }
  if (!l.class_weight().empty() || l.class_weights_size() > 0) {
    const bool weighted_loss =
        spec.task() == v1::CLASSIFICATION && IsClassificationLoss(EffectiveLoss(spec));
    const char* field = l.class_weight().empty() ? "loss.class_weights" : "loss.class_weight";
    if (!weighted_loss) {
      errors.Add(field,
                 "only for task CLASSIFICATION (CROSS_ENTROPY or BINARY_CROSS_ENTROPY): "
                 "remove it");
    } else if (!l.class_weight().empty() && l.class_weights_size() > 0) {
      errors.Add("loss.class_weight",
                 "give class_weight \"balanced\" or explicit class_weights, not both");
    } else if (!l.class_weight().empty() && absl::AsciiStrToLower(l.class_weight()) != "balanced") {
      errors.Addf("loss.class_weight",
                  "\"%s\" is not a weighting (expected \"balanced\", or explicit class_weights)",
                  l.class_weight());
    }
    for (int i = 0; i < l.class_weights_size(); ++i) {
      if (!(l.class_weights(i) > 0) || !std::isfinite(l.class_weights(i)))
        errors.Addf(absl::StrCat("loss.class_weights[", i, "]"), "must be > 0 and finite, got %g",
                    l.class_weights(i));
    }
    if (weighted_loss && EffectiveLoss(spec) == v1::BINARY_CROSS_ENTROPY &&
        l.class_weights_size() > 0 && l.class_weights_size() != 2) {
      errors.Addf("loss.class_weights",
                  "BINARY_CROSS_ENTROPY takes 2 weights (class 0, class 1), got %d",
                  l.class_weights_size());
    }
  }
  if (l.has_delta()) {
    if (l.type() != v1::HUBER) {
      errors.Add("loss.delta", "only used by HUBER: remove it");
    } else if (!(l.delta() > 0) || !std::isfinite(l.delta())) {
      errors.Addf("loss.delta", "must be > 0 and finite, got %g", l.delta());
    }
  }
}

void CheckOptimizer(const v1::JobSpec& spec, ErrorList& errors) {
  const OptimizerConfig optimizer = ToOptimizerConfig(spec.optimizer());
  const Status optimizer_status = ValidateOptimizerConfig(optimizer);
  errors.AddStatus(optimizer_status);

  const v1::ScheduleSpec& s = spec.schedule();
  ScheduleConfig schedule = ToScheduleConfig(s);
  const std::string name = absl::AsciiStrToLower(schedule.name);
  const bool known =
      name == "constant" || name == "step" || name == "exponential" || name == "cosine";
  // The schedule module ignores settings its schedule does not use; a job spec reports them.
  auto only = [&](bool present, const char* field, bool used, const char* users) {
    if (known && present && !used)
      errors.Addf(FieldPath("schedule", field), "only used by the %s schedule%s, not %s: remove it",
                  users, absl::StrContains(users, " ") ? "s" : "", name);
  };
  only(s.has_step_size(), "step_size", name == "step", "step");
  only(s.has_gamma(), "gamma", name == "step" || name == "exponential", "step and exponential");
  only(s.has_total_steps(), "total_steps", name == "cosine", "cosine");
  only(s.has_min_lr(), "min_lr", name == "cosine", "cosine");
  // Without total_steps a cosine spans the run, whose length is known only once the data is.
  if (name == "cosine" && !s.has_total_steps()) schedule.total_steps = 1;
  const Status schedule_status = ValidateScheduleConfig(schedule, optimizer.lr);
  // A bad lr is reported once, by the optimizer check.
  if (!absl::StartsWith(schedule_status.message(), "optimizer.")) errors.AddStatus(schedule_status);
}

void CheckMetrics(const v1::JobSpec& spec, ErrorList& errors) {
  std::set<std::string> seen;
  for (int i = 0; i < spec.metrics_size(); ++i) {
    const std::string& name = spec.metrics(i);
    const std::string p = IndexPath("metrics", i);
    MetricOptions options;
    // Inertia needs the number of clusters to be constructible.
    if (spec.task() == v1::CLUSTERING) options.num_classes = std::max(spec.model().kmeans().k(), 1);
    StatusOr<std::unique_ptr<Metric>> metric = MakeMetric(name, options);
    if (!metric.ok()) {
      errors.Add(p, std::string(metric.status().message()));
      continue;
    }
    const v1::Task family = MetricTask(name);
    const v1::Task task = spec.task();
    if (family != v1::TASK_UNSPECIFIED && task != v1::TASK_UNSPECIFIED && v1::Task_IsValid(task) &&
        family != task)
      errors.Addf(p, "\"%s\" is a %s metric, but task is %s (%s metrics: %s)", name,
                  absl::AsciiStrToLower(TaskName(family)), TaskName(task), TaskName(task),
                  MetricsOf(task));
    if (!seen.insert(name).second) errors.Addf(p, "\"%s\" is listed twice", name);
  }
}

void CheckMonitoring(const v1::JobSpec& spec, ErrorList& errors) {
  if (spec.task() == v1::CLUSTERING) return;  // both sections are reported as unused
  if (spec.has_checkpoint()) {
    const v1::CheckpointSpec& c = spec.checkpoint();
    if (c.every_steps() < 0)
      errors.Addf("checkpoint.every_steps", "must be >= 0 (0: every epoch), got %d",
                  c.every_steps());
    if (c.has_keep_last() && c.keep_last() < 1)
      errors.Addf("checkpoint.keep_last", "must be >= 1, got %d", c.keep_last());
    // The default monitor (val_loss or loss) always exists, so only an explicit one is checked.
    if (!c.monitor().empty()) CheckMonitor(spec, "checkpoint.monitor", c.monitor(), false, errors);
    CheckMode(c.mode(), "checkpoint.mode", errors);
  }
  if (spec.has_early_stopping()) {
    const v1::EarlyStoppingSpec& e = spec.early_stopping();
    CheckMonitor(spec, "early_stopping.monitor", EarlyStoppingMonitor(spec), e.monitor().empty(),
                 errors);
    if (e.patience() <= 0)
      errors.Addf("early_stopping.patience", "must be > 0 (epochs without improvement), got %d",
                  e.patience());
    if (!(e.min_delta() >= 0) || !std::isfinite(e.min_delta()))
      errors.Addf("early_stopping.min_delta", "must be >= 0 and finite, got %g", e.min_delta());
    CheckMode(e.mode(), "early_stopping.mode", errors);
  }
}

}  // namespace hearth::job_internal
