// Following a coordinator job live: its events (WatchJob) shown with the same progress display as
// local training (hearth::ProgressReporter), and the report of how it ended.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "cli/args.h"
#include "cli/remote_client.h"
#include "hearth/v1/coordinator.pb.h"

namespace hearth::cli {

struct FollowResult {
  grpc::Status status;       // why following failed (the job itself may be fine)
  bool interrupted = false;  // Ctrl-C: the job keeps running
  v1::Job job;               // the job as it ended (valid when status is OK and not interrupted)
};

// Replays the job's events from the start and streams new ones until it ends, drawing progress
// on stderr (quiet: only the final line). Reconnects (resuming after the last event) when
// hearthd goes away for up to a minute. Ctrl-C stops following, not the job.
FollowResult FollowJob(RemoteClient& client, const std::string& job_id, bool quiet);

// Reports how a followed job ended and returns the exit status: 0 for SUCCEEDED (its results on
// stdout, or the job as one JSON object with `json`), 1 otherwise (FAILED: the failure with its
// log tail on stderr; CANCELLED), 130 when following was interrupted.
int ReportFollowed(const CommandSpec& spec, const RemoteClient& client, const FollowResult& result,
                   const std::string& job_id, bool json);

}  // namespace hearth::cli
