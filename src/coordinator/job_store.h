// The coordinator's durable state: jobs, their events, checkpoints and sweeps, in one SQLite
// database (<data dir>/hearthd.db, WAL mode, synchronous=FULL so a SIGKILL of hearthd loses no
// committed write). Every method is one transaction. Thread-safe (one connection behind a mutex;
// the coordinator's write rate is a few per second per job).
//
// Protos are stored as serialized bytes next to the columns queries need, so a new proto field
// needs no schema change. The schema has a version (PRAGMA user_version); opening a newer one is
// FAILED_PRECONDITION.
#pragma once

#include <cstdint>
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

class JobStore {
 public:
  // Opens or creates the database at `path`. DataLoss for a file that is not a Hearth database.
  static StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path);
  virtual ~JobStore() = default;

  // A new job in state QUEUED with a fresh id ("j-000001", "j-000002", ...), created_at now.
  virtual StatusOr<v1::Job> CreateJob(const v1::JobSpec& spec, int32_t workers,
                                      const std::string& sweep_id) = 0;
  // NotFound for an unknown id.
  virtual StatusOr<v1::Job> GetJob(const std::string& id) = 0;
  virtual StatusOr<int32_t> JobWorkers(const std::string& id) = 0;
  // Newest first; `states` empty means all; limit <= 0 means 100.
  virtual StatusOr<std::vector<v1::Job>> ListJobs(const std::vector<v1::JobState>& states,
                                                  int limit) = 0;
  // Replaces the stored job (all fields but id and spec) with `job`.
  virtual Status UpdateJob(const v1::Job& job) = 0;

  // Appends an event, assigning the next sequence number (from 1) and returning it.
  virtual StatusOr<int64_t> AppendEvent(const std::string& job_id, v1::JobEvent event) = 0;
  // Events with sequence > after, in order, at most `limit` (<= 0: all).
  virtual StatusOr<std::vector<v1::JobEvent>> Events(const std::string& job_id, int64_t after,
                                                     int limit) = 0;

  // The attempt counter (0 at creation): bumped on every (re)start so late reports from an older
  // attempt's workers can be refused.
  virtual StatusOr<int32_t> NextAttempt(const std::string& job_id) = 0;
  virtual StatusOr<int32_t> CurrentAttempt(const std::string& job_id) = 0;

  // Records a verified checkpoint file (replacing one of the same job and step).
  virtual Status AddCheckpoint(const StoredCheckpoint& checkpoint) = 0;
  // A job's checkpoints, oldest step first, with `best` set on the best by metric (minimised or
  // maximised according to `maximize`), or on none if no checkpoint has a metric.
  virtual StatusOr<std::vector<StoredCheckpoint>> Checkpoints(const std::string& job_id,
                                                              bool maximize = false) = 0;

  // Sweeps: stored whole.
  virtual StatusOr<v1::Sweep> CreateSweep(const v1::SweepSpec& spec) = 0;
  virtual StatusOr<v1::Sweep> GetSweep(const std::string& id) = 0;
  virtual Status UpdateSweep(const v1::Sweep& sweep) = 0;
  // Sweeps still RUNNING (to resume after a restart).
  virtual StatusOr<std::vector<v1::Sweep>> ActiveSweeps() = 0;
};

}  // namespace hearth::coordinator
