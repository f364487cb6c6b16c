// The fit and apply rules of each preprocessing step, one table entry per PreprocessKind.
// Preprocessor (preprocess.cc) runs them in order and handles naming and checkpoints.
#pragma once

#include <array>
#include <vector>

#include "hearth/data/preprocess.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth::data_internal {

struct PreprocessOp {
  const char* name;  // as written in a spec: "standardize"
  // Names of the fitted statistics, in the order fit returns them.
  std::array<const char*, 2> stat_names;
  int num_stats;
  // Statistics of `x` ([N > 0, ...] float32: the step's training input).
  StatusOr<std::vector<Tensor>> (*fit)(const PreprocessStep& step, const Tensor& x);
  // The step applied to `x` ([N, ...] float32) with fitted `stats`. With `in_place` (x is a
  // temporary of the pipeline) a step that keeps the shape writes into x instead of allocating:
  // a 60000 x 784 tensor costs 188 MB of fresh pages per step otherwise.
  StatusOr<Tensor> (*apply)(const PreprocessStep& step, const std::vector<Tensor>& stats,
                            const Tensor& x, bool in_place);
  // Checks statistics read back from a checkpoint (their count is already right); messages name
  // the tensors.
  Status (*validate)(const PreprocessStep& step, const std::vector<NamedTensor>& stats);
};

const PreprocessOp& GetPreprocessOp(PreprocessKind kind);

// Implemented in one_hot.cc.
StatusOr<std::vector<Tensor>> FitOneHot(const PreprocessStep& step, const Tensor& x);
StatusOr<Tensor> ApplyOneHot(const PreprocessStep& step, const std::vector<Tensor>& stats,
                             const Tensor& x, bool in_place);
Status ValidateOneHot(const PreprocessStep& step, const std::vector<NamedTensor>& stats);

}  // namespace hearth::data_internal
