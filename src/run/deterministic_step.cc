// The deterministic step: micro-shard gradients summed in a fixed pairwise tree, so parameters
// are bit-identical for 1, 2, 4, ... workers (see hearth/dist/deterministic.h).
#include <cmath>
#include <cstring>
#include <numeric>

#include "absl/strings/str_format.h"
#include "hearth/autograd.h"
#include "hearth/dist/deterministic.h"
#include "hearth/ops.h"
#include "hearth/timeline.h"
#include "run/gradient_step.h"
#include "run/training_state.h"

namespace hearth::run {
namespace {

class DeterministicStep final : public GradientStep {
 public:
  DeterministicStep(const StepContext& context, int shards)
      : c_(context),
        shards_(shards),
        tree_(context.params.numel()),
        has_dropout_(!DropoutLayers(context.model).empty()) {}

  StatusOr<StepLoss> Run(const Batch& batch, int64_t step, bool stop_requested) override {
    const int world = c_.comm.size();
    const int rank = c_.comm.rank();
    const int64_t total = batch.global_size;
    float* grads = c_.params.numel() > 0 ? c_.params.flat_grads().data<float>() : nullptr;
    // [loss sum, examples, stop flag, non-finite flag per rank]
    std::vector<double> stats(3 + world, 0.0);
    stats[1] = static_cast<double>(batch.features.dim(0));
    stats[2] = stop_requested ? 1 : 0;
    tree_.Clear();
    // This rank's shards sit under one subtree: [rank * S / N, (rank + 1) * S / N).
    for (int s = rank * shards_ / world; s < (rank + 1) * shards_ / world; ++s) {
      const int64_t begin = total * s / shards_ - batch.global_offset;
      const int64_t end = total * (s + 1) / shards_ - batch.global_offset;
      std::span<float> leaf = tree_.NextLeaf();
      if (end > begin) {
        // Dropout masks follow the micro-shard, not the rank, so they too are world-size free.
        if (has_dropout_) ReseedDropout(c_.model, MixSeed(MixSeed(c_.seed, step), s));
        rows_.resize(end - begin);
        std::iota(rows_.begin(), rows_.end(), begin);
        HEARTH_ASSIGN_OR_RETURN(Tensor x, GatherRows(batch.features, rows_));
        HEARTH_ASSIGN_OR_RETURN(Tensor y, GatherRows(batch.labels, rows_));
        GradientTape tape;
        Tensor loss;
        float value = 0;
        {
          TimelineSpan span("forward", "compute", Timeline::kTraining, s);
          loss = MaybePoisonedLoss(c_.loss(c_.model(x), y), rank, step);
          value = loss.item();
        }
        stats[0] += static_cast<double>(value) * (end - begin);
        if (!std::isfinite(value)) stats[3 + rank] = 1;
        // Each shard's share of the global mean: exact (a power of two) for evenly split batches.
        Tensor share = WeightedLoss(loss, end - begin, total);
        TimelineSpan span("backward", "compute", Timeline::kTraining, s);
        tape.gradient_into(share, c_.params.params(), c_.params.grads());
        if (!leaf.empty()) std::memcpy(leaf.data(), grads, leaf.size_bytes());
      }
      tree_.Push();
    }
    std::span<float> sum = tree_.Root();
    if (world > 1) {
      TimelineSpan span("tree allreduce", "comm");
      HEARTH_RETURN_IF_ERROR(dist::TreeAllReduce(c_.comm, sum, scratch_));
      HEARTH_RETURN_IF_ERROR(
          c_.comm.AllReduce(std::span(stats), dist::ReduceOp::kSum, "allreduce step loss"));
    }
    if (!sum.empty()) std::memcpy(grads, sum.data(), sum.size_bytes());

    StepLoss result;
    result.loss = stats[1] > 0 ? stats[0] / stats[1] : 0.0;
    for (int r = 0; r < world; ++r)
      if (stats[3 + r] != 0) result.nonfinite_loss_ranks.push_back(r);
    result.stop_requested = stats[2] != 0;
    result.gradients_finite = dist::AllFinite(sum);
    return result;
  }

  std::string Describe() const override {
    return absl::StrFormat(
        "deterministic: %d micro-shards summed in a fixed tree, the same bits on any number of "
        "workers",
        shards_);
  }

 private:
  StepContext c_;
  int shards_;
  dist::ShardTree tree_;
  bool has_dropout_;
  std::vector<float> scratch_;
  std::vector<int64_t> rows_;
};

}  // namespace

std::unique_ptr<GradientStep> MakeDeterministicStep(const StepContext& context, int shards) {
  return std::make_unique<DeterministicStep>(context, shards);
}

}  // namespace hearth::run
