// Confines the data paths of submitted jobs (and of Evaluate and Predict requests) to the
// configured directories, through the process's data-file policy (hearth/data/file_access.h):
// files are opened beneath a root and checked on the opened descriptor, only regular files count,
// and hearthd's own data dir, token and TLS key are never data, even beneath a root.
#pragma once

#include <string>
#include <vector>

#include "hearth/data/file_access.h"
#include "hearth/status.h"
#include "hearth/v1/job.pb.h"

namespace hearth::coordinator {

class DataRoots {
 public:
  // Roots are made absolute and canonical; each must be an existing directory. `excluded` are
  // hearthd's own paths. A root inside an excluded path is refused. Does not install the policy.
  static StatusOr<DataRoots> Create(const std::vector<std::string>& roots,
                                    const std::vector<std::string>& excluded);

  // The policy for hearthd's process and its workers (gzip limits added by the caller).
  DataFilePolicy Policy() const;

  // The canonical path of the regular file `path` (relative paths are taken relative to the
  // first root) if it can be opened under Policy(); the error naming `field` otherwise
  // (PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT).
  StatusOr<std::string> Resolve(const std::string& path, const std::string& field) const;
  // Resolves every data path of a job spec in place (train, validation, test; labels too).
  Status ResolveSpec(v1::JobSpec& spec) const;

  const std::vector<std::string>& roots() const { return roots_; }
  const std::vector<std::string>& excluded() const { return excluded_; }

 private:
  std::vector<std::string> roots_;
  std::vector<std::string> excluded_;
};

}  // namespace hearth::coordinator
