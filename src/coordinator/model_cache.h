// Trained models restored from stored checkpoints for Evaluate and Predict, kept in a small LRU
// cache keyed by the checkpoint's content hash (sha256): the same bytes are loaded once, and
// bytes that changed on disk are never served under the old name. Each entry has its own mutex:
// a model is used by one request at a time (layers keep per-forward scratch), different models
// in parallel.
//
// Thread-safety: Acquire may be called from any thread; mu_ guards the entry list only, so a slow
// load never holds up requests for other models.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "coordinator/job_store.h"
#include "hearth/train.h"

namespace hearth::coordinator {

class ModelCache {
 public:
  explicit ModelCache(size_t capacity = 4) : capacity_(capacity) {}

  struct Lease {
    std::shared_ptr<TrainedModel> model;
    std::shared_ptr<std::mutex> mu;     // kept alive even if the entry is evicted meanwhile
    std::unique_lock<std::mutex> lock;  // held while the lease lives (released before `mu` dies)
  };
  // The model of `checkpoint` (loaded on a miss, after checking that the file's sha256 is the
  // stored one: DATA_LOSS otherwise), locked for the caller.
  StatusOr<Lease> Acquire(const StoredCheckpoint& checkpoint);

 private:
  struct Entry {
    std::string sha256;
    std::shared_ptr<TrainedModel> model;
    std::shared_ptr<std::mutex> mu;
  };
  size_t capacity_;
  std::mutex mu_;
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);  // most recently used first
};

}  // namespace hearth::coordinator
