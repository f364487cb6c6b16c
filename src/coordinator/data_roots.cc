#include "coordinator/data_roots.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace hearth::coordinator {
namespace fs = std::filesystem;

StatusOr<DataRoots> DataRoots::Create(const std::vector<std::string>& roots,
                                      const std::vector<std::string>& excluded) {
  DataRoots out;
  for (const std::string& path : excluded) {
    std::error_code error;
    const fs::path canonical = fs::weakly_canonical(fs::absolute(path), error);
    out.excluded_.push_back(error ? path : canonical.string());
  }
  for (const std::string& root : roots) {
    std::error_code error;
    const fs::path canonical = fs::canonical(root, error);
    if (error || !fs::is_directory(canonical))
      return absl::InvalidArgumentError(absl::StrFormat(
          "--data-root %s: not an existing directory; create it or pass another", root));
    const std::string resolved = canonical.string();
    for (const std::string& own : out.excluded_)
      if (resolved == own || resolved.starts_with(own + "/"))
        return absl::InvalidArgumentError(absl::StrFormat(
            "--data-root %s lies inside hearthd's own %s; choose a directory outside it", root,
            own));
    out.roots_.push_back(resolved);
  }
  if (out.roots_.empty())
    return absl::InvalidArgumentError("at least one data root is needed (--data-root DIR)");
  return out;
}

DataFilePolicy DataRoots::Policy() const {
  DataFilePolicy policy;
  policy.roots = roots_;
  policy.excluded = excluded_;
  policy.regular_files_only = true;
  return policy;
}

StatusOr<std::string> DataRoots::Resolve(const std::string& path, const std::string& field) const {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrFormat("%s: empty path", field));
  StatusOr<int> fd = OpenDataFile(path, Policy());
  if (!fd.ok())
    return Status(fd.status().code(), absl::StrFormat("%s: %s", field, fd.status().message()));
  StatusOr<std::string> resolved = PathOfDescriptor(*fd);
  ::close(*fd);
  return resolved;
}

Status DataRoots::ResolveSpec(v1::JobSpec& spec) const {
  v1::DataSpec* data = spec.mutable_data();
  struct Source {
    v1::DataSource* source;
    const char* field;
  };
  for (Source s : {Source{data->mutable_train(), "spec.data.train"},
                   Source{data->has_validation() ? data->mutable_validation() : nullptr,
                          "spec.data.validation"},
                   Source{data->has_test() ? data->mutable_test() : nullptr, "spec.data.test"}}) {
    if (s.source == nullptr) continue;
    HEARTH_ASSIGN_OR_RETURN(*s.source->mutable_path(),
                            Resolve(s.source->path(), std::string(s.field) + ".path"));
    if (!s.source->labels_path().empty()) {
      HEARTH_ASSIGN_OR_RETURN(
          *s.source->mutable_labels_path(),
          Resolve(s.source->labels_path(), std::string(s.field) + ".labels_path"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hearth::coordinator
