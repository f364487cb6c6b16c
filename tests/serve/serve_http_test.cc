// `hearth serve` over real sockets: curl and a Python urllib client (tests/serve/urllib_client.py)
// against the binary; batching under concurrency, held by the serve_batch fault point so the
// requests that arrive meanwhile are queued for certain; hot reload under load with zero failed
// requests; the connection limit; SIGTERM draining.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "run/cli_runner.h"
#include "serve/serve_test_util.h"

namespace hearth::serve {
namespace {

namespace fs = std::filesystem;
using hearth::testing::ChildProcess;
using hearth::testing::CommandResult;
using hearth::testing::HearthBinary;
using hearth::testing::RunCommand;

constexpr char kToken[] = "serve-test-token-0123456789";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Waits (up to a generous bound that only a broken server reaches) for `path` to hold `text`.
bool WaitForText(const std::string& path, const std::string& text) {
  for (int i = 0; i < 1200; ++i) {
    if (absl::StrContains(ReadAll(path), text)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool WaitForFile(const std::string& path) {
  for (int i = 0; i < 1200; ++i) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class ServeHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::FreshDir("http"));
    checkpoint_ = new std::string(testing::TrainExample("logistic_regression", *dir_));
    std::ofstream(*dir_ + "/token") << kToken << "\n";
  }
  static void TearDownTestSuite() { fs::remove_all(*dir_); }

  // Starts `hearth serve ARGS --listen 127.0.0.1:0 --token-file ...`; returns its base URL.
  std::string Start(std::vector<std::string> args, const std::string& tag = "server") {
    std::vector<std::string> argv = {HearthBinary(), "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* a : {"--listen", "127.0.0.1:0", "--token-file"}) argv.push_back(a);
    argv.push_back(*dir_ + "/token");
    err_ = *dir_ + "/" + tag + ".err";
    server_ = std::make_unique<ChildProcess>(argv, *dir_ + "/" + tag + ".out", err_);
    EXPECT_TRUE(WaitForText(err_, "(port ")) << ReadAll(err_);
    const std::string log = ReadAll(err_);
    std::smatch m;
    static const std::regex port_re("\\(port ([0-9]+)\\)");
    EXPECT_TRUE(std::regex_search(log, m, port_re)) << log;
    return "http://127.0.0.1:" + m[1].str();
  }

  CommandResult Curl(const std::string& url, const std::string& body = "", bool token = true) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-w", "\n%{http_code}"};
    if (token) {
      argv.push_back("-H");
      argv.push_back(std::string("Authorization: Bearer ") + kToken);
    }
    if (!body.empty()) {
      const std::string file = *dir_ + "/body.json";
      std::ofstream(file) << body;
      for (const std::string& a : {std::string("-H"), std::string("Content-Type: application/json"),
                                   std::string("--data-binary"), "@" + file})
        argv.push_back(a);
    }
    argv.push_back(url);
    return RunCommand(argv);
  }
  // The status code curl printed last.
  static int StatusOf(const CommandResult& r) {
    int code = 0;
    const size_t nl = r.out.rfind('\n');
    if (nl == std::string::npos || !absl::SimpleAtoi(r.out.substr(nl + 1), &code)) return -1;
    return code;
  }

  static std::string* dir_;
  static std::string* checkpoint_;
  std::unique_ptr<ChildProcess> server_;
  std::string err_;
};
std::string* ServeHttpTest::dir_;
std::string* ServeHttpTest::checkpoint_;

TEST_F(ServeHttpTest, CurlGetsPredictionsAndTheAccessLogRecordsThem) {
  const std::string base = Start({"logit=" + *checkpoint_, "--poll-seconds", "0"});
  CommandResult r = Curl(base + "/v2/models/logit/infer",
                         R"({"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32",
                             "data":[1.19,0.56]}]})");
  EXPECT_EQ(StatusOf(r), 200) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"probabilities\"")) << r.out;
  // A body over 1 KiB makes curl send `Expect: 100-continue` first.
  std::string rows;
  for (int i = 0; i < 200; ++i) rows += std::string(i ? "," : "") + "[0.5, -0.25]";
  r = Curl(base + "/v1/models/logit:predict", "{\"instances\": [" + rows + "]}");
  EXPECT_EQ(StatusOf(r), 200) << r.out;
  r = Curl(base + "/v1/models/logit:predict", R"({"instances": [[0.5, -0.25]]})", false);
  EXPECT_EQ(StatusOf(r), 401) << r.out;
  r = Curl(base + "/v2/health/ready", "", false);
  EXPECT_EQ(StatusOf(r), 200) << r.out;
  EXPECT_TRUE(WaitForText(err_, "\"POST /v2/models/logit/infer\" 200")) << ReadAll(err_);
}

TEST_F(ServeHttpTest, APythonUrllibClientSeesTheDocumentedBehaviour) {
  const std::string base =
      Start({"logit=" + *checkpoint_, "--poll-seconds", "0", "--max-body-kb", "256"});
  const CommandResult r = RunCommand(
      {"/usr/bin/python3", "tests/serve/urllib_client.py", "check", base, "logit", kToken});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(ServeHttpTest, ConcurrentRequestsAreMergedIntoBatches) {
  const std::string faults = *dir_ + "/faults";
  fs::remove_all(faults);
  fs::create_directories(faults);
  // The first batch waits in the batcher until released, so the next requests queue behind it.
  ::setenv("HEARTH_FAULTS", "serve_batch:mode=pause,times=1", 1);
  ::setenv("HEARTH_FAULT_DIR", faults.c_str(), 1);
  // Two I/O threads: the held batch runs inline on one, the other takes the next requests.
  const std::string base =
      Start({"logit=" + *checkpoint_, "--poll-seconds", "0", "--io-threads", "2"});
  ::unsetenv("HEARTH_FAULTS");
  ::unsetenv("HEARTH_FAULT_DIR");
  const std::string body = *dir_ + "/one.json";
  std::ofstream(body) << R"({"instances": [[0.5, -0.25]]})";
  auto client = [&](int i) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/curl", "-sS", "-f", "-H",
                                 std::string("Authorization: Bearer ") + kToken, "--data-binary",
                                 "@" + body, base + "/v1/models/logit:predict"},
        *dir_ + "/c" + std::to_string(i) + ".out", *dir_ + "/c" + std::to_string(i) + ".err");
  };
  std::vector<std::unique_ptr<ChildProcess>> clients;
  clients.push_back(client(0));
  ASSERT_TRUE(WaitForFile(faults + "/serve_batch.paused")) << ReadAll(err_);
  for (int i = 1; i <= 5; ++i) clients.push_back(client(i));
  // All five are queued once the gauge says so.
  bool queued = false;
  for (int i = 0; i < 1200 && !queued; ++i) {
    queued = absl::StrContains(Curl(base + "/metrics").out,
                               "hearth_serve_queued_rows{model=\"logit\"} 5");
    if (!queued) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(queued) << Curl(base + "/metrics").out;
  std::ofstream(faults + "/serve_batch.release") << "";
  for (auto& c : clients) EXPECT_EQ(c->Wait(), 0);
  const std::string metrics = Curl(base + "/metrics").out;
  // Two forward passes: the held one of 1 row, then one of the 5 that waited.
  EXPECT_TRUE(absl::StrContains(metrics, "hearth_serve_batch_rows_count{model=\"logit\"} 2"))
      << metrics;
  EXPECT_TRUE(
      absl::StrContains(metrics, "hearth_serve_batch_rows_bucket{model=\"logit\",le=\"4\"} 1"))
      << metrics;
  EXPECT_TRUE(
      absl::StrContains(metrics, "hearth_serve_batch_rows_bucket{model=\"logit\",le=\"8\"} 2"))
      << metrics;
}

TEST_F(ServeHttpTest, VersionsSwitchUnderLoadWithoutAFailedRequest) {
  const std::string repo = *dir_ + "/repo";
  fs::remove_all(repo);
  auto add_version = [&](int v) {
    const fs::path d = fs::path(repo) / "clf" / std::to_string(v);
    fs::create_directories(d);
    // Copied under another name, then renamed in: a version appears whole, as a deploy should.
    fs::copy_file(*checkpoint_, d / "model.tmp");
    fs::rename(d / "model.tmp", d / "model.safetensors");
  };
  add_version(1);
  const std::string base = Start({repo, "--poll-seconds", "0", "--quiet"});
  const std::string stop = *dir_ + "/stop-load";
  fs::remove(stop);
  ChildProcess load(
      {"/usr/bin/python3", "tests/serve/urllib_client.py", "load", base, "clf", kToken, stop},
      *dir_ + "/load.out", *dir_ + "/load.err");
  for (int v = 2; v <= 4; ++v) {
    add_version(v);
    const CommandResult r = Curl(base + "/v2/repository/reload", "{}");
    EXPECT_EQ(StatusOf(r), 200) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "\"version\":\"" + std::to_string(v) + "\"")) << r.out;
  }
  // A corrupt version 5 is refused; version 4 keeps serving.
  fs::create_directories(repo + "/clf/5");
  std::ofstream(repo + "/clf/5/model.safetensors") << "truncated";
  EXPECT_EQ(StatusOf(Curl(base + "/v2/repository/reload", "{}")), 200);
  const CommandResult after = Curl(base + "/v2/models/clf/infer",
                                   R"({"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32",
                                       "data":[1,2]}]})");
  EXPECT_TRUE(absl::StrContains(after.out, "\"model_version\":\"4\"")) << after.out;
  EXPECT_TRUE(WaitForText(err_, "refused")) << ReadAll(err_);
  std::ofstream(stop) << "";
  EXPECT_EQ(load.Wait(), 0) << ReadAll(*dir_ + "/load.out") << ReadAll(*dir_ + "/load.err");
  EXPECT_TRUE(absl::StrContains(ReadAll(*dir_ + "/load.out"), "failures=0"))
      << ReadAll(*dir_ + "/load.out");
}

TEST_F(ServeHttpTest, PastTheConnectionLimitAClientGets503) {
  const std::string base =
      Start({"logit=" + *checkpoint_, "--poll-seconds", "0", "--max-connections", "1"});
  // A keep-alive connection held open by a client that sent nothing yet.
  ChildProcess holder({"/usr/bin/python3", "-c",
                       "import socket,sys,time\n"
                       "s=socket.create_connection(('127.0.0.1'," +
                           base.substr(base.rfind(':') + 1) +
                           "))\nprint('open',flush=True)\nsys.stdin.read()\ntime.sleep(3600)"},
                      *dir_ + "/holder.out", *dir_ + "/holder.err");
  ASSERT_TRUE(WaitForText(*dir_ + "/holder.out", "open"));
  CommandResult r;
  // Until the server has accepted the holder's connection (a state, bounded only for a broken
  // server, as WaitForText).
  for (int i = 0; i < 1200; ++i) {
    r = Curl(base + "/v2/models/logit", "", true);
    if (StatusOf(r) == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(StatusOf(r), 503) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "--max-connections")) << r.out;
}

TEST_F(ServeHttpTest, SigtermDrainsAndExitsCleanly) {
  const std::string base = Start({"logit=" + *checkpoint_, "--poll-seconds", "0"});
  EXPECT_EQ(StatusOf(Curl(base + "/v2/health/ready", "", false)), 200);
  ASSERT_TRUE(server_->Signal(SIGTERM));
  EXPECT_EQ(server_->Wait(), 0) << ReadAll(err_);
  EXPECT_TRUE(absl::StrContains(ReadAll(err_), "draining")) << ReadAll(err_);
}

TEST_F(ServeHttpTest, RefusesToListenBeyondLoopbackWithoutTokenAndTls) {
  const CommandResult r =
      RunCommand({HearthBinary(), "serve", *checkpoint_, "--listen", "0.0.0.0:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "refusing to listen on 0.0.0.0:0 without a token")) << r.err;
  const CommandResult bad = RunCommand({HearthBinary(), "serve", *dir_ + "/missing.safetensors"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(bad.err, "no such file")) << bad.err;
}

// README.md documents `hearth serve`: its usage line and one table row per flag of --help.
TEST(ServeHelpTest, ReadmeListsEveryFlagOfHelp) {
  std::ifstream in(
      std::string(std::getenv("HEARTH_SOURCE_DIR") ? std::getenv("HEARTH_SOURCE_DIR") : ".") +
      "/README.md");
  const std::string readme((std::istreambuf_iterator<char>(in)), {});
  ASSERT_FALSE(readme.empty());
  const CommandResult r = RunCommand({HearthBinary(), "serve", "--help"});
  ASSERT_EQ(r.exit_code, 0);
  const std::regex flag_line(R"(^  (--\S+(?: \S+)?)\s{2,}(.*)$)");
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_TRUE(
      absl::StrContains(readme, "\n`" + line.substr(std::string("usage: ").size()) + "` — "))
      << line;
  int flags = 0;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, flag_line)) continue;
    ++flags;
    EXPECT_TRUE(absl::StrContains(readme, "\n| `" + m[1].str() + "` | " + m[2].str() + " |\n"))
        << line;
  }
  EXPECT_GE(flags, 15);
}

}  // namespace
}  // namespace hearth::serve
