// DataLoader: batches of a rank's share of an in-memory dataset, resumable at any (epoch, step),
// optionally holding only the rows its next batches use.
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

StatusOr<DataLoader> DataLoader::CreatePartial(Sampler sampler, int64_t batch_size,
                                               bool drop_last) {
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("data loader: expected batch_size > 0, got %d", batch_size));
  }
  DataLoader loader(Tensor(), Tensor(), std::move(sampler), batch_size, drop_last);
  loader.partial_ = true;
  return loader;
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

DataLoader::Block DataLoader::BlockOf(int64_t step, int64_t order_size) const {
  const int64_t global_begin = step * batch_size_;
  const int64_t global_size = std::min(global_begin + batch_size_, order_size) - global_begin;
  // This part's contiguous block of the batch: [part * R / parts, (part + 1) * R / parts).
  return {global_begin + global_size * part_ / parts_,
          global_begin + global_size * (part_ + 1) / parts_, global_size};
}

std::vector<int64_t> DataLoader::ExamplesOf(int64_t epoch, int64_t first_step) const {
  const std::vector<int64_t> order = sampler_.EpochIndices(epoch);
  const auto n = static_cast<int64_t>(order.size());
  std::vector<int64_t> examples;
  for (int64_t step = std::max<int64_t>(first_step, 0); step < steps_per_epoch_; ++step) {
    const Block block = BlockOf(step, n);
    examples.insert(examples.end(), order.begin() + block.begin, order.begin() + block.end);
  }
  std::sort(examples.begin(), examples.end());
  examples.erase(std::unique(examples.begin(), examples.end()), examples.end());
  return examples;
}

Status DataLoader::SetResidentRows(std::vector<int64_t> examples, Tensor features, Tensor labels) {
  const auto count = static_cast<int64_t>(examples.size());
  for (int64_t i = 0; i < count; ++i) {
    if (examples[i] < 0 || examples[i] >= sampler_.num_examples() ||
        (i > 0 && examples[i] <= examples[i - 1])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "data loader: resident example %d (at %d) is outside [0, %d) or not in ascending order",
          examples[i], i, sampler_.num_examples()));
    }
  }
  if (!features.defined() || features.rank() < 1 || features.dtype() != DType::kFloat32 ||
      features.dim(0) != count) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "data loader: expected float32 features [%d, ...] for %d resident examples", count, count));
  }
  if (labels.defined() && (labels.rank() < 1 || labels.dim(0) != count)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("data loader: expected labels [%d, ...] for %d resident examples, got %s",
                        count, count, labels.shape().ToString()));
  }
  resident_ = std::move(examples);
  features_ = std::move(features);
  labels_ = std::move(labels);
  partial_ = true;
  return absl::OkStatus();
}

std::shared_ptr<Storage> DataLoader::ReleaseRows() {
  if (!partial_) return nullptr;
  std::shared_ptr<Storage> memory = features_.defined() ? features_.storage() : nullptr;
  resident_.clear();
  resident_.shrink_to_fit();
  features_ = Tensor();
  labels_ = Tensor();
  // Anyone else's handle or view keeps a count on the memory: then it must not be overwritten.
  return memory.use_count() == 1 ? std::move(memory) : nullptr;
}

bool DataLoader::Next(Batch* batch) {
  if (step_ >= steps_per_epoch_) return false;
  const Block block = BlockOf(step_, static_cast<int64_t>(order_.size()));
  batch->indices.assign(order_.begin() + block.begin, order_.begin() + block.end);
  batch->global_size = block.global_size;
  batch->global_offset = block.begin - step_ * batch_size_;
  std::vector<int64_t> rows;
  if (partial_) {
    rows.reserve(batch->indices.size());
    for (int64_t example : batch->indices) {
      const auto it = std::lower_bound(resident_.begin(), resident_.end(), example);
      HEARTH_CHECK_MSG(it != resident_.end() && *it == example,
                       absl::StrFormat("data loader: example %d of epoch %d, batch %d is not "
                                       "resident; load ExamplesOf(%d, %d) first",
                                       example, epoch_, step_, epoch_, step_));
      rows.push_back(it - resident_.begin());
    }
  }
  const std::vector<int64_t>& gather = partial_ ? rows : batch->indices;
  // The sampler only yields indices in [0, N), so gathering cannot fail.
  StatusOr<Tensor> features = GatherRows(features_, gather);
  HEARTH_CHECK_MSG(features.ok(), std::string(features.status().message()));
  batch->features = *std::move(features);
  batch->labels = Tensor();
  if (labels_.defined()) {
    StatusOr<Tensor> labels = GatherRows(labels_, gather);
    HEARTH_CHECK_MSG(labels.ok(), std::string(labels.status().message()));
    batch->labels = *std::move(labels);
  }
  batch->epoch = epoch_;
  batch->step = step_;
  ++step_;
  return true;
}

}  // namespace hearth
