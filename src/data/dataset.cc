// Checks on datasets shared by the readers.
#include "hearth/data/dataset.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace hearth {

namespace {

// `record(i)` is the file record of labels[i].
template <typename RecordOf>
Status CheckLabels(const Tensor& labels, int64_t num_classes, std::string_view source,
                   RecordOf record) {
  HEARTH_CHECK(labels.defined() && labels.dtype() == DType::kInt64);
  const int64_t* values = labels.i64();
  for (int64_t i = 0, n = labels.numel(); i < n; ++i) {
    if (values[i] < 0 || values[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(source), ": record ", record(i), ": label ", values[i],
          " is out of range [0, ", num_classes, ") (num_classes = ", num_classes, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Status CheckLabelRange(const Tensor& labels, int64_t num_classes, std::string_view source,
                       int64_t first_record) {
  return CheckLabels(labels, num_classes, source, [&](int64_t i) { return first_record + i; });
}

Status CheckLabelRange(const Tensor& labels, int64_t num_classes, std::string_view source,
                       std::span<const int64_t> records) {
  HEARTH_CHECK(labels.defined() && labels.rank() >= 1 &&
               labels.dim(0) == static_cast<int64_t>(records.size()));
  const int64_t per_record = records.empty() ? 1 : labels.numel() / labels.dim(0);
  return CheckLabels(labels, num_classes, source,
                     [&](int64_t i) { return records[i / std::max<int64_t>(per_record, 1)]; });
}

}  // namespace hearth
