// Start-up state for data parallelism: rank 0's checkpoint, shared with every rank.
#pragma once

#include <functional>
#include <string>

#include "hearth/checkpoint.h"
#include "hearth/dist/communicator.h"
#include "hearth/status.h"

namespace hearth::run {

// Runs `produce` on rank 0 only (it returns checkpoint file bytes: the latest checkpoint when
// resuming, the freshly initialised state otherwise), broadcasts the bytes and parses them on
// every rank, so all ranks restore the very same parameters, optimizer state and position. An
// error on rank 0 comes back on every rank, so they fail together instead of hanging.
StatusOr<Checkpoint> ShareRootCheckpoint(dist::Communicator& comm,
                                         const std::function<StatusOr<std::string>()>& produce,
                                         const std::string& source);

}  // namespace hearth::run
