#include "hearth/async_checkpoint_saver.h"

#include "hearth/timeline.h"

#include <utility>

namespace hearth {

Checkpoint SnapshotCheckpoint(const Checkpoint& checkpoint) {
  Checkpoint copy;
  copy.metadata = checkpoint.metadata;
  copy.tensors.reserve(checkpoint.tensors.size());
  for (const NamedTensor& t : checkpoint.tensors)
    copy.tensors.push_back({t.name, t.tensor.Clone()});
  return copy;
}

AsyncCheckpointSaver::~AsyncCheckpointSaver() {
  Wait().IgnoreError();  // the caller that cared has called Wait already
}

Status AsyncCheckpointSaver::Save(int64_t step, Checkpoint snapshot,
                                  std::optional<MonitoredMetric> metric) {
  HEARTH_RETURN_IF_ERROR(Wait());
  in_flight_ =
      std::thread([this, step, snapshot = std::move(snapshot), metric = std::move(metric)] {
        TimelineSpan span("checkpoint write", "checkpoint", Timeline::kCheckpoint, step);
        last_ = manager_.Save(step, snapshot, metric);
      });
  return absl::OkStatus();
}

Status AsyncCheckpointSaver::Wait() {
  if (in_flight_.joinable()) in_flight_.join();
  return std::exchange(last_, absl::OkStatus());
}

}  // namespace hearth
