// The fit and apply rules of each preprocessing step, one table entry per PreprocessKind.
// Preprocessor (preprocess.cc) runs them in order and handles naming and checkpoints.
#pragma once

#include <array>
#include <limits>
#include <vector>

#include "hearth/data/preprocess.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth::data_internal {

// Where a step's training input sits in the whole training set, and how its statistics combine
// with those of the other parts (FitReducer) when the set is spread over several.
struct FitContext {
  FitReducer* reducer = nullptr;
  int64_t first_row = 0;   // x's row 0 is this row of the training set
  int64_t total_rows = 0;  // rows of the whole training set, over all parts (> 0)
};

// Sums over the training rows are taken per block of this many consecutive rows, then over the
// blocks in order: the same arithmetic whether one part holds every block or several parts hold
// a few each (FitPartRows hands out whole blocks). At most kFitBlocks blocks, so the per-block
// sums that parts exchange stay small.
inline constexpr int64_t kFitBlocks = 64;
int64_t FitBlockRows(int64_t total_rows);

// Values per row of [N, ...] features (1 for [N]), also when N is 0.
int64_t RowWidth(const Tensor& x);

struct PreprocessOp {
  const char* name;  // as written in a spec: "standardize"
  // Names of the fitted statistics, in the order fit returns them.
  std::array<const char*, 2> stat_names;
  int num_stats;
  // Statistics of the step's training input, of which this part holds `x` ([N >= 0, ...]
  // float32): local checks go through ctx.reducer->Agree, and the statistics are combined with
  // the other parts' through ctx.reducer, so every part returns the same ones.
  StatusOr<std::vector<Tensor>> (*fit)(const PreprocessStep& step, const Tensor& x,
                                       const FitContext& ctx);
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

// Checks and arithmetic the steps share (preprocess_ops.cc).
// The shape of one example: x's shape without the first (row) axis.
Shape FeatureShape(const Tensor& x);
// INVALID_ARGUMENT when x's feature shape is not `stat`'s.
Status CheckFittedShape(const Tensor& x, const Tensor& stat);
// INVALID_ARGUMENT naming the first missing (NaN) or infinite value; `first_row` numbers x's rows
// within the training set for the message.
Status CheckFinite(const Tensor& x, int64_t first_row);
// (x - offset) / divisor per feature.
Tensor ShiftAndDivide(const Tensor& x, const Tensor& offset, const Tensor& divisor, bool in_place);

// Implemented in clean_ops.cc: the steps for real-world data.
StatusOr<std::vector<Tensor>> FitImpute(const PreprocessStep& step, const Tensor& x,
                                        const FitContext& ctx);
StatusOr<Tensor> ApplyImpute(const PreprocessStep& step, const std::vector<Tensor>& stats,
                             const Tensor& x, bool in_place);
Status ValidateImpute(const PreprocessStep& step, const std::vector<NamedTensor>& stats);
StatusOr<std::vector<Tensor>> FitRobustScale(const PreprocessStep& step, const Tensor& x,
                                             const FitContext& ctx);
StatusOr<Tensor> ApplyRobustScale(const PreprocessStep& step, const std::vector<Tensor>& stats,
                                  const Tensor& x, bool in_place);
StatusOr<std::vector<Tensor>> FitClip(const PreprocessStep& step, const Tensor& x,
                                      const FitContext& ctx);
StatusOr<Tensor> ApplyClip(const PreprocessStep& step, const std::vector<Tensor>& stats,
                           const Tensor& x, bool in_place);
Status ValidateClip(const PreprocessStep& step, const std::vector<NamedTensor>& stats);
StatusOr<Tensor> ApplyLog1p(const PreprocessStep& step, const std::vector<Tensor>& stats,
                            const Tensor& x, bool in_place);
StatusOr<std::vector<Tensor>> FitDropConstant(const PreprocessStep& step, const Tensor& x,
                                              const FitContext& ctx);
StatusOr<Tensor> ApplyDropConstant(const PreprocessStep& step, const std::vector<Tensor>& stats,
                                   const Tensor& x, bool in_place);
Status ValidateDropConstant(const PreprocessStep& step, const std::vector<NamedTensor>& stats);

// A one-hot column's categories start with this when min_frequency pooled some of them: its
// output column is theirs (and an unknown category's). No float category can equal it.
inline constexpr int64_t kInfrequentCategory = std::numeric_limits<int64_t>::min();

// Implemented in one_hot.cc.
StatusOr<std::vector<Tensor>> FitOneHot(const PreprocessStep& step, const Tensor& x,
                                        const FitContext& ctx);
StatusOr<Tensor> ApplyOneHot(const PreprocessStep& step, const std::vector<Tensor>& stats,
                             const Tensor& x, bool in_place);
Status ValidateOneHot(const PreprocessStep& step, const std::vector<NamedTensor>& stats);

}  // namespace hearth::data_internal
