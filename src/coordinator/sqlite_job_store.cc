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
#include "absl/strings/str_join.h"
#include "coordinator/job_store.h"
#include "coordinator/sqlite.h"
#include "core/fault_injection.h"

namespace hearth::coordinator {
namespace {

using sqlite::Database;
using sqlite::Query;
using sqlite::Transaction;

// PRAGMA application_id: marks the file as hearthd's ("HRTH"), so a foreign SQLite database is
// refused rather than written into.
constexpr int64_t kApplicationId = 0x48525448;
// PRAGMA user_version. Bump it with every schema change and migrate older files in Migrate().
constexpr int64_t kSchemaVersion = 2;

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

// Version 2: events.kind, so the oldest step events can be dropped (StoreLimits) without parsing
// every event. Events from version 1 files are of unknown kind (0) and never dropped.
constexpr char kSchemaV2[] = R"sql(
ALTER TABLE events ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS events_by_kind ON events (job, kind, sequence);
)sql";

// events.kind values.
constexpr int64_t kEventOther = 1;
constexpr int64_t kEventStep = 2;

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
  SqliteJobStore(std::unique_ptr<Database> db, StoreLimits limits)
      : limits_(limits), db_(std::move(db)) {}

  // Checks the file is hearthd's (or empty), switches to WAL and creates or migrates the schema.
  Status Initialize();

  StatusOr<v1::Job> CreateJob(const v1::JobSpec& spec, int32_t workers,
                              const std::string& sweep_id) override;
  StatusOr<v1::Job> GetJob(const std::string& id) override;
  StatusOr<int32_t> JobWorkers(const std::string& id) override;
  StatusOr<std::vector<v1::Job>> ListJobs(const std::vector<v1::JobState>& states, int limit,
                                          const std::string& older_than,
                                          bool oldest_first) override;
  StatusOr<int64_t> CountJobs(const std::vector<v1::JobState>& states) override;
  StatusOr<v1::Job> UpdateJobIf(const std::string& id, const std::vector<v1::JobState>& expected,
                                const std::function<Status(v1::Job&)>& change,
                                std::optional<v1::JobEvent> event) override;

  StatusOr<int64_t> AppendEvent(const std::string& job_id, v1::JobEvent event) override;
  StatusOr<std::vector<v1::JobEvent>> Events(const std::string& job_id, int64_t after,
                                             int limit) override;

  StatusOr<int32_t> CurrentAttempt(const std::string& job_id) override;

  StatusOr<Added> AddCheckpoint(const StoredCheckpoint& checkpoint, bool maximize) override;
  StatusOr<std::vector<StoredCheckpoint>> Checkpoints(const std::string& job_id,
                                                      bool maximize) override;
  StatusOr<std::vector<StoredCheckpoint>> AllCheckpoints() override;
  Status RemoveCheckpoint(const std::string& job_id, int64_t step) override;

  StatusOr<v1::Sweep> CreateSweep(const v1::SweepSpec& spec) override;
  StatusOr<v1::Sweep> GetSweep(const std::string& id) override;
  Status UpdateSweep(const v1::Sweep& sweep) override;
  StatusOr<std::vector<v1::Sweep>> ActiveSweeps() override;

  Status CheckIntegrity() override;

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
  // A job from a row's columns: spec and job bytes, and the attempt column.
  StatusOr<v1::Job> JobFromRow(int64_t num, absl::string_view spec, absl::string_view job,
                               int64_t attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  StatusOr<v1::Sweep> SweepFromRow(int64_t num, absl::string_view bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // DataLoss for stored bytes that do not parse.
  template <typename Message>
  Status Parse(absl::string_view bytes, const std::string& what, Message& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AppendEvent's body, inside a caller's transaction.
  StatusOr<int64_t> InsertEvent(int64_t num, const std::string& job_id, v1::JobEvent event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checkpoints' body, inside a caller's transaction.
  StatusOr<std::vector<StoredCheckpoint>> ReadCheckpoints(int64_t num, const std::string& job_id,
                                                          bool maximize)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StoreLimits limits_;
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
  // Each step brings the file one version up. (Later versions add steps: if (version < 3).)
  if (version < 1) HEARTH_RETURN_IF_ERROR(db_->Exec(kSchemaV1));
  if (version < 2) HEARTH_RETURN_IF_ERROR(db_->Exec(kSchemaV2));
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
                                             absl::string_view job, int64_t attempt) {
  const std::string id = FormatId('j', num);
  v1::Job out;
  HEARTH_RETURN_IF_ERROR(Parse(job, absl::StrCat("job ", id), out));
  HEARTH_RETURN_IF_ERROR(Parse(spec, absl::StrCat("spec of job ", id), *out.mutable_spec()));
  out.set_id(id);
  out.set_attempt(static_cast<int32_t>(attempt));
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
    HEARTH_ASSIGN_OR_RETURN(Query query,
                            db_->Prepare("SELECT spec, job, attempt FROM jobs WHERE num = ?"));
    query.BindInt(0, *num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, query.Step());
    if (!found) return NoJob(id);
    return JobFromRow(*num, query.Blob(0), query.Blob(1), query.Int(2));
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

namespace {

// Distinct valid states only, so there are few distinct statements to prepare and cache; a job
// cannot be in an invalid state.
std::vector<int64_t> DistinctStates(const std::vector<v1::JobState>& states) {
  std::vector<int64_t> wanted;
  for (const v1::JobState state : states)
    if (v1::JobState_IsValid(state)) wanted.push_back(state);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  return wanted;
}

// " state IN (?, ?)" with one placeholder per state: only placeholders are spliced in.
std::string StateCondition(size_t states) {
  std::string sql = "state IN (?";
  for (size_t i = 1; i < states; ++i) sql += ", ?";
  return sql + ")";
}

}  // namespace

StatusOr<std::vector<v1::Job>> SqliteJobStore::ListJobs(const std::vector<v1::JobState>& states,
                                                        int limit, const std::string& older_than,
                                                        bool oldest_first) {
  const std::vector<int64_t> wanted = DistinctStates(states);
  if (!states.empty() && wanted.empty()) return std::vector<v1::Job>();
  std::optional<int64_t> before;
  if (!older_than.empty()) {
    before = ParseId('j', older_than);
    if (!before) return NoJob(older_than);
  }
  std::vector<std::string> conditions;
  if (!wanted.empty()) conditions.push_back(StateCondition(wanted.size()));
  if (before) conditions.push_back("num < ?");
  std::string sql = "SELECT num, spec, job, attempt FROM jobs";
  if (!conditions.empty()) sql += " WHERE " + absl::StrJoin(conditions, " AND ");
  // The row number, not created_at, orders by creation: the wall clock may step back.
  sql += oldest_first ? " ORDER BY num LIMIT ?" : " ORDER BY num DESC LIMIT ?";

  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<std::vector<v1::Job>> {
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare(sql));
    int index = 0;
    for (const int64_t state : wanted) query.BindInt(index++, state);
    if (before) query.BindInt(index++, *before);
    query.BindInt(index, limit <= 0 ? 100 : limit);
    std::vector<v1::Job> jobs;
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
      if (!row) break;
      HEARTH_ASSIGN_OR_RETURN(v1::Job job,
                              JobFromRow(query.Int(0), query.Blob(1), query.Blob(2), query.Int(3)));
      jobs.push_back(std::move(job));
    }
    return jobs;
  });
}

StatusOr<int64_t> SqliteJobStore::CountJobs(const std::vector<v1::JobState>& states) {
  const std::vector<int64_t> wanted = DistinctStates(states);
  if (!states.empty() && wanted.empty()) return 0;
  std::string sql = "SELECT count(*) FROM jobs";
  if (!wanted.empty()) sql += " WHERE " + StateCondition(wanted.size());
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> StatusOr<int64_t> {
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare(sql));
    for (size_t i = 0; i < wanted.size(); ++i) query.BindInt(static_cast<int>(i), wanted[i]);
    HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
    return row ? query.Int(0) : 0;
  });
}

StatusOr<v1::Job> SqliteJobStore::UpdateJobIf(const std::string& id,
                                              const std::vector<v1::JobState>& expected,
                                              const std::function<Status(v1::Job&)>& change,
                                              std::optional<v1::JobEvent> event) {
  if (event && event->time() == 0) event->set_time(NowSeconds());
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> StatusOr<v1::Job> {
    const std::optional<int64_t> num = ParseId('j', id);
    if (!num) return NoJob(id);
    v1::Job job;
    int64_t state = 0;
    {
      HEARTH_ASSIGN_OR_RETURN(
          Query read, db_->Prepare("SELECT spec, job, attempt, state FROM jobs WHERE num = ?"));
      read.BindInt(0, *num);
      HEARTH_ASSIGN_OR_RETURN(const bool found, read.Step());
      if (!found) return NoJob(id);
      HEARTH_ASSIGN_OR_RETURN(job, JobFromRow(*num, read.Blob(0), read.Blob(1), read.Int(2)));
      state = read.Int(3);
    }
    if (!expected.empty() && std::find(expected.begin(), expected.end(),
                                       static_cast<v1::JobState>(state)) == expected.end())
      return absl::FailedPreconditionError(
          absl::StrCat("job ", id, " is ", v1::JobState_Name(static_cast<v1::JobState>(state))));
    HEARTH_RETURN_IF_ERROR(change(job));
    // The key and the spec (its own column) are not part of the stored bytes.
    v1::Job stored = job;
    stored.clear_id();
    stored.clear_spec();
    stored.clear_attempt();
    {
      // The compare-and-set itself: the row changes only in the state it was read in.
      HEARTH_ASSIGN_OR_RETURN(
          Query update, db_->Prepare("UPDATE jobs SET state = ?, attempt = ?, job = ? WHERE num "
                                     "= ? AND state = ? RETURNING num"));
      update.BindInt(0, stored.state())
          .BindInt(1, job.attempt())
          .BindBlob(2, stored.SerializeAsString())
          .BindInt(3, *num)
          .BindInt(4, state);
      HEARTH_ASSIGN_OR_RETURN(const bool updated, update.Step());
      if (!updated) return absl::AbortedError(absl::StrCat("job ", id, " changed meanwhile"));
    }
    if (event) HEARTH_RETURN_IF_ERROR(InsertEvent(*num, id, *std::move(event)).status());
    faults::MaybeKill("crash", {{"point", "transaction"}, {"job", id}});
    return job;
  });
}

// ---------------------------------------------------------------------------------------------
// Events

StatusOr<int64_t> SqliteJobStore::InsertEvent(int64_t num, const std::string& job_id,
                                              v1::JobEvent event) {
  if (event.time() == 0) event.set_time(NowSeconds());
  int64_t sequence = 0;
  {
    // The counter lives in the job's row: the next sequence even after events were dropped.
    HEARTH_ASSIGN_OR_RETURN(
        Query bump, db_->Prepare("UPDATE jobs SET last_event = last_event + 1 WHERE num = ? "
                                 "RETURNING last_event"));
    bump.BindInt(0, num);
    HEARTH_ASSIGN_OR_RETURN(const bool found, bump.Step());
    if (!found) return NoJob(job_id);
    sequence = bump.Int(0);
  }
  event.set_sequence(sequence);
  const int64_t kind = event.has_step() ? kEventStep : kEventOther;
  {
    HEARTH_ASSIGN_OR_RETURN(
        Query insert,
        db_->Prepare("INSERT INTO events (job, sequence, event, kind) VALUES (?, ?, ?, ?)"));
    insert.BindInt(0, num)
        .BindInt(1, sequence)
        .BindBlob(2, event.SerializeAsString())
        .BindInt(3, kind);
    HEARTH_RETURN_IF_ERROR(insert.Run());
  }
  if (kind == kEventStep) {
    // Bounded: the oldest step events beyond the limit go (the index makes this a range scan).
    HEARTH_ASSIGN_OR_RETURN(
        Query prune,
        db_->Prepare("DELETE FROM events WHERE job = ?1 AND kind = ?2 AND sequence <= (SELECT "
                     "sequence FROM events WHERE job = ?1 AND kind = ?2 ORDER BY sequence DESC "
                     "LIMIT 1 OFFSET ?3)"));
    prune.BindInt(0, num).BindInt(1, kEventStep).BindInt(2, limits_.max_events_per_job);
    HEARTH_RETURN_IF_ERROR(prune.Run());
  }
  return sequence;
}

StatusOr<int64_t> SqliteJobStore::AppendEvent(const std::string& job_id, v1::JobEvent event) {
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> StatusOr<int64_t> {
    const std::optional<int64_t> num = ParseId('j', job_id);
    if (!num) return NoJob(job_id);
    return InsertEvent(*num, job_id, std::move(event));
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

StatusOr<std::vector<StoredCheckpoint>> SqliteJobStore::ReadCheckpoints(int64_t num,
                                                                        const std::string& job_id,
                                                                        bool maximize) {
  HEARTH_ASSIGN_OR_RETURN(
      Query query,
      db_->Prepare("SELECT step, path, info FROM checkpoints WHERE job = ? ORDER BY step"));
  query.BindInt(0, num);
  std::vector<StoredCheckpoint> checkpoints;
  std::optional<size_t> best;
  while (true) {
    HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
    if (!row) break;
    StoredCheckpoint& checkpoint = checkpoints.emplace_back();
    HEARTH_RETURN_IF_ERROR(Parse(query.Blob(2),
                                 absl::StrCat("checkpoint ", query.Int(0), " of job ", job_id),
                                 checkpoint.info));
    checkpoint.path = std::string(query.Text(1));
    if (!HasMetric(checkpoint.info)) continue;
    const size_t i = checkpoints.size() - 1;
    const double value = checkpoint.info.metric_value();
    // Ties go to the earlier checkpoint, as in CheckpointManager: a later one must be strictly
    // better.
    if (!best) {
      best = i;
    } else if (const double best_value = checkpoints[*best].info.metric_value();
               maximize ? value > best_value : value < best_value) {
      best = i;
    }
  }
  if (best) checkpoints[*best].info.set_best(true);
  return checkpoints;
}

StatusOr<JobStore::Added> SqliteJobStore::AddCheckpoint(const StoredCheckpoint& checkpoint,
                                                        bool maximize) {
  v1::CheckpointInfo info = checkpoint.info;
  info.clear_best();  // a property of the whole set, computed by Checkpoints()
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> StatusOr<Added> {
    HEARTH_ASSIGN_OR_RETURN(const int64_t num, JobNum(info.job_id()));
    Added added;
    HEARTH_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> stored,
                            ReadCheckpoints(num, info.job_id(), maximize));
    for (const StoredCheckpoint& c : stored) {
      if (c.info.step() != info.step()) continue;
      if (c.info.sha256() == info.sha256() && c.info.size_bytes() == info.size_bytes()) {
        added.already_stored = true;
        return added;
      }
      return absl::AlreadyExistsError(absl::StrCat(
          "step ", info.step(), " of job ", info.job_id(), " is already stored with other bytes (",
          c.info.size_bytes(), " bytes, sha256 ", c.info.sha256(),
          "); a checkpoint is never "
          "replaced"));
    }
    {
      HEARTH_ASSIGN_OR_RETURN(
          Query insert,
          db_->Prepare("INSERT INTO checkpoints (job, step, path, info) VALUES (?, ?, ?, ?)"));
      insert.BindInt(0, num)
          .BindInt(1, info.step())
          .BindText(2, checkpoint.path)
          .BindBlob(3, info.SerializeAsString());
      HEARTH_RETURN_IF_ERROR(insert.Run());
    }
    stored.push_back({info, checkpoint.path});
    // Over the limit: drop the oldest that is neither the newest nor the best (best as it stands
    // before this one; the new one is the newest).
    const int64_t excess = static_cast<int64_t>(stored.size()) - limits_.max_checkpoints_per_job;
    for (int64_t dropped = 0; dropped < excess;) {
      auto victim = std::find_if(stored.begin(), stored.end() - 1,
                                 [](const StoredCheckpoint& c) { return !c.info.best(); });
      if (victim == stored.end() - 1) break;
      HEARTH_ASSIGN_OR_RETURN(Query remove,
                              db_->Prepare("DELETE FROM checkpoints WHERE job = ? AND step = ?"));
      remove.BindInt(0, num).BindInt(1, victim->info.step());
      HEARTH_RETURN_IF_ERROR(remove.Run());
      added.evicted_paths.push_back(victim->path);
      stored.erase(victim);
      ++dropped;
    }
    return added;
  });
}

StatusOr<std::vector<StoredCheckpoint>> SqliteJobStore::Checkpoints(const std::string& job_id,
                                                                    bool maximize) {
  return InTransaction(Transaction::Mode::kDeferred,
                       [&]() -> StatusOr<std::vector<StoredCheckpoint>> {
                         HEARTH_ASSIGN_OR_RETURN(const int64_t num, JobNum(job_id));
                         return ReadCheckpoints(num, job_id, maximize);
                       });
}

StatusOr<std::vector<StoredCheckpoint>> SqliteJobStore::AllCheckpoints() {
  return InTransaction(
      Transaction::Mode::kDeferred, [&]() -> StatusOr<std::vector<StoredCheckpoint>> {
        HEARTH_ASSIGN_OR_RETURN(
            Query query, db_->Prepare("SELECT job, step, path, info FROM checkpoints ORDER BY "
                                      "job, step"));
        std::vector<StoredCheckpoint> all;
        while (true) {
          HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
          if (!row) break;
          StoredCheckpoint& checkpoint = all.emplace_back();
          HEARTH_RETURN_IF_ERROR(Parse(
              query.Blob(3), absl::StrCat("checkpoint ", query.Int(1), " of job ", query.Int(0)),
              checkpoint.info));
          checkpoint.path = std::string(query.Text(2));
        }
        return all;
      });
}

Status SqliteJobStore::RemoveCheckpoint(const std::string& job_id, int64_t step) {
  return InTransaction(Transaction::Mode::kImmediate, [&]() -> Status {
    HEARTH_ASSIGN_OR_RETURN(const int64_t num, JobNum(job_id));
    HEARTH_ASSIGN_OR_RETURN(Query remove,
                            db_->Prepare("DELETE FROM checkpoints WHERE job = ? AND step = ?"));
    remove.BindInt(0, num).BindInt(1, step);
    return remove.Run();
  });
}

Status SqliteJobStore::CheckIntegrity() {
  return InTransaction(Transaction::Mode::kDeferred, [&]() -> Status {
    HEARTH_ASSIGN_OR_RETURN(Query query, db_->Prepare("PRAGMA integrity_check"));
    HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
    const std::string result = row ? std::string(query.Text(0)) : "no answer";
    if (result == "ok") return absl::OkStatus();
    return absl::DataLossError(absl::StrCat(db_->path(), ": integrity check failed: ", result));
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

StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path, StoreLimits limits) {
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
  auto store = std::make_unique<SqliteJobStore>(std::move(db), limits);
  HEARTH_RETURN_IF_ERROR(store->Initialize());
  return std::unique_ptr<JobStore>(std::move(store));
}

}  // namespace hearth::coordinator
