// DataLoader: batches of a rank's share of an in-memory dataset, resumable at any (epoch, step).
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "hearth/sampler.h"

namespace hearth {

StatusOr<DataLoader> DataLoader::Create(Tensor features, Tensor labels, Sampler sampler,
                                        int64_t batch_size, bool drop_last) {
  if (!features.defined() || features.rank() < 1 || features.dtype() != DType::kFloat32) {
    return absl::InvalidArgumentError("data loader: expected float32 features of shape [N, ...]");
  }
  const int64_t n = features.dim(0);
  if (labels.defined() && (labels.rank() < 1 || labels.dim(0) != n)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("data loader: expected labels [%d, ...] to match features %s, got %s", n,
                        features.shape().ToString(), labels.shape().ToString()));
  }
  if (sampler.num_examples() != n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("data loader: the sampler covers %d examples but the dataset has %d",
                        sampler.num_examples(), n));
  }
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("data loader: expected batch_size > 0, got %d", batch_size));
  }
  return DataLoader(std::move(features), std::move(labels), std::move(sampler), batch_size,
                    drop_last);
}

StatusOr<DataLoader> DataLoader::Create(const Dataset& data, Sampler sampler, int64_t batch_size,
                                        bool drop_last) {
  return Create(data.features, data.labels, std::move(sampler), batch_size, drop_last);
}

DataLoader::DataLoader(Tensor features, Tensor labels, Sampler sampler, int64_t batch_size,
                       bool drop_last)
    : features_(std::move(features)),
      labels_(std::move(labels)),
      sampler_(std::move(sampler)),
      batch_size_(batch_size),
      drop_last_(drop_last),
      steps_per_epoch_(NumBatches(sampler_.num_samples(), batch_size, drop_last)) {
  Reset(0);
}

void DataLoader::Reset(int64_t epoch) {
  epoch_ = epoch;
  step_ = 0;
  order_ = sampler_.EpochIndices(epoch);
}

Status DataLoader::Seek(int64_t epoch, int64_t step) {
  if (epoch < 0 || step < 0 || step > steps_per_epoch_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "data loader: cannot resume at epoch %d step %d; expected epoch >= 0 and 0 <= step <= %d "
        "(batches per epoch)",
        epoch, step, steps_per_epoch_));
  }
  Reset(epoch);
  step_ = step;
  return absl::OkStatus();
}

Status DataLoader::SplitEachBatch(int part, int parts) {
  if (parts < 1 || part < 0 || part >= parts)
    return absl::InvalidArgumentError(
        absl::StrFormat("data loader: part %d of %d; expected 0 <= part < parts", part, parts));
  part_ = part;
  parts_ = parts;
  return absl::OkStatus();
}

bool DataLoader::Next(Batch* batch) {
  if (step_ >= steps_per_epoch_) return false;
  const auto n = static_cast<int64_t>(order_.size());
  const int64_t global_begin = step_ * batch_size_;
  const int64_t global_size = std::min(global_begin + batch_size_, n) - global_begin;
  // This part's contiguous block of the batch: [part * R / parts, (part + 1) * R / parts).
  const int64_t begin = global_begin + global_size * part_ / parts_;
  const int64_t end = global_begin + global_size * (part_ + 1) / parts_;
  batch->indices.assign(order_.begin() + begin, order_.begin() + end);
  batch->global_size = global_size;
  batch->global_offset = begin - global_begin;
  // The sampler only yields indices in [0, N), so gathering cannot fail.
  StatusOr<Tensor> features = GatherRows(features_, batch->indices);
  HEARTH_CHECK_MSG(features.ok(), std::string(features.status().message()));
  batch->features = *std::move(features);
  batch->labels = Tensor();
  if (labels_.defined()) {
    StatusOr<Tensor> labels = GatherRows(labels_, batch->indices);
    HEARTH_CHECK_MSG(labels.ok(), std::string(labels.status().message()));
    batch->labels = *std::move(labels);
  }
  batch->epoch = epoch_;
  batch->step = step_;
  ++step_;
  return true;
}

}  // namespace hearth
