// HEARTH_FAULTS: matching by attributes, parameters, firing limits, process attributes, pauses.
#include "core/fault_injection.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hearth::faults {
namespace {

class FaultInjectionTest : public ::testing::Test {
 protected:
  void TearDown() override { SetSpecForTesting(""); }
};

TEST_F(FaultInjectionTest, NothingFiresWithoutASpec) {
  SetSpecForTesting("");
  EXPECT_FALSE(Enabled());
  EXPECT_FALSE(Match("rank_exit", {{"rank", "1"}, {"step", "3"}}));
  EXPECT_EQ(FailureErrno("write", {{"path", "/x"}}, 28), 0);
}

TEST_F(FaultInjectionTest, EveryKeyMustMatchAnAttribute) {
  SetSpecForTesting("rank_exit:rank=1,step=3");
  EXPECT_TRUE(Enabled());
  EXPECT_TRUE(Match("rank_exit", {{"rank", "1"}, {"step", "3"}}));
  EXPECT_FALSE(Match("rank_exit", {{"rank", "0"}, {"step", "3"}}));
  EXPECT_FALSE(Match("rank_exit", {{"rank", "1"}, {"step", "4"}}));
  EXPECT_FALSE(Match("rank_stall", {{"rank", "1"}, {"step", "3"}}));
  // A key the point does not have (a typo) never fires.
  SetSpecForTesting("rank_exit:rnak=1");
  EXPECT_FALSE(Match("rank_exit", {{"rank", "1"}, {"step", "3"}}));
}

TEST_F(FaultInjectionTest, PathsMatchBySubstringAndParametersAreNotMatched) {
  SetSpecForTesting("write:path=/checkpoints/,errno=28");
  EXPECT_EQ(FailureErrno("write", {{"path", "/data/checkpoints/j-000001/x"}}, 5), 28);
  EXPECT_EQ(FailureErrno("write", {{"path", "/data/jobs/x"}}, 5), 0);
  SetSpecForTesting("fsync");
  EXPECT_EQ(FailureErrno("fsync", {{"path", "/a"}}, 5), 5);
}

TEST_F(FaultInjectionTest, TimesLimitsTheFirings) {
  SetSpecForTesting("write:times=2");
  EXPECT_TRUE(Match("write", {{"path", "a"}}));
  EXPECT_TRUE(Match("write", {{"path", "b"}}));
  EXPECT_FALSE(Match("write", {{"path", "c"}}));
}

TEST_F(FaultInjectionTest, ProcessAttributesMatchEveryPoint) {
  SetSpecForTesting("rank_exit:rank=1,attempt=0");
  EXPECT_FALSE(Match("rank_exit", {{"rank", "1"}})) << "no attempt known yet";
  SetAttribute("attempt", "1");
  EXPECT_FALSE(Match("rank_exit", {{"rank", "1"}}));
  SetAttribute("attempt", "0");
  EXPECT_TRUE(Match("rank_exit", {{"rank", "1"}}));
}

TEST_F(FaultInjectionTest, SeveralFaultsAndTheirParameters) {
  SetSpecForTesting(" state_write:state=SUCCEEDED,mode=pause ; write:errno=5 ");
  Fault fault;
  ASSERT_TRUE(Match("state_write", {{"state", "SUCCEEDED"}, {"job", "j-000001"}}, &fault));
  EXPECT_EQ(fault.point, "state_write");
  EXPECT_EQ(fault.Text("mode", ""), "pause");
  EXPECT_EQ(fault.Int("ms", 7), 7);
  EXPECT_EQ(FailureErrno("write", {}, 28), 5);
}

TEST_F(FaultInjectionTest, APauseWaitsForItsReleaseFile) {
  const std::string dir = ::testing::TempDir() + "/faults-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  ::setenv("HEARTH_FAULT_DIR", dir.c_str(), 1);
  SetSpecForTesting("state_write:mode=pause");
  std::atomic<bool> passed{false};
  std::thread paused([&] {
    MaybePause("state_write", {});
    passed = true;
  });
  // The handshake, not the clock: the point announces itself, then waits for the release.
  while (!std::filesystem::exists(dir + "/state_write.paused"))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_FALSE(passed);
  std::ofstream(dir + "/state_write.release") << "go\n";
  paused.join();
  EXPECT_TRUE(passed);
  ::unsetenv("HEARTH_FAULT_DIR");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hearth::faults
