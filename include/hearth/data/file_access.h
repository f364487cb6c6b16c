// Which data files the readers (CSV, IDX, .npy) may open, and how much a gzip file may inflate.
//
// By default a reader opens any path its user can: `hearth train` on a laptop reads what its user
// points it at, FIFOs and process substitution included. hearthd and the workers it starts read
// files on behalf of whoever can reach the coordinator, so they confine the readers:
//   - every file is opened beneath a root (openat2 with RESOLVE_BENEATH, so a symlink or ".."
//     that leads out of the root fails, and a symlink swapped in after a check cannot redirect
//     the open: the check is made on the opened descriptor itself);
//   - only regular files (a FIFO or a device would hang or never end);
//   - never inside an excluded path (hearthd's own data dir, its token and TLS key);
//   - a file may hold at most max_bytes, a gzip file inflate to at most max_bytes and to at most
//     max_compression_ratio times its size on disk (a "zip bomb" is refused, not inflated).
//
// Thread-safety: set the policy before reading starts (hearthd at start-up, a worker before it
// trains); reads from any thread see it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct DataFilePolicy {
  // Directories the files must lie beneath; empty: anywhere.
  std::vector<std::string> roots;
  // Files or directories never opened, even beneath a root.
  std::vector<std::string> excluded;
  bool regular_files_only = false;
  // A file's size, and a gzip file's inflated size; 0: no limit.
  int64_t max_bytes = 0;
  // gzip only: inflated size / size on disk; 0: no limit.
  double max_compression_ratio = 0;
};

// Replaces the process's policy. Roots must be existing directories; they and the excluded paths
// are made canonical (an excluded path that does not exist yet is kept as given).
Status SetDataFilePolicy(DataFilePolicy policy);
// The policy in force (canonical paths).
DataFilePolicy CurrentDataFilePolicy();

// Opens `path` for reading under the policy and returns the descriptor (the caller closes it).
// A relative path is taken relative to the first root when there are roots. Errors:
// PERMISSION_DENIED outside the roots or inside an excluded path, INVALID_ARGUMENT for what is
// not a regular file (when only those are allowed), NOT_FOUND for a missing file; each names the
// path and says what to do.
StatusOr<int> OpenDataFile(const std::string& path);
// The same under an explicit policy (its paths canonical, as SetDataFilePolicy makes them).
StatusOr<int> OpenDataFile(const std::string& path, const DataFilePolicy& policy);

// The canonical path of an open descriptor (from /proc/self/fd).
StatusOr<std::string> PathOfDescriptor(int fd);

}  // namespace hearth
