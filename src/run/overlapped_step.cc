// The default data-parallel step: backward overlapped with the bucketed gradient allreduce.
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hearth/autograd.h"
#include "hearth/ops.h"
#include "hearth/timeline.h"
#include "run/gradient_step.h"
#include "run/training_state.h"

namespace hearth::run {
namespace {

// The losses are weighted by their share of the global batch (WeightedLoss), so the reducer only
// sums.
dist::ReducerOptions Prescaled(dist::ReducerOptions options) {
  options.prescaled = true;
  return options;
}

class OverlappedStep final : public GradientStep {
 public:
  OverlappedStep(const StepContext& context, const dist::ReducerOptions& options,
                 int accumulation_steps)
      : c_(context),
        reducer_(context.params, context.comm, Prescaled(options)),
        accumulation_steps_(accumulation_steps),
        has_dropout_(!DropoutLayers(context.model).empty()) {}

  StatusOr<StepLoss> Run(const Batch& batch, int64_t step, bool stop_requested) override {
    const int world = c_.comm.size();
    const int rank = c_.comm.rank();
    const int64_t n = batch.features.dim(0);
    if (world > 1 && has_dropout_) ReseedDropout(c_.model, MixSeed(MixSeed(c_.seed, step), rank));
    // [loss sum, examples, stop flag, non-finite flag per rank]: reduced with the gradients.
    stats_.assign(3 + world, 0.0f);
    stats_[1] = static_cast<float>(n);
    stats_[2] = stop_requested ? 1.0f : 0.0f;
    dist::RequestId stats_request = 0;
    auto start_stats = [&]() -> Status {
      if (world == 1) return absl::OkStatus();
      HEARTH_ASSIGN_OR_RETURN(stats_request,
                              c_.comm.StartAllReduceSum(stats_, "allreduce step loss"));
      return absl::OkStatus();
    };

    reducer_.Begin();
    const int64_t micro_steps = std::min<int64_t>(accumulation_steps_, n);
    if (micro_steps == 0) {
      // A short last batch left this rank nothing: it still takes part in every collective.
      c_.params.ZeroGrads();
      HEARTH_RETURN_IF_ERROR(start_stats());
    }
    for (int64_t m = 0; m < micro_steps; ++m) {
      const bool last = m == micro_steps - 1;
      Tensor x = batch.features, y = batch.labels;
      const int64_t begin = n * m / micro_steps, end = n * (m + 1) / micro_steps;
      if (micro_steps > 1) {
        rows_.resize(end - begin);
        std::iota(rows_.begin(), rows_.end(), begin);
        HEARTH_ASSIGN_OR_RETURN(x, GatherRows(batch.features, rows_));
        HEARTH_ASSIGN_OR_RETURN(y, GatherRows(batch.labels, rows_));
      }
      GradientTape tape;
      Tensor loss;
      float value = 0;
      {
        TimelineSpan span("forward", "compute", Timeline::kTraining, m);
        loss = MaybePoisonedLoss(c_.loss(c_.model(x), y), rank, step);
        value = loss.item();
      }
      stats_[0] += value * static_cast<float>(end - begin);
      if (!std::isfinite(value)) stats_[3 + rank] = 1;
      Tensor target = WeightedLoss(loss, end - begin, batch.global_size);
      if (last) HEARTH_RETURN_IF_ERROR(start_stats());
      // Gradients accumulate locally over the micro-steps; only the last one synchronises.
      TimelineSpan span("backward", "compute", Timeline::kTraining, m);
      tape.gradient_into(target, c_.params.params(), c_.params.grads(), m > 0,
                         last ? reducer_.hook() : nullptr);
    }
    HEARTH_RETURN_IF_ERROR(reducer_.Finish());
    if (world > 1) {
      TimelineSpan span("wait for step stats", "wait");
      HEARTH_RETURN_IF_ERROR(c_.comm.Wait(stats_request));
    }

    StepLoss result;
    result.loss = stats_[1] > 0 ? stats_[0] / stats_[1] : 0.0;
    for (int r = 0; r < world; ++r)
      if (stats_[3 + r] != 0) result.nonfinite_loss_ranks.push_back(r);
    result.stop_requested = stats_[2] != 0;
    result.gradients_finite = dist::AllFinite(
        std::span(c_.params.flat_grads().data<float>(), c_.params.flat_grads().numel()));
    return result;
  }

  std::string Describe() const override {
    using Schedule = dist::ReducerOptions::Schedule;
    const dist::ReducerOptions& o = reducer_.options();
    const double megabytes = static_cast<double>(c_.params.flat_grads().numel()) * 4 / 1e6;
    std::string text;
    if (o.schedule == Schedule::kFused) {
      text = absl::StrFormat("one allreduce of %.1f MB after backward", megabytes);
      if (dist::NothingToOverlap(c_.comm, o.progress))
        absl::StrAppend(&text, " (one host, a core per worker: nothing to overlap)");
    } else {
      const size_t n = reducer_.buckets().size();
      const char* progress =
          o.progress == dist::ReducerOptions::Progress::kThread ? "a thread" : "the hooks";
      text = absl::StrFormat("%.1f MB in %d bucket%s, ", megabytes, n, n == 1 ? "" : "s");
      absl::StrAppend(&text,
                      o.schedule == Schedule::kOverlap
                          ? absl::StrCat("overlapped with backward (progress by ", progress, ")")
                          : "reduced after backward");
    }
    if (accumulation_steps_ > 1)
      absl::StrAppend(&text,
                      absl::StrFormat(", accumulated over %d micro-steps", accumulation_steps_));
    return text;
  }

 private:
  StepContext c_;
  dist::GradientReducer reducer_;
  int accumulation_steps_;
  bool has_dropout_;
  std::vector<float> stats_;
  std::vector<int64_t> rows_;
};

}  // namespace

std::unique_ptr<GradientStep> MakeOverlappedStep(const StepContext& context,
                                                 const dist::ReducerOptions& options,
                                                 int accumulation_steps) {
  return std::make_unique<OverlappedStep>(context, options, accumulation_steps);
}

}  // namespace hearth::run
