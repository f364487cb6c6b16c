// The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
// 2017; fastai's lr_find): train from the job's initial weights while the rate grows
// exponentially from `min_lr` to `max_lr`, one batch per rate, and watch the smoothed loss fall,
// flatten and blow up. A good rate lies where the loss falls fastest, well below where it is
// lowest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/status.h"
#include "hearth/v1/job.pb.h"

namespace hearth::run {

struct LrRangeOptions {
  double min_lr = 1e-7;
  double max_lr = 10;
  int64_t steps = 100;
  // Weight of the past in the running loss that watches for divergence (fastai's 0.98), debiased
  // like Adam's moments.
  double smoothing = 0.98;
  // Stop once that running loss exceeds this many times its lowest value.
  double divergence = 4;
};

struct LrRangePoint {
  double lr = 0;
  double loss = 0;  // the batch's loss
  // The batch losses averaged over a centred window of about a tenth of the test: no lag, so a
  // rate's point shows that rate's loss.
  double smoothed_loss = 0;
};

struct LrRangeResult {
  std::vector<LrRangePoint> points;
  bool diverged = false;  // stopped early because the loss blew up
  // Where the smoothed loss was lowest, and where it fell fastest (the most negative slope of
  // smoothed loss against log10(lr) before the minimum).
  double min_loss_lr = 0;
  double steepest_lr = 0;
  // The suggestion, fastai's "valley": halfway down the longest run of falling smoothed loss.
  // When there is no such run, a tenth of the minimum's rate (a rate near the minimum is already
  // too high to train with).
  double suggested_lr = 0;
};

// Runs the test on one process with the spec's model, loss, optimizer (its schedule is replaced)
// and batch size. INVALID_ARGUMENT for a clustering job (no learning rate) or bad options.
StatusOr<LrRangeResult> RunLrRangeTest(const v1::JobSpec& spec, const LrRangeOptions& options);

// The loss against the rate (log scale) as a standalone SVG, the suggestion marked.
std::string RenderLrRangeTest(const LrRangeResult& result, const std::string& title);

}  // namespace hearth::run
