// Which collective this rank is in, for the stall watchdog: the number of collectives it has
// arrived at, whether it is blocked waiting for the others, since when, and what the collective is.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>

#include <string_view>
#include "absl/base/thread_annotations.h"

namespace hearth::dist {

// A fixed-size snapshot, sent as raw bytes between ranks (all ranks run the same binary).
struct CollectiveSnapshot {
  int32_t rank = 0;
  int32_t waiting = 0;      // 1 while blocked inside a collective
  int64_t arrived = 0;      // collectives started so far; the current one is number `arrived`
  double wait_seconds = 0;  // how long the current wait has lasted
  char what[112] = {};      // the latest collective's description, NUL-terminated
};

inline double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Thread-safety: the training thread updates it, the stall watchdog's thread reads snapshots;
// mu_ guards the state.
class CollectiveTracker {
 public:
  explicit CollectiveTracker(int rank) { state_.rank = rank; }

  // A collective starts (blocking ones call Arrive then BeginWait).
  void Arrive(std::string_view what) {
    std::lock_guard lock(mu_);
    ++state_.arrived;
    const size_t n = std::min(what.size(), sizeof(state_.what) - 1);
    std::memcpy(state_.what, what.data(), n);
    state_.what[n] = '\0';
  }
  void BeginWait() {
    std::lock_guard lock(mu_);
    state_.waiting = 1;
    wait_start_ = MonotonicSeconds();
  }
  void EndWait() {
    std::lock_guard lock(mu_);
    state_.waiting = 0;
  }
  CollectiveSnapshot Snapshot() const {
    std::lock_guard lock(mu_);
    CollectiveSnapshot s = state_;
    s.wait_seconds = s.waiting ? MonotonicSeconds() - wait_start_ : 0;
    return s;
  }

 private:
  mutable std::mutex mu_;
  CollectiveSnapshot state_ ABSL_GUARDED_BY(mu_);
  double wait_start_ ABSL_GUARDED_BY(mu_) = 0;
};

// Marks a blocking collective for its lifetime.
class BlockingCollective {
 public:
  BlockingCollective(CollectiveTracker& tracker, std::string_view what) : tracker_(tracker) {
    tracker_.Arrive(what);
    tracker_.BeginWait();
  }
  ~BlockingCollective() { tracker_.EndWait(); }
  BlockingCollective(const BlockingCollective&) = delete;
  BlockingCollective& operator=(const BlockingCollective&) = delete;

 private:
  CollectiveTracker& tracker_;
};

}  // namespace hearth::dist
