// JobStore on SQLite: the schema, its version check, and one transaction per method.
//
// Rows are keyed by an AUTOINCREMENT number, from which the ids are derived ("j-%06d",
// "s-%06d"), so an id is never handed out twice, even after the newest row is deleted by hand.
// Each row keeps the proto as serialized bytes next to the few columns that queries filter or
// count on; the bytes leave out what the columns (or the key) already hold.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/job_store.h"
#include "coordinator/sqlite.h"

namespace hearth::coordinator {
namespace {

using sqlite::Database;
using sqlite::Query;
using sqlite::Transaction;

// PRAGMA application_id: marks the file as hearthd's ("HRTH"), so a foreign SQLite database is
// refused rather than written into.
constexpr int64_t kApplicationId = 0x48525448;
// PRAGMA user_version. Bump it with every schema change and migrate older files in Migrate().
constexpr int64_t kSchemaVersion = 1;

// Version 1. CREATE ... IF NOT EXISTS throughout, so the script is safe to run on any version-1
// file. The foreign keys document the relations (and are enforced: foreign_keys is on).
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  num INTEGER PRIMARY KEY AUTOINCREMENT,  -- the id is "j-%06d" of this
  state INTEGER NOT NULL,                 -- v1::JobState
  created_at REAL NOT NULL,
  sweep_id TEXT NOT NULL,
  workers INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  last_event INTEGER NOT NULL,            -- the sequence of the newest event (0: none)
  spec BLOB NOT NULL,                     -- v1::JobSpec
  job BLOB NOT NULL                       -- v1::Job without id and spec
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
CREATE INDEX IF NOT EXISTS jobs_by_created_at ON jobs (created_at);
CREATE INDEX IF NOT EXISTS jobs_by_sweep ON jobs (sweep_id);

CREATE TABLE IF NOT EXISTS events (
  job INTEGER NOT NULL REFERENCES jobs (num),
  sequence INTEGER NOT NULL,
  event BLOB NOT NULL,                    -- v1::JobEvent, sequence included
  PRIMARY KEY (job, sequence)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS checkpoints (
  job INTEGER NOT NULL REFERENCES jobs (num),
  step INTEGER NOT NULL,
  path TEXT NOT NULL,
  info BLOB NOT NULL,                     -- v1::CheckpointInfo; `best` is computed on reading
  PRIMARY KEY (job, step)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sweeps (
  num INTEGER PRIMARY KEY AUTOINCREMENT,  -- the id is "s-%06d" of this
  state INTEGER NOT NULL,                 -- v1::JobState
  created_at REAL NOT NULL,
  sweep BLOB NOT NULL                     -- v1::Sweep without id
);
CREATE INDEX IF NOT EXISTS sweeps_by_state ON sweeps (state);
)sql";

// SQLite waits this long for another connection's lock (a second hearthd, a backup) before
// reporting SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 5000;

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string FormatId(char prefix, int64_t num) {
  return absl::StrFormat("%c-%06d", prefix, num);
}

// The row number of an id written by FormatId, or nullopt for anything else ("j-42", "x").
std::optional<int64_t> ParseId(char prefix, absl::string_view id) {
  if (id.size() < 3 || id[0] != prefix || id[1] != '-') return std::nullopt;
  int64_t num = 0;
  const auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), num);
  if (ec != std::errc() || end != id.data() + id.size() || num < 1) return std::nullopt;
  if (FormatId(prefix, num) != id) return std::nullopt;
  return num;
}

Status NoJob(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("no job \"", id, "\""));
}

Status NoSweep(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("no sweep \"", id, "\""));
}

// A checkpoint with a metric can be the best; NaN never wins.
bool HasMetric(const v1::CheckpointInfo& info) {
  return !info.metric_name().empty() && !std::isnan(info.metric_value());
}

// Thread-safe: every method holds mu_ for its whole transaction, so the one connection is used by
// one thread at a time and transactions never interleave. (Writes fsync under the lock; the
// coordinator's write rate is low enough for that.)
class SqliteJobStore final : public JobStore {
 public:
  explicit SqliteJobStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  // Checks the file is hearthd's (or empty), switches to WAL and creates or migrates the schema.
  Status Initialize();

  StatusOr<v1::Job> CreateJob(const v1::JobSpec& spec, int32_t workers,
                              const std::string& sweep_id) override;
  StatusOr<v1::Job> GetJob(const std::string& id) override;
  StatusOr<int32_t> JobWorkers(const std::string& id) override;
  StatusOr<std::vector<v1::Job>> ListJobs(const std::vector<v1::JobState>& states,
                                          int limit) override;
  Status UpdateJob(const v1::Job& job) override;

  StatusOr<int64_t> AppendEvent(const std::string& job_id, v1::JobEvent event) override;
  StatusOr<std::vector<v1::JobEvent>> Events(const std::string& job_id, int64_t after,
                                             int limit) override;

  StatusOr<int32_t> NextAttempt(const std::string& job_id) override;
  StatusOr<int32_t> CurrentAttempt(const std::string& job_id) override;

  Status AddCheckpoint(const StoredCheckpoint& checkpoint) override;
  StatusOr<std::vector<StoredCheckpoint>> Checkpoints(const std::string& job_id,
                                                      bool maximize) override;

  StatusOr<v1::Sweep> CreateSweep(const v1::SweepSpec& spec) override;
  StatusOr<v1::Sweep> GetSweep(const std::string& id) override;
  Status UpdateSweep(const v1::Sweep& sweep) override;
  StatusOr<std::vector<v1::Sweep>> ActiveSweeps() override;

 private:
  // Runs `body` (returning Status or StatusOr) in one transaction under the mutex: committed when
  // it succeeds, rolled back otherwise. Read-only methods use a deferred transaction, which never
  // takes the write lock; writers take it up front (BEGIN IMMEDIATE).
  template <typename Body>
  auto InTransaction(Transaction::Mode mode, Body&& body) -> decltype(body());

  // Checks the file's application_id and user_version (see Initialize).
  Status CheckHeader() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The job's row number; NotFound for an unknown id.
  StatusOr<int64_t> JobNum(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A job from a row's columns: spec and job bytes.
  StatusOr<v1::Job> JobFromRow(int64_t num, absl::string_view spec, absl::string_view job)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<v1::Sweep> SweepFromRow(int64_t num, absl::string_view bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // DataLoss for stored bytes that do not parse.
  template <typename Message>
  Status Parse(absl::string_view bytes, const std::string& what, Message& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mu_);
};

template <typename Body>
auto SqliteJobStore::InTransaction(Transaction::Mode mode, Body&& body) -> decltype(body()) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(*db_, mode));
  // Every Query inside `body` is reset by the time it returns, before the COMMIT.
  auto result = body();
  if (!result.ok()) return result;  // ~Transaction rolls back
  HEARTH_RETURN_IF_ERROR(transaction.Commit());
  return result;
}

template <typename Message>
Status SqliteJobStore::Parse(absl::string_view bytes, const std::string& what, Message& out) {
  if (out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(db_->path(), ": the stored ", what,
                                          " does not parse: the database is damaged; restore it "
                                          "from a backup"));
}

Status SqliteJobStore::CheckHeader() {
  // The first read of the file: a file that is not SQLite fails here (DataLoss, see
  // sqlite::ErrorStatus).
  HEARTH_ASSIGN_OR_RETURN(const int64_t application_id, db_->PragmaInt("application_id"));
  HEARTH_ASSIGN_OR_RETURN(const int64_t version, db_->PragmaInt("user_version"));
  const std::string& path = db_->path();
  const auto foreign = [&path] {
    return absl::DataLossError(absl::StrCat(
        path,
        " is an SQLite database of another program, not a hearthd database: point hearthd at "
        "another data dir, or move the file aside (hearthd then starts with an empty one)"));
  };
  if (application_id != 0 && application_id != kApplicationId) return foreign();
  if (version > kSchemaVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has schema version ", version, ", newer than this hearthd's (", kSchemaVersion,
        "): it was written by a newer hearthd; run that one (or a newer one) instead"));
  if (application_id == 0) {
    // Not marked as ours: only an empty database (a new or zero-length file) may become ours.
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("SELECT count(*) FROM sqlite_schema"));
    HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
    if (!row || query.Int(0) != 0 || version != 0) return foreign();
  }
  return absl::OkStatus();
}

Status SqliteJobStore::Migrate() {
  HEARTH_ASSIGN_OR_RETURN(const int64_t version, db_->PragmaInt("user_version"));
  if (version == kSchemaVersion) return absl::OkStatus();
  // version 0: a new file. (Later versions add steps here: if (version < 2) {...}.)
  HEARTH_RETURN_IF_ERROR(db_->Exec(kSchemaV1));
  // PRAGMAs take no parameters; both values are this file's constants.
  HEARTH_RETURN_IF_ERROR(db_->Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId)));
  return db_->Exec(absl::StrCat("PRAGMA user_version = ", kSchemaVersion));
}

Status SqliteJobStore::Initialize() {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(db_->Exec(absl::StrCat("PRAGMA busy_timeout = ", kBusyTimeoutMs)));
  // Before anything that writes: a foreign file must be left as it was.
  HEARTH_RETURN_IF_ERROR(CheckHeader());
  {
    // journal_mode answers with the mode in force; it stays "delete" where WAL is impossible.
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("PRAGMA journal_mode = WAL"));
    HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
    const std::string mode = row ? std::string(query.Text(0)) : "";
    if (mode != "wal")
      return absl::FailedPreconditionError(
          absl::StrCat(db_->path(), ": cannot switch to WAL journaling (the journal mode stays \"",
                       mode, "\"): put the data dir on a local filesystem"));
  }
  // FULL: a commit is on disk (the WAL fsynced) before it returns, so a SIGKILL or power loss
  // loses no acknowledged write.
  HEARTH_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous = FULL"));
  HEARTH_RETURN_IF_ERROR(db_->Exec("PRAGMA foreign_keys = ON"));
  HEARTH_ASSIGN_OR_RETURN(Transaction transaction,
                          Transaction::Begin(*db_, Transaction::Mode::kImmediate));
  // Again under the write lock: another process may have created or upgraded the file meanwhile.
  HEARTH_RETURN_IF_ERROR(CheckHeader());
  HEARTH_RETURN_IF_ERROR(Migrate());
  return transaction.Commit();
}

StatusOr<int64_t> SqliteJobStore::JobNum(const std::string& id) {
  const std::optional<int64_t> num = ParseId('j', id);
  if (!num) return NoJob(id);
  HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("SELECT 1 FROM jobs WHERE num = ?"));
  query.BindInt(0, *num);
  HEARTH_ASSIGN_OR_RETURN(const bool found, query.Step());
  if (!found) return NoJob(id);
  return *num;
}

StatusOr<v1::Job> SqliteJobStore::JobFromRow(int64_t num, absl::string_view spec,
                                             absl::string_view job) {
  const std::string id = FormatId('j', num);
  v1::Job out;
  HEARTH_RETURN_IF_ERROR(Parse(job, absl::StrCat("job ", id), out));
  HEARTH_RETURN_IF_ERROR(Parse(spec, absl::StrCat("spec of job ", id), *out.mutable_spec()));
  out.set_id(id);
  return out;
}

StatusOr<v1::Sweep> SqliteJobStore::SweepFromRow(int64_t num, absl::string_view bytes) {
  const std::string id = FormatId('s', num);
  v1::Sweep out;
  HEARTH_RETURN_IF_ERROR(Parse(bytes, absl::StrCat("sweep ", id), out));
  out.set_id(id);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Jobs

StatusOr<v1::Job> SqliteJobStore::CreateJob(const v1::JobSpec& spec, int32_t workers,
                                            const std::string& sweep_id) {
  v1::Job job;
  job.set_state(v1::QUEUED);
  job.set_created_at(NowSeconds());
  job.set_sweep_id(sweep_id);
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> StatusOr<v1::Job> {
    HEARTH_ASSIGN_OR_RETURN(
        Query insert,
        db_->Prepare("INSERT INTO jobs (state, created_at, sweep_id, workers, attempt, "
                     "last_event, spec, job) VALUES (?, ?, ?, ?, 0, 0, ?, ?) RETURNING num"));
    insert.BindInt(0, job.state())
        .BindDouble(1, job.created_at())
        .BindText(2, sweep_id)
        .BindInt(3, workers)
        .BindBlob(4, spec.SerializeAsString())
        .BindBlob(5, job.SerializeAsString());
    HEARTH_ASSIGN_OR_RETURN(const bool row, insert.Step());
    if (!row) return absl::InternalError("INSERT INTO jobs returned no row number");
    job.set_id(FormatId('j', insert.Int(0)));
    *job.mutable_spec() = spec;
    return job;
  });
}

StatusOr<v1::Job> SqliteJobStore::GetJob(const std::string& id) {
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<v1::Job> {
    const std::optional<int64_t> num = ParseId('j', id);
    if (!num) return NoJob(id);
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("SELECT spec, job FROM jobs WHERE num = ?"));
    query.BindInt(0, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, query.Step());
    if (!found) return NoJob(id);
    return JobFromRow(*num, query.Blob(0), query.Blob(1));
  });
}

StatusOr<int32_t> SqliteJobStore::JobWorkers(const std::string& id) {
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<int32_t> {
    const std::optional<int64_t> num = ParseId('j', id);
    if (!num) return NoJob(id);
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("SELECT workers FROM jobs WHERE num = ?"));
    query.BindInt(0, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, query.Step());
    if (!found) return NoJob(id);
    return static_cast<int32_t>(query.Int(0));
  });
}

StatusOr<std::vector<v1::Job>> SqliteJobStore::ListJobs(const std::vector<v1::JobState>& states,
                                                        int limit) {
  // Distinct valid states only, so there are few distinct statements to prepare and cache; a job
  // cannot be in an invalid state.
  std::vector<int64_t> wanted;
  for (const v1::JobState state : states)
    if (v1::JobState_IsValid(state)) wanted.push_back(state);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  if (!states.empty() && wanted.empty()) return std::vector<v1::Job>();

  // Only placeholders are spliced in: one per state.
  std::string sql = "SELECT num, spec, job FROM jobs";
  if (!wanted.empty()) {
    sql += " WHERE state IN (?";
    for (size_t i = 1; i < wanted.size(); ++i) sql += ", ?";
    sql += ")";
  }
  // The row number, not created_at, orders by creation: the wall clock may step back.
  sql += " ORDER BY num DESC LIMIT ?";

  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<std::vector<v1::Job>> {
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare(sql));
    for (size_t i = 0; i < wanted.size(); ++i) query.BindInt(static_cast<int>(i), wanted[i]);
    query.BindInt(static_cast<int>(wanted.size()), limit <= 0 ? 100 : limit);
    std::vector<v1::Job> jobs;
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) break;
      HEARTH_ASSIGN_OR_RETURN(v1::Job job, JobFromRow(query.Int(0), query.Blob(1), query.Blob(2)));
      jobs.push_back(std::move(job));
    }
    return jobs;
  });
}

Status SqliteJobStore::UpdateJob(const v1::Job& job) {
  // The key and the spec (its own column) are not part of the stored bytes.
  v1::Job stored = job;
  stored.clear_id();
  stored.clear_spec();
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> Status {
    const std::optional<int64_t> num = ParseId('j', job.id());
    if (!num) return NoJob(job.id());
    HEARTH_ASSIGN_OR_RETURN(Query update,
                            db_->Prepare("UPDATE jobs SET state = ?, created_at = ?, sweep_id = ?, "
                                         "job = ? WHERE num = ? RETURNING num"));
    update.BindInt(0, stored.state())
        .BindDouble(1, stored.created_at())
        .BindText(2, stored.sweep_id())
        .BindBlob(3, stored.SerializeAsString())
        .BindInt(4, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, update.Step());
    if (!found) return NoJob(job.id());
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// Events

StatusOr<int64_t> SqliteJobStore::AppendEvent(const std::string& job_id, v1::JobEvent event) {
  if (event.time() == 0) event.set_time(NowSeconds());
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> StatusOr<int64_t> {
    const std::optional<int64_t> num = ParseId('j', job_id);
    if (!num) return NoJob(job_id);
    int64_t sequence = 0;
    {
      // The counter lives in the job's row: the next sequence even if events were ever pruned.
      HEARTH_ASSIGN_OR_RETURN(
          Query bump, db_->Prepare("UPDATE jobs SET last_event = last_event + 1 WHERE num = ? "
                                   "RETURNING last_event"));
      bump.BindInt(0, *num);
      HEARTH_ASSIGN_OR_RETURN(const bool found, bump.Step());
      if (!found) return NoJob(job_id);
      sequence = bump.Int(0);
    }
    event.set_sequence(sequence);
    HEARTH_ASSIGN_OR_RETURN(
        Query insert, db_->Prepare("INSERT INTO events (job, sequence, event) VALUES (?, ?, ?)"));
    insert.BindInt(0, *num).BindInt(1, sequence).BindBlob(2, event.SerializeAsString());
    HEARTH_RETURN_IF_ERROR(insert.Run());
    return sequence;
  });
}

StatusOr<std::vector<v1::JobEvent>> SqliteJobStore::Events(const std::string& job_id, int64_t after,
                                                           int limit) {
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<std::vector<v1::JobEvent>> {
    HEARTH_ASSIGN_OR_RETURN(const int64_t num, JobNum(job_id));
    HEARTH_ASSIGN_OR_RETURN(Query query,
                            db_->Prepare("SELECT sequence, event FROM events WHERE job = ? AND "
                                         "sequence > ? ORDER BY sequence LIMIT ?"));
    // A negative LIMIT is no limit in SQLite.
    query.BindInt(0, num).BindInt(1, after).BindInt(2, limit <= 0 ? -1 : limit);
    std::vector<v1::JobEvent> events;
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) break;
      v1::JobEvent& event = events.emplace_back();
      HEARTH_RETURN_IF_ERROR(
          Parse(query.Blob(1), absl::StrCat("event ", query.Int(0), " of job ", job_id), event));
    }
    return events;
  });
}

// ---------------------------------------------------------------------------------------------
// Attempts

StatusOr<int32_t> SqliteJobStore::NextAttempt(const std::string& job_id) {
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> StatusOr<int32_t> {
    const std::optional<int64_t> num = ParseId('j', job_id);
    if (!num) return NoJob(job_id);
    HEARTH_ASSIGN_OR_RETURN(
        Query bump,
        db_->Prepare("UPDATE jobs SET attempt = attempt + 1 WHERE num = ? RETURNING attempt"));
    bump.BindInt(0, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, bump.Step());
    if (!found) return NoJob(job_id);
    return static_cast<int32_t>(bump.Int(0));
  });
}

StatusOr<int32_t> SqliteJobStore::CurrentAttempt(const std::string& job_id) {
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<int32_t> {
    const std::optional<int64_t> num = ParseId('j', job_id);
    if (!num) return NoJob(job_id);
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("SELECT attempt FROM jobs WHERE num = ?"));
    query.BindInt(0, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, query.Step());
    if (!found) return NoJob(job_id);
    return static_cast<int32_t>(query.Int(0));
  });
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

Status SqliteJobStore::AddCheckpoint(const StoredCheckpoint& checkpoint) {
  v1::CheckpointInfo info = checkpoint.info;
  info.clear_best();  // a property of the whole set, computed by Checkpoints()
  if (info.id().empty()) info.set_id(absl::StrCat(info.job_id(), "/", info.step()));
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> Status {
    HEARTH_ASSIGN_OR_RETURN(const int64_t num, JobNum(info.job_id()));
    HEARTH_ASSIGN_OR_RETURN(Query insert,
                            db_->Prepare("INSERT OR REPLACE INTO checkpoints (job, step, path, "
                                         "info) VALUES (?, ?, ?, ?)"));
    insert.BindInt(0, num)
        .BindInt(1, info.step())
        .BindText(2, checkpoint.path)
        .BindBlob(3, info.SerializeAsString());
    return insert.Run();
  });
}

StatusOr<std::vector<StoredCheckpoint>> SqliteJobStore::Checkpoints(const std::string& job_id,
                                                                    bool maximize) {
  return InTransaction(
      Transaction::Mode::kDeferred, [&]() -> StatusOr<std::vector<StoredCheckpoint>> {
        HEARTH_ASSIGN_OR_RETURN(const int64_t num, JobNum(job_id));
        HEARTH_ASSIGN_OR_RETURN(
            Query query, db_->Prepare("SELECT step, path, info FROM checkpoints WHERE job = ? "
                                      "ORDER BY step"));
        query.BindInt(0, num);
        std::vector<StoredCheckpoint> checkpoints;
        std::optional<size_t> best;
        while (true) {
          HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
          if (!row) break;
          StoredCheckpoint& checkpoint = checkpoints.emplace_back();
          HEARTH_RETURN_IF_ERROR(
              Parse(query.Blob(2), absl::StrCat("checkpoint ", query.Int(0), " of job ", job_id),
                    checkpoint.info));
          checkpoint.path = std::string(query.Text(1));
          if (!HasMetric(checkpoint.info)) continue;
          const size_t i = checkpoints.size() - 1;
          const double value = checkpoint.info.metric_value();
          // Ties go to the earlier checkpoint, as in CheckpointManager: a later one must be
          // strictly better.
          if (!best) {
            best = i;
          } else if (const double best_value = checkpoints[*best].info.metric_value();
                     maximize ? value > best_value : value < best_value) {
            best = i;
          }
        }
        if (best) checkpoints[*best].info.set_best(true);
        return checkpoints;
      });
}

// ---------------------------------------------------------------------------------------------
// Sweeps

StatusOr<v1::Sweep> SqliteJobStore::CreateSweep(const v1::SweepSpec& spec) {
  v1::Sweep sweep;
  *sweep.mutable_spec() = spec;
  sweep.set_state(v1::RUNNING);
  sweep.set_best_trial(-1);  // no trial has a metric yet
  sweep.set_created_at(NowSeconds());
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> StatusOr<v1::Sweep> {
    HEARTH_ASSIGN_OR_RETURN(
        Query insert, db_->Prepare("INSERT INTO sweeps (state, created_at, sweep) VALUES (?, ?, ?) "
                                   "RETURNING num"));
    insert.BindInt(0, sweep.state())
        .BindDouble(1, sweep.created_at())
        .BindBlob(2, sweep.SerializeAsString());
    HEARTH_ASSIGN_OR_RETURN(const bool row, insert.Step());
    if (!row) return absl::InternalError("INSERT INTO sweeps returned no row number");
    sweep.set_id(FormatId('s', insert.Int(0)));
    return sweep;
  });
}

StatusOr<v1::Sweep> SqliteJobStore::GetSweep(const std::string& id) {
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<v1::Sweep> {
    const std::optional<int64_t> num = ParseId('s', id);
    if (!num) return NoSweep(id);
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("SELECT sweep FROM sweeps WHERE num = ?"));
    query.BindInt(0, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, query.Step());
    if (!found) return NoSweep(id);
    return SweepFromRow(*num, query.Blob(0));
  });
}

Status SqliteJobStore::UpdateSweep(const v1::Sweep& sweep) {
  v1::Sweep stored = sweep;
  stored.clear_id();
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> Status {
    const std::optional<int64_t> num = ParseId('s', sweep.id());
    if (!num) return NoSweep(sweep.id());
    HEARTH_ASSIGN_OR_RETURN(
        Query update, db_->Prepare("UPDATE sweeps SET state = ?, created_at = ?, sweep = ? WHERE "
                                   "num = ? RETURNING num"));
    update.BindInt(0, stored.state())
        .BindDouble(1, stored.created_at())
        .BindBlob(2, stored.SerializeAsString())
        .BindInt(3, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, update.Step());
    if (!found) return NoSweep(sweep.id());
    return absl::OkStatus();
  });
}

StatusOr<std::vector<v1::Sweep>> SqliteJobStore::ActiveSweeps() {
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<std::vector<v1::Sweep>> {
    HEARTH_ASSIGN_OR_RETURN(
        Query query, db_->Prepare("SELECT num, sweep FROM sweeps WHERE state = ? ORDER BY num"));
    query.BindInt(0, v1::RUNNING);
    std::vector<v1::Sweep> sweeps;
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) break;
      HEARTH_ASSIGN_OR_RETURN(v1::Sweep sweep, SweepFromRow(query.Int(0), query.Blob(1)));
      sweeps.push_back(std::move(sweep));
    }
    return sweeps;
  });
}

}  // namespace

StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
  auto store = std::make_unique<SqliteJobStore>(std::move(db));
  HEARTH_RETURN_IF_ERROR(store->Initialize());
  return std::unique_ptr<JobStore>(std::move(store));
}

}  // namespace hearth::coordinator
