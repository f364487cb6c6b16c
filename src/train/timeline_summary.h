// Reading a training timeline back (hearth/timeline.h): where each rank's step goes, phase by
// phase, and a picture of a few steps. Behind `hearth timeline`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct TimelineEvent {
  std::string name;
  int rank = 0;        // the trace's pid
  int row = 0;         // its tid (Timeline::kTraining, kBucketRows + b, ...)
  double ts_us = 0;    // start
  double dur_us = -1;  // -1: an instant
  int64_t arg = -1;
};

// The events of a Chrome trace-event array written by Timeline (metadata events left out).
// INVALID_ARGUMENT naming `source` and the line when the text is not one.
StatusOr<std::vector<TimelineEvent>> ParseTimeline(const std::string& text,
                                                   const std::string& source);

struct PhaseTime {
  std::string name;    // "forward", "backward", "wait for gradients", ..., "other"
  double mean_us = 0;  // per step
  double median_us = 0;
  double share = 0;  // of the mean step
};

struct RankTimeline {
  int rank = 0;
  int64_t steps = 0;  // summarised (after the skipped ones)
  double step_mean_us = 0;
  double step_median_us = 0;
  // On the training thread within the step, in the order they happen; "other" is the rest of
  // the step (loss weighting, bookkeeping). Their means add up to the step's mean.
  std::vector<PhaseTime> phases;
  double data_mean_us = 0;  // reading the batch, before each step
  // Each gradient bucket's allreduce, from its gradients being ready to its completion being seen
  // (median over the steps), in bucket order.
  std::vector<double> bucket_allreduce_median_us;
};

// Per rank, the steps after the first `skip_steps` (warm-up). FAILED_PRECONDITION when the
// trace has no steps past those.
StatusOr<std::vector<RankTimeline>> SummariseTimeline(const std::vector<TimelineEvent>& events,
                                                      int skip_steps);

// An SVG of steps [first_step, first_step + steps) of every rank (0-based among the recorded
// steps): one lane per rank's training thread and gradient bucket, bars by phase, a time axis in
// microseconds from the first step's start.
std::string RenderTimelineSvg(const std::vector<TimelineEvent>& events, int first_step, int steps,
                              const std::string& title);

}  // namespace hearth
