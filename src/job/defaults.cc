// How a job spec resolves what it leaves unset: the loss and metrics by task, monitor directions,
// source formats by file name. Plus the small naming helpers the validators share.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "job/internal.h"

namespace hearth {

v1::LossType EffectiveLoss(const v1::JobSpec& spec) {
  if (spec.loss().type() != v1::LOSS_TYPE_UNSPECIFIED) return spec.loss().type();
  switch (spec.task()) {
    case v1::CLASSIFICATION:
      return v1::CROSS_ENTROPY;
    case v1::REGRESSION:
      return v1::MSE;
    default:
      return v1::LOSS_TYPE_UNSPECIFIED;
  }
}

std::vector<std::string> MetricNames(const v1::JobSpec& spec) {
  if (!spec.metrics().empty()) return {spec.metrics().begin(), spec.metrics().end()};
  switch (spec.task()) {
    case v1::CLASSIFICATION:
      return {"accuracy", "log_loss"};
    case v1::REGRESSION:
      return {"mse", "mae", "r2"};
    case v1::CLUSTERING:
      return {"inertia", "silhouette"};
    default:
      return {};
  }
}

MetricMode ResolveMonitorMode(std::string_view monitor, v1::MonitorMode mode) {
  if (mode == v1::MIN) return MetricMode::kMin;
  if (mode == v1::MAX) return MetricMode::kMax;
  for (std::string_view split : {"val_", "test_"})
    if (monitor.starts_with(split)) monitor.remove_prefix(split.size());
  // Scores grow with quality; losses and errors shrink.
  for (std::string_view higher :
       {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2", "silhouette"})
    if (monitor.starts_with(higher)) return MetricMode::kMax;
  return MetricMode::kMin;
}

std::string CheckpointMonitor(const v1::JobSpec& spec) {
  if (!spec.checkpoint().monitor().empty()) return spec.checkpoint().monitor();
  return HasValidationData(spec) ? "val_loss" : "loss";
}

std::string EarlyStoppingMonitor(const v1::JobSpec& spec) {
  return spec.early_stopping().monitor().empty() ? "val_loss" : spec.early_stopping().monitor();
}

v1::DataFormat ResolveFormat(const v1::DataSource& source) {
  if (source.format() != v1::DATA_FORMAT_UNSPECIFIED) return source.format();
  std::string name = absl::AsciiStrToLower(source.path());
  if (const size_t slash = name.rfind('/'); slash != std::string::npos) name.erase(0, slash + 1);
  std::string_view base = name;
  if (base.ends_with(".gz")) base.remove_suffix(3);
  if (base.ends_with(".csv")) return v1::CSV;
  if (base.ends_with(".npy")) return v1::NPY;
  if (base.ends_with(".idx") || base.find("-ubyte") != std::string_view::npos) return v1::IDX;
  return v1::DATA_FORMAT_UNSPECIFIED;
}

bool HasValidationData(const v1::JobSpec& spec) {
  return spec.data().has_validation() || spec.data().validation_fraction() > 0 ||
         spec.data().folds() > 0;
}

int32_t Workers(const v1::JobSpec& spec) {
  return spec.has_workers() ? spec.workers() : 1;
}

int32_t DeterministicShards(const v1::JobSpec& spec) {
  return spec.has_deterministic_shards() ? spec.deterministic_shards() : 8;
}

int32_t AccumulationSteps(const v1::JobSpec& spec) {
  return spec.has_gradient_accumulation_steps() ? spec.gradient_accumulation_steps() : 1;
}

namespace job_internal {

Status ErrorList::ToStatus() const {
  if (errors_.empty()) return absl::OkStatus();
  if (errors_.size() == 1) return absl::InvalidArgumentError(errors_[0]);
  return absl::InvalidArgumentError(absl::StrFormat("%d problems in the job spec: %s",
                                                    errors_.size(), absl::StrJoin(errors_, "; ")));
}

namespace {

template <typename Enum>
std::string EnumName(Enum value, const std::string& name) {
  return name.empty() ? absl::StrFormat("%d", static_cast<int>(value)) : name;
}

}  // namespace

std::string TaskName(v1::Task task) {
  return EnumName(task, v1::Task_Name(task));
}
std::string LossName(v1::LossType loss) {
  return EnumName(loss, v1::LossType_Name(loss));
}
std::string FormatName(v1::DataFormat format) {
  return EnumName(format, v1::DataFormat_Name(format));
}

bool IsSupervised(v1::Task task) {
  return task == v1::CLASSIFICATION || task == v1::REGRESSION;
}

std::string BatchShapeString(const Shape& shape) {
  std::vector<std::string> dims;
  for (int i = 0; i < shape.rank(); ++i)
    dims.push_back(i == 0 ? "N" : absl::StrFormat("%d", shape[i]));
  return absl::StrFormat("[%s]", absl::StrJoin(dims, ", "));
}

}  // namespace job_internal
}  // namespace hearth
