// Env: the small file-system interface that checkpoints and run directories go through.
//
// Everything that touches the disk for persistence calls an Env, so tests can swap in one that
// fails the way real disks fail (a full disk mid-write, a crash that leaves a file truncated) and
// prove that a failed save never damages what was saved before. The default Env is POSIX.
// Modelled on leveldb's include/leveldb/env.h, reduced to what Hearth needs.
//
// Every error is a Status naming the operation, the path and the errno text, plus a hint of what
// to do (e.g. "free disk space"). Errno maps to the gRPC-style code: ENOENT -> NotFound,
// EACCES/EPERM/EROFS -> PermissionDenied, ENOSPC/EDQUOT -> ResourceExhausted, EEXIST ->
// AlreadyExists, ENOTDIR/EISDIR/ENAMETOOLONG -> InvalidArgument, anything else -> Internal.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

// A file being written sequentially. Not thread-safe. Destroying an open file closes it and
// ignores errors, so call Close() to learn whether the data reached the file system.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Flushes to stable storage (fsync): after it returns OK the bytes survive a power cut.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

class Env;

// A file written in pieces that appears at its path only once complete: the bytes go to a temp
// file in the same directory (named as WriteFileAtomically's), and Commit() fsyncs it, renames it
// over the path and fsyncs the directory. Destroying an uncommitted file removes the temp file,
// so a failed or abandoned write leaves the path as it was and nothing behind. Not thread-safe.
class AtomicFile {
 public:
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status Append(std::string_view data);
  Status Commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

 private:
  friend class Env;
  AtomicFile(Env& env, std::string path, std::string temp, std::unique_ptr<WritableFile> file)
      : env_(env), path_(std::move(path)), temp_(std::move(temp)), file_(std::move(file)) {}

  Env& env_;
  std::string path_, temp_;
  std::unique_ptr<WritableFile> file_;  // null once committed
};

// Implementations must be safe to call from several threads at once (the POSIX one is: it keeps no
// state). Paths are plain strings; directories are separated with '/'.
class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never destroyed.
  static Env& Default();

  // The whole file. Errors: NotFound if it does not exist.
  virtual StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Creates or truncates `path` for writing.
  virtual StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)): readers see the old file or the new one.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Makes a rename or creation inside `dir` durable (fsync on the directory).
  virtual Status SyncDir(const std::string& dir) = 0;
  // Entry names (not paths) in `dir`, sorted, without "." and "..".
  virtual StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Creates `dir` and its missing parents (like mkdir -p). OK if it already exists.
  virtual Status CreateDirs(const std::string& dir) = 0;

  // Replaces `path` with `pieces` concatenated, so that a crash or error at any point leaves either
  // the old file or the complete new one, never a mix: writes a temp file in the same directory,
  // fsyncs it, renames it over `path`, then fsyncs the directory. On failure the temp file is
  // removed (best effort) and `path` is untouched. Temp names are "<path>.tmp-<pid>-<n>".
  // Built only on the virtual calls above, so every Env (including test ones) follows the protocol.
  Status WriteFileAtomically(const std::string& path, std::span<const std::string_view> pieces);
  // The streaming form of the same protocol.
  StatusOr<std::unique_ptr<AtomicFile>> NewAtomicFile(const std::string& path);
  Status WriteFileAtomically(const std::string& path, std::string_view data) {
    return WriteFileAtomically(path, std::span<const std::string_view>(&data, 1));
  }
};

// The Status for a failed system call: "<op> <path>: <strerror> (errno N); <hint>".
Status ErrnoToStatus(std::string_view op, const std::string& path, int err);

// The directory part of `path` ("." when there is none) and the path of `name` inside `dir`.
std::string DirName(const std::string& path);
std::string JoinPath(const std::string& dir, const std::string& name);

// True for names WriteFileAtomically uses for its temp files (left behind only by a crash).
bool IsAtomicWriteTempName(std::string_view name);

}  // namespace hearth
