#include "run/early_stopping.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "run/training_state.h"

namespace hearth::run {

EarlyStopping::EarlyStopping(const v1::JobSpec& spec)
    : enabled_(spec.has_early_stopping()),
      monitor_(EarlyStoppingMonitor(spec)),
      mode_(ResolveMonitorMode(monitor_, spec.early_stopping().mode())),
      patience_(spec.early_stopping().patience()),
      min_delta_(spec.early_stopping().min_delta()) {}

bool EarlyStopping::Update(double value) {
  if (!enabled_ || std::isnan(value)) return false;
  const bool better = !best_ || (mode_ == MetricMode::kMin ? value < *best_ - min_delta_
                                                           : value > *best_ + min_delta_);
  if (better) {
    best_ = value;
    waited_ = 0;
    return false;
  }
  return ++waited_ >= patience_;
}

void EarlyStopping::SaveTo(Checkpoint& c) const {
  if (!enabled_) return;
  if (best_) c.metadata[kEarlyStoppingBestKey] = absl::StrFormat("%.17g", *best_);
  c.metadata[kEarlyStoppingWaitedKey] = std::to_string(waited_);
}

Status EarlyStopping::RestoreFrom(const Checkpoint& c, const std::string& source) {
  auto best = c.metadata.find(kEarlyStoppingBestKey);
  auto waited = c.metadata.find(kEarlyStoppingWaitedKey);
  double best_value = 0;
  if (best != c.metadata.end()) {
    if (!absl::SimpleAtod(best->second, &best_value))
      return absl::DataLossError(
          absl::StrFormat("%s: metadata \"%s\" is not a number", source, kEarlyStoppingBestKey));
    best_ = best_value;
  }
  if (waited != c.metadata.end() && !absl::SimpleAtoi(waited->second, &waited_))
    return absl::DataLossError(
        absl::StrFormat("%s: metadata \"%s\" is not an integer", source, kEarlyStoppingWaitedKey));
  return absl::OkStatus();
}

}  // namespace hearth::run
