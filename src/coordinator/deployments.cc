#include "coordinator/deployments.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/data_dir.h"
#include "coordinator/sha256.h"
#include "core/json.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "hearth/env.h"
#include "serve/model_config.h"

namespace hearth::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr char kDeploymentFile[] = "deployment.json";
constexpr char kIncomingPrefix[] = ".incoming-";
constexpr char kRemovingPrefix[] = ".removing-";

Status FsError(const std::string& what, const std::string& path, const std::error_code& ec) {
  return absl::InternalError(absl::StrFormat("%s %s: %s", what, path, ec.message()));
}

// NAME/aliases.json as the registry reads it (bounded, serve::ReadSmallJsonObject); entries that
// are not versions are dropped on the next write.
std::map<std::string, int64_t> ReadAliases(const std::string& model_dir) {
  std::map<std::string, int64_t> aliases;
  StatusOr<json::Value> doc =
      serve::ReadSmallJsonObject(JoinPath(model_dir, serve::kAliasesFile), "{\"production\": 3}");
  if (!doc.ok()) return aliases;
  for (const json::Value::Member& m : doc->object) {
    int64_t v = 0;
    if (m.value.AsInt64(&v)) aliases[m.key] = v;
  }
  return aliases;
}

Status WriteAliases(const std::string& model_dir, const std::map<std::string, int64_t>& aliases) {
  const std::string path = JoinPath(model_dir, serve::kAliasesFile);
  if (aliases.empty()) {
    if (!Env::Default().FileExists(path)) return absl::OkStatus();
    return Env::Default().RemoveFile(path);
  }
  // Through protobuf's JSON printer, so that a label added by hand is escaped as it should be.
  google::protobuf::Struct doc;
  for (const auto& [alias, version] : aliases)
    (*doc.mutable_fields())[alias].set_number_value(static_cast<double>(version));
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(doc, &json).ok())
    return absl::InternalError(absl::StrFormat("cannot write %s", path));
  return Env::Default().WriteFileAtomically(path, json + "\n");
}

// Renames `dir` to a hidden sibling first, so that a reload meanwhile sees it whole or not at
// all, then deletes it.
Status RemoveDir(const std::string& dir) {
  const fs::path p(dir);
  const fs::path hidden = p.parent_path() / (kRemovingPrefix + p.filename().string());
  std::error_code ec;
  fs::rename(p, hidden, ec);
  if (ec) return FsError("cannot remove", dir, ec);
  fs::remove_all(hidden, ec);
  if (ec) return FsError("cannot remove", hidden.string(), ec);
  return absl::OkStatus();
}

// A hard link when the data dir allows one (the bytes are the checkpoint's, which the store
// never rewrites in place), else a copy.
Status CopyCheckpoint(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (!ec) return absl::OkStatus();
  fs::copy_file(from, to, ec);
  if (ec) return FsError("cannot copy the checkpoint to", to, ec);
  return absl::OkStatus();
}

// The checkpoint and its record written into a hidden directory beside the versions, synced,
// then renamed to `final_dir` in one step; on failure the hidden directory is removed.
Status WriteVersion(const std::string& checkpoint_path, const v1::DeployedVersion& record,
                    const std::string& model_dir, const std::string& final_dir) {
  const std::string incoming =
      JoinPath(model_dir, kIncomingPrefix + std::to_string(record.version()));
  std::error_code ec;
  fs::remove_all(incoming, ec);
  Status s = [&]() -> Status {
    HEARTH_RETURN_IF_ERROR(Env::Default().CreateDirs(incoming));
    HEARTH_RETURN_IF_ERROR(CopyCheckpoint(checkpoint_path, JoinPath(incoming, serve::kModelFile)));
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(record, &json, print).ok())
      return absl::InternalError(absl::StrFormat("cannot write %s", kDeploymentFile));
    HEARTH_RETURN_IF_ERROR(
        Env::Default().WriteFileAtomically(JoinPath(incoming, kDeploymentFile), json + "\n"));
    HEARTH_RETURN_IF_ERROR(Env::Default().SyncDir(incoming));
    fs::rename(incoming, final_dir, ec);
    if (ec) return FsError("cannot move the new version into", final_dir, ec);
    return Env::Default().SyncDir(model_dir);
  }();
  if (!s.ok()) fs::remove_all(incoming, ec);
  return s;
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Deployments::Deployments(std::string data_dir, serve::ModelRegistry& registry, int keep_versions,
                         std::string url_base)
    : repository_(DeployedModelsDir(data_dir)),
      registry_(registry),
      keep_versions_(keep_versions),
      url_base_(std::move(url_base)) {}

std::string Deployments::ModelDir(const std::string& name) const {
  return JoinPath(repository_, name);
}

// The registry's status is its sources'; what went wrong with a model is in its error field.
void Deployments::Reload() {
  registry_.Reload().IgnoreError();
}

Status Deployments::Recover() {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(Env::Default().CreateDirs(repository_));
  HEARTH_ASSIGN_OR_RETURN(std::vector<std::string> names, Env::Default().ListDir(repository_));
  std::error_code ec;
  for (const std::string& name : names) {
    const std::string dir = ModelDir(name);
    if (name.rfind(kRemovingPrefix, 0) == 0) {
      fs::remove_all(dir, ec);
      continue;
    }
    if (!fs::is_directory(dir, ec)) continue;
    StatusOr<std::vector<std::string>> subs = Env::Default().ListDir(dir);
    if (!subs.ok()) continue;
    for (const std::string& sub : *subs)
      if (sub.rfind(kIncomingPrefix, 0) == 0 || sub.rfind(kRemovingPrefix, 0) == 0)
        fs::remove_all(JoinPath(dir, sub), ec);
  }
  return absl::OkStatus();
}

StatusOr<v1::DeployResponse> Deployments::Deploy(const StoredCheckpoint& checkpoint,
                                                 const std::string& name,
                                                 const std::string& alias) {
  if (!serve::IsValidModelName(name))
    return absl::InvalidArgumentError(absl::StrFormat(
        "name: \"%s\" is not a model name: use letters, digits, '_', '-' and '.' (not first), at "
        "most 64 (it appears in URLs)",
        name));
  if (!alias.empty() && !serve::IsValidModelName(alias))
    return absl::InvalidArgumentError(absl::StrFormat(
        "alias: \"%s\" is not a label: use letters, digits, '_', '-' and '.', at most 64", alias));
  // Before anything changes: the bytes are the stored ones. Whether they can be served is the
  // registry's load below (one load, not a trial one first).
  HEARTH_ASSIGN_OR_RETURN(const std::string sha256, Sha256OfFile(checkpoint.path));
  if (sha256 != checkpoint.info.sha256())
    return absl::DataLossError(
        absl::StrFormat("checkpoint %s: its file %s no longer matches its sha256; it cannot be "
                        "deployed (deploy another checkpoint of the job)",
                        checkpoint.info.id(), checkpoint.path));

  std::lock_guard<std::mutex> lock(mu_);
  const std::string model_dir = ModelDir(name);
  HEARTH_RETURN_IF_ERROR(Env::Default().CreateDirs(model_dir));
  const std::vector<int64_t> existing = serve::VersionDirs(model_dir);
  const int64_t version = existing.empty() ? 1 : existing.back() + 1;

  v1::DeployedVersion record;
  record.set_version(version);
  record.set_job_id(checkpoint.info.job_id());
  record.set_checkpoint_id(checkpoint.info.id());
  record.set_sha256(sha256);
  record.set_deployed_at(NowSeconds());
  const std::string final_dir = JoinPath(model_dir, std::to_string(version));
  if (Status written = WriteVersion(checkpoint.path, record, model_dir, final_dir); !written.ok()) {
    if (existing.empty()) RemoveDir(model_dir).IgnoreError();
    return written;
  }

  Reload();
  if (StatusOr<std::shared_ptr<const serve::ServedModel>> served = registry_.Find(name, version);
      !served.ok()) {
    std::string why = std::string(served.status().message());
    for (const serve::ModelStatus& s : registry_.List())
      if (s.name == name && !s.error.empty()) why = s.error;
    RemoveDir(final_dir).IgnoreError();
    if (existing.empty()) RemoveDir(model_dir).IgnoreError();
    Reload();
    return absl::FailedPreconditionError(
        absl::StrFormat("checkpoint %s cannot be served as %s version %d: %s", checkpoint.info.id(),
                        name, version, why));
  }
  if (!alias.empty()) {
    std::map<std::string, int64_t> aliases = ReadAliases(model_dir);
    aliases[alias] = version;
    HEARTH_RETURN_IF_ERROR(WriteAliases(model_dir, aliases));
  }
  v1::DeployResponse response;
  response.set_version(version);
  for (int64_t v : Retire(name)) response.add_retired_versions(v);
  Reload();
  *response.mutable_deployment() = Describe(name);
  return response;
}

std::vector<int64_t> Deployments::Retire(const std::string& name) {
  const std::string model_dir = ModelDir(name);
  const std::vector<int64_t> versions = serve::VersionDirs(model_dir);
  std::set<int64_t> keep;
  for (const auto& [alias, v] : ReadAliases(model_dir)) keep.insert(v);
  for (size_t i = 0; i < versions.size() && static_cast<int>(i) < keep_versions_; ++i)
    keep.insert(versions[versions.size() - 1 - i]);
  std::vector<int64_t> retired;
  for (int64_t v : versions)
    if (!keep.contains(v) && RemoveDir(JoinPath(model_dir, std::to_string(v))).ok())
      retired.push_back(v);
  return retired;
}

StatusOr<v1::UndeployResponse> Deployments::Undeploy(const std::string& name, int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string model_dir = ModelDir(name);
  const std::vector<int64_t> versions =
      serve::IsValidModelName(name) ? serve::VersionDirs(model_dir) : std::vector<int64_t>{};
  if (versions.empty()) {
    std::vector<std::string> names;
    const v1::ListDeploymentsResponse deployed = List();
    for (const v1::Deployment& d : deployed.deployments()) names.push_back(d.name());
    return absl::NotFoundError(
        absl::StrFormat("no model named `%s` is deployed; deployed: %s", name,
                        names.empty() ? "none" : absl::StrJoin(names, ", ")));
  }
  std::vector<int64_t> remove = versions;
  if (version != 0) {
    if (!std::binary_search(versions.begin(), versions.end(), version))
      return absl::NotFoundError(absl::StrFormat("model `%s` has no version %d; it has %s", name,
                                                 version, absl::StrJoin(versions, ", ")));
    remove = {version};
  }
  v1::UndeployResponse response;
  for (int64_t v : remove) {
    HEARTH_RETURN_IF_ERROR(RemoveDir(JoinPath(model_dir, std::to_string(v))));
    response.add_removed_versions(v);
  }
  if (remove.size() == versions.size()) {
    HEARTH_RETURN_IF_ERROR(RemoveDir(model_dir));
  } else {
    std::map<std::string, int64_t> aliases = ReadAliases(model_dir);
    std::erase_if(aliases, [&](const auto& a) { return a.second == version; });
    HEARTH_RETURN_IF_ERROR(WriteAliases(model_dir, aliases));
  }
  Reload();
  return response;
}

v1::Deployment Deployments::Describe(const std::string& name) const {
  v1::Deployment d;
  d.set_name(name);
  if (!url_base_.empty()) d.set_url(absl::StrFormat("%s/v2/models/%s", url_base_, name));
  std::vector<int64_t> loaded;
  for (const serve::ModelStatus& s : registry_.List()) {
    if (s.name != name) continue;
    loaded = s.versions;
    d.mutable_aliases()->insert(s.aliases.begin(), s.aliases.end());
    d.set_error(s.error);
  }
  const std::string model_dir = ModelDir(name);
  for (int64_t v : serve::VersionDirs(model_dir)) {
    v1::DeployedVersion* out = d.add_versions();
    const std::string dir = JoinPath(model_dir, std::to_string(v));
    if (StatusOr<std::string> json = Env::Default().ReadFile(JoinPath(dir, kDeploymentFile));
        json.ok()) {
      google::protobuf::util::JsonParseOptions parse;
      parse.ignore_unknown_fields = true;
      if (!google::protobuf::util::JsonStringToMessage(*json, out, parse).ok()) out->Clear();
    }
    out->set_version(v);
    out->set_loaded(std::find(loaded.begin(), loaded.end(), v) != loaded.end());
  }
  return d;
}

v1::ListDeploymentsResponse Deployments::List() const {
  v1::ListDeploymentsResponse response;
  StatusOr<std::vector<std::string>> names = Env::Default().ListDir(repository_);
  if (!names.ok()) return response;
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names)
    if (serve::IsValidModelName(name) && !serve::VersionDirs(ModelDir(name)).empty())
      *response.add_deployments() = Describe(name);
  return response;
}

}  // namespace hearth::coordinator
