// A real hearthd for end-to-end tests: started on a free loopback port with its own data dir,
// stopped (or SIGKILLed) by the test, and the `hearth` client pointed at it.
#pragma once

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "parallel/parallel_test_util.h"

namespace hearth::testing {

inline std::string HearthdBinary() {
  const std::string hearth = HearthBinary();
  return hearth.substr(0, hearth.rfind('/')) + "/hearthd";
}

// Waits until `path` exists (a fault point's pause marker): the handshake, not a guess of time.
// Fails the test after a very generous bound, so a broken fault cannot hang the suite.
inline void WaitForFile(const std::string& path,
                        std::chrono::seconds bound = std::chrono::seconds(120)) {
  const auto start = std::chrono::steady_clock::now();
  while (::access(path.c_str(), F_OK) != 0) {
    if (std::chrono::steady_clock::now() - start > bound) {
      ADD_FAILURE() << "never appeared: " << path;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

class Hearthd {
 public:
  // Starts hearthd with `data_dir`, data root `data_root` and `flags`; waits until it listens.
  Hearthd(const std::string& data_dir, const std::string& data_root,
          std::vector<std::string> flags = {}, const std::string& log = "")
      : log_(log.empty() ? data_dir + ".log" : log) {
    AllowMpiAsRoot();
    std::vector<std::string> argv = {HearthdBinary(), "--listen", "127.0.0.1:0",
                                     "--data-dir",    data_dir,   "--data-root",
                                     data_root,       "--slots",  "3"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<ChildProcess>(argv, log_ + ".out", log_);
    static const std::regex kListening(R"(listening on (127\.0\.0\.1:\d+))");
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
      std::smatch m;
      const std::string text = ReadFileOrEmpty(log_);
      if (std::regex_search(text, m, kListening)) {
        address_ = m[1];
        return;
      }
      if (process_->Poll()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "hearthd did not start:\n" << ReadFileOrEmpty(log_);
  }
  ~Hearthd() { Stop(); }

  const std::string& address() const { return address_; }
  std::string log() const { return ReadFileOrEmpty(log_); }
  void Stop() {
    if (process_ && process_->running()) {
      process_->Signal(SIGTERM);
      process_->Wait();
    }
  }
  // Waits for hearthd to exit by itself (a crash fault point) and returns its exit code.
  int WaitForExit() { return process_ ? process_->Wait() : -1; }
  void Kill() {
    if (process_ && process_->running()) {
      process_->Signal(SIGKILL);
      process_->Wait();
    }
  }

  // `hearth args... --coordinator ADDR`.
  CommandResult Hearth(std::vector<std::string> args) const {
    args.insert(args.end(), {"--coordinator", address_});
    return RunHearth(args);
  }

 private:
  std::string log_;
  std::string address_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace hearth::testing
