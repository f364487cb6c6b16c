// Wakes the streams that wait for a job to change (WatchJob, followed logs) when something was
// stored. Waiters re-read the store after waking, so a missed wake-up costs at most `timeout`.
//
// Thread-safety: every method may be called from any thread; mu_ guards the version.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace hearth::coordinator {

class EventHub {
 public:
  void Notify() {
    {
      std::lock_guard lock(mu_);
      ++version_;
    }
    cv_.notify_all();
  }
  uint64_t version() {
    std::lock_guard lock(mu_);
    return version_;
  }
  // Returns once the version differs from `seen` or after `timeout`.
  void WaitChange(uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return version_ != seen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hearth::coordinator
