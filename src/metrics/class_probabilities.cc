// Classifier outputs as per-class probabilities, for the metrics and the report that rank by
// score.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "hearth/metrics.h"

namespace hearth {

StatusOr<std::vector<double>> ClassProbabilities(const Tensor& predictions, bool from_logits,
                                                 int64_t* num_classes) {
  if (!predictions.defined() || predictions.dtype() != DType::kFloat32 || predictions.rank() < 1 ||
      predictions.rank() > 2)
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected float32 scores [N, C] or one score per example [N], got %s",
        predictions.defined() ? absl::StrFormat("%s %s", DTypeName(predictions.dtype()),
                                                predictions.shape().ToString())
                              : std::string("no tensor")));
  const int64_t n = predictions.dim(0);
  const int64_t cols = predictions.rank() == 2 ? predictions.dim(1) : 1;
  const float* p = predictions.f32();
  const int64_t classes = cols == 1 ? 2 : cols;
  std::vector<double> out(static_cast<size_t>(n * classes));
  for (int64_t i = 0; i < n; ++i) {
    double* row = &out[i * classes];
    if (cols == 1) {
      const double s = p[i];
      row[1] = from_logits ? 1.0 / (1.0 + std::exp(-s)) : s;
      row[0] = 1.0 - row[1];
      continue;
    }
    const float* in = p + i * cols;
    if (!from_logits) {
      std::copy(in, in + cols, row);
      continue;
    }
    const double top = *std::max_element(in, in + cols);
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += row[c] = std::exp(static_cast<double>(in[c]) - top);
    for (int64_t c = 0; c < cols; ++c) row[c] /= sum;
  }
  *num_classes = classes;
  return out;
}

}  // namespace hearth
