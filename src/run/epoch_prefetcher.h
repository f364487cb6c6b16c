// Feeds a partial DataLoader its rows epoch by epoch, reading the next epoch's rows on a thread of
// its own while this epoch trains (as PyTorch's DataLoader workers prefetch), so no rank stops at
// an epoch boundary to read files. Memory: while the next epoch is read, a rank holds its rows of
// two epochs.
#pragma once

#include <cstdint>
#include <future>
#include <memory>

#include "hearth/sampler.h"
#include "run/sharded_data.h"

namespace hearth::run {

class EpochPrefetcher {
 public:
  // `epochs`: the run's last epoch is epochs - 1; nothing is read past it.
  EpochPrefetcher(std::shared_ptr<const TrainingShards> shards, int64_t epochs)
      : shards_(std::move(shards)), epochs_(epochs) {}
  ~EpochPrefetcher();  // waits for a read in flight

  // Makes the rows that batches [first_step, ...) of `epoch` take on this rank resident in
  // `loader` (the prefetched ones when they are those: epoch `epoch` from its first batch), and
  // starts reading epoch + 1's. Returns how many rows are resident. Errors (including those of the
  // background read) are this rank's own: make them collective with dist::AgreeOnStatus.
  StatusOr<int64_t> Load(int64_t epoch, int64_t first_step, DataLoader& loader);

 private:
  std::shared_ptr<const TrainingShards> shards_;
  int64_t epochs_;
  int64_t next_epoch_ = -1;  // the epoch `next_` reads from its first batch
  std::future<StatusOr<TrainingShards::Rows>> next_;
};

}  // namespace hearth::run
