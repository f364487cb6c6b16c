// The RAII layer over SQLite's C API (see sqlite.h).
#include "coordinator/sqlite.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace hearth::coordinator::sqlite {
namespace {

// Long statements (the schema) would drown the error; their start is enough to find them.
std::string Abbreviate(absl::string_view sql) {
  constexpr size_t kMax = 80;
  if (sql.size() <= kMax) return std::string(sql);
  return absl::StrCat(sql.substr(0, kMax), "...");
}

}  // namespace

Status ErrorStatus(int rc, absl::string_view what, absl::string_view detail) {
  std::string message = absl::StrCat(what, ": ", detail);
  // The extended code says which I/O call failed (e.g. 1034 = SQLITE_IOERR_FSYNC).
  if (rc != (rc & 0xff)) absl::StrAppend(&message, " (SQLite error ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat(
          message,
          ". The file is not a hearthd database or is damaged: restore it from a backup, or "
          "move it aside (hearthd then starts with an empty one)"));
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Query

Query::Query(Query&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

Query::~Query() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);  // repeats the last step's error, which Step already reported
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

Query& Query::BindInt(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index + 1, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "binding a parameter");
  return *this;
}

Query& Query::BindDouble(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index + 1, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "binding a parameter");
  return *this;
}

Query& Query::BindText(int index, absl::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index + 1, text.data(), text.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "binding a parameter");
  return *this;
}

Query& Query::BindBlob(int index, absl::string_view bytes) {
  // A null pointer would bind NULL rather than an empty blob (an all-default proto is empty).
  const int rc = bytes.empty() ? sqlite3_bind_zeroblob(stmt_, index + 1, 0)
                               : sqlite3_bind_blob64(stmt_, index + 1, bytes.data(), bytes.size(),
                                                     SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "binding a parameter");
  return *this;
}

StatusOr<bool> Query::Step() {
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, absl::StrCat("running \"", Abbreviate(sqlite3_sql(stmt_)), "\""));
}

Status Query::Run() {
  while (true) {
    HEARTH_ASSIGN_OR_RETURN(const bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

int64_t Query::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Query::Double(int column) const {
  return sqlite3_column_double(stmt_, column);
}

absl::string_view Query::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  // The size is only valid after the pointer has been fetched.
  const int size = sqlite3_column_bytes(stmt_, column);
  return text == nullptr ? absl::string_view() : absl::string_view(text, size);
}

absl::string_view Query::Blob(int column) const {
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return bytes == nullptr ? absl::string_view() : absl::string_view(bytes, size);
}

// ---------------------------------------------------------------------------------------------
// Database

void Database::StatementDeleter::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: the owner serialises all use of the connection with its own mutex.
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    // Even a failed open may allocate a handle, which carries the message and must be closed.
    const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return ErrorStatus(rc, absl::StrCat("cannot open ", path), detail);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Database>(new Database(path, db));
}

Database::~Database() {
  cache_.clear();  // statements first: closing with live statements would fail
  sqlite3_close_v2(db_);
}

Status Database::Error(int rc, absl::string_view what) const {
  return ErrorStatus(rc, absl::StrCat(path_, ": ", what), sqlite3_errmsg(db_));
}

Status Database::Exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return absl::OkStatus();
  const std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return ErrorStatus(rc, absl::StrCat(path_, ": running \"", Abbreviate(sql), "\""), detail);
}

StatusOr<Query> Database::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return Error(rc, absl::StrCat("preparing \"", Abbreviate(sql), "\""));
    std::unique_ptr<sqlite3_stmt, StatementDeleter> owned(stmt);
    // One statement per Prepare: SQLite would silently ignore the rest.
    if (stmt == nullptr || (tail != nullptr && *tail != '\0'))
      return absl::InternalError(
          absl::StrCat("not exactly one SQL statement: \"", Abbreviate(sql), "\""));
    it = cache_.emplace(sql, CachedStatement{std::move(owned)}).first;
  }
  CachedStatement& cached = it->second;
  HEARTH_CHECK_MSG(!cached.in_use, absl::StrCat("statement already in use: ", sql));
  cached.in_use = true;
  return Query(this, cached.stmt.get(), &cached.in_use);
}

StatusOr<int64_t> Database::PragmaInt(const std::string& name) {
  HEARTH_ASSIGN_OR_RETURN(Query query, Prepare(absl::StrCat("PRAGMA ", name)));
  HEARTH_ASSIGN_OR_RETURN(const bool row, query.Step());
  if (!row) return absl::InternalError(absl::StrCat(path_, ": PRAGMA ", name, " returned nothing"));
  return query.Int(0);
}

void Database::RollbackIfActive() {
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Transaction

StatusOr<Transaction> Transaction::Begin(Database& db, Mode mode) {
  HEARTH_RETURN_IF_ERROR(db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) db_->RollbackIfActive();
}

Status Transaction::Commit() {
  Database* db = std::exchange(db_, nullptr);
  Status status = db->Exec("COMMIT");
  // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); never leave it dangling.
  if (!status.ok()) db->RollbackIfActive();
  return status;
}

}  // namespace hearth::coordinator::sqlite
