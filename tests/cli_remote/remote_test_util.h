// Helpers for the tests of the `hearth` commands that talk to the coordinator: a loopback port
// nothing listens on, environment variables set for one test, and a hearthd of this build started
// on a free port with its own data directory.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/temp_dir.h"
#include "job/job_test_util.h"
#include "run/cli_runner.h"

namespace hearth::testing {

// A loopback TCP port that was free a moment ago (bound to port 0, then closed).
inline int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

inline bool PortAccepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// Sets (or, with nullopt, unsets) an environment variable until the end of the scope; the hearth
// processes a test starts inherit it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// build/bin/hearthd, beside the hearth binary.
inline std::string HearthdBinary() {
  const std::string hearth = HearthBinary();
  return hearth.substr(0, hearth.rfind('/')) + "/hearthd";
}

// A hearthd of this build on a free loopback port, with a temporary data directory and the source
// tree as its data root. Stopped (SIGTERM, then SIGKILL) on destruction.
class Hearthd {
 public:
  // nullptr when the binary is missing or it did not start listening within 20 s.
  static std::unique_ptr<Hearthd> Start(const std::vector<std::string>& extra_flags = {}) {
    if (!std::filesystem::exists(HearthdBinary())) return nullptr;
    std::unique_ptr<Hearthd> d(new Hearthd());
    for (int attempt = 0; attempt < 3; ++attempt) {
      d->port_ = FreePort();
      std::vector<std::string> argv = {HearthdBinary(),
                                       "--listen",
                                       d->address(),
                                       "--data-dir",
                                       d->dir_.file("data"),
                                       "--data-root",
                                       std::filesystem::absolute(SourceDir()).string(),
                                       "--slots",
                                       "2"};
      argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
      d->process_ = std::make_unique<ChildProcess>(argv, d->dir_.file("hearthd.out"),
                                                   d->dir_.file("hearthd.err"));
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < give_up && !d->process_->Poll()) {
        if (PortAccepts(d->port_)) return d;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      d->process_.reset();  // exited (the port was taken meanwhile?) or hung: try another port
    }
    return nullptr;
  }

  ~Hearthd() {
    if (process_ == nullptr) return;
    process_->Signal(SIGTERM);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up && !process_->Poll())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }  // ChildProcess's destructor kills it if it is still running

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string file(const std::string& name) const { return dir_.file(name); }
  // What hearthd printed, for failure messages.
  std::string log() const {
    std::string text;
    for (const char* name : {"hearthd.out", "hearthd.err"}) {
      std::FILE* f = std::fopen(dir_.file(name).c_str(), "r");
      if (f == nullptr) continue;
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
      std::fclose(f);
    }
    return text;
  }

 private:
  Hearthd() = default;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace hearth::testing
