#include "serve/model_registry.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/json.h"
#include "hearth/checkpoint.h"
#include "hearth/env.h"
#include "serve/model_config.h"

namespace hearth::serve {
namespace {

namespace fs = std::filesystem;

bool IsDir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

std::vector<std::string> SubdirNames(const std::string& dir) {
  std::vector<std::string> names;
  StatusOr<std::vector<std::string>> listed = Env::Default().ListDir(dir);
  if (!listed.ok()) return names;
  for (const std::string& n : *listed)
    if (IsDir(JoinPath(dir, n))) names.push_back(n);
  std::sort(names.begin(), names.end());
  return names;
}

// A model directory holds at least one VERSION/ subdirectory.
bool IsModelDir(const std::string& dir) {
  return !VersionDirs(dir).empty();
}

bool IsRunDir(const std::string& dir) {
  if (Env::Default().FileExists(JoinPath(dir, CheckpointManager::kIndexFile))) return true;
  StatusOr<std::vector<std::string>> listed = Env::Default().ListDir(dir);
  if (!listed.ok()) return false;
  for (const std::string& n : *listed)
    if (CheckpointStepOfFileName(n)) return true;
  return false;
}

std::string Basename(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return fs::path(p).filename().string();
}

}  // namespace

bool IsValidModelName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  return true;
}

std::optional<int64_t> VersionOf(const std::string& name) {
  int64_t v = 0;
  if (name.empty() || name[0] == '0' || !absl::SimpleAtoi(name, &v) || v <= 0) return std::nullopt;
  return v;
}

std::vector<int64_t> VersionDirs(const std::string& model_dir) {
  std::vector<int64_t> versions;
  for (const std::string& sub : SubdirNames(model_dir))
    if (std::optional<int64_t> v = VersionOf(sub)) versions.push_back(*v);
  std::sort(versions.begin(), versions.end());
  return versions;
}

ModelSource ParseModelSource(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq != std::string::npos && eq > 0 && IsValidModelName(arg.substr(0, eq)))
    return {arg.substr(0, eq), arg.substr(eq + 1)};
  return {"", arg};
}

ModelRegistry::ModelRegistry(std::vector<ModelSource> sources, RegistryOptions options)
    : sources_(std::move(sources)), options_(std::move(options)) {}

void ModelRegistry::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

StatusOr<std::unique_ptr<TrainedModel>> LoadServableModel(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<TrainedModel> model, TrainedModel::Load(path));
  if (model->record_shape().rank() == 0)
    return absl::UnimplementedError(
        "saved before checkpoints recorded their input width, and its one-hot step changes the "
        "width, so rows cannot be decoded; train it again to serve it (hearth eval and predict "
        "still take it)");
  return model;
}

Status ModelRegistry::Reload() {
  std::lock_guard<std::mutex> reloading(reload_mu_);
  Models current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current = models_;
  }
  Models next;
  Status first_error;
  for (size_t i = 0; i < sources_.size(); ++i) {
    Models found;
    Status s = Scan(i, current, found);
    for (auto& [name, model] : found) {
      if (next.contains(name)) {
        if (s.ok())
          s = absl::AlreadyExistsError(absl::StrFormat(
              "%s: a model named `%s` is served already (by another source); give NAME=%s",
              sources_[i].path, name, sources_[i].path));
        continue;
      }
      next[name] = std::move(model);
    }
    if (s.ok()) {
      source_models_[i].clear();
      for (const auto& [name, ignored] : found) source_models_[i].push_back(name);
      source_errors_.erase(i);
      continue;
    }
    // Unreadable now: what the source gave before goes on serving.
    for (const std::string& name : source_models_[i])
      if (!next.contains(name) && current.contains(name)) next[name] = current.at(name);
    if (source_errors_[i] != s.message()) Log(std::string(s.message()));
    source_errors_[i] = std::string(s.message());
    if (first_error.ok()) first_error = s;
  }
  for (const auto& [name, model] : next) {
    const auto old = current.find(name);
    for (const auto& [v, version] : model.versions)
      if (old == current.end() || !old->second.versions.contains(v) ||
          old->second.versions.at(v).model != version.model)
        Log(absl::StrFormat("serving %s version %d from %s", name, v, version.model->path()));
  }
  for (const auto& [name, model] : current)
    for (const auto& [v, version] : model.versions)
      if (!next.contains(name) || !next.at(name).versions.contains(v))
        Log(absl::StrFormat("stopped serving %s version %d", name, v));
  std::lock_guard<std::mutex> lock(mu_);
  models_ = std::move(next);  // the old versions die with their last request
  scanned_ = true;
  return first_error;
}

Status ModelRegistry::Scan(size_t index, const Models& current, Models& next) {
  const ModelSource& source = sources_[index];
  std::error_code ec;
  const fs::file_status status = fs::status(source.path, ec);
  if (ec || !fs::exists(status))
    return absl::NotFoundError(absl::StrFormat(
        "%s: no such file or directory (give a checkpoint, a run directory or a model "
        "repository)",
        source.path));
  if (fs::is_regular_file(status)) return ScanSingle(index, source.path, current, next);
  if (!fs::is_directory(status))
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: not a regular file or a directory", source.path));
  if (IsRunDir(source.path)) {
    CheckpointManagerOptions read_only;
    read_only.read_only = true;
    HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointManager> run,
                            CheckpointManager::Open(Env::Default(), source.path, read_only));
    std::optional<CheckpointRecord> chosen = run->Best();
    if (!chosen) chosen = run->Latest();
    if (!chosen)
      return absl::NotFoundError(
          absl::StrFormat("%s: the run directory holds no checkpoint yet", source.path));
    return ScanSingle(index, run->PathOf(*chosen), current, next);
  }
  if (IsModelDir(source.path)) {
    const std::string name = source.name.empty() ? Basename(source.path) : source.name;
    if (!IsValidModelName(name))
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: `%s` is not a model name (letters, digits, '_', '-', '.'); give NAME=%s",
          source.path, name, source.path));
    return ScanModelDir(name, source.path, current, next);
  }
  if (!source.name.empty())
    return absl::InvalidArgumentError(
        absl::StrFormat("%s=%s: neither a run directory (checkpoints.json) nor a model directory "
                        "(VERSION/model.safetensors); if it is a repository of models, drop `%s=` "
                        "(they are named by their directories)",
                        source.name, source.path, source.name));
  for (const std::string& sub : SubdirNames(source.path)) {
    const std::string dir = JoinPath(source.path, sub);
    if (!IsModelDir(dir)) continue;
    if (!IsValidModelName(sub)) {
      Log(absl::StrFormat("%s: skipped: `%s` is not a model name", dir, sub));
      continue;
    }
    Status s = ScanModelDir(sub, dir, current, next);
    if (!s.ok()) Log(std::string(s.message()));
  }
  return absl::OkStatus();
}

namespace {

std::optional<ModelRegistry::FileIdentity> Identify(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return ModelRegistry::FileIdentity{st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size),
                                     st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, path};
}

// NAME/aliases.json, {"production": 3, ...}, into model.aliases; what is wrong with it goes to
// model.alias_problems, one line each (an alias for a version not loaded is dropped).
void ReadAliases(const std::string& path, ModelRegistry::Model& model) {
  auto problem = [&](const std::string& line) { model.alias_problems += line + "\n"; };
  StatusOr<json::Value> doc = ReadSmallJsonObject(path, "{\"production\": 3}");
  if (absl::IsNotFound(doc.status())) return;  // none
  if (!doc.ok()) return problem(std::string(doc.status().message()));
  for (const json::Value::Member& m : doc->object) {
    int64_t v = 0;
    if (!m.value.AsInt64(&v) || !model.versions.contains(v)) {
      problem(absl::StrFormat("%s: alias `%s` ignored: it names no loaded version", path, m.key));
      continue;
    }
    model.aliases[m.key] = v;
  }
}

// Each line of `problems` that was not already in `before`, logged once per change.
void LogChanged(const std::string& problems, const std::string& before,
                const std::function<void(const std::string&)>& log) {
  if (problems == before) return;
  for (absl::string_view line : absl::StrSplit(problems, '\n', absl::SkipEmpty()))
    log(std::string(line));
}

int64_t NextVersion(const ModelRegistry::Model* old) {
  return old != nullptr && !old->versions.empty() ? old->versions.rbegin()->first + 1 : 1;
}

}  // namespace

Status ModelRegistry::ScanSingle(size_t index, const std::string& checkpoint, const Models& current,
                                 Models& next) {
  const std::optional<FileIdentity> file = Identify(checkpoint);
  if (!file) return absl::NotFoundError(absl::StrFormat("%s: cannot be read", checkpoint));
  std::string name = sources_[index].name;
  if (name.empty() && single_names_.contains(index)) name = single_names_.at(index);
  const Model* old = !name.empty() && current.contains(name) ? &current.at(name) : nullptr;
  if (old != nullptr && !old->versions.empty() && old->versions.rbegin()->second.file == *file) {
    next[name] = *old;
    return absl::OkStatus();
  }
  StatusOr<std::unique_ptr<TrainedModel>> loaded = LoadServableModel(checkpoint);
  if (!loaded.ok()) {
    const std::string why =
        absl::StrFormat("refused %s: %s", checkpoint, loaded.status().message());
    if (old == nullptr) return absl::Status(loaded.status().code(), why);
    if (old->error != why)
      Log(why + (old->versions.empty() ? "" : "; the version loaded before keeps serving"));
    next[name] = *old;
    next[name].error = why;
    return absl::OkStatus();
  }
  if (name.empty()) {
    const std::string& spec_name = (*loaded)->spec().name();
    name = IsValidModelName(spec_name) ? spec_name : fs::path(checkpoint).stem().string();
    if (!IsValidModelName(name))
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: no usable model name in it; give NAME=%s", checkpoint, checkpoint));
    single_names_[index] = name;
    old = current.contains(name) ? &current.at(name) : nullptr;
  }
  const int64_t version = NextVersion(old);
  next[name].versions[version] =
      Version{ServedModel::Create(name, version, checkpoint, *std::move(loaded), options_.batching,
                                  options_.on_batch),
              *file};
  return absl::OkStatus();
}

Status ModelRegistry::ScanModelDir(const std::string& name, const std::string& dir,
                                   const Models& current, Models& next) {
  std::vector<int64_t> found = VersionDirs(dir);
  std::reverse(found.begin(), found.end());  // newest first
  if (static_cast<int64_t>(found.size()) > options_.max_versions)
    found.resize(options_.max_versions);

  const Model* old = current.contains(name) ? &current.at(name) : nullptr;
  Model model;
  ModelConfig config = ReadModelConfig(JoinPath(dir, kModelConfigFile), options_.batching);
  model.batching = config.batching;
  model.config_problems = std::move(config.problems);
  const auto log = [this](const std::string& line) { Log(line); };
  LogChanged(model.config_problems, old != nullptr ? old->config_problems : "", log);
  // A version is kept while its file and its batching stay the same.
  const bool same_batching = old != nullptr && old->batching == model.batching;
  for (int64_t v : found) {
    const std::string path = JoinPath(JoinPath(dir, std::to_string(v)), kModelFile);
    const std::optional<FileIdentity> file = Identify(path);
    if (!file) {
      model.error = absl::StrFormat("%s: missing (version %d is not loaded)", path, v);
      continue;
    }
    if (same_batching && old->versions.contains(v) && old->versions.at(v).file == *file) {
      model.versions[v] = old->versions.at(v);
      continue;
    }
    StatusOr<std::unique_ptr<TrainedModel>> loaded = LoadServableModel(path);
    if (loaded.ok()) {
      model.versions[v] = Version{
          ServedModel::Create(name, v, path, *std::move(loaded), model.batching, options_.on_batch),
          *file};
      continue;
    }
    model.error = absl::StrFormat("refused %s: %s", path, loaded.status().message());
    const bool kept = old != nullptr && old->versions.contains(v);
    if (kept) model.versions[v] = old->versions.at(v);
    // Logged once per file state, not on every poll.
    if (old == nullptr || old->error != model.error)
      Log(model.error + (kept ? "; the version loaded before keeps serving" : ""));
  }
  ReadAliases(JoinPath(dir, kAliasesFile), model);
  LogChanged(model.alias_problems, old != nullptr ? old->alias_problems : "", log);
  next[name] = std::move(model);
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<const ServedModel>> ModelRegistry::Find(const std::string& name,
                                                                 std::optional<int64_t> version,
                                                                 const std::string& alias) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = models_.find(name);
  if (it == models_.end()) {
    std::vector<std::string> names;
    for (const auto& [n, m] : models_) names.push_back(n);
    return absl::NotFoundError(
        absl::StrFormat("no model named `%s`; this server has: %s", name,
                        names.empty() ? "none yet" : absl::StrJoin(names, ", ")));
  }
  const Model& model = it->second;
  auto versions = [&model] {
    std::vector<int64_t> v;
    for (const auto& [n, ignored] : model.versions) v.push_back(n);
    return v.empty() ? std::string("none") : absl::StrJoin(v, ", ");
  };
  if (version) {
    const auto v = model.versions.find(*version);
    if (v == model.versions.end())
      return absl::NotFoundError(
          absl::StrFormat("model `%s` has no version %d; it has %s", name, *version, versions()));
    return v->second.model;
  }
  if (!alias.empty()) {
    const auto a = model.aliases.find(alias);
    if (a == model.aliases.end()) {
      std::vector<std::string> names;
      for (const auto& [n, ignored] : model.aliases) names.push_back(n);
      return absl::NotFoundError(
          absl::StrFormat("model `%s` has no version labelled `%s`; its labels: %s", name, alias,
                          names.empty() ? "none" : absl::StrJoin(names, ", ")));
    }
    return model.versions.at(a->second).model;
  }
  if (model.versions.empty())
    return absl::UnavailableError(
        absl::StrFormat("model `%s` has no version loaded: %s", name, model.error));
  return model.versions.rbegin()->second.model;
}

std::vector<ModelStatus> ModelRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ModelStatus> out;
  for (const auto& [name, model] : models_) {
    ModelStatus s{name, {}, model.aliases, model.error};
    for (const auto& [v, version] : model.versions) {
      s.versions.push_back(v);
      s.queued_rows += version.model->queued_rows();
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool ModelRegistry::Serves(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_.contains(name);
}

bool ModelRegistry::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!scanned_) return false;
  for (const auto& [name, model] : models_)
    if (!model.versions.empty()) return true;
  return false;
}

}  // namespace hearth::serve
