// JobSpecErrors / ValidateJobSpec: the top-level fields, then each section in field order.
#include <cctype>
#include <cmath>

#include "job/internal.h"

namespace hearth {
namespace {

using job_internal::ErrorList;

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

void CheckTopLevel(const v1::JobSpec& spec, ErrorList& errors) {
  if (spec.name().empty()) {
    errors.Add("name", "required: a name for the run, e.g. \"mnist-mlp\"");
  } else if (!ValidName(spec.name())) {
    errors.Addf("name",
                "\"%s\" is not a valid name: use 1-128 letters, digits, '.', '_' or '-', starting "
                "with a letter or digit",
                spec.name());
  }
  if (spec.task() == v1::TASK_UNSPECIFIED) {
    errors.Add("task", "required: REGRESSION, CLASSIFICATION or CLUSTERING");
  } else if (!v1::Task_IsValid(spec.task())) {
    errors.Addf("task", "invalid value %d (expected REGRESSION, CLASSIFICATION or CLUSTERING)",
                static_cast<int>(spec.task()));
  }
  if (spec.has_workers() && spec.workers() < 1)
    errors.Addf("workers", "must be >= 1, got %d", spec.workers());
  if (spec.max_restarts() < 0)
    errors.Addf("max_restarts", "must be >= 0, got %d", spec.max_restarts());
}

// Fields of the training loop: required for layer models, meaningless for k-means.
void CheckLoop(const v1::JobSpec& spec, ErrorList& errors) {
  if (spec.task() == v1::CLUSTERING) {
    // A k-means job fits in one go; a stray training setting is a sign of a confused spec.
    auto unused = [&](bool present, const char* field) {
      if (present)
        errors.Addf(field, "not used by task CLUSTERING (k-means fits without it): remove it");
    };
    unused(spec.has_loss(), "loss");
    unused(spec.has_optimizer(), "optimizer");
    unused(spec.has_schedule(), "schedule");
    unused(spec.clip_grad_norm() != 0, "clip_grad_norm");
    unused(spec.global_batch_size() != 0, "global_batch_size");
    unused(spec.epochs() != 0, "epochs");
    unused(spec.has_checkpoint(), "checkpoint");
    unused(spec.has_early_stopping(), "early_stopping");
    return;
  }
  if (!(spec.clip_grad_norm() >= 0) || !std::isfinite(spec.clip_grad_norm()))
    errors.Addf("clip_grad_norm", "must be >= 0 and finite (0: no clipping), got %g",
                spec.clip_grad_norm());
  if (spec.global_batch_size() <= 0) {
    errors.Addf("global_batch_size", "must be > 0, got %d", spec.global_batch_size());
  } else if (Workers(spec) >= 1 && spec.global_batch_size() % Workers(spec) != 0) {
    errors.Addf("global_batch_size",
                "%d is not divisible by workers = %d: every worker takes the same share of a "
                "batch, so use a multiple of %d",
                spec.global_batch_size(), Workers(spec), Workers(spec));
  }
  if (spec.epochs() <= 0) errors.Addf("epochs", "must be > 0, got %d", spec.epochs());
  if (spec.has_deterministic_shards()) {
    const int32_t shards = spec.deterministic_shards();
    if (shards < 1 || shards > 1024 || (shards & (shards - 1)) != 0)
      errors.Addf("deterministic_shards", "must be a power of two from 1 to 1024, got %d", shards);
    else if (Workers(spec) > shards)
      errors.Addf("deterministic_shards",
                  "%d is fewer than workers = %d; each worker needs at least one micro-shard",
                  shards, Workers(spec));
  }
  if (spec.has_gradient_accumulation_steps()) {
    if (spec.gradient_accumulation_steps() < 1)
      errors.Addf("gradient_accumulation_steps", "must be >= 1, got %d",
                  spec.gradient_accumulation_steps());
    else if (spec.deterministic() && spec.gradient_accumulation_steps() > 1)
      errors.Addf("gradient_accumulation_steps",
                  "is not used with deterministic: true (its micro-shards already split each "
                  "batch); remove it or turn deterministic off");
  }
}

}  // namespace

std::vector<std::string> JobSpecErrors(const v1::JobSpec& spec) {
  ErrorList errors;
  CheckTopLevel(spec, errors);
  job_internal::CheckData(spec, errors);
  job_internal::CheckModel(spec, errors);
  CheckLoop(spec, errors);
  if (spec.task() != v1::CLUSTERING) {
    job_internal::CheckLoss(spec, errors);
    job_internal::CheckOptimizer(spec, errors);
  }
  job_internal::CheckMetrics(spec, errors);
  job_internal::CheckMonitoring(spec, errors);
  if (spec.log_every_steps() < 0)
    errors.Addf("log_every_steps", "must be >= 0 (0: once per epoch), got %d",
                spec.log_every_steps());
  return errors.Take();
}

Status ValidateJobSpec(const v1::JobSpec& spec) {
  return ErrorList(JobSpecErrors(spec)).ToStatus();
}

}  // namespace hearth
