// Where a job's per-rank logs live and how to read them. Each attempt runs under
// <data dir>/jobs/<job>/attempt-<n>/: launcher.log (hearthrun and mpirun's own output) and, from
// mpirun --output-filename, logs/1/rank.<r>/{stdout,stderr}.
#pragma once

#include <string>
#include <vector>

#include "hearth/v1/coordinator.pb.h"

namespace hearth::coordinator {

std::string AttemptDir(const std::string& data_dir, const std::string& job_id, int attempt);
std::string LauncherLog(const std::string& attempt_dir);
std::string RankLogDir(const std::string& attempt_dir);  // what --output-dir gets

// Every line of rank `rank`'s stdout then stderr in an attempt (empty if none yet).
std::vector<std::string> RankLogLines(const std::string& attempt_dir, int rank);
// Ranks that have a log in the attempt, ascending.
std::vector<int> LoggedRanks(const std::string& attempt_dir);

// The failure report for an attempt that ended with `exit_code`: the rank to blame (the one
// mpirun names, else the first whose log has a "hearth ...:" error line), its error line and
// the last `tail` lines of its log.
v1::FailureReport DiagnoseFailure(const std::string& attempt_dir, int exit_code, int tail = 20);

}  // namespace hearth::coordinator
