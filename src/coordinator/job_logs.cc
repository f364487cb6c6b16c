#include "coordinator/job_logs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/str_format.h"

namespace hearth::coordinator {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> ReadLines(const fs::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The rank mpirun's own messages blame: "process rank 1 with PID ...", "MPI_ABORT was invoked on
// rank 2", or the process name "[[1234,1],2]" of the first process that exited non-zero.
int RankNamedByMpirun(const std::vector<std::string>& launcher) {
  static const std::regex kPatterns[] = {
      std::regex(R"(process rank (\d+))"), std::regex(R"(invoked on rank (\d+))"),
      std::regex(R"(Process name: \[\[\d+,\d+\],(\d+)\])"), std::regex(R"(rank (\d+):)")};
  for (const std::regex& pattern : kPatterns)
    for (const std::string& line : launcher) {
      std::smatch m;
      if (std::regex_search(line, m, pattern)) return std::stoi(m[1]);
    }
  return -1;
}

std::string ErrorLine(const std::vector<std::string>& lines) {
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (it->starts_with("hearth ") || it->find("hearth: stall") != std::string::npos) return *it;
  return "";
}

}  // namespace

std::string AttemptDir(const std::string& data_dir, const std::string& job_id, int attempt) {
  return absl::StrFormat("%s/jobs/%s/attempt-%d", data_dir, job_id, attempt);
}
std::string LauncherLog(const std::string& attempt_dir) {
  return attempt_dir + "/launcher.log";
}
std::string RankLogDir(const std::string& attempt_dir) {
  return attempt_dir + "/logs";
}

// The launcher log's lines of `rank` (mpirun tags them "[1,<rank>]<stdout>:text"), or of every
// rank when rank < 0, as (rank, text).
static std::vector<std::pair<int, std::string>> TaggedLines(const std::string& attempt_dir,
                                                            int rank) {
  static const std::regex kTag(R"(^\[\d+,(\d+)\]<std(?:out|err)>:(.*)$)");
  std::vector<std::pair<int, std::string>> out;
  for (const std::string& line : ReadLines(LauncherLog(attempt_dir))) {
    std::smatch m;
    if (!std::regex_match(line, m, kTag)) continue;
    const int r = std::stoi(m[1]);
    if (rank < 0 || r == rank) out.push_back({r, m[2]});
  }
  return out;
}

std::vector<std::string> RankLogLines(const std::string& attempt_dir, int rank) {
  const fs::path dir = fs::path(RankLogDir(attempt_dir)) / "1" / ("rank." + std::to_string(rank));
  std::error_code error;
  if (fs::exists(dir, error)) {
    std::vector<std::string> lines = ReadLines(dir / "stdout");
    std::vector<std::string> err = ReadLines(dir / "stderr");
    lines.insert(lines.end(), err.begin(), err.end());
    return lines;
  }
  // A rank on another machine wrote its files there; the launcher log has its lines.
  std::vector<std::string> lines;
  for (auto& [r, text] : TaggedLines(attempt_dir, rank)) lines.push_back(std::move(text));
  return lines;
}

std::vector<int> LoggedRanks(const std::string& attempt_dir) {
  std::vector<int> ranks;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(fs::path(RankLogDir(attempt_dir)) / "1", error)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("rank.")) ranks.push_back(std::atoi(name.c_str() + 5));
  }
  for (const auto& [r, text] : TaggedLines(attempt_dir, -1))
    if (std::find(ranks.begin(), ranks.end(), r) == ranks.end()) ranks.push_back(r);
  std::sort(ranks.begin(), ranks.end());
  return ranks;
}

v1::FailureReport DiagnoseFailure(const std::string& attempt_dir, int exit_code, int tail) {
  v1::FailureReport report;
  report.set_exit_code(exit_code);
  const std::vector<std::string> launcher = ReadLines(LauncherLog(attempt_dir));
  int rank = RankNamedByMpirun(launcher);
  if (rank < 0)
    for (int r : LoggedRanks(attempt_dir))
      if (!ErrorLine(RankLogLines(attempt_dir, r)).empty()) {
        rank = r;
        break;
      }
  report.set_rank(rank);
  std::vector<std::string> lines = rank >= 0 ? RankLogLines(attempt_dir, rank) : launcher;
  std::string error = ErrorLine(lines);
  if (error.empty()) error = ErrorLine(launcher);
  if (error.empty())
    error = rank >= 0 ? absl::StrFormat("rank %d failed (exit code %d)", rank, exit_code)
                      : absl::StrFormat("the workers exited with code %d", exit_code);
  report.set_error(error);
  if (lines.empty()) lines = launcher;
  const size_t from = lines.size() > static_cast<size_t>(tail) ? lines.size() - tail : 0;
  for (size_t i = from; i < lines.size(); ++i) report.add_log_tail(lines[i]);
  return report;
}

}  // namespace hearth::coordinator
