// A data-parallel job never hangs: a dead rank, a frozen rank, a NaN on one rank or a bad job all
// end every rank with an error that says what happened and where.
#include <dirent.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "parallel/parallel_test_util.h"

namespace hearth::testing {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The pid of the process started by mpirun `mpirun_pid` as rank `rank`, or -1: its children with
// OMPI_COMM_WORLD_RANK=<rank> in their environment.
pid_t RankPid(pid_t mpirun_pid, int rank) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  while (dirent* entry = ::readdir(proc)) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_text, comm, state;
    pid_t parent = 0;
    stat >> pid_text >> comm >> state >> parent;
    if (parent != mpirun_pid) continue;
    const std::string environ = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/environ");
    if (environ.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      found = pid;
  }
  ::closedir(proc);
  return found;
}

class FailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    csv_ = dir_.file("three_class.csv");
    WriteFileOrFail(csv_, ThreeClassCsv());
  }
  // A job long enough to be interrupted: many epochs of the small MLP.
  std::string LongJob() {
    const std::string job = dir_.file("long.json");
    WriteFileOrFail(job, MlpJob(csv_, 100000));
    return job;
  }
  // Starts `ranks` workers on the long job and waits until they are training (metrics logged).
  std::unique_ptr<ChildProcess> StartTraining(int ranks) {
    const std::string run = dir_.file("run");
    auto child =
        std::make_unique<ChildProcess>(MpiHearthCommand(ranks, {"train", LongJob(), "--out", run}),
                                       dir_.file("out.txt"), dir_.file("err.txt"));
    const auto start = Clock::now();
    while (SecondsSince(start) < 60 && child->running() && !child->Poll() &&
           ReadFileOrEmpty(run + "/metrics.jsonl").empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return child;
  }
  // Waits at most `limit` seconds for the job to end; returns the seconds it took, or -1.
  double WaitForEnd(ChildProcess& child, double limit) {
    const auto start = Clock::now();
    while (SecondsSince(start) < limit) {
      if (child.Poll()) return SecondsSince(start);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  std::string Errors() { return ReadFileOrEmpty(dir_.file("err.txt")); }

  TempDir dir_;
  std::string csv_;
};

TEST_F(FailureTest, ADeadRankEndsTheJobNamingTheRank) {
  std::unique_ptr<ChildProcess> job = StartTraining(3);
  ASSERT_TRUE(job->running()) << Errors();
  const pid_t victim = RankPid(job->pid(), 1);
  ASSERT_GT(victim, 0) << "cannot find rank 1 among mpirun's children";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  // Bounded generously: the job must end, but how fast depends on the machine's load.
  const double seconds = WaitForEnd(*job, 300);
  ASSERT_GE(seconds, 0) << "the job did not end after rank 1 died:\n" << Errors();
  EXPECT_NE(job->Wait(), 0);
  EXPECT_TRUE(Contains(Errors(), "rank 1")) << Errors();
}

TEST_F(FailureTest, TheStallWatchdogReportsAFrozenRankAndAbortsTheJob) {
  ::setenv("HEARTH_STALL_WARNING_SECONDS", "1", 1);
  ::setenv("HEARTH_STALL_TIMEOUT_SECONDS", "4", 1);
  std::unique_ptr<ChildProcess> job = StartTraining(3);
  ::unsetenv("HEARTH_STALL_WARNING_SECONDS");
  ::unsetenv("HEARTH_STALL_TIMEOUT_SECONDS");
  ASSERT_TRUE(job->running()) << Errors();
  const pid_t frozen = RankPid(job->pid(), 2);
  ASSERT_GT(frozen, 0);
  ASSERT_EQ(::kill(frozen, SIGSTOP), 0);  // alive but never arriving: a hang, not a crash
  const double seconds = WaitForEnd(*job, 60);
  ::kill(frozen, SIGKILL);
  ASSERT_GE(seconds, 0) << "the watchdog did not end the job:\n" << Errors();
  EXPECT_NE(job->Wait(), 0);
  const std::string err = Errors();
  EXPECT_TRUE(Contains(err, "stall warning")) << err;
  EXPECT_TRUE(Contains(err, "stall timeout, aborting the job")) << err;
  EXPECT_TRUE(Contains(err, "missing: 2")) << err;
  EXPECT_TRUE(Contains(err, "rank 2")) << err;
}

TEST_F(FailureTest, ANonFiniteLossStopsEveryRankAndKeepsTheLastCheckpoint) {
  const std::string job = dir_.file("nan.json");
  WriteFileOrFail(job, MlpJob(csv_, 3, "", false, "1e30"));
  const std::string run = dir_.file("nan-run");
  CommandResult r = MpiHearth(2, {"train", job, "--out", run, "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "became NaN or infinite")) << r.err;
  EXPECT_TRUE(Contains(r.err, "The last good checkpoint is kept")) << r.err;
  // Reported once (by rank 0), and no MPI_Abort: every rank agreed and stopped cleanly.
  EXPECT_EQ(r.err.find("hearth train:"), r.err.rfind("hearth train:")) << r.err;
  EXPECT_FALSE(Contains(r.err, "MPI_ABORT")) << r.err;
}

// One rank sends a NaN (a fault point poisons its loss at step 3): every rank stops at that step,
// and the report names the rank, not only that something went wrong somewhere.
TEST_F(FailureTest, ANaNFromOneRankStopsAllAndNamesTheRank) {
  const std::string job = dir_.file("one-nan.json");
  WriteFileOrFail(job, MlpJob(csv_, 3));
  ::setenv("HEARTH_FAULTS", "rank_nan:rank=1,step=3", 1);
  CommandResult r = MpiHearth(3, {"train", job, "--out", dir_.file("one-nan-run"), "--quiet"});
  ::unsetenv("HEARTH_FAULTS");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "became NaN or infinite at step 3")) << r.err;
  EXPECT_TRUE(Contains(r.err, "on rank 1")) << r.err;
  EXPECT_FALSE(Contains(r.err, "MPI_ABORT")) << r.err;
}

TEST_F(FailureTest, ABadJobIsReportedOnceUnderMpirun) {
  const std::string job = dir_.file("bad.json");
  WriteFileOrFail(job, MlpJob(csv_, 0));
  CommandResult r = MpiHearth(3, {"train", job, "--out", dir_.file("bad-run")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "epochs: must be > 0")) << r.err;
  EXPECT_EQ(r.err.find("epochs: must be > 0"), r.err.rfind("epochs: must be > 0")) << r.err;
}

TEST_F(FailureTest, AMissingFileOnOneRankStopsAllOfThemWithItsError) {
  const std::string job = dir_.file("missing.json");
  WriteFileOrFail(job, MlpJob(dir_.file("no-such.csv"), 1));
  CommandResult r = MpiHearth(2, {"train", job, "--out", dir_.file("missing-run")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "rank 0: cannot open")) << r.err;
  EXPECT_TRUE(Contains(r.err, "no-such.csv")) << r.err;
}

TEST_F(FailureTest, WorkersFlagLaunchesLocalWorkers) {
  const std::string job = dir_.file("short.json");
  WriteFileOrFail(job, MlpJob(csv_, 1));
  const std::string run = dir_.file("launched");
  AllowMpiAsRoot();
  CommandResult r = RunHearth({"train", job, "--workers", "2", "--out", run, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::optional<Json> out = ParseJson(r.out);
  ASSERT_TRUE(out.has_value()) << r.out;
  EXPECT_EQ((*out)["workers"].number, 2);
  EXPECT_EQ(MetadataInt(MustLoadCheckpoint(CheckpointFile(run, LatestStep(run))), "workers"), 2);
}

}  // namespace
}  // namespace hearth::testing
