// The fixture of the coordinator's end-to-end tests: a hearthd of the test's own, the small
// classifier job, status polling through the `hearth` client, finding a job's worker processes,
// and gRPC stubs for calls the client does not make (WorkerService, raw requests).
#pragma once

#include <dirent.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "coordinator_e2e/hearthd_process.h"
#include "dist/scoped_env.h"
#include "hearth/v1/coordinator.grpc.pb.h"

namespace hearth::testing {

using Clock = std::chrono::steady_clock;

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    csv_ = dir_.file("three_class.csv");
    WriteFileOrFail(csv_, ThreeClassCsv());
  }
  std::string Job(const std::string& name, int epochs, const std::string& extra = "") {
    const std::string path = dir_.file(name + ".json");
    WriteFileOrFail(path, MlpJob(csv_, epochs, extra));
    return path;
  }
  std::unique_ptr<Hearthd> Start(std::vector<std::string> flags = {}) {
    return std::make_unique<Hearthd>(dir_.file("data"), dir_.path(), flags,
                                     dir_.file("hearthd.log"));
  }
  // `hearth status JOB --json`, parsed.
  Json Status(const Hearthd& d, const std::string& job) {
    CommandResult r = d.Hearth({"status", job, "--json"});
    std::optional<Json> parsed = ParseJson(r.out);
    EXPECT_TRUE(parsed.has_value()) << r.out << r.err;
    return parsed.value_or(Json());
  }
  // Polls until `done(status)` or `seconds` pass; returns the last status.
  template <typename Pred>
  Json WaitFor(const Hearthd& d, const std::string& job, Pred done, double seconds = 60) {
    const auto start = Clock::now();
    Json s;
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      s = Status(d, job);
      if (done(s)) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "timed out waiting for " << job << "; last state " << s["state"].string;
    return s;
  }
  std::string Submit(const Hearthd& d, const std::string& job, int workers) {
    CommandResult r = d.Hearth({"submit", job, "--workers", std::to_string(workers), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::optional<Json> parsed = ParseJson(r.out);
    return parsed ? (*parsed)["id"].string : "";
  }
  int CheckpointCount(const Hearthd& d, const std::string& job) {
    CommandResult r = d.Hearth({"checkpoints", job, "--json"});
    std::optional<Json> parsed = ParseJson(r.out);
    if (!parsed) return 0;
    const Json& list = parsed->is_object() ? (*parsed)["checkpoints"] : *parsed;
    return static_cast<int>(list.array.size());
  }

  TempDir dir_;
  std::string csv_;
};

// Proto JSON writes 64-bit integers as strings.
inline double NumberOf(const Json& value) {
  return value.type == Json::Type::kString ? std::stod(value.string) : value.number;
}

inline bool Ended(const Json& s) {
  return s["state"].string == "SUCCEEDED" || s["state"].string == "FAILED" ||
         s["state"].string == "CANCELLED";
}

// The pid of rank `rank` of job `job` of the hearthd keeping `data_dir`: a `hearth worker` process
// writing under DATA_DIR/jobs/JOB/ whose environment has OMPI_COMM_WORLD_RANK=rank. (Job ids
// repeat across the hearthds of tests running at the same time; their data directories do not.)
inline pid_t WorkerPid(const std::string& data_dir, const std::string& job, int rank) {
  DIR* proc = ::opendir("/proc");
  pid_t found = -1;
  while (dirent* entry = proc ? ::readdir(proc) : nullptr) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    const std::string root = "/proc/" + std::to_string(pid);
    std::string cmdline = ReadFileOrEmpty(root + "/cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(" worker ") == std::string::npos ||
        cmdline.find("--job " + job + " ") == std::string::npos ||
        cmdline.find(" " + data_dir + "/jobs/" + job + "/") == std::string::npos)
      continue;
    const std::string environ = ReadFileOrEmpty(root + "/environ");
    if (environ.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      found = pid;
  }
  if (proc) ::closedir(proc);
  return found;
}

// A gRPC channel to hearthd, and a context carrying `credential` as a bearer token ("" for none).
inline std::shared_ptr<grpc::Channel> Channel(const Hearthd& d) {
  return grpc::CreateChannel(d.address(), grpc::InsecureChannelCredentials());
}
inline std::unique_ptr<grpc::ClientContext> Context(const std::string& credential = "") {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!credential.empty()) context->AddMetadata("authorization", "Bearer " + credential);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return context;
}

// The secret in a running worker's environment (what hearthd gave its attempt).
inline std::string WorkerSecretOf(pid_t pid) {
  const std::string environ = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/environ");
  const std::string key = std::string("HEARTH_WORKER_SECRET") + "=";
  const size_t at = environ.find(key);
  if (at == std::string::npos) return "";
  return environ.substr(at + key.size(), environ.find('\0', at) - at - key.size());
}

}  // namespace hearth::testing
