// Checks on datasets shared by the readers.
#include "hearth/data/dataset.h"

#include "absl/strings/str_cat.h"

namespace hearth {

Status CheckLabelRange(const Tensor& labels, int64_t num_classes, std::string_view source,
                       int64_t first_record) {
  HEARTH_CHECK(labels.defined() && labels.dtype() == DType::kInt64);
  const int64_t* values = labels.i64();
  for (int64_t i = 0, n = labels.numel(); i < n; ++i) {
    if (values[i] < 0 || values[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(source), ": record ", first_record + i, ": label ", values[i],
          " is out of range [0, ", num_classes, ") (num_classes = ", num_classes, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hearth
