// A sweep's trials, planned from its spec before anything is stored or started: the base job
// spec and every parameter checked, the grid's size multiplied out (with a bound) before it is
// built, every trial's spec validated under the name it will run as. Pure: no store, no files;
// the coordinator and the fuzzer call it alike.
#pragma once

#include <string>
#include <vector>

#include "hearth/status.h"
#include "hearth/v1/coordinator.pb.h"

namespace hearth::coordinator {

inline constexpr int kMaxSweepTrials = 1000;
inline constexpr int kMaxSweepParameters = 32;
// The trial parameter a cross-validated sweep (base.data.folds) adds: which fold the trial trains.
inline constexpr char kFoldParameter[] = "data.fold";

// The trials (state QUEUED, their parameter values; with base.data.folds one per point and fold,
// folds of a point adjacent), or INVALID_ARGUMENT naming the field
// ("spec.parameters[1].path: ...") and RESOURCE_EXHAUSTED for more than kMaxSweepTrials trials.
StatusOr<std::vector<v1::Trial>> PlanSweep(const v1::SweepSpec& spec);

// A trial's job name: "<sweep name, else its id>-t<index>".
std::string SweepTrialName(const std::string& sweep_name, const std::string& sweep_id,
                           size_t index);

}  // namespace hearth::coordinator
