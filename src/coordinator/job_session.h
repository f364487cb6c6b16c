// The processes of one job attempt, found by their session. hearthd starts each launcher in a
// session of its own (setsid). A process group would not do: Open MPI's local launcher puts every
// rank in a process group of its own, so killpg(mpirun) misses the ranks, but they keep the
// session. Ranks on other machines are not here; their orted ends them when mpirun goes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace hearth::coordinator {

// Live members of `session` (zombies left out: they have ended and only wait to be reaped).
std::vector<pid_t> SessionMembers(pid_t session);

// Sends `signal` to every live member; returns how many were signalled.
int SignalSession(pid_t session, int signal);

// Waits up to `timeout` for `session` to have no live member; returns whether it emptied.
bool AwaitSessionEnd(pid_t session, absl::Duration timeout);

// This boot's id (/proc/sys/kernel/random/boot_id), or "" when unreadable. A session id saved
// before a reboot names some unrelated process now: compare boot ids before signalling it.
std::string BootId();

// Waits up to `grace` for the members to finish on their own (a rank saving its checkpoint),
// then SIGKILLs whatever is left.
void EndSession(pid_t session, absl::Duration grace);

}  // namespace hearth::coordinator
