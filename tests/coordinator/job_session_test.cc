// A job's processes are found by session, including those that moved to a process group of their
// own the way Open MPI's local ranks do.
#include "coordinator/job_session.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace hearth::coordinator {
namespace {

// A session leader (like hearthd's launcher) with one child in a process group of its own (like
// a rank). The child ignores SIGTERM and SIGUSR1, as a rank busy saving would outlast them.
// The child reports its pid through a pipe once it has its own group.
struct StubbornSession {
  StubbornSession() {
    int fds[2];
    if (::pipe(fds) != 0) return;
    leader = ::fork();
    if (leader == 0) {
      ::setsid();
      if (::fork() == 0) {
        ::setpgid(0, 0);
        ::signal(SIGTERM, SIG_IGN);
        ::signal(SIGUSR1, SIG_IGN);
        const pid_t self = ::getpid();
        (void)!::write(fds[1], &self, sizeof self);
        for (;;) ::pause();
      }
      for (;;) ::pause();
    }
    ::close(fds[1]);
    (void)!::read(fds[0], &rank, sizeof rank);
    ::close(fds[0]);
  }
  // A failed expectation must not leave the processes behind.
  ~StubbornSession() {
    if (rank > 0) ::kill(rank, SIGKILL);
    if (leader > 0 && ::kill(leader, SIGKILL) == 0) ::waitpid(leader, nullptr, 0);
  }
  pid_t leader = -1;
  pid_t rank = -1;
};

TEST(JobSessionTest, FindsMembersInOtherProcessGroupsAndEndsThem) {
  StubbornSession session;
  const pid_t leader = session.leader, rank = session.rank;
  ASSERT_GT(leader, 0);
  ASSERT_GT(rank, 0);
  ASSERT_NE(::getpgid(rank), leader) << "the rank should be in a group of its own";

  std::vector<pid_t> members = SessionMembers(leader);
  std::sort(members.begin(), members.end());
  std::vector<pid_t> expected = {leader, rank};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(members, expected);

  // Killing the leader (mpirun) alone leaves the rank running: the case a process group missed.
  ::kill(leader, SIGKILL);
  int status = 0;
  ::waitpid(leader, &status, 0);
  EXPECT_EQ(SessionMembers(leader), std::vector<pid_t>{rank});
  EXPECT_FALSE(AwaitSessionEnd(leader, absl::Milliseconds(200)));

  EndSession(leader, absl::Milliseconds(100));
  // Empty of live processes; the killed rank may stay a zombie until init reaps it.
  EXPECT_TRUE(SessionMembers(leader).empty()) << "the rank outlived EndSession";
}

TEST(JobSessionTest, TheBootIdIsReadableAndStable) {
  const std::string id = BootId();
  EXPECT_EQ(id.size(), 36u) << "a UUID: " << id;
  EXPECT_EQ(BootId(), id);
}

TEST(JobSessionTest, NeverSignalsInitOrAnInvalidSession) {
  EXPECT_TRUE(SessionMembers(0).empty());
  EXPECT_TRUE(SessionMembers(1).empty());
  EXPECT_EQ(SignalSession(1, 0), 0);
  EXPECT_TRUE(AwaitSessionEnd(-1, absl::Milliseconds(1)));
}

}  // namespace
}  // namespace hearth::coordinator
