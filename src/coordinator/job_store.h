// The coordinator's durable state: jobs, their events, checkpoints and sweeps, in one SQLite
// database (<data dir>/hearthd.db, WAL mode, synchronous=FULL so a SIGKILL of hearthd loses no
// committed write). Every method is one transaction.
//
// State changes are compare-and-set: UpdateJobIf changes a job only while it is in one of the
// states the caller expects (UPDATE ... WHERE state = ?), and the job is read, changed and written
// back inside that one transaction. So a cancel that races a finish, a restart or a progress
// report is either applied or refused; it can never resurrect an ended job or be overwritten.
//
// What a job accumulates is bounded (StoreLimits): the oldest step events beyond
// max_events_per_job are dropped (state, epoch, checkpoint and result events are kept), and
// checkpoints beyond max_checkpoints_per_job lose their oldest member that is neither the latest
// nor the best.
//
// Protos are stored as serialized bytes next to the columns queries need, so a new proto field
// needs no schema change. The schema has a version (PRAGMA user_version); opening a newer one is
// FAILED_PRECONDITION, an older one is migrated.
//
// Thread-safety: every method may be called from any thread; one connection is used by one
// thread at a time behind a mutex, so transactions never interleave.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/status.h"
#include "hearth/v1/coordinator.pb.h"

namespace hearth::coordinator {

struct StoredCheckpoint {
  v1::CheckpointInfo info;
  std::string path;  // the file in the data dir
};

struct StoreLimits {
  int max_events_per_job = 10000;
  int max_checkpoints_per_job = 100;
};

class JobStore {
 public:
  // Opens or creates the database at `path`. DataLoss for a file that is not a Hearth database.
  static StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path, StoreLimits limits = {});
  virtual ~JobStore() = default;

  // A new job in state QUEUED with a fresh id ("j-000001", "j-000002", ...), created_at now.
  virtual StatusOr<v1::Job> CreateJob(const v1::JobSpec& spec, int32_t workers,
                                      const std::string& sweep_id) = 0;
  // NotFound for an unknown id.
  virtual StatusOr<v1::Job> GetJob(const std::string& id) = 0;
  virtual StatusOr<int32_t> JobWorkers(const std::string& id) = 0;
  // Newest first (oldest first with `oldest_first`); `states` empty means all; limit <= 0 means
  // 100. With `older_than` (a job id), only jobs created before that one (the next page).
  virtual StatusOr<std::vector<v1::Job>> ListJobs(const std::vector<v1::JobState>& states,
                                                  int limit, const std::string& older_than = "",
                                                  bool oldest_first = false) = 0;
  // How many jobs are in these states.
  virtual StatusOr<int64_t> CountJobs(const std::vector<v1::JobState>& states) = 0;

  // The compare-and-set update: if the job's state is one of `expected` (any state when empty),
  // calls `change` on the stored job (an error from it aborts the update) and stores the result
  // (all fields but id and spec; `attempt` too), together with `event` when given, in one
  // transaction. FAILED_PRECONDITION "job j-000001 is SUCCEEDED" when the state did not match.
  // Returns the job as stored.
  virtual StatusOr<v1::Job> UpdateJobIf(const std::string& id,
                                        const std::vector<v1::JobState>& expected,
                                        const std::function<Status(v1::Job&)>& change,
                                        std::optional<v1::JobEvent> event = std::nullopt) = 0;

  // Appends an event, assigning the next sequence number (from 1) and returning it.
  virtual StatusOr<int64_t> AppendEvent(const std::string& job_id, v1::JobEvent event) = 0;
  // Events with sequence > after, in order, at most `limit` (<= 0: all).
  virtual StatusOr<std::vector<v1::JobEvent>> Events(const std::string& job_id, int64_t after,
                                                     int limit) = 0;

  // The job's current attempt (Job.attempt), cheaply.
  virtual StatusOr<int32_t> CurrentAttempt(const std::string& job_id) = 0;

  // Records a verified checkpoint file. The same step again is accepted only with the same
  // sha256 (then nothing changes); ALREADY_EXISTS otherwise. Returns the files of checkpoints
  // dropped to stay within max_checkpoints_per_job (delete them: no longer listed).
  struct Added {
    bool already_stored = false;
    std::vector<std::string> evicted_paths;
  };
  virtual StatusOr<Added> AddCheckpoint(const StoredCheckpoint& checkpoint, bool maximize) = 0;
  // A job's checkpoints, oldest step first, with `best` set on the best by metric (minimised or
  // maximised according to `maximize`), or on none if no checkpoint has a metric.
  virtual StatusOr<std::vector<StoredCheckpoint>> Checkpoints(const std::string& job_id,
                                                              bool maximize = false) = 0;
  // Every stored checkpoint of every job (the start-up consistency check).
  virtual StatusOr<std::vector<StoredCheckpoint>> AllCheckpoints() = 0;
  // Forgets one checkpoint (its file is the caller's).
  virtual Status RemoveCheckpoint(const std::string& job_id, int64_t step) = 0;

  // Sweeps: stored whole.
  virtual StatusOr<v1::Sweep> CreateSweep(const v1::SweepSpec& spec) = 0;
  virtual StatusOr<v1::Sweep> GetSweep(const std::string& id) = 0;
  virtual Status UpdateSweep(const v1::Sweep& sweep) = 0;
  // Sweeps still RUNNING (to resume after a restart).
  virtual StatusOr<std::vector<v1::Sweep>> ActiveSweeps() = 0;

  // PRAGMA integrity_check: OK when SQLite finds the file sound.
  virtual Status CheckIntegrity() = 0;
};

}  // namespace hearth::coordinator
