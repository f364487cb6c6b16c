// Trained models restored from checkpoints for Evaluate and Predict, kept in a small LRU cache.
// Each entry has its own mutex: a model is used by one request at a time (layers keep
// per-forward scratch), different models in parallel.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

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
  // The model of the checkpoint file at `path` (loaded on a miss), locked for the caller.
  StatusOr<Lease> Acquire(const std::string& path);

 private:
  struct Entry {
    std::string path;
    std::shared_ptr<TrainedModel> model;
    std::shared_ptr<std::mutex> mu;
  };
  size_t capacity_;
  std::mutex mu_;
  std::list<Entry> entries_;  // most recently used first
};

}  // namespace hearth::coordinator
