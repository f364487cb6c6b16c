// The models a server answers for, by name and version, kept in step with where they come from.
//
// Sources (the MODEL arguments of `hearth serve`):
//   PATH or NAME=PATH where PATH is
//   - a checkpoint file: one model, named NAME or its job spec's name;
//   - a run directory (checkpoints.json): its best checkpoint (else its latest);
//   - a model directory NAME/VERSION/model.safetensors (VERSION a positive integer), as TF Serving
//     and Triton lay theirs out, with an optional NAME/aliases.json {"production": 3} and
//     NAME/config.json, its own batching (serve/model_config.h);
//   - a repository: a directory of model directories.
// A checkpoint file or run directory gets version 1, then the next number each time its
// contents change. A model directory serves its newest `max_versions` versions.
//
// Reload() looks at every source again: a new or changed version is loaded while the old ones
// keep serving, then the maps switch under the lock in one step. Requests hold the version they
// started on (shared_ptr), so they finish on it. A version that fails to load is logged and
// skipped, and a source that cannot be read at all keeps the models it gave before: whatever
// served before goes on serving. Only removing a version (or a model's directory) unloads it.
//
// Thread-safety: every method may be called from any thread. reload_mu_ makes reloads take turns
// (held during loads, which are slow); mu_ guards the maps only and is never held while loading.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "hearth/status.h"
#include "serve/served_model.h"

namespace hearth::serve {

struct ModelSource {
  std::string name;  // empty: from the files
  std::string path;
};
// "NAME=PATH" or "PATH".
ModelSource ParseModelSource(const std::string& arg);

// A model directory's files: VERSION/model.safetensors, and aliases.json {"production": 3}.
inline constexpr char kModelFile[] = "model.safetensors";
inline constexpr char kAliasesFile[] = "aliases.json";
// Names appear in URLs: letters, digits, '_', '-' and '.' (not first), at most 64.
bool IsValidModelName(const std::string& name);
// The positive integer a version directory is named by ("3"; not "03"), or nullopt.
std::optional<int64_t> VersionOf(const std::string& dir_name);
// The versions a model directory holds (its VERSION/ subdirectories), ascending.
std::vector<int64_t> VersionDirs(const std::string& model_dir);
// TrainedModel::Load, refusing a model whose rows cannot be decoded (no record shape).
StatusOr<std::unique_ptr<TrainedModel>> LoadServableModel(const std::string& path);

struct RegistryOptions {
  int64_t max_versions = 3;  // per model directory, newest first
  BatchingOptions batching;
  std::function<void(const std::string& line)> log;  // load and refusal lines
  ServedModel::OnBatch on_batch;                     // metrics
};

struct ModelStatus {
  std::string name;
  std::vector<int64_t> versions;  // ascending
  std::map<std::string, int64_t> aliases;
  std::string error;        // the last refusal, if the newest files did not load
  int64_t queued_rows = 0;  // waiting for a forward pass, over all versions
};

class ModelRegistry {
 public:
  ModelRegistry(std::vector<ModelSource> sources, RegistryOptions options);

  // Looks at every source again (see above). The status is the first source that could not be
  // read at all (the others still load); refused versions are only logged.
  Status Reload();

  // The version asked for: `version` (> 0), else the one `alias` names, else the newest.
  // NOT_FOUND naming what is served when there is no such model, version or alias.
  StatusOr<std::shared_ptr<const ServedModel>> Find(const std::string& name,
                                                    std::optional<int64_t> version = {},
                                                    const std::string& alias = "") const;
  std::vector<ModelStatus> List() const;
  // Whether a model of this name is served (loaded or refused): request counters are labelled
  // with served names only, so a client cannot grow them by asking for made-up ones.
  bool Serves(const std::string& name) const;
  // Every source has been looked at once and at least one model is loaded.
  bool ready() const;

  // What a file looked like when it was loaded: a change of any means new contents.
  struct FileIdentity {
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    std::string path;
    bool operator==(const FileIdentity&) const = default;
  };
  struct Version {
    std::shared_ptr<const ServedModel> model;
    FileIdentity file;
  };
  struct Model {
    std::map<int64_t, Version> versions;
    std::map<std::string, int64_t> aliases;
    std::string error;
    std::string alias_problems;   // what aliases.json had wrong, logged when it changes
    BatchingOptions batching;     // the server's, or config.json's (serve/model_config.h)
    std::string config_problems;  // what config.json had wrong, logged when it changes
  };
  using Models = std::map<std::string, Model>;

 private:
  // Fills `next` with one source's models, reusing versions of `current` whose files did not
  // change. Names given twice across sources are Reload's to refuse.
  Status Scan(size_t source_index, const Models& current, Models& next);
  Status ScanSingle(size_t source_index, const std::string& checkpoint, const Models& current,
                    Models& next);
  Status ScanModelDir(const std::string& name, const std::string& dir, const Models& current,
                      Models& next);
  void Log(const std::string& line) const;

  const std::vector<ModelSource> sources_;
  const RegistryOptions options_;
  std::mutex reload_mu_;
  // A single checkpoint source's model name once known (its spec's), by source index.
  std::map<size_t, std::string> single_names_ ABSL_GUARDED_BY(reload_mu_);
  // By source index: the models it gave at its last good look (kept serving while the source
  // cannot be read, say a file being replaced by hand), and its last error (logged on change).
  std::map<size_t, std::vector<std::string>> source_models_ ABSL_GUARDED_BY(reload_mu_);
  std::map<size_t, std::string> source_errors_ ABSL_GUARDED_BY(reload_mu_);

  mutable std::mutex mu_;
  Models models_ ABSL_GUARDED_BY(mu_);
  bool scanned_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hearth::serve
