// Reading an attempt's logs (written by the log pump: launcher_output.h, rotating_log.h) and the
// failure report of an attempt that failed. Every read is bounded: a failure report reads at most
// kDiagnosisTailBytes of each log, whatever their size or line lengths.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hearth/v1/coordinator.pb.h"

namespace hearth::coordinator {

inline constexpr int64_t kDiagnosisTailBytes = 64 << 10;

// Ranks that have a log in the attempt, ascending.
std::vector<int> LoggedRanks(const std::string& attempt_dir);

// The failure report for an attempt that ended with `exit_code`: the rank to blame (the one
// mpirun names, else the first whose log has a "hearth ...:" error line), its error line and the
// last `tail` lines of its log.
v1::FailureReport DiagnoseFailure(const std::string& attempt_dir, int exit_code, int tail = 20);

// The decision DiagnoseFailure makes, from the tails it read: the launcher's own lines and each
// rank's. Pure, for tests and the fuzzer.
v1::FailureReport DiagnoseFromTails(const std::vector<std::string>& launcher,
                                    const std::map<int, std::vector<std::string>>& ranks,
                                    int exit_code, int tail);

// The rank that mpirun's own messages blame ("process rank 1 with PID ...", "MPI_ABORT was
// invoked on rank 2", "Process name: [[1234,1],2]"), or -1. Numbers beyond any real rank count
// (`max_rank`) are not ranks.
int RankNamedByLauncher(const std::vector<std::string>& launcher, int max_rank = 1 << 16);

}  // namespace hearth::coordinator
