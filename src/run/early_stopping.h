// Early stopping for the trainer: `patience` epochs without an improvement of at least
// `min_delta` in the monitored value. Its state rides in each checkpoint, so a resumed run stops
// after the same epoch as an uninterrupted one.
#pragma once

#include <optional>
#include <string>

#include "hearth/checkpoint.h"
#include "hearth/job.h"
#include "hearth/status.h"

namespace hearth::run {

class EarlyStopping {
 public:
  explicit EarlyStopping(const v1::JobSpec& spec);

  const std::string& monitor() const { return monitor_; }
  // Returns true when training should stop after this epoch.
  bool Update(double value);
  // Whether an earlier Update already said to stop.
  bool stopped() const { return enabled_ && waited_ >= patience_; }

  void SaveTo(Checkpoint& c) const;
  Status RestoreFrom(const Checkpoint& c, const std::string& source);

 private:
  bool enabled_;
  std::string monitor_;
  MetricMode mode_;
  int patience_;
  double min_delta_;
  std::optional<double> best_;
  int waited_ = 0;
};

}  // namespace hearth::run
