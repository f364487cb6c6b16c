// The models hearthd serves from its jobs' checkpoints (`hearth deploy`). The state is a model
// repository in <data dir>/models (data_dir.h), laid out as `hearth serve` reads one, so a
// restarted hearthd serves what was deployed and the directory can be served by hand too.
//
// Deploy checks the checkpoint (its sha256, and that it can be served), writes it into
// NAME/.incoming-V/ beside a deployment.json saying where it came from, syncs, and renames the
// directory to NAME/V/ in one step: a crash never leaves half a version (Recover removes the
// leftovers). It labels the version in NAME/aliases.json when asked, has the registry reload,
// and answers once the version is served, or takes it away again and says why.
//
// The newest `keep_versions` versions of a model, and any an alias names, are kept; older ones
// are retired: their copy is deleted, the job's checkpoint stays in its store.
//
// Thread-safety: every method may be called from any thread; mu_ makes changes take turns (a
// reload from elsewhere, say POST /v2/repository/reload, only ever sees whole versions).
#pragma once

#include <mutex>
#include <string>

#include "coordinator/job_store.h"
#include "hearth/v1/coordinator.pb.h"
#include "serve/model_registry.h"

namespace hearth::coordinator {

class Deployments {
 public:
  // `url_base`: where hearthd's model server is reached ("http://127.0.0.1:7412"), or empty.
  Deployments(std::string data_dir, serve::ModelRegistry& registry, int keep_versions,
              std::string url_base);

  // Creates the repository and removes what a crash left half-written. Before the first load.
  Status Recover();

  // Serves `checkpoint` as the next version of `name`.
  StatusOr<v1::DeployResponse> Deploy(const StoredCheckpoint& checkpoint, const std::string& name,
                                      const std::string& alias);
  // Stops serving `version` of `name`, or the whole model when `version` is 0.
  StatusOr<v1::UndeployResponse> Undeploy(const std::string& name, int64_t version);
  v1::ListDeploymentsResponse List() const;

  const std::string& repository() const { return repository_; }

 private:
  std::string ModelDir(const std::string& name) const;
  v1::Deployment Describe(const std::string& name) const;
  // Deletes versions past keep_versions that no alias names; returns them.
  std::vector<int64_t> Retire(const std::string& name);
  // Reloads the registry; its problems are in the models' error fields.
  void Reload();

  const std::string repository_;
  serve::ModelRegistry& registry_;
  const int keep_versions_;
  const std::string url_base_;
  mutable std::mutex mu_;
};

}  // namespace hearth::coordinator
