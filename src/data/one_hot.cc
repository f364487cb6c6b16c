// OneHot: learns the categories of integer-valued feature columns at fit and expands each such
// column into one 0/1 column per category, in place.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "data/preprocess_ops.h"

namespace hearth::data_internal {
namespace {

// Beyond 2^53 a float no longer tells neighbouring integers apart.
constexpr double kMaxCategory = 9007199254740992.0;

Status CheckColumns(const PreprocessStep& step, const Tensor& x) {
  if (x.rank() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("one-hot encoding needs [N, F] features, got shape ", x.shape().ToString()));
  }
  for (int64_t column : step.columns) {
    if (column >= x.dim(1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("column ", column, " is out of range for ", x.dim(1), " features"));
    }
  }
  return absl::OkStatus();
}

bool IsCategory(float v) {
  return std::isfinite(v) && std::floor(v) == v && std::fabs(v) <= kMaxCategory;
}

// This part's sorted distinct categories of each one-hot column.
StatusOr<std::vector<std::vector<int64_t>>> LocalCategories(const PreprocessStep& step,
                                                            const Tensor& x, int64_t first_row) {
  HEARTH_RETURN_IF_ERROR(CheckColumns(step, x));
  const int64_t rows = x.dim(0);
  const int64_t width = x.dim(1);
  std::vector<std::vector<int64_t>> categories(step.columns.size());
  for (size_t c = 0; c < step.columns.size(); ++c) {
    const int64_t column = step.columns[c];
    std::vector<int64_t>& values = categories[c];
    for (int64_t r = 0; r < rows; ++r) {
      const float v = x.f32()[r * width + column];
      if (!IsCategory(v)) {
        return absl::InvalidArgumentError(absl::StrCat("column ", column, ", row ", first_row + r,
                                                       ": expected an integer category, got ", v));
      }
      values.push_back(static_cast<int64_t>(v));
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
  }
  return categories;
}

// The categories of `column` seen at least min_frequency times over all parts, after
// kInfrequentCategory when some were seen less (they share its column).
StatusOr<std::vector<int64_t>> PoolInfrequent(const PreprocessStep& step, const Tensor& x,
                                              const FitContext& ctx, int64_t column,
                                              const std::vector<int64_t>& values) {
  std::vector<double> seen(values.size(), 0.0);
  const int64_t width = x.dim(1);
  for (int64_t r = 0; r < x.dim(0); ++r) {
    const auto v = static_cast<int64_t>(x.f32()[r * width + column]);
    seen[std::lower_bound(values.begin(), values.end(), v) - values.begin()] += 1;
  }
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Sum(seen));
  std::vector<int64_t> kept;
  for (size_t i = 0; i < values.size(); ++i)
    if (seen[i] >= static_cast<double>(step.min_frequency)) kept.push_back(values[i]);
  if (kept.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("column ", column, ": no category occurs ", step.min_frequency,
                     " times (min_frequency) in the training rows; lower min_frequency"));
  if (kept.size() < values.size()) kept.insert(kept.begin(), kInfrequentCategory);
  return kept;
}

}  // namespace

StatusOr<std::vector<Tensor>> FitOneHot(const PreprocessStep& step, const Tensor& x,
                                        const FitContext& ctx) {
  StatusOr<std::vector<std::vector<int64_t>>> local = LocalCategories(step, x, ctx.first_row);
  HEARTH_RETURN_IF_ERROR(ctx.reducer->Agree(local.status()));
  Tensor counts = Tensor::Empty(Shape{static_cast<int64_t>(step.columns.size())}, DType::kInt64);
  std::vector<int64_t> all;
  for (size_t c = 0; c < step.columns.size(); ++c) {
    HEARTH_ASSIGN_OR_RETURN(std::vector<int64_t> values, ctx.reducer->Union((*local)[c]));
    if (step.min_frequency > 1) {
      HEARTH_ASSIGN_OR_RETURN(values, PoolInfrequent(step, x, ctx, step.columns[c], values));
    }
    counts.i64()[c] = static_cast<int64_t>(values.size());
    all.insert(all.end(), values.begin(), values.end());
  }
  Tensor categories = Tensor::FromInt64(all, Shape{static_cast<int64_t>(all.size())});
  return std::vector<Tensor>{counts, categories};
}

StatusOr<Tensor> ApplyOneHot(const PreprocessStep& step, const std::vector<Tensor>& stats,
                             const Tensor& x, bool /*in_place: the shape changes*/) {
  HEARTH_RETURN_IF_ERROR(CheckColumns(step, x));
  const int64_t rows = x.dim(0);
  const int64_t width = x.dim(1);
  // Per input column: its sorted categories, or none for a column copied as it is.
  struct Plan {
    const int64_t* categories = nullptr;
    int64_t count = 0;
  };
  std::vector<Plan> plan(static_cast<size_t>(width));
  const int64_t* categories = stats[1].i64();
  int64_t out_width = width;
  for (size_t c = 0; c < step.columns.size(); ++c) {
    const int64_t count = stats[0].i64()[c];
    plan[step.columns[c]] = {categories, count};
    categories += count;
    out_width += count - 1;
  }
  Tensor out = Tensor::Zeros(Shape{rows, out_width});
  const float* in = x.f32();
  float* y = out.f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = in + r * width;
    float* yr = y + r * out_width;
    for (int64_t j = 0; j < width; ++j) {
      const Plan& p = plan[j];
      if (p.categories == nullptr) {
        *yr++ = xr[j];
        continue;
      }
      const float v = xr[j];
      const int64_t* end = p.categories + p.count;
      const int64_t* it =
          IsCategory(v) ? std::lower_bound(p.categories, end, static_cast<int64_t>(v)) : end;
      if (!IsCategory(v))
        return absl::InvalidArgumentError(
            absl::StrCat("column ", j, ", row ", r, ": expected an integer category, got ", v,
                         std::isnan(v) ? " (missing: add an impute step before one_hot)" : ""));
      // A category training never saw (a string the model does not know reads as -1) sets none of
      // its columns, as scikit-learn's handle_unknown="ignore"; with infrequent categories pooled,
      // it goes to their column, as handle_unknown="infrequent_if_exist".
      if (it != end && static_cast<float>(*it) == v)
        yr[it - p.categories] = 1.0f;
      else if (p.categories[0] == kInfrequentCategory)
        yr[0] = 1.0f;
      yr += p.count;
    }
  }
  return out;
}

Status ValidateOneHot(const PreprocessStep& step, const std::vector<NamedTensor>& stats) {
  const NamedTensor& counts = stats[0];
  const NamedTensor& categories = stats[1];
  for (const NamedTensor* t : {&counts, &categories}) {
    if (t->tensor.dtype() != DType::kInt64 || t->tensor.rank() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(t->name, ": expected a 1-D int64 tensor, got ",
                                                     DTypeName(t->tensor.dtype()), " ",
                                                     t->tensor.shape().ToString()));
    }
  }
  if (counts.tensor.numel() != static_cast<int64_t>(step.columns.size())) {
    return absl::InvalidArgumentError(absl::StrCat(counts.name, ": ", counts.tensor.numel(),
                                                   " counts for ", step.columns.size(),
                                                   " one-hot columns"));
  }
  int64_t total = 0;
  for (int64_t c = 0; c < counts.tensor.numel(); ++c) {
    const int64_t count = counts.tensor.i64()[c];
    if (count < 1 || count > categories.tensor.numel()) {
      return absl::InvalidArgumentError(
          absl::StrCat(counts.name, "[", c, "] is ", count, "; expected at least 1 category"));
    }
    total += count;
  }
  if (total != categories.tensor.numel()) {
    return absl::InvalidArgumentError(absl::StrCat(categories.name, ": ", categories.tensor.numel(),
                                                   " categories but ", counts.name, " adds up to ",
                                                   total));
  }
  const int64_t* v = categories.tensor.i64();
  for (int64_t c = 0, start = 0; c < counts.tensor.numel(); start += counts.tensor.i64()[c++]) {
    for (int64_t i = start + 1; i < start + counts.tensor.i64()[c]; ++i) {
      if (v[i] <= v[i - 1]) {
        return absl::InvalidArgumentError(
            absl::StrCat(categories.name, "[", i,
                         "]: the categories of one column must be strictly increasing"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace hearth::data_internal
