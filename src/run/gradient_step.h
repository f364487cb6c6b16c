// One update's gradient across all ranks: forward and backward on this rank's block of the global
// batch, then the average over ranks. Two strategies behind one interface:
//   - the overlapped step (default): the bucketed GradientReducer, overlapping communication
//     with backward, with optional gradient accumulation over micro-steps;
//   - the deterministic step (deterministic: true): micro-shard gradients summed in a fixed tree,
//     bit-identical for any power-of-two world size (hearth/dist/deterministic.h).
// Either way, afterwards params.grads() hold the gradient of the global batch's mean loss,
// identical on every rank, exactly as one process with the whole batch would compute it (to
// float rounding; bit-exact in deterministic mode).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hearth/dist/communicator.h"
#include "hearth/dist/reducer.h"
#include "hearth/job.h"
#include "hearth/nn.h"
#include "hearth/sampler.h"
#include "hearth/status.h"

namespace hearth::run {

struct StepLoss {
  double loss = 0;                        // mean over the whole global batch, all ranks
  std::vector<int> nonfinite_loss_ranks;  // ranks whose local loss was NaN or infinite
  bool gradients_finite = true;           // of the averaged gradient
  bool stop_requested = false;            // some rank asked to stop after this step
};

class GradientStep {
 public:
  virtual ~GradientStep() = default;
  // `batch` is this rank's block of global batch `step` (Batch::global_size examples in all).
  // `stop_requested` is this rank's wish to stop after the step; StepLoss says if any rank has one.
  virtual StatusOr<StepLoss> Run(const Batch& batch, int64_t step, bool stop_requested) = 0;
  // How the gradients are averaged, for the start-of-run message ("1.0 MB in 5 buckets, ...").
  virtual std::string Describe() const = 0;
};

struct StepContext {
  Module& model;
  ParameterSet& params;
  const LossFn& loss;
  dist::Communicator& comm;
  uint64_t seed = 0;
};

StatusOr<std::unique_ptr<GradientStep>> MakeGradientStep(const v1::JobSpec& spec,
                                                         const StepContext& context,
                                                         const dist::ReducerOptions& options);

// The two strategies (MakeGradientStep picks one from the spec).
std::unique_ptr<GradientStep> MakeOverlappedStep(const StepContext& context,
                                                 const dist::ReducerOptions& options,
                                                 int accumulation_steps);
std::unique_ptr<GradientStep> MakeDeterministicStep(const StepContext& context, int shards);

// Reseeds every dropout layer of `module` from `seed` (layer i gets MixSeed(seed, i)). Used in
// multi-worker runs, where each rank's masks must differ from the other ranks' (and, in
// deterministic mode, depend on the micro-shard rather than the rank).
void ReseedDropout(Module& module, uint64_t seed);

// A part's mean loss weighted by its share of the global batch, loss * examples /
// global_examples, so that the plain sum of the parts' gradients (across ranks, or across
// micro-shards) is the gradient of the global batch's mean. Folding 1 / world size into the loss
// spares the reducer a scaling pass over freshly reduced, cache-cold gradients. No op is added
// when the part is the whole batch.
Tensor WeightedLoss(const Tensor& mean_loss, int64_t examples, int64_t global_examples);

// The fault-injection point rank_nan (docs/reliability.md): `loss` turned NaN on this rank at
// global step `step` (0-based, the step being computed), else `loss` itself.
Tensor MaybePoisonedLoss(const Tensor& loss, int rank, int64_t step);

}  // namespace hearth::run
