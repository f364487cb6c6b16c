#include "coordinator/model_cache.h"

namespace hearth::coordinator {

StatusOr<ModelCache::Lease> ModelCache::Acquire(const std::string& path) {
  std::shared_ptr<TrainedModel> model;
  std::shared_ptr<std::mutex> model_mu;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->path != path) continue;
      entries_.splice(entries_.begin(), entries_, it);
      model = it->model;
      model_mu = it->mu;
      break;
    }
  }
  if (!model) {
    // Loaded outside the cache lock: a slow load does not hold up other models.
    HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<TrainedModel> loaded, TrainedModel::Load(path));
    model = std::shared_ptr<TrainedModel>(std::move(loaded));
    model_mu = std::make_shared<std::mutex>();
    std::lock_guard lock(mu_);
    entries_.push_front({path, model, model_mu});
    if (entries_.size() > capacity_) entries_.pop_back();
  }
  Lease lease{model, model_mu, std::unique_lock<std::mutex>(*model_mu)};
  return lease;
}

}  // namespace hearth::coordinator
