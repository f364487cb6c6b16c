#include "coordinator/job_session.h"

#include <dirent.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace hearth::coordinator {
namespace {

struct ProcStat {
  char state = '?';
  pid_t session = -1;
};

// /proc/PID/stat: "pid (comm) state ppid pgrp session ...". comm may hold spaces and
// parentheses, so the fields are read after the last ')'.
bool ReadProcStat(pid_t pid, ProcStat& out) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(file, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 1));
  pid_t ppid = 0, pgrp = 0;
  return static_cast<bool>(fields >> out.state >> ppid >> pgrp >> out.session);
}

}  // namespace

std::vector<pid_t> SessionMembers(pid_t session) {
  std::vector<pid_t> members;
  if (session <= 1) return members;  // never the whole machine
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return members;
  while (dirent* entry = ::readdir(proc)) {
    int pid = 0;
    ProcStat stat;
    if (absl::SimpleAtoi(entry->d_name, &pid) && pid > 0 && ReadProcStat(pid, stat) &&
        stat.session == session && stat.state != 'Z' && stat.state != 'X')
      members.push_back(pid);
  }
  ::closedir(proc);
  return members;
}

int SignalSession(pid_t session, int signal) {
  int signalled = 0;
  for (pid_t pid : SessionMembers(session))
    if (::kill(pid, signal) == 0) ++signalled;
  return signalled;
}

bool AwaitSessionEnd(pid_t session, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!SessionMembers(session).empty()) {
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

std::string BootId() {
  std::ifstream file("/proc/sys/kernel/random/boot_id");
  std::string id;
  file >> id;
  return id;
}

void EndSession(pid_t session, absl::Duration grace) {
  if (AwaitSessionEnd(session, grace)) return;
  // Killed processes can still show for a moment; a second pass catches any the first raced.
  for (int pass = 0; pass < 2 && SignalSession(session, SIGKILL) > 0; ++pass)
    AwaitSessionEnd(session, absl::Seconds(2));
}

}  // namespace hearth::coordinator
