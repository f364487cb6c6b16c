#include "run/gradient_step.h"

#include <limits>

#include "core/fault_injection.h"
#include "hearth/dist/deterministic.h"
#include "hearth/ops.h"
#include "run/training_state.h"

namespace hearth::run {

StatusOr<std::unique_ptr<GradientStep>> MakeGradientStep(const v1::JobSpec& spec,
                                                         const StepContext& context,
                                                         const dist::ReducerOptions& options) {
  if (!spec.deterministic()) return MakeOverlappedStep(context, options, AccumulationSteps(spec));
  const int shards = DeterministicShards(spec);
  HEARTH_RETURN_IF_ERROR(dist::CheckDeterministicLayout(context.comm.size(), shards));
  return MakeDeterministicStep(context, shards);
}

void ReseedDropout(Module& module, uint64_t seed) {
  std::vector<Dropout*> layers = DropoutLayers(module);
  for (size_t i = 0; i < layers.size(); ++i) layers[i]->rng().Seed(MixSeed(seed, i));
}

Tensor WeightedLoss(const Tensor& mean_loss, int64_t examples, int64_t global_examples) {
  if (examples == global_examples) return mean_loss;
  return mean_loss *
         static_cast<float>(static_cast<double>(examples) / static_cast<double>(global_examples));
}

Tensor MaybePoisonedLoss(const Tensor& loss, int rank, int64_t step) {
  if (!faults::Enabled() || !faults::Match("rank_nan", {{"rank", std::to_string(rank)},
                                                        {"step", std::to_string(step + 1)}}))
    return loss;
  return loss * std::numeric_limits<float>::quiet_NaN();
}

}  // namespace hearth::run
