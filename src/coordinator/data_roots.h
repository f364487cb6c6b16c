// Confines the data paths of submitted jobs (and Evaluate/Predict requests) to configured
// directories: a path is resolved (symlinks and "..") and must land inside one of the roots, so
// neither "../../etc/passwd" nor a symlink pointing out of a root can reach other files.
#pragma once

#include <string>
#include <vector>

#include "hearth/status.h"
#include "hearth/v1/job.pb.h"

namespace hearth::coordinator {

class DataRoots {
 public:
  // Roots are made absolute and canonical; each must be an existing directory.
  static StatusOr<DataRoots> Create(const std::vector<std::string>& roots);

  // The canonical path of `path` (relative paths are taken relative to the first root) if it
  // lies inside a root; PERMISSION_DENIED naming `field` otherwise, NOT_FOUND if it does not exist.
  StatusOr<std::string> Resolve(const std::string& path, const std::string& field) const;
  // Resolves every data path of a job spec in place (train, validation, test; labels too).
  Status ResolveSpec(v1::JobSpec& spec) const;

  const std::vector<std::string>& roots() const { return roots_; }

 private:
  std::vector<std::string> roots_;
};

}  // namespace hearth::coordinator
