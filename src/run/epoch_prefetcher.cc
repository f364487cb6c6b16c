#include "run/epoch_prefetcher.h"

namespace hearth::run {

EpochPrefetcher::~EpochPrefetcher() {
  if (next_.valid()) next_.wait();
}

StatusOr<int64_t> EpochPrefetcher::Load(int64_t epoch, int64_t first_step, DataLoader& loader) {
  loader.ReleaseRows();  // the previous epoch's rows are not needed any more
  StatusOr<TrainingShards::Rows> rows;
  if (next_.valid() && next_epoch_ == epoch && first_step == 0) {
    rows = next_.get();
  } else {
    if (next_.valid()) next_.wait();  // a read for some other epoch (a resume): not needed
    next_ = {};
    rows = shards_->ReadRows(loader.ExamplesOf(epoch, first_step));
  }
  HEARTH_RETURN_IF_ERROR(rows.status());
  const auto count = static_cast<int64_t>(rows->examples.size());
  HEARTH_RETURN_IF_ERROR(loader.SetResidentRows(
      std::move(rows->examples), std::move(rows->features), std::move(rows->labels)));
  if (epoch + 1 < epochs_) {
    next_epoch_ = epoch + 1;
    next_ = std::async(std::launch::async,
                       [shards = shards_, examples = loader.ExamplesOf(epoch + 1)]() mutable {
                         return shards->ReadRows(std::move(examples));
                       });
  }
  return count;
}

}  // namespace hearth::run
