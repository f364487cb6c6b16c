// A thin RAII layer over SQLite's C API for the coordinator's store: a connection that owns its
// prepared statements, a statement handle that resets itself, and a transaction that rolls back
// unless committed. Every failure is a Status naming the database file and carrying SQLite's own
// message. Not thread-safe: the owner serialises all use of one Database (JobStore holds a mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "hearth/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hearth::coordinator::sqlite {

// The Status for SQLite result code `rc` (primary or extended): DataLoss for a corrupt or foreign
// file, ResourceExhausted for a full disk, Unavailable for I/O, locking and permission trouble
// (worth retrying once fixed), Internal for everything else. `what` says what was being done.
Status ErrorStatus(int rc, absl::string_view what, absl::string_view detail);

class Database;

// A prepared statement in use: bind, step, read columns. Resets itself (and clears its bindings)
// when it goes out of scope, so the cached statement is ready for the next use. Columns and
// parameters are 0-based here (SQLite's parameters are 1-based; Bind adds the 1).
class Query {
 public:
  Query(Query&& other) noexcept;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  ~Query();

  // A bind error (out of range, out of memory) is kept and returned by the next Step/Run.
  Query& BindInt(int index, int64_t value);
  Query& BindDouble(int index, double value);
  Query& BindText(int index, absl::string_view text);
  Query& BindBlob(int index, absl::string_view bytes);

  // Advances: true when a row is available, false when the statement has finished.
  StatusOr<bool> Step();
  // Runs the statement to completion, ignoring any rows.
  Status Run();

  int64_t Int(int column) const;
  double Double(int column) const;
  absl::string_view Text(int column) const;
  absl::string_view Blob(int column) const;

 private:
  friend class Database;
  Query(Database* db, sqlite3_stmt* stmt, bool* in_use) : db_(db), stmt_(stmt), in_use_(in_use) {}

  Database* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // the cache entry's flag, cleared when this Query lets go
  Status bind_status_;
};

// One connection. Statements are prepared once and cached by their SQL text.
class Database {
 public:
  // Opens (creating if missing) the file at `path`. SQLite reads nothing yet: a foreign file is
  // only noticed by the first statement.
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // Runs fixed SQL without parameters (pragmas, BEGIN/COMMIT, schema); any rows are discarded.
  Status Exec(const std::string& sql);
  // The cached statement for `sql` (prepared on first use), ready to bind. At most one Query per
  // SQL text at a time (checked).
  StatusOr<Query> Prepare(const std::string& sql);
  // Reads a pragma's single value, e.g. Pragma("user_version").
  StatusOr<int64_t> PragmaInt(const std::string& name);

  // The Status for `rc`, with this connection's error message and the file name.
  Status Error(int rc, absl::string_view what) const;
  // Ends an open transaction, if any, ignoring errors (the caller already has one to report).
  void RollbackIfActive();

 private:
  Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  struct StatementDeleter {
    void operator()(sqlite3_stmt* stmt) const;
  };

  std::string path_;
  sqlite3* db_;
  struct CachedStatement {
    std::unique_ptr<sqlite3_stmt, StatementDeleter> stmt;
    // A Query holds it: preparing the same SQL again before it is done would share one cursor.
    bool in_use = false;
  };
  std::map<std::string, CachedStatement, std::less<>> cache_;
};

// BEGIN ... COMMIT; the destructor rolls back a transaction that was not committed. Immediate
// transactions take the write lock up front, so a write never fails half-way with SQLITE_BUSY on
// lock promotion; deferred ones (plain BEGIN) suit read-only work.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };

  static StatusOr<Transaction> Begin(Database& db, Mode mode);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // Every Query of the transaction must be out of scope (reset) by now.
  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed or rolled back
};

}  // namespace hearth::coordinator::sqlite
