// Starting, stopping and merging the ranks' timelines around a training run.
#include "run/timeline_recording.h"

#include <cstdlib>

#include "absl/strings/str_format.h"
#include "hearth/dist/collectives.h"
#include "hearth/timeline.h"

namespace hearth::run {

TimelineRecording::~TimelineRecording() {
  // An error path: keep what was recorded, readable (Stop closes the array).
  if (!path_.empty()) Timeline::Get().Stop().IgnoreError();
}

Status TimelineRecording::Start(dist::Communicator& comm) {
  const char* path = std::getenv(Timeline::kEnvironmentVariable);
  if (path == nullptr || *path == '\0') return absl::OkStatus();
  Timeline& timeline = Timeline::Get();
  // A run inside a run (cross-validation's folds) records into the same file: the last wins.
  timeline.Stop().IgnoreError();
  Status started = timeline.Start(TimelinePath(path, comm.rank(), comm.size()), comm.rank());
  HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(comm, started));
  path_ = path;
  return absl::OkStatus();
}

StatusOr<std::string> TimelineRecording::Finish(dist::Communicator& comm) {
  if (path_.empty()) return std::string();
  const std::string path = path_;
  path_.clear();
  HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(comm, Timeline::Get().Stop()));
  constexpr char kOpen[] =
      "open it in ui.perfetto.dev or chrome://tracing, or summarise it with "
      "`hearth timeline`";
  if (!comm.is_root()) return std::string();
  if (comm.size() == 1) return absl::StrFormat("timeline: %s (%s)", path, kOpen);
  const Status merged = MergeTimelines(path, comm.size());
  if (!merged.ok())
    return absl::StrFormat("timeline: one file per rank, %s ... (%s); %s",
                           TimelinePath(path, 0, comm.size()), merged.message(), kOpen);
  return absl::StrFormat("timeline: %s, all %d ranks (%s; each rank's own is %s ...)", path,
                         comm.size(), kOpen, TimelinePath(path, 0, comm.size()));
}

}  // namespace hearth::run
