// `hearth train --workers N`: starts N local workers of the same command through
// launch/hearthrun (mpirun) and waits for them.
#pragma once

#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth::cli {

// launch/hearthrun next to this binary: $HEARTH_HEARTHRUN, then <bin>/../../launch/hearthrun (a
// build tree), <bin>/../share/hearth/hearthrun (an install), <bin>/hearthrun, then $PATH.
StatusOr<std::string> FindHearthrun();

// Runs `hearthrun -n workers -- rank_command...` in its own process group and returns its exit
// status. The first Ctrl-C (or SIGTERM) sends SIGUSR1, which mpirun forwards to every rank: the
// ranks save a checkpoint after the current step and stop. A second one terminates them.
StatusOr<int> LaunchWorkers(int workers, const std::vector<std::string>& rank_command);

}  // namespace hearth::cli
