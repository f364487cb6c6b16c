// RunLrRangeTest: the trainer's pieces (data, model, loss, gradient step, optimizer) with an
// exponentially growing rate; RenderLrRangeTest on the shared chart API.
#include "run/find_lr.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include "absl/strings/str_format.h"
#include "hearth/dist/communicator.h"
#include "hearth/job.h"
#include "hearth/nn.h"
#include "hearth/optim.h"
#include "hearth/sampler.h"
#include "hearth/schedule.h"
#include "run/gradient_step.h"
#include "run/job_data.h"
#include "train/svg_plot.h"

namespace hearth::run {
namespace {

// lr(t) = min * (max / min)^(t / (steps - 1)).
class RangeTestSchedule final : public LearningRateSchedule {
 public:
  RangeTestSchedule(double min_lr, double max_lr, int64_t steps)
      : min_lr_(min_lr), ratio_(max_lr / min_lr), steps_(steps) {}
  double LearningRate(int64_t step) const override {
    return min_lr_ * std::pow(ratio_, static_cast<double>(step) /
                                          static_cast<double>(std::max<int64_t>(1, steps_ - 1)));
  }
  std::string Describe() const override {
    return absl::StrFormat("RangeTestSchedule(min_lr=%g, max_lr=%g, steps=%d)", min_lr_,
                           min_lr_ * ratio_, steps_);
  }

 private:
  double min_lr_, ratio_;
  int64_t steps_;
};

Status CheckOptions(const LrRangeOptions& o) {
  if (!(o.min_lr > 0) || !std::isfinite(o.min_lr) || !(o.max_lr > o.min_lr) ||
      !std::isfinite(o.max_lr)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the rates must satisfy 0 < min_lr < max_lr, both finite; got %g and %g",
                        o.min_lr, o.max_lr));
  }
  if (o.steps < 5 || o.steps > 100000)
    return absl::InvalidArgumentError(
        absl::StrFormat("steps must be in [5, 100000], got %d", o.steps));
  return absl::OkStatus();
}

// The batch losses averaged over a centred window, for the analysis: the online average that
// watches for divergence lags by about 1 / (1 - smoothing) steps, which over a 100-step test is
// several decades of rate and would push every suggestion high.
std::vector<double> CentredAverage(const std::vector<LrRangePoint>& p) {
  const size_t half = std::max<size_t>(2, p.size() / 20);
  std::vector<double> prefix(p.size() + 1, 0);
  for (size_t i = 0; i < p.size(); ++i) prefix[i + 1] = prefix[i] + p[i].loss;
  std::vector<double> out(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const size_t lo = i >= half ? i - half : 0, hi = std::min(p.size(), i + half + 1);
    out[i] = (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo);
  }
  return out;
}

// fastai's "valley": the longest run of falling loss (the longest strictly decreasing
// subsequence, O(n log n) by patience sorting), and the rate halfway down it. Returns the index.
size_t Valley(const std::vector<double>& loss) {
  std::vector<double> tails;  // tails[k]: the largest last value of a falling run of length k+1
  size_t longest = 0, end = 0;
  for (size_t i = 0; i < loss.size(); ++i) {
    // The first tail not above loss[i] (tails fall): loss[i] extends the run before it.
    const auto at = std::lower_bound(tails.begin(), tails.end(), loss[i], std::greater<double>());
    const size_t length = static_cast<size_t>(at - tails.begin()) + 1;
    if (at == tails.end())
      tails.push_back(loss[i]);
    else
      *at = loss[i];
    if (length > longest) longest = length, end = i;
  }
  const size_t start = end + 1 - longest;
  return start + (end - start) / 2;
}

// Where the loss was lowest, where it fell fastest, and the suggestion from them.
void Suggest(LrRangeResult& r) {
  auto& p = r.points;
  const std::vector<double> smooth = CentredAverage(p);
  for (size_t i = 0; i < p.size(); ++i) p[i].smoothed_loss = smooth[i];
  const size_t best =
      static_cast<size_t>(std::min_element(smooth.begin(), smooth.end()) - smooth.begin());
  r.min_loss_lr = p[best].lr;
  // The slope over the averaging window, up to the minimum (past it the loss is rising).
  const size_t half = std::max<size_t>(2, p.size() / 20);
  double steepest = 0;
  size_t at = 0;
  for (size_t i = half; i + half < p.size() && i <= best; ++i) {
    const double slope = (smooth[i + half] - smooth[i - half]) /
                         (std::log10(p[i + half].lr) - std::log10(p[i - half].lr));
    if (slope < steepest) steepest = slope, at = i;
  }
  r.steepest_lr = steepest < 0 ? p[at].lr : r.min_loss_lr / 10;
  // A valley shorter than the averaging window is noise: then a tenth of the minimum's rate.
  const size_t valley = Valley(smooth);
  r.suggested_lr = valley >= half && valley <= best ? p[valley].lr : r.min_loss_lr / 10;
}

}  // namespace

StatusOr<LrRangeResult> RunLrRangeTest(const v1::JobSpec& spec, const LrRangeOptions& options) {
  HEARTH_RETURN_IF_ERROR(CheckOptions(options));
  if (spec.task() == v1::CLUSTERING)
    return absl::InvalidArgumentError("task CLUSTERING (k-means) has no learning rate to find");
  HEARTH_ASSIGN_OR_RETURN(JobData data, LoadJobData(spec));
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Sequential> model,
                          BuildModel(spec, data.example_shape, data.num_outputs, spec.seed()));
  ParameterSet params(*model);
  HEARTH_ASSIGN_OR_RETURN(Sampler sampler, TrainingSampler(spec, data));
  HEARTH_ASSIGN_OR_RETURN(DataLoader loader,
                          DataLoader::Create(data.train, sampler, spec.global_batch_size()));
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                          MakeOptimizerFromSpec(spec, loader.steps_per_epoch()));
  optimizer->SetSchedule(
      std::make_unique<RangeTestSchedule>(options.min_lr, options.max_lr, options.steps));
  HEARTH_ASSIGN_OR_RETURN(const std::vector<float> class_weights, TrainingClassWeights(spec, data));
  HEARTH_ASSIGN_OR_RETURN(LossFn loss_fn, MakeLossFn(spec, class_weights));
  std::unique_ptr<dist::Communicator> comm = dist::MakeLocalCommunicator();
  HEARTH_ASSIGN_OR_RETURN(
      std::unique_ptr<GradientStep> step,
      MakeGradientStep(spec, {*model, params, loss_fn, *comm, spec.seed()}, {}));
  model->Train();

  LrRangeResult result;
  double average = 0, best = INFINITY;
  Batch batch;
  int64_t epoch = 0;
  for (int64_t i = 0; i < options.steps; ++i) {
    if (!loader.Next(&batch)) {
      loader.Reset(++epoch);
      if (!loader.Next(&batch)) return absl::InvalidArgumentError("the training set is empty");
    }
    const double lr = optimizer->learning_rate();
    HEARTH_ASSIGN_OR_RETURN(StepLoss loss, step->Run(batch, i, false));
    if (!loss.nonfinite_loss_ranks.empty() || !loss.gradients_finite) {
      result.diverged = true;
      break;
    }
    if (spec.clip_grad_norm() > 0) ClipGradNorm(params, spec.clip_grad_norm());
    optimizer->Step(params);
    average = options.smoothing * average + (1 - options.smoothing) * loss.loss;
    const double smoothed = average / (1 - std::pow(options.smoothing, i + 1));
    result.points.push_back({lr, loss.loss, smoothed});
    best = std::min(best, smoothed);
    if (i > 0 && smoothed > options.divergence * best) {
      result.diverged = true;
      break;
    }
  }
  if (result.points.size() < 2) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the loss was not finite from the first steps (at learning rate %g): lower min_lr",
        options.min_lr));
  }
  Suggest(result);
  return result;
}

std::string RenderLrRangeTest(const LrRangeResult& result, const std::string& title) {
  plot::Panel panel;
  panel.title = absl::StrFormat("smoothed loss; suggested lr %.3g (steepest %.3g, minimum %.3g)",
                                result.suggested_lr, result.steepest_lr, result.min_loss_lr);
  panel.x_label = "log10(learning rate)";
  panel.y_label = "loss";
  panel.integer_x = false;
  double top = 0, low = INFINITY;
  for (const auto& p : result.points) {
    top = std::max(top, p.smoothed_loss);
    low = std::min(low, p.smoothed_loss);
  }
  // Losses of the blow-up would flatten everything else: the axis stops at 4x the first loss
  // and what lies above is drawn at its top.
  panel.y_max = std::min(top, 4 * result.points.front().smoothed_loss);
  panel.y_min = std::max(0.0, low - 0.1 * (panel.y_max - low));
  plot::Series raw{"batch loss", {}, plot::Series::Style::kDots};
  plot::Series smooth{"smoothed loss", {}, plot::Series::Style::kLine};
  for (const auto& p : result.points) {
    raw.points.push_back({std::log10(p.lr), std::min(p.loss, panel.y_max)});
    smooth.points.push_back({std::log10(p.lr), std::min(p.smoothed_loss, panel.y_max)});
  }
  const double x = std::log10(result.suggested_lr);
  plot::Series marker{
      "suggested", {{x, panel.y_min}, {x, panel.y_max}}, plot::Series::Style::kDashed};
  panel.series = {raw, smooth, marker};
  std::string svg = plot::BeginSvg(title, 800, 460);
  plot::AppendPanel(svg, panel, 0, 52, 800, 400);
  return svg + "</svg>\n";
}

}  // namespace hearth::run
