// What both services share: the store, the scheduler, authentication, the data roots and the
// limits. Owned by hearthd's main; the services hold a reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "coordinator/auth.h"
#include "coordinator/checkpoint_store.h"
#include "coordinator/data_roots.h"
#include "coordinator/event_hub.h"
#include "coordinator/job_store.h"
#include "coordinator/scheduler.h"
#include "coordinator/worker_credentials.h"

namespace hearth::coordinator {

class Deployments;

// hearthd's request limits, each set by the flag named beside it (docs/coordinator.md). Beyond
// one, a call is RESOURCE_EXHAUSTED with a message naming the flag.
struct CoordinatorLimits {
  int max_queued_jobs = 1000;  // --max-queued-jobs: jobs waiting in QUEUED
  int max_list_page = 1000;    // --max-list-page: jobs in one ListJobs answer
  int max_streams = 64;        // --max-streams: WatchJob, GetJobLogs, downloads at once
  int64_t max_rows = 1000000;  // --max-rows: examples in one Evaluate or Predict
  UploadLimits upload;         // --max-checkpoint-mb
};

// Counts the streams open at once; a stream past the limit is refused.
class StreamSlots {
 public:
  explicit StreamSlots(int limit) : limit_(limit) {}
  // A slot for one stream, or nullptr-like (false) when all are taken.
  class Slot {
   public:
    explicit Slot(StreamSlots* owner) : owner_(owner) {}
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot(const Slot&) = delete;
    ~Slot() {
      if (owner_ != nullptr) owner_->open_.fetch_sub(1);
    }
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    StreamSlots* owner_;
  };
  Slot Take() {
    if (open_.fetch_add(1) >= limit_) {
      open_.fetch_sub(1);
      return Slot(nullptr);
    }
    return Slot(this);
  }
  int open() const { return open_.load(); }

 private:
  const int limit_;
  std::atomic<int> open_{0};
};

struct CoordinatorContext {
  JobStore& store;
  Scheduler& scheduler;
  EventHub& hub;      // job state, progress and checkpoints changed
  EventHub& log_hub;  // a log grew
  const TokenAuth& auth;
  WorkerCredentials& credentials;
  const DataRoots& roots;
  std::string data_dir;
  int slots = 1;
  CoordinatorLimits limits;
  StreamSlots streams{limits.max_streams};
  Deployments* deployments = nullptr;  // the models served from jobs (null: deploying is off)
};

}  // namespace hearth::coordinator
