// What both services share: the store, the scheduler, authentication, the data roots and the
// request limits. Owned by hearthd's main; the services hold a reference.
#pragma once

#include <string>

#include "coordinator/auth.h"
#include "coordinator/data_roots.h"
#include "coordinator/event_hub.h"
#include "coordinator/job_store.h"
#include "coordinator/scheduler.h"

namespace hearth::coordinator {

struct CoordinatorContext {
  JobStore& store;
  Scheduler& scheduler;
  EventHub& hub;
  const TokenAuth& auth;
  const DataRoots& roots;
  std::string data_dir;
  int slots = 1;
  // Checkpoint uploads above this are RESOURCE_EXHAUSTED.
  int64_t max_checkpoint_bytes = int64_t{4} << 30;
};

// Where an uploaded checkpoint is kept: <data dir>/checkpoints/<job>/ckpt-<step>.safetensors.
std::string StoredCheckpointPath(const std::string& data_dir, const std::string& job_id,
                                 int64_t step);

}  // namespace hearth::coordinator
