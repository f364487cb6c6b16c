#include "coordinator/data_roots.h"

#include <filesystem>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace hearth::coordinator {
namespace fs = std::filesystem;

StatusOr<DataRoots> DataRoots::Create(const std::vector<std::string>& roots) {
  DataRoots out;
  for (const std::string& root : roots) {
    std::error_code error;
    const fs::path canonical = fs::canonical(root, error);
    if (error || !fs::is_directory(canonical))
      return absl::InvalidArgumentError(absl::StrFormat(
          "--data-root %s: not an existing directory; create it or pass another", root));
    out.roots_.push_back(canonical.string());
  }
  if (out.roots_.empty())
    return absl::InvalidArgumentError("at least one data root is needed (--data-root DIR)");
  return out;
}

StatusOr<std::string> DataRoots::Resolve(const std::string& path, const std::string& field) const {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrFormat("%s: empty path", field));
  const fs::path given = fs::path(path).is_absolute() ? fs::path(path) : fs::path(roots_[0]) / path;
  std::error_code error;
  const fs::path canonical = fs::canonical(given, error);  // follows every symlink
  if (error)
    return absl::NotFoundError(
        absl::StrFormat("%s: %s does not exist on the coordinator (data roots: %s)", field, path,
                        absl::StrJoin(roots_, ", ")));
  const std::string resolved = canonical.string();
  for (const std::string& root : roots_)
    if (resolved == root || resolved.starts_with(root + "/")) return resolved;
  return absl::PermissionDeniedError(absl::StrFormat(
      "%s: %s resolves to %s, outside the coordinator's data roots (%s); put the data under a "
      "root or start hearthd with another --data-root",
      field, path, resolved, absl::StrJoin(roots_, ", ")));
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
