// Runs the `hearth` binary (or any program) from a test: to completion with its output captured,
// or in the background as a ChildProcess that the test can signal, freeze and kill.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace hearth::testing {

struct CommandResult {
  int exit_code = -1;  // the exit status, or 128 + the signal that ended the program (as a shell)
  std::string out;     // stdout
  std::string err;     // stderr
};

// The hearth binary of this build: $HEARTH_BINARY_DIR/bin/hearth (ctest sets it), else the bin/
// directory beside the test binary's own (build/tests/run_test -> build/bin/hearth).
inline std::string HearthBinary() {
  const char* dir = std::getenv("HEARTH_BINARY_DIR");
  if (dir != nullptr && *dir) return std::string(dir) + "/bin/hearth";
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path = n > 0 ? std::string(self, static_cast<size_t>(n)) : "build/tests/run_test";
  path = path.substr(0, path.rfind('/'));  // build/tests
  return path.substr(0, path.rfind('/')) + "/bin/hearth";
}

// A waitpid status as a shell would report it.
inline int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

namespace internal {

// argv as execv wants it, built before fork(): only async-signal-safe calls may follow a fork in a
// process that has other threads (BLAS starts some).
struct ExecArgs {
  explicit ExecArgs(const std::vector<std::string>& argv) : strings(argv) {
    for (std::string& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
  std::vector<std::string> strings;
  std::vector<char*> pointers;
};

// In the child after fork(): wires stdin to /dev/null, stdout and stderr to the given fds, and
// execs. Never returns.
[[noreturn]] inline void ExecChild(const ExecArgs& args, int null_fd, int out_fd, int err_fd) {
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  ::execv(args.pointers[0], args.pointers.data());
  ::_exit(127);
}

}  // namespace internal

// Runs argv[0] (a path, no shell) with argv and waits for it, capturing stdout and stderr.
inline CommandResult RunCommand(const std::vector<std::string>& argv) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  const internal::ExecArgs args(argv);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) internal::ExecChild(args, null_fd, out_pipe[1], err_pipe[1]);
  if (null_fd >= 0) ::close(null_fd);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // Drain both pipes together so a chatty child never blocks on a full one.
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid) result.exit_code = ExitCodeOf(status);
  return result;
}

// `hearth args...`.
inline CommandResult RunHearth(std::vector<std::string> args) {
  args.insert(args.begin(), HearthBinary());
  return RunCommand(args);
}

// A program running in the background, its stdout and stderr going to files. Killed (SIGKILL) and
// reaped on destruction if still running, so a failing test leaves no process behind.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& out_path,
               const std::string& err_path) {
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const internal::ExecArgs args(argv);
    if (out_fd >= 0 && err_fd >= 0) {
      pid_ = ::fork();
      if (pid_ == 0) internal::ExecChild(args, null_fd, out_fd, err_fd);
    }
    if (null_fd >= 0) ::close(null_fd);
    if (out_fd >= 0) ::close(out_fd);
    if (err_fd >= 0) ::close(err_fd);
  }
  ~ChildProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  bool running() const { return pid_ > 0 && exit_code_ < 0; }
  pid_t pid() const { return pid_; }

  bool Signal(int signal) const { return running() && ::kill(pid_, signal) == 0; }

  // SIGSTOP, returning once the child has actually stopped (so nothing it does can race with
  // what the test reads next). False if it exited instead.
  bool Freeze() {
    if (!Signal(SIGSTOP)) return false;
    int status = 0;
    while (true) {
      const pid_t r = ::waitpid(pid_, &status, WUNTRACED);
      if (r < 0 && errno == EINTR) continue;
      if (r != pid_) return false;
      if (WIFSTOPPED(status)) return true;
      exit_code_ = ExitCodeOf(status);
      return false;
    }
  }
  bool Thaw() const { return Signal(SIGCONT); }

  // Whether it has exited, without blocking.
  bool Poll() {
    if (!running()) return !started() || exit_code_ >= 0;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_ && !WIFSTOPPED(status))
      exit_code_ = ExitCodeOf(status);
    return exit_code_ >= 0;
  }

  // Waits for the exit and returns the exit code (128 + signal when killed).
  int Wait() {
    while (running()) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r != pid_) break;
      if (!WIFSTOPPED(status)) exit_code_ = ExitCodeOf(status);
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace hearth::testing
