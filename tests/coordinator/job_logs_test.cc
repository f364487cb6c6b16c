// The log pump's parser, the per-rank logs it writes and the failure report read from them.
#include "coordinator/job_logs.h"

#include <gtest/gtest.h>

#include <string>

#include "ckpt/temp_dir.h"
#include "coordinator/data_dir.h"
#include "coordinator/launcher_output.h"
#include "coordinator/rotating_log.h"

namespace hearth::coordinator {
namespace {

std::vector<std::string> RankLines(const std::string& attempt, int rank) {
  LogCursor cursor;
  return ReadLogLines(AttemptLogDir(attempt), RankLogName(rank), cursor, 1 << 20);
}

std::vector<std::string> LauncherLines(const std::string& attempt) {
  LogCursor cursor;
  return ReadLogLines(AttemptLogDir(attempt), kLauncherLogName, cursor, 1 << 20);
}

void Pump(const std::string& attempt, const std::string& output,
          LauncherOutputSplitter::Options options = {}) {
  LauncherOutputSplitter splitter(AttemptLogDir(attempt), options);
  // In small pieces, as a pipe delivers them, split anywhere.
  for (size_t i = 0; i < output.size(); i += 7) splitter.Consume(output.substr(i, 7));
  splitter.Finish();
}

TEST(JobLogsTest, TaggedLinesGoToTheirRanksAndTheRestToTheLauncherLog) {
  testing::TempDir dir;
  Pump(dir.path(),
       "[1,0]<stdout>:epoch 1\n[1,1]<stdout>:epoch 1 on host b\n[1,0]<stderr>:warning\n"
       "[1,1]<stderr>:hearth worker: rank 1: cannot open /data/x.csv\nmpirun noise\n"
       "[1,2]<stddiag>:diag\n[1,x]<stdout>:not a tag\nlast line without newline");
  EXPECT_EQ(LoggedRanks(dir.path()), (std::vector<int>{0, 1, 2}));
  // One rank's stdout and stderr stay interleaved in the order they arrived.
  EXPECT_EQ(RankLines(dir.path(), 0), (std::vector<std::string>{"epoch 1", "warning"}));
  EXPECT_EQ(RankLines(dir.path(), 1),
            (std::vector<std::string>{"epoch 1 on host b",
                                      "hearth worker: rank 1: cannot open /data/x.csv"}));
  EXPECT_EQ(LauncherLines(dir.path()),
            (std::vector<std::string>{"mpirun noise", "[1,x]<stdout>:not a tag",
                                      "last line without newline"}));
  const v1::FailureReport report = DiagnoseFailure(dir.path(), 1);
  EXPECT_EQ(report.rank(), 1);
  EXPECT_EQ(report.error(), "hearth worker: rank 1: cannot open /data/x.csv");
  EXPECT_EQ(report.log_tail_size(), 2);
  EXPECT_EQ(report.exit_code(), 1);
}

TEST(JobLogsTest, MpirunNamingADeadRankWins) {
  testing::TempDir dir;
  Pump(dir.path(),
       "mpirun noticed that process rank 2 with PID 123 on node vm exited on signal 9 (Killed).\n");
  const v1::FailureReport report = DiagnoseFailure(dir.path(), 137);
  EXPECT_EQ(report.rank(), 2);
  EXPECT_EQ(report.error(), "rank 2 failed (exit code 137)");
}

// The crash from the hardening issue: a data cell "process rank 3000000000" in a rank's error
// reached the diagnosis, whose std::stoi threw out_of_range in the reaper thread.
TEST(JobLogsTest, ARankPrintingWhatLooksLikeMpirunsWordsIsNotBelieved) {
  testing::TempDir dir;
  Pump(dir.path(),
       "[1,0]<stderr>:hearth worker: rank 0: train.csv:17:3: expected a number in column \"a\", "
       "got \"process rank 3000000000\"\n"
       "[1,0]<stderr>:process rank 1 with PID 5 exited\n");
  const v1::FailureReport report = DiagnoseFailure(dir.path(), 1);
  EXPECT_EQ(report.rank(), 0) << "a rank's own output cannot blame another rank";
  EXPECT_NE(report.error().find("process rank 3000000000"), std::string::npos) << report.error();
}

TEST(JobLogsTest, NumbersBeyondAnyRankAreNotRanks) {
  EXPECT_EQ(RankNamedByLauncher({"process rank 3000000000 exited"}), -1);
  EXPECT_EQ(RankNamedByLauncher({"process rank 99999999999999999999999 exited"}), -1);
  EXPECT_EQ(RankNamedByLauncher({"invoked on rank 70000 in communicator"}), -1);
  EXPECT_EQ(RankNamedByLauncher({"Process name: [[1234,1],3]"}), 3);
  EXPECT_EQ(RankNamedByLauncher({"MPI_ABORT was invoked on rank 2 in communicator"}), 2);
  EXPECT_EQ(RankNamedByLauncher({"rank 4: failed", "process rank 1 with PID"}), 1)
      << "mpirun's own wording is preferred";
  EXPECT_EQ(RankNamedByLauncher({"rank x:", "rank 5", "Process name: [[1,1],"}), -1);
}

TEST(JobLogsTest, AHugeLineIsCutAndCostsNoMoreThanAShortOne) {
  testing::TempDir dir;
  const std::string huge(200000, 'x');
  LauncherOutputSplitter::Options options;
  options.max_line_bytes = 1000;
  Pump(dir.path(), "[1,0]<stdout>:" + huge + "\n[1,0]<stdout>:after\n" + huge + "\n", options);
  const std::vector<std::string> lines = RankLines(dir.path(), 0);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_LT(lines[0].size(), 1100u);
  EXPECT_NE(lines[0].find("more bytes of this line cut"), std::string::npos);
  EXPECT_EQ(lines[1], "after");
  // The diagnosis scans bounded tails: a 200k-character line of the launcher is harmless.
  const v1::FailureReport report = DiagnoseFailure(dir.path(), 1);
  EXPECT_EQ(report.rank(), -1);
  EXPECT_EQ(report.error(), "the workers exited with code 1");
}

TEST(JobLogsTest, DiagnosisFromTailsIsPureAndBounded) {
  std::map<int, std::vector<std::string>> ranks = {{0, {"ok"}}, {3, {"hearth train: boom"}}};
  v1::FailureReport report = DiagnoseFromTails({"noise"}, ranks, 1, 1);
  EXPECT_EQ(report.rank(), 3);
  EXPECT_EQ(report.error(), "hearth train: boom");
  ASSERT_EQ(report.log_tail_size(), 1);
  report = DiagnoseFromTails({}, {}, 137, 20);
  EXPECT_EQ(report.rank(), -1);
  EXPECT_EQ(report.log_tail_size(), 0);
}

}  // namespace
}  // namespace hearth::coordinator
