// The steps real-world tables need: impute, robust scaling, clipping to quantiles, log1p and
// dropping constant features. Medians and quantiles have no exact sum to combine, so the parts of a
// training set gather the values they need (in part order, which is row order), and every part
// computes the same statistics a single process does.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/column_stats.h"
#include "data/preprocess_ops.h"

namespace hearth::data_internal {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Every part's values of the flagged columns of x, without the missing ones, gathered in row order
// (the whole training set's); empty for the columns not flagged. Only those columns travel, and
// as float32 values they sort as they would in double.
StatusOr<std::vector<std::vector<float>>> GatherColumns(const Tensor& x, const FitContext& ctx,
                                                        const std::vector<bool>& wanted) {
  const int64_t width = RowWidth(x);
  const auto rows = static_cast<size_t>(width == 0 ? 0 : x.numel() / width);
  std::vector<int64_t> columns;
  for (int64_t j = 0; j < width; ++j)
    if (wanted[j]) columns.push_back(j);
  std::vector<std::vector<float>> out(static_cast<size_t>(width));
  const float* p = x.f32();
  if (ctx.reducer == &SinglePartReducer()) {
    for (int64_t j : columns) out[static_cast<size_t>(j)].reserve(rows);
    for (size_t i = 0; i < rows; ++i) {
      const float* row = p + i * static_cast<size_t>(width);
      for (int64_t j : columns)
        if (!std::isnan(row[j])) out[static_cast<size_t>(j)].push_back(row[j]);
    }
    return out;
  }
  // Column-major, so each part's block of a column is contiguous; read row by row.
  std::vector<double> mine(columns.size() * rows);
  for (size_t i = 0; i < rows; ++i) {
    const float* row = p + i * static_cast<size_t>(width);
    for (size_t c = 0; c < columns.size(); ++c) mine[c * rows + i] = row[columns[c]];
  }
  HEARTH_ASSIGN_OR_RETURN(std::vector<std::vector<double>> parts, ctx.reducer->Gather(mine));
  for (size_t c = 0; c < columns.size(); ++c) {
    std::vector<float>& column = out[static_cast<size_t>(columns[c])];
    for (const std::vector<double>& part : parts) {
      const size_t part_rows = part.size() / columns.size();
      for (size_t i = c * part_rows; i < (c + 1) * part_rows; ++i)
        if (!std::isnan(part[i])) column.push_back(static_cast<float>(part[i]));
    }
  }
  return out;
}

// The step's columns (imputed or clipped) as flags over `width` (all when it lists none).
StatusOr<std::vector<bool>> ListedColumns(const PreprocessStep& step, int64_t width) {
  std::vector<bool> imputed(static_cast<size_t>(width), step.columns.empty());
  for (int64_t c : step.columns) {
    if (c >= width)
      return absl::InvalidArgumentError(
          absl::StrFormat("column %d is out of range: the step's input has %d columns", c, width));
    imputed[c] = true;
  }
  return imputed;
}

// A float32 [width] tensor of the values.
Tensor FloatRow(const std::vector<float>& values, const Shape& shape) {
  return Tensor::FromVector(values, shape);
}

Status CheckFloatStat(const NamedTensor& stat, int64_t numel) {
  if (stat.tensor.dtype() != DType::kFloat32 || (numel >= 0 && stat.tensor.numel() != numel))
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: expected float32 [%d], got %s %s", stat.name, numel,
                        DTypeName(stat.tensor.dtype()), stat.tensor.shape().ToString()));
  return absl::OkStatus();
}

// Flags (0 or 1) in a float tensor, for the stats that say which columns something applies to.
Status CheckFlags(const NamedTensor& stat) {
  const float* p = stat.tensor.f32();
  for (int64_t i = 0; i < stat.tensor.numel(); ++i)
    if (p[i] != 0.0f && p[i] != 1.0f)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s[%d] is %g; expected 0 or 1", stat.name, i, p[i]));
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<Tensor>> FitImpute(const PreprocessStep& step, const Tensor& x,
                                        const FitContext& ctx) {
  const int64_t width = RowWidth(x);
  StatusOr<std::vector<bool>> imputed = ListedColumns(step, width);
  Status local = imputed.status();
  // An infinity is refused here; a missing value in a column this step does not fill passes on
  // (to another impute step, or to the step that will say it needs one).
  const float* p = x.f32();
  const int64_t rows = x.dim(0);
  // Missing counts per column, summed over the parts.
  std::vector<double> missing(static_cast<size_t>(width), 0.0);
  for (int64_t r = 0; local.ok() && r < rows; ++r) {
    const float* row = p + r * width;
    for (int64_t j = 0; j < width; ++j) {
      if (std::isnan(row[j])) missing[j] += 1;
      if (std::isinf(row[j]))
        local = absl::InvalidArgumentError(
            absl::StrFormat("row %d, feature %d is %g; cannot fit on infinite values",
                            ctx.first_row + r, j, row[j]));
    }
  }
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Agree(local));
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Sum(missing));
  std::vector<float> fill(static_cast<size_t>(width), kNaN), indicator(width, 0.0f);
  std::vector<std::vector<float>> columns(static_cast<size_t>(width));
  if (step.strategy != ImputeStrategy::kConstant) {
    HEARTH_ASSIGN_OR_RETURN(columns, GatherColumns(x, ctx, *imputed));
  }
  for (int64_t j = 0; j < width; ++j) {
    if (!(*imputed)[j]) continue;
    indicator[j] = step.add_indicator && missing[j] > 0 ? 1.0f : 0.0f;
    if (step.strategy == ImputeStrategy::kConstant) {
      fill[j] = step.fill_value;
      continue;
    }
    std::vector<float>& values = columns[static_cast<size_t>(j)];
    if (values.empty())
      return absl::InvalidArgumentError(absl::StrFormat(
          "feature %d has no values in the training rows to take a %s of; fill it with a "
          "constant (strategy CONSTANT) or leave the column out",
          j, ImputeStrategyName(step.strategy)));
    double v = 0;
    switch (step.strategy) {
      case ImputeStrategy::kMean: {
        // Summed in row order, as one process would.
        double sum = 0;
        for (double value : values) sum += value;
        v = sum / static_cast<double>(values.size());
        break;
      }
      case ImputeStrategy::kMedian:
        v = Quantiles(values, std::vector<double>{0.5})[0];
        break;
      case ImputeStrategy::kMostFrequent:
        v = MostFrequent(values);
        break;
      case ImputeStrategy::kConstant:
        break;
    }
    fill[j] = static_cast<float>(v);
  }
  return std::vector<Tensor>{FloatRow(fill, Shape{width}), FloatRow(indicator, Shape{width})};
}

StatusOr<Tensor> ApplyImpute(const PreprocessStep&, const std::vector<Tensor>& stats,
                             const Tensor& x, bool in_place) {
  const int64_t width = RowWidth(x);
  if (width != stats[0].numel())
    return absl::InvalidArgumentError(absl::StrFormat(
        "rows have %d features but the impute step was fitted on %d", width, stats[0].numel()));
  const float* fill = stats[0].f32();
  const float* flag = stats[1].f32();
  std::vector<int64_t> indicated;
  for (int64_t j = 0; j < width; ++j)
    if (flag[j] != 0.0f) indicated.push_back(j);
  const int64_t rows = x.dim(0);
  const int64_t out_width = width + static_cast<int64_t>(indicated.size());
  Tensor out = indicated.empty() ? (in_place ? x : Tensor::Empty(x.shape()))
                                 : Tensor::Empty(Shape{rows, out_width});
  const float* in = x.f32();
  float* y = out.f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = in + r * width;
    float* yr = y + r * out_width;
    for (int64_t j = 0; j < width; ++j)
      yr[j] = std::isnan(xr[j]) && !std::isnan(fill[j]) ? fill[j] : xr[j];
    for (size_t k = 0; k < indicated.size(); ++k)
      yr[width + static_cast<int64_t>(k)] = std::isnan(xr[indicated[k]]) ? 1.0f : 0.0f;
  }
  return out;
}

Status ValidateImpute(const PreprocessStep& step, const std::vector<NamedTensor>& stats) {
  HEARTH_RETURN_IF_ERROR(CheckFloatStat(stats[0], -1));
  HEARTH_RETURN_IF_ERROR(CheckFloatStat(stats[1], stats[0].tensor.numel()));
  HEARTH_RETURN_IF_ERROR(CheckFlags(stats[1]));
  const int64_t width = stats[0].tensor.numel();
  HEARTH_ASSIGN_OR_RETURN(std::vector<bool> imputed, ListedColumns(step, width));
  for (int64_t j = 0; j < width; ++j) {
    const float v = stats[0].tensor.f32()[j];
    // A NaN fill marks a column the step leaves alone; an imputed column needs a finite one.
    if (imputed[j] ? !std::isfinite(v) : !std::isnan(v))
      return absl::InvalidArgumentError(
          absl::StrFormat("%s[%d] is %g; expected %s", stats[0].name, j, v,
                          imputed[j] ? "a finite value" : "NaN (the column is not imputed)"));
    if (!imputed[j] && stats[1].tensor.f32()[j] != 0.0f)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s[%d]: an indicator for a column the step does not impute", stats[1].name, j));
  }
  return absl::OkStatus();
}

StatusOr<std::vector<Tensor>> FitRobustScale(const PreprocessStep&, const Tensor& x,
                                             const FitContext& ctx) {
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Agree(CheckFinite(x, ctx.first_row)));
  const int64_t width = RowWidth(x);
  HEARTH_ASSIGN_OR_RETURN(
      std::vector<std::vector<float>> columns,
      GatherColumns(x, ctx, std::vector<bool>(static_cast<size_t>(width), true)));
  Tensor center = Tensor::Empty(FeatureShape(x)), scale = Tensor::Empty(FeatureShape(x));
  for (int64_t j = 0; j < width; ++j) {
    const std::vector<double> q =
        Quantiles(columns[static_cast<size_t>(j)], std::vector<double>{0.25, 0.5, 0.75});
    const double iqr = q[2] - q[0];
    center.f32()[j] = static_cast<float>(q[1]);
    // sklearn's _handle_zeros_in_scale: a spread of 0 (or below rounding) divides by 1.
    const auto s = static_cast<float>(iqr);
    scale.f32()[j] = iqr < 10 * std::numeric_limits<double>::epsilon() || s == 0.0f ? 1.0f : s;
  }
  return std::vector<Tensor>{center, scale};
}

StatusOr<Tensor> ApplyRobustScale(const PreprocessStep&, const std::vector<Tensor>& stats,
                                  const Tensor& x, bool in_place) {
  HEARTH_RETURN_IF_ERROR(CheckFittedShape(x, stats[0]));
  return ShiftAndDivide(x, stats[0], stats[1], in_place);
}

StatusOr<std::vector<Tensor>> FitClip(const PreprocessStep& step, const Tensor& x,
                                      const FitContext& ctx) {
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Agree(CheckFinite(x, ctx.first_row)));
  const int64_t width = RowWidth(x);
  HEARTH_ASSIGN_OR_RETURN(std::vector<bool> clipped, ListedColumns(step, width));
  HEARTH_ASSIGN_OR_RETURN(std::vector<std::vector<float>> columns, GatherColumns(x, ctx, clipped));
  Tensor lower = Tensor::Empty(FeatureShape(x)), upper = Tensor::Empty(FeatureShape(x));
  for (int64_t j = 0; j < width; ++j) {
    if (!clipped[j]) {
      // Bounds no float exceeds: the column passes unchanged.
      lower.f32()[j] = -std::numeric_limits<float>::max();
      upper.f32()[j] = std::numeric_limits<float>::max();
      continue;
    }
    const std::vector<double> q =
        Quantiles(columns[static_cast<size_t>(j)], std::vector<double>{step.lower, step.upper});
    lower.f32()[j] = static_cast<float>(q[0]);
    upper.f32()[j] = static_cast<float>(q[1]);
  }
  return std::vector<Tensor>{lower, upper};
}

StatusOr<Tensor> ApplyClip(const PreprocessStep&, const std::vector<Tensor>& stats, const Tensor& x,
                           bool in_place) {
  HEARTH_RETURN_IF_ERROR(CheckFittedShape(x, stats[0]));
  Tensor out = in_place ? x : Tensor::Empty(x.shape());
  const int64_t width = stats[0].numel();
  const float* lo = stats[0].f32();
  const float* hi = stats[1].f32();
  const float* in = x.f32();
  float* y = out.f32();
  for (int64_t r = 0, rows = x.dim(0); r < rows; ++r) {
    const float* xr = in + r * width;
    float* yr = y + r * width;
    // NaN stays NaN (std::clamp would return a bound for it on some inputs).
    for (int64_t j = 0; j < width; ++j)
      yr[j] = xr[j] < lo[j] ? lo[j] : xr[j] > hi[j] ? hi[j] : xr[j];
  }
  return out;
}

Status ValidateClip(const PreprocessStep&, const std::vector<NamedTensor>& stats) {
  HEARTH_RETURN_IF_ERROR(CheckFloatStat(stats[0], -1));
  HEARTH_RETURN_IF_ERROR(CheckFloatStat(stats[1], stats[0].tensor.numel()));
  for (int64_t j = 0; j < stats[0].tensor.numel(); ++j) {
    const float lo = stats[0].tensor.f32()[j], hi = stats[1].tensor.f32()[j];
    if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s[%d] and %s[%d] are %g and %g; expected finite bounds, lower <= upper",
                          stats[0].name, j, stats[1].name, j, lo, hi));
  }
  return absl::OkStatus();
}

StatusOr<Tensor> ApplyLog1p(const PreprocessStep&, const std::vector<Tensor>&, const Tensor& x,
                            bool in_place) {
  const int64_t width = RowWidth(x);
  const float* in = x.f32();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i)
    if (in[i] <= -1.0f)
      return absl::InvalidArgumentError(absl::StrFormat(
          "row %d, feature %d is %g; log1p needs values above -1 (shift or clip the feature "
          "first)",
          i / width, i % width, in[i]));
  Tensor out = in_place ? x : Tensor::Empty(x.shape());
  float* y = out.f32();
  for (int64_t i = 0; i < n; ++i) y[i] = std::log1p(in[i]);
  return out;
}

StatusOr<std::vector<Tensor>> FitDropConstant(const PreprocessStep&, const Tensor& x,
                                              const FitContext& ctx) {
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Agree(CheckFinite(x, ctx.first_row)));
  const int64_t width = RowWidth(x);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::vector<float> lo(static_cast<size_t>(width), kInf), hi(static_cast<size_t>(width), -kInf);
  const float* p = x.f32();
  for (int64_t r = 0, rows = x.dim(0); r < rows; ++r) {
    const float* row = p + r * width;
    for (int64_t j = 0; j < width; ++j) {
      lo[j] = std::min(lo[j], row[j]);
      hi[j] = std::max(hi[j], row[j]);
    }
  }
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Min(lo));
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Max(hi));
  std::vector<float> keep(static_cast<size_t>(width));
  int64_t kept = 0;
  for (int64_t j = 0; j < width; ++j) {
    keep[j] = hi[j] > lo[j] ? 1.0f : 0.0f;
    kept += keep[j] != 0.0f;
  }
  if (kept == 0)
    return absl::InvalidArgumentError(absl::StrFormat(
        "all %d features are constant over the training rows: nothing would be left to learn "
        "from",
        width));
  return std::vector<Tensor>{FloatRow(keep, Shape{width})};
}

StatusOr<Tensor> ApplyDropConstant(const PreprocessStep&, const std::vector<Tensor>& stats,
                                   const Tensor& x, bool) {
  const int64_t width = RowWidth(x);
  if (width != stats[0].numel())
    return absl::InvalidArgumentError(absl::StrFormat(
        "rows have %d features but drop_constant was fitted on %d", width, stats[0].numel()));
  std::vector<int64_t> kept;
  for (int64_t j = 0; j < width; ++j)
    if (stats[0].f32()[j] != 0.0f) kept.push_back(j);
  const int64_t rows = x.dim(0);
  Tensor out = Tensor::Empty(Shape{rows, static_cast<int64_t>(kept.size())});
  const float* in = x.f32();
  float* y = out.f32();
  for (int64_t r = 0; r < rows; ++r)
    for (size_t k = 0; k < kept.size(); ++k) *y++ = in[r * width + kept[k]];
  return out;
}

Status ValidateDropConstant(const PreprocessStep&, const std::vector<NamedTensor>& stats) {
  HEARTH_RETURN_IF_ERROR(CheckFloatStat(stats[0], -1));
  HEARTH_RETURN_IF_ERROR(CheckFlags(stats[0]));
  const float* p = stats[0].tensor.f32();
  if (std::none_of(p, p + stats[0].tensor.numel(), [](float v) { return v != 0.0f; }))
    return absl::InvalidArgumentError(absl::StrFormat("%s keeps no feature", stats[0].name));
  return absl::OkStatus();
}

}  // namespace hearth::data_internal
