// The training timeline of one run (HEARTH_TIMELINE=FILE, hearth/timeline.h): started on every
// rank when training starts, stopped when it ends, the ranks' files merged on rank 0.
#pragma once

#include <string>

#include "hearth/dist/communicator.h"
#include "hearth/status.h"

namespace hearth::run {

// Records this rank's timeline for as long as it lives, when HEARTH_TIMELINE is set.
class TimelineRecording {
 public:
  TimelineRecording() = default;
  ~TimelineRecording();
  TimelineRecording(const TimelineRecording&) = delete;
  TimelineRecording& operator=(const TimelineRecording&) = delete;

  // Starts recording into TimelinePath(HEARTH_TIMELINE, rank, world). Collective: a rank that
  // cannot write its file stops every rank with its error.
  Status Start(dist::Communicator& comm);
  // Stops recording. Collective: once every rank has written its file, rank 0 joins them into
  // the HEARTH_TIMELINE path when they are all on its host. Returns what to tell the user
  // ("timeline: FILE (open it in ui.perfetto.dev ...)"); empty when not recording.
  StatusOr<std::string> Finish(dist::Communicator& comm);

 private:
  std::string path_;  // HEARTH_TIMELINE; empty: not recording
};

}  // namespace hearth::run
