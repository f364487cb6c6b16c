#include "coordinator/job_logs.h"

#include <dirent.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "coordinator/data_dir.h"
#include "coordinator/rotating_log.h"

namespace hearth::coordinator {
namespace {

constexpr int kTailLines = 200;

// The decimal number (at most 9 digits) at `pos` in `line`, and the position after it.
bool NumberAt(std::string_view line, size_t pos, int64_t& value, size_t& end) {
  end = pos;
  while (end < line.size() && end - pos < 10 && line[end] >= '0' && line[end] <= '9') ++end;
  return end > pos && end - pos <= 9 &&
         absl::SimpleAtoi(absl::string_view(line.data() + pos, end - pos), &value);
}

// The number right after the first `marker` in `line`, or -1.
int64_t NumberAfter(std::string_view line, std::string_view marker) {
  const size_t at = line.find(marker);
  int64_t value = -1;
  size_t end = 0;
  if (at == std::string_view::npos || !NumberAt(line, at + marker.size(), value, end)) return -1;
  return value;
}

// "rank N:" as in "hearth worker: rank 1: ..." relayed by mpirun, or -1.
int64_t RankColon(std::string_view line) {
  const size_t at = line.find("rank ");
  int64_t value = -1;
  size_t end = 0;
  if (at == std::string_view::npos || !NumberAt(line, at + 5, value, end) || end >= line.size() ||
      line[end] != ':')
    return -1;
  return value;
}

// The rank in Open MPI's process name "[[1234,1],2]" after "Process name: ", or -1.
int64_t ProcessNameRank(std::string_view line) {
  constexpr std::string_view kMarker = "Process name: [[";
  const size_t at = line.find(kMarker);
  if (at == std::string_view::npos) return -1;
  const size_t close = line.find("],", at + kMarker.size());
  if (close == std::string_view::npos || close - at > 40) return -1;
  return NumberAfter(line.substr(close), "],");
}

std::string ErrorLine(const std::vector<std::string>& lines) {
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (absl::StartsWith(*it, "hearth ") || absl::StrContains(*it, "hearth: stall")) return *it;
  return "";
}

std::vector<std::string> Tail(const std::vector<std::string>& lines, int tail) {
  const size_t from = lines.size() > static_cast<size_t>(tail) ? lines.size() - tail : 0;
  return std::vector<std::string>(lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end());
}

}  // namespace

int RankNamedByLauncher(const std::vector<std::string>& launcher, int max_rank) {
  // In order of preference; within one, the first line that says it.
  for (int pattern = 0; pattern < 4; ++pattern)
    for (const std::string& line : launcher) {
      int64_t rank = -1;
      switch (pattern) {
        case 0:
          rank = NumberAfter(line, "process rank ");
          break;
        case 1:
          rank = NumberAfter(line, "invoked on rank ");
          break;
        case 2:
          rank = ProcessNameRank(line);
          break;
        default:
          rank = RankColon(line);
          break;
      }
      if (rank >= 0 && rank < max_rank) return static_cast<int>(rank);
    }
  return -1;
}

std::vector<int> LoggedRanks(const std::string& attempt_dir) {
  std::set<int> ranks;
  const std::string dir = AttemptLogDir(attempt_dir);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return {};
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name = entry->d_name;
    if (!name.starts_with("rank-")) continue;
    const size_t dot = name.find('.', 5);
    int rank = 0;
    if (dot != std::string_view::npos && dot - 5 <= 9 &&
        absl::SimpleAtoi(absl::string_view(name.data() + 5, dot - 5), &rank) && rank >= 0 &&
        RankLogName(rank) == name.substr(0, dot))
      ranks.insert(rank);
  }
  ::closedir(d);
  return {ranks.begin(), ranks.end()};
}

v1::FailureReport DiagnoseFromTails(const std::vector<std::string>& launcher,
                                    const std::map<int, std::vector<std::string>>& ranks,
                                    int exit_code, int tail) {
  v1::FailureReport report;
  report.set_exit_code(exit_code);
  int rank = RankNamedByLauncher(launcher);
  if (rank < 0)
    for (const auto& [r, lines] : ranks)
      if (!ErrorLine(lines).empty()) {
        rank = r;
        break;
      }
  report.set_rank(rank);
  static const std::vector<std::string> kNone;
  const auto found = ranks.find(rank);
  const std::vector<std::string>& lines = found != ranks.end() ? found->second : kNone;
  std::string error = ErrorLine(lines);
  // The rank mpirun blames may have said nothing (it only followed the others out); the error a
  // rank did report says what happened.
  for (auto it = ranks.begin(); error.empty() && it != ranks.end(); ++it)
    error = ErrorLine(it->second);
  if (error.empty()) error = ErrorLine(launcher);
  if (error.empty())
    error = rank >= 0 ? absl::StrFormat("rank %d failed (exit code %d)", rank, exit_code)
                      : absl::StrFormat("the workers exited with code %d", exit_code);
  report.set_error(error);
  for (const std::string& line : Tail(lines.empty() ? launcher : lines, tail))
    report.add_log_tail(line);
  return report;
}

v1::FailureReport DiagnoseFailure(const std::string& attempt_dir, int exit_code, int tail) {
  const std::string dir = AttemptLogDir(attempt_dir);
  const std::vector<std::string> launcher =
      TailLogLines(dir, kLauncherLogName, kTailLines, kDiagnosisTailBytes);
  std::map<int, std::vector<std::string>> ranks;
  for (int rank : LoggedRanks(attempt_dir))
    ranks[rank] = TailLogLines(dir, RankLogName(rank), kTailLines, kDiagnosisTailBytes);
  return DiagnoseFromTails(launcher, ranks, exit_code, std::max(tail, 0));
}

}  // namespace hearth::coordinator
