// Standardize, MinMax and Scale, the checks steps share, and the table of all preprocessing ops.
#include "data/preprocess_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace hearth::data_internal {

// The shape of one example: x's shape without the first (row) axis.
Shape FeatureShape(const Tensor& x) {
  Shape shape;
  for (int i = 1; i < x.rank(); ++i) shape.push_back(x.dim(i));
  return shape;
}

// "[*, 4]" for messages about feature shapes.
std::string RowShapeString(const Shape& features) {
  std::string out = "[*";
  for (int64_t d : features) absl::StrAppend(&out, ", ", d);
  return out + "]";
}

Status CheckFittedShape(const Tensor& x, const Tensor& stat) {
  if (FeatureShape(x) != stat.shape()) {
    return absl::InvalidArgumentError(
        absl::StrCat("features have shape ", RowShapeString(FeatureShape(x)),
                     " but the statistics were fitted on ", RowShapeString(stat.shape())));
  }
  return absl::OkStatus();
}

// `first_row` numbers x's rows within the training set for the message.
Status CheckFinite(const Tensor& x, int64_t first_row) {
  const float* p = x.f32();
  const int64_t per_row = RowWidth(x);
  for (int64_t i = 0, n = x.numel(); i < n; ++i) {
    if (std::isnan(p[i]))
      return absl::InvalidArgumentError(
          absl::StrCat("row ", first_row + i / per_row, ", feature ", i % per_row,
                       " is missing; fill it with an impute step before this one"));
    if (!std::isfinite(p[i]))
      return absl::InvalidArgumentError(absl::StrCat("row ", first_row + i / per_row, ", feature ",
                                                     i % per_row, " is ", p[i],
                                                     "; cannot fit on non-finite values"));
  }
  return absl::OkStatus();
}

// (x - offset) / divisor per feature: shared by Standardize, MinMax and RobustScale.
Tensor ShiftAndDivide(const Tensor& x, const Tensor& offset, const Tensor& divisor, bool in_place) {
  Tensor out = in_place ? x : Tensor::Empty(x.shape());
  const int64_t rows = x.dim(0);
  const int64_t per_row = offset.numel();
  const float* in = x.f32();
  const float* o = offset.f32();
  const float* d = divisor.f32();
  float* y = out.f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = in + r * per_row;
    float* yr = y + r * per_row;
    for (int64_t j = 0; j < per_row; ++j) yr[j] = (xr[j] - o[j]) / d[j];
  }
  return out;
}

namespace {

// Per feature, the sum over all parts' rows of value(row, feature): summed per block of
// FitBlockRows rows in row order, the blocks combined across parts (each block is held by one part,
// so the others add exact zeros), then summed over the blocks in order.
template <typename Value>
StatusOr<std::vector<double>> BlockedSum(const Tensor& x, const FitContext& ctx, Value value) {
  const int64_t rows = x.dim(0);
  const int64_t per_row = RowWidth(x);
  const int64_t block_rows = FitBlockRows(ctx.total_rows);
  const int64_t blocks = (ctx.total_rows + block_rows - 1) / block_rows;
  std::vector<double> partial(static_cast<size_t>(blocks * per_row), 0.0);
  const float* in = x.f32();
  for (int64_t r = 0; r < rows; ++r) {
    double* sum = partial.data() + (ctx.first_row + r) / block_rows * per_row;
    for (int64_t j = 0; j < per_row; ++j) sum[j] += value(in[r * per_row + j], j);
  }
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Sum(partial));
  std::vector<double> total(static_cast<size_t>(per_row), 0.0);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t j = 0; j < per_row; ++j) total[j] += partial[b * per_row + j];
  }
  return total;
}

// Both statistics float32 of one shape, finite, and the second positive.
Status ValidateOffsetAndDivisor(const std::vector<NamedTensor>& stats) {
  for (const NamedTensor& stat : stats) {
    if (stat.tensor.dtype() != DType::kFloat32) {
      return absl::InvalidArgumentError(
          absl::StrCat(stat.name, ": expected float32, got ", DTypeName(stat.tensor.dtype())));
    }
  }
  if (stats[0].tensor.shape() != stats[1].tensor.shape()) {
    return absl::InvalidArgumentError(
        absl::StrCat(stats[0].name, " has shape ", stats[0].tensor.shape().ToString(), " but ",
                     stats[1].name, " has shape ", stats[1].tensor.shape().ToString()));
  }
  for (int s = 0; s < 2; ++s) {
    const float* p = stats[s].tensor.f32();
    for (int64_t i = 0, n = stats[s].tensor.numel(); i < n; ++i) {
      if (!std::isfinite(p[i]) || (s == 1 && p[i] <= 0.0f)) {
        return absl::InvalidArgumentError(absl::StrCat(
            stats[s].name, "[", i, "] is ", p[i],
            s == 1 ? "; expected a finite positive value" : "; expected a finite value"));
      }
    }
  }
  return absl::OkStatus();
}

StatusOr<std::vector<Tensor>> FitStandardize(const PreprocessStep&, const Tensor& x,
                                             const FitContext& ctx) {
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Agree(CheckFinite(x, ctx.first_row)));
  const int64_t per_row = RowWidth(x);
  const double n = static_cast<double>(ctx.total_rows);
  // Two passes in double, as 60k float32 rows would lose digits in a float sum or in sum(x^2).
  HEARTH_ASSIGN_OR_RETURN(std::vector<double> mean,
                          BlockedSum(x, ctx, [](float v, int64_t) { return double{v}; }));
  for (int64_t j = 0; j < per_row; ++j) mean[j] /= n;
  HEARTH_ASSIGN_OR_RETURN(std::vector<double> sq, BlockedSum(x, ctx, [&](float v, int64_t j) {
                            const double d = v - mean[j];
                            return d * d;
                          }));
  Tensor mean_t = Tensor::Empty(FeatureShape(x));
  Tensor std_t = Tensor::Empty(FeatureShape(x));
  const double eps = std::numeric_limits<double>::epsilon();
  for (int64_t j = 0; j < per_row; ++j) {
    const double var = sq[j] / n;
    // scikit-learn's test for a constant feature: a variance within rounding error of zero.
    // Dividing by it would blow rounding noise up to arbitrary values.
    const double bound = n * eps * var + (n * mean[j] * eps) * (n * mean[j] * eps);
    const float s = static_cast<float>(std::sqrt(var));
    mean_t.f32()[j] = static_cast<float>(mean[j]);
    std_t.f32()[j] = (var <= bound || s == 0.0f) ? 1.0f : s;
  }
  return std::vector<Tensor>{mean_t, std_t};
}

StatusOr<Tensor> ApplyStandardize(const PreprocessStep&, const std::vector<Tensor>& stats,
                                  const Tensor& x, bool in_place) {
  HEARTH_RETURN_IF_ERROR(CheckFittedShape(x, stats[0]));
  return ShiftAndDivide(x, stats[0], stats[1], in_place);
}

StatusOr<std::vector<Tensor>> FitMinMax(const PreprocessStep&, const Tensor& x,
                                        const FitContext& ctx) {
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Agree(CheckFinite(x, ctx.first_row)));
  const int64_t rows = x.dim(0);
  const int64_t per_row = RowWidth(x);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // A part without rows contributes the identities of min and max.
  std::vector<float> lo(static_cast<size_t>(per_row), kInf);
  std::vector<float> hi(static_cast<size_t>(per_row), -kInf);
  const float* in = x.f32();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < per_row; ++j) {
      lo[j] = std::min(lo[j], in[r * per_row + j]);
      hi[j] = std::max(hi[j], in[r * per_row + j]);
    }
  }
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Min(lo));
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Max(hi));
  Tensor min = Tensor::Empty(FeatureShape(x));
  Tensor range = Tensor::Empty(FeatureShape(x));
  for (int64_t j = 0; j < per_row; ++j) {
    const float width = hi[j] - lo[j];
    if (!std::isfinite(width)) {
      return absl::InvalidArgumentError(absl::StrCat("feature ", j, " spans [", lo[j], ", ", hi[j],
                                                     "], a range float32 cannot hold"));
    }
    min.f32()[j] = lo[j];
    // A constant feature maps to 0 instead of 0/0.
    range.f32()[j] = width > 0.0f ? width : 1.0f;
  }
  return std::vector<Tensor>{min, range};
}

StatusOr<Tensor> ApplyMinMax(const PreprocessStep&, const std::vector<Tensor>& stats,
                             const Tensor& x, bool in_place) {
  HEARTH_RETURN_IF_ERROR(CheckFittedShape(x, stats[0]));
  return ShiftAndDivide(x, stats[0], stats[1], in_place);
}

StatusOr<std::vector<Tensor>> FitNothing(const PreprocessStep&, const Tensor&, const FitContext&) {
  return std::vector<Tensor>{};
}

StatusOr<Tensor> ApplyScale(const PreprocessStep& step, const std::vector<Tensor>&, const Tensor& x,
                            bool in_place) {
  Tensor out = in_place ? x : Tensor::Empty(x.shape());
  const float* in = x.f32();
  float* y = out.f32();
  const float factor = step.factor;
  for (int64_t i = 0, n = x.numel(); i < n; ++i) y[i] = in[i] * factor;
  return out;
}

// The codes are the values already (the reader made them); they are checked, not changed.
StatusOr<Tensor> ApplyOrdinal(const PreprocessStep& step, const std::vector<Tensor>&,
                              const Tensor& x, bool) {
  const int64_t width = RowWidth(x);
  for (int64_t c : step.columns) {
    if (c >= width)
      return absl::InvalidArgumentError(
          absl::StrCat("column ", c, " is out of range for ", width, " features"));
    for (int64_t r = 0; r < x.dim(0); ++r) {
      const float v = x.f32()[r * width + c];
      if (!(v == std::floor(v) && v >= -1))
        return absl::InvalidArgumentError(
            absl::StrCat("column ", c, ", row ", r, ": expected a category code, got ", v,
                         std::isnan(v) ? " (missing: add an impute step before ordinal)" : ""));
    }
  }
  return x;
}

Status ValidateNothing(const PreprocessStep&, const std::vector<NamedTensor>&) {
  return absl::OkStatus();
}

Status ValidateStandardizeOrMinMax(const PreprocessStep&, const std::vector<NamedTensor>& stats) {
  return ValidateOffsetAndDivisor(stats);
}

// Indexed by PreprocessKind.
constexpr PreprocessOp kOps[] = {
    {"standardize",
     {"mean", "std"},
     2,
     FitStandardize,
     ApplyStandardize,
     ValidateStandardizeOrMinMax},
    {"minmax", {"min", "range"}, 2, FitMinMax, ApplyMinMax, ValidateStandardizeOrMinMax},
    {"scale", {nullptr, nullptr}, 0, FitNothing, ApplyScale, ValidateNothing},
    {"onehot", {"counts", "categories"}, 2, FitOneHot, ApplyOneHot, ValidateOneHot},
    {"impute", {"fill", "indicator"}, 2, FitImpute, ApplyImpute, ValidateImpute},
    {"robust_scale",
     {"center", "scale"},
     2,
     FitRobustScale,
     ApplyRobustScale,
     ValidateStandardizeOrMinMax},
    {"clip", {"lower", "upper"}, 2, FitClip, ApplyClip, ValidateClip},
    {"log1p", {nullptr, nullptr}, 0, FitNothing, ApplyLog1p, ValidateNothing},
    {"drop_constant",
     {"keep", nullptr},
     1,
     FitDropConstant,
     ApplyDropConstant,
     ValidateDropConstant},
    {"ordinal", {nullptr, nullptr}, 0, FitNothing, ApplyOrdinal, ValidateNothing},
};
static_assert(std::size(kOps) == static_cast<size_t>(PreprocessKind::kOrdinal) + 1,
              "one op per PreprocessKind");

}  // namespace

int64_t FitBlockRows(int64_t total_rows) {
  return std::max<int64_t>(1, (total_rows + kFitBlocks - 1) / kFitBlocks);
}

int64_t RowWidth(const Tensor& x) {
  int64_t width = 1;
  for (int i = 1; i < x.rank(); ++i) width *= x.dim(i);
  return width;
}

const PreprocessOp& GetPreprocessOp(PreprocessKind kind) {
  return kOps[static_cast<int>(kind)];
}

}  // namespace hearth::data_internal
