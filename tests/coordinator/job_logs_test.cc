// Per-rank logs and failure reports from an attempt directory.
#include "coordinator/job_logs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ckpt/temp_dir.h"

namespace hearth::coordinator {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(JobLogsTest, LocalRanksComeFromTheirFilesRemoteOnesFromTheTaggedLauncherLog) {
  testing::TempDir dir;
  const std::string attempt = dir.path();
  Write(attempt + "/logs/1/rank.0/stdout", "epoch 1\n");
  Write(attempt + "/logs/1/rank.0/stderr", "warning\n");
  // Rank 1 ran on another machine: only mpirun's tagged copy of its output is here.
  Write(LauncherLog(attempt),
        "[1,0]<stdout>:epoch 1\n[1,1]<stdout>:epoch 1 on host b\n"
        "[1,1]<stderr>:hearth worker: rank 1: cannot open /data/x.csv\nmpirun noise\n");
  EXPECT_EQ(LoggedRanks(attempt), (std::vector<int>{0, 1}));
  EXPECT_EQ(RankLogLines(attempt, 0), (std::vector<std::string>{"epoch 1", "warning"}));
  EXPECT_EQ(RankLogLines(attempt, 1),
            (std::vector<std::string>{"epoch 1 on host b",
                                      "hearth worker: rank 1: cannot open /data/x.csv"}));
  const v1::FailureReport report = DiagnoseFailure(attempt, 1);
  EXPECT_EQ(report.rank(), 1);
  EXPECT_EQ(report.error(), "hearth worker: rank 1: cannot open /data/x.csv");
  EXPECT_EQ(report.log_tail_size(), 2);
  EXPECT_EQ(report.exit_code(), 1);
}

TEST(JobLogsTest, MpirunNamingADeadRankWins) {
  testing::TempDir dir;
  Write(
      LauncherLog(dir.path()),
      "mpirun noticed that process rank 2 with PID 123 on node vm exited on signal 9 (Killed).\n");
  const v1::FailureReport report = DiagnoseFailure(dir.path(), 137);
  EXPECT_EQ(report.rank(), 2);
  EXPECT_EQ(report.error(), "rank 2 failed (exit code 137)");
}

}  // namespace
}  // namespace hearth::coordinator
