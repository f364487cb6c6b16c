// Fault-injection points, so tests provoke failures by design instead of racing the clock: kill
// this rank at step N, hold hearthd just before a state write until the test lets it go, fail an
// fsync, fail a write with ENOSPC. Every point is inert unless the environment variable
// HEARTH_FAULTS names it; with the variable unset a point costs one load of a cached flag.
//
//   HEARTH_FAULTS="rank_exit:rank=1,step=15,attempt=0;write:path=/checkpoints/,errno=28"
//
// Faults are separated by ';'. Each is a point name, then optionally ':' and comma-separated
// key=value pairs. A key that is one of the point's attributes (or a process attribute set with
// SetAttribute, e.g. the attempt) must match for the fault to fire: numbers and names by equality,
// `path` when the value occurs in the path. The keys `times` (fire at most this many times in this
// process), `ms`, `errno` and `mode` are parameters for the point's action, not matched. Any other
// key that the point does not have keeps the fault from firing, so a typo never fires a fault
// somewhere unexpected. docs/reliability.md lists the points.
//
// Pauses hand over to the test through files in HEARTH_FAULT_DIR: with mode=pause a point creates
// "<dir>/<point>.paused" and waits until "<dir>/<point>.release" exists; with mode=mark it only
// creates the ".paused" file (so a test knows the point was reached) and goes on.
//
// Thread-safe: the spec is parsed once; counters are atomic.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace hearth::faults {

// One fault from HEARTH_FAULTS that matched a point.
struct Fault {
  std::string point;
  std::map<std::string, std::string, std::less<>> params;

  // A numeric parameter (`ms`, `errno`, ...), or `fallback` when absent or not a number.
  int64_t Int(std::string_view key, int64_t fallback) const;
  std::string Text(std::string_view key, std::string_view fallback) const;
};

using Attributes = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Whether HEARTH_FAULTS names any fault at all (read once per process).
bool Enabled();

// The first fault for `point` whose keys all match `attributes` (plus the process attributes) and
// that has fired fewer than `times` times; counts the firing. Inert (false) when disabled.
bool Match(std::string_view point, Attributes attributes, Fault* fired = nullptr);

// An attribute of this process that every point matches against (e.g. "attempt" in a worker).
void SetAttribute(std::string key, std::string value);

// Actions shared by the points.
// SIGKILL to this process, as `kill -9` from outside would.
[[noreturn]] void KillSelf();
// mode=pause or mark: the file handshake above; otherwise sleeps `ms` milliseconds (default 0).
void Pause(const Fault& fault);

// Match() plus Pause(): for points that only hold things up.
void MaybePause(std::string_view point, Attributes attributes);
// Match() plus KillSelf() (after the pause handshake with mode=pause): for points that crash.
void MaybeKill(std::string_view point, Attributes attributes);
// Match(), returning the errno to fail with (`errno`, else `default_errno`), or 0.
int FailureErrno(std::string_view point, Attributes attributes, int default_errno);

// For tests in this process: replaces the spec (as if HEARTH_FAULTS were `spec`) and resets the
// counters. An empty spec disables every point.
void SetSpecForTesting(const std::string& spec);

}  // namespace hearth::faults
