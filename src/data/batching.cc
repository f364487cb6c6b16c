// Batches of indices and gathering rows of a tensor into a batch.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "hearth/sampler.h"

namespace hearth {

int64_t NumBatches(int64_t num_indices, int64_t batch_size, bool drop_last) {
  HEARTH_CHECK(batch_size > 0 && num_indices >= 0);
  return drop_last ? num_indices / batch_size : (num_indices + batch_size - 1) / batch_size;
}

std::vector<std::vector<int64_t>> MakeBatches(std::span<const int64_t> indices, int64_t batch_size,
                                              bool drop_last) {
  const auto n = static_cast<int64_t>(indices.size());
  const int64_t count = NumBatches(n, batch_size, drop_last);
  std::vector<std::vector<int64_t>> batches(static_cast<size_t>(count));
  for (int64_t b = 0; b < count; ++b) {
    const int64_t begin = b * batch_size;
    const int64_t end = std::min(begin + batch_size, n);
    batches[b].assign(indices.begin() + begin, indices.begin() + end);
  }
  return batches;
}

namespace {

Shape BatchShape(const Tensor& source, int64_t rows) {
  Shape shape = source.shape();
  shape[0] = rows;
  return shape;
}

}  // namespace

Status GatherRowsInto(const Tensor& source, std::span<const int64_t> rows, Tensor* out) {
  if (!source.defined() || source.rank() < 1) {
    return absl::InvalidArgumentError("gather rows: expected a tensor with at least one axis");
  }
  const Shape want = BatchShape(source, static_cast<int64_t>(rows.size()));
  HEARTH_CHECK_MSG(
      out != nullptr && out->defined() && out->shape() == want && out->dtype() == source.dtype(),
      "GatherRowsInto: `out` must have shape " + want.ToString());
  const int64_t n = source.dim(0);
  const int64_t row_bytes = (n == 0 ? 0 : source.numel() / n) * DTypeSize(source.dtype());
  const auto* src = static_cast<const char*>(source.raw());
  auto* dst = static_cast<char*>(out->raw());
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t r = rows[i];
    if (r < 0 || r >= n) {
      return absl::InvalidArgumentError(
          absl::StrFormat("gather rows: index %d is outside [0, %d)", r, n));
    }
    std::memcpy(dst + static_cast<int64_t>(i) * row_bytes, src + r * row_bytes,
                static_cast<size_t>(row_bytes));
  }
  return absl::OkStatus();
}

StatusOr<Tensor> GatherRows(const Tensor& source, std::span<const int64_t> rows) {
  if (!source.defined() || source.rank() < 1) {
    return absl::InvalidArgumentError("gather rows: expected a tensor with at least one axis");
  }
  Tensor out = Tensor::Empty(BatchShape(source, static_cast<int64_t>(rows.size())), source.dtype());
  HEARTH_RETURN_IF_ERROR(GatherRowsInto(source, rows, &out));
  return out;
}

}  // namespace hearth
