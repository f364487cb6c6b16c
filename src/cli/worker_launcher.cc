#include "cli/worker_launcher.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace hearth::cli {
namespace {

volatile std::sig_atomic_t child_pid = 0;
volatile std::sig_atomic_t interrupts = 0;

void ForwardStop(int) {
  interrupts = interrupts + 1;
  if (child_pid <= 0) return;
  // First: a graceful stop (mpirun forwards SIGUSR1 to the ranks). Then: end the job.
  kill(child_pid, interrupts == 1 ? SIGUSR1 : SIGTERM);
}

bool Executable(const std::filesystem::path& path) {
  return access(path.c_str(), X_OK) == 0;
}

}  // namespace

StatusOr<std::string> FindHearthrun() {
  if (const char* env = std::getenv("HEARTH_HEARTHRUN"); env != nullptr && *env != '\0') {
    if (Executable(env)) return std::string(env);
    return absl::NotFoundError(
        absl::StrFormat("HEARTH_HEARTHRUN=%s is not an executable file; point it at "
                        "launch/hearthrun or unset it",
                        env));
  }
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path bin = self.parent_path();
    for (const auto& candidate :
         {bin / "../../launch/hearthrun", bin / "../share/hearth/hearthrun", bin / "hearthrun"})
      if (Executable(candidate)) return std::filesystem::weakly_canonical(candidate).string();
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (const std::string& dir : std::vector<std::string>(absl::StrSplit(path, ':'))) {
      const std::filesystem::path candidate = std::filesystem::path(dir) / "hearthrun";
      if (!dir.empty() && Executable(candidate)) return candidate.string();
    }
  }
  return absl::NotFoundError(
      "cannot find launch/hearthrun to start the workers; set HEARTH_HEARTHRUN to its path, or "
      "run the workers yourself: mpirun -np N hearth train JOB.json --out RUN_DIR");
}

StatusOr<int> LaunchWorkers(int workers, const std::vector<std::string>& rank_command) {
  HEARTH_ASSIGN_OR_RETURN(std::string hearthrun, FindHearthrun());
  std::vector<std::string> args = {hearthrun, "-n", std::to_string(workers), "--"};
  args.insert(args.end(), rank_command.begin(), rank_command.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed: cannot start the workers");
  if (pid == 0) {
    // Its own process group: a terminal's Ctrl-C reaches only us, and we decide what to forward.
    setpgid(0, 0);
    execv(argv[0], argv.data());
    std::perror(argv[0]);
    _exit(127);
  }
  setpgid(pid, pid);
  child_pid = pid;
  std::signal(SIGINT, ForwardStop);
  std::signal(SIGTERM, ForwardStop);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError("waitpid failed while the workers ran");
  }
  child_pid = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace hearth::cli
