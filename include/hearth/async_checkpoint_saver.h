// Checkpoint saves that do not stop training: the checkpoint is copied, and a thread of its own
// writes, fsyncs and verifies it while the next steps run (PyTorch DCP's async_save and Orbax's
// AsyncCheckpointer work this way). With several workers, only rank 0 saves, and the others
// would otherwise wait for its disk at their next allreduce.
//
// At most one save is in flight: Save waits for the previous one first, so memory holds at most
// one extra copy of the checkpoint. A failed save is reported by the next Save or by Wait;
// nothing saved before it is lost (CheckpointManager's guarantee), and a process killed mid-save
// keeps every checkpoint that completed.
//
// Thread-safety: one thread (rank 0's training thread) calls Save and Wait; the save runs on a
// thread of its own, which alone touches the manager and last_ until it is joined.
#pragma once

#include <cstdint>
#include <optional>
#include <thread>

#include "hearth/checkpoint.h"

namespace hearth {

// A copy of `checkpoint` that shares no tensor memory with it (training goes on changing the
// parameters and optimizer state it points at).
Checkpoint SnapshotCheckpoint(const Checkpoint& checkpoint);

class AsyncCheckpointSaver {
 public:
  // `manager` must outlive the saver, and is only to be used while no save is in flight (after
  // Wait), since CheckpointManager is not thread-safe.
  explicit AsyncCheckpointSaver(CheckpointManager& manager) : manager_(manager) {}
  ~AsyncCheckpointSaver();  // waits for the save in flight
  AsyncCheckpointSaver(const AsyncCheckpointSaver&) = delete;
  AsyncCheckpointSaver& operator=(const AsyncCheckpointSaver&) = delete;

  // Waits for the previous save. If it failed, returns its error and starts nothing; otherwise
  // starts saving `snapshot` (see SnapshotCheckpoint) as CheckpointManager::Save would, and
  // returns at once.
  Status Save(int64_t step, Checkpoint snapshot, std::optional<MonitoredMetric> metric);

  // Waits for the save in flight; returns its status (OK when there was none). Once it returns,
  // the manager's records include every save that succeeded.
  Status Wait();

 private:
  CheckpointManager& manager_;
  std::thread in_flight_;
  Status last_;  // of the save in flight, written by its thread, read after the join
};

}  // namespace hearth
