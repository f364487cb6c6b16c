#include "coordinator/model_cache.h"

#include "absl/strings/str_format.h"
#include "coordinator/sha256.h"
#include "hearth/env.h"

namespace hearth::coordinator {

StatusOr<ModelCache::Lease> ModelCache::Acquire(const StoredCheckpoint& checkpoint) {
  const std::string& sha = checkpoint.info.sha256();
  std::shared_ptr<TrainedModel> model;
  std::shared_ptr<std::mutex> model_mu;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->sha256 != sha) continue;
      entries_.splice(entries_.begin(), entries_, it);
      model = it->model;
      model_mu = it->mu;
      break;
    }
  }
  if (!model) {
    // Loaded outside the cache lock: a slow load does not hold up other models. The bytes are
    // read once, hashed and parsed, so what is loaded is what the hash names.
    HEARTH_ASSIGN_OR_RETURN(std::string bytes, Env::Default().ReadFile(checkpoint.path));
    if (const std::string actual = Sha256Hex(bytes); actual != sha)
      return absl::DataLossError(
          absl::StrFormat("checkpoint %s is damaged on the coordinator's disk (sha256 %s, "
                          "expected %s); use another checkpoint",
                          checkpoint.info.id(), actual, sha));
    HEARTH_ASSIGN_OR_RETURN(Checkpoint parsed, ParseCheckpoint(bytes, checkpoint.path));
    bytes.clear();
    bytes.shrink_to_fit();
    HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<TrainedModel> loaded,
                            TrainedModel::FromCheckpoint(std::move(parsed), checkpoint.path));
    model = std::shared_ptr<TrainedModel>(std::move(loaded));
    model_mu = std::make_shared<std::mutex>();
    std::lock_guard lock(mu_);
    entries_.push_front({sha, model, model_mu});
    if (entries_.size() > capacity_) entries_.pop_back();
  }
  Lease lease{model, model_mu, std::unique_lock<std::mutex>(*model_mu)};
  return lease;
}

}  // namespace hearth::coordinator
