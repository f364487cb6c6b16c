// The coordinator commands against a real hearthd of this build (skipped when it is not built):
// submit --follow, then what the other commands show of that job, a failing job, cancelling a
// followed job, and token authentication. One hearthd serves the suite; each job takes ~3 s.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "cli_remote/remote_test_util.h"
#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CommandResult;
using testing::Contains;
using testing::kQuickJob;
using testing::OneLineMentioning;
using testing::ParseJson;
using testing::ScopedEnv;
using testing::TempDir;
using testing::WriteFileOrFail;

class RemoteE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    hearthd_ = testing::Hearthd::Start().release();
    if (hearthd_ == nullptr) return;
    job_file_ = new std::string(hearthd_->file("quick.json"));
    WriteFileOrFail(*job_file_, kQuickJob);
    submitted_ = new CommandResult(Hearth({"submit", *job_file_, "--follow"}));
    const std::vector<std::string> lines = testing::SplitLines(submitted_->out);
    job_id_ = new std::string(lines.empty() ? "" : lines[0]);
  }
  static void TearDownTestSuite() {
    delete submitted_;
    delete job_id_;
    delete job_file_;
    delete hearthd_;
    hearthd_ = nullptr;
  }
  void SetUp() override {
    if (hearthd_ == nullptr)
      GTEST_SKIP() << "no hearthd in this build (" << testing::HearthdBinary() << ")";
  }

  // `hearth args... --coordinator <the suite's hearthd>`.
  static CommandResult Hearth(std::vector<std::string> args) {
    args.insert(args.end(), {"--coordinator", hearthd_->address()});
    return testing::RunHearth(args);
  }
  static std::optional<testing::Json> HearthJson(std::vector<std::string> args) {
    args.push_back("--json");
    const CommandResult r = Hearth(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
    return ParseJson(r.out);
  }
  // Waits until the job reaches `state` (or any end); the last state seen.
  static std::string WaitForState(const std::string& id, const std::string& state) {
    std::string seen;
    for (int i = 0; i < 300; ++i) {
      auto job = HearthJson({"status", id});
      seen = job ? (*job)["state"].string : "";
      if (seen == state || seen == "SUCCEEDED" || seen == "FAILED" || seen == "CANCELLED") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return seen;
  }

  ScopedEnv no_coordinator_{"HEARTH_COORDINATOR", std::nullopt};
  ScopedEnv no_token_{"HEARTH_TOKEN_FILE", std::nullopt};

  static testing::Hearthd* hearthd_;
  static std::string* job_file_;
  static CommandResult* submitted_;
  static std::string* job_id_;
};

testing::Hearthd* RemoteE2eTest::hearthd_ = nullptr;
std::string* RemoteE2eTest::job_file_ = nullptr;
CommandResult* RemoteE2eTest::submitted_ = nullptr;
std::string* RemoteE2eTest::job_id_ = nullptr;

TEST_F(RemoteE2eTest, SubmitFollowPrintsTheIdThenProgressAndResults) {
  const CommandResult& r = *submitted_;
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nhearthd:\n" << hearthd_->log();
  EXPECT_TRUE(std::regex_match(*job_id_, std::regex("j-[0-9]+"))) << r.out;
  EXPECT_TRUE(Contains(r.out, "trained 30 steps (3 epochs)"));
  EXPECT_TRUE(Contains(r.out, "test: loss="));
  EXPECT_TRUE(Contains(r.out, "checkpoint: " + *job_id_ + "/30"));
  // The progress display of local training, on stderr.
  EXPECT_TRUE(Contains(r.err, *job_id_ + " RUNNING"));
  for (const char* line : {"epoch 1/3 done in", "epoch 3/3 done in", "done: epoch 3/3 step 30"})
    EXPECT_TRUE(Contains(r.err, line));
  EXPECT_TRUE(Contains(r.err, "val_loss"));
}

TEST_F(RemoteE2eTest, SubmitWithoutFollowPrintsOnlyTheId) {
  const CommandResult r = Hearth({"submit", *job_file_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("j-[0-9]+\n"))) << r.out;
  EXPECT_EQ(r.err, "");
  const std::string id = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(WaitForState(id, "SUCCEEDED"), "SUCCEEDED");
  // Following a finished job replays it and ends the same way.
  const CommandResult followed = Hearth({"status", id, "--follow", "--json"});
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  auto job = ParseJson(followed.out);
  ASSERT_TRUE(job.has_value()) << followed.out;
  EXPECT_EQ((*job)["state"].string, "SUCCEEDED");
  EXPECT_EQ((*job)["result"]["steps"].string, "30");  // int64 is a string in protobuf's JSON
}

TEST_F(RemoteE2eTest, StatusAndListShowTheJob) {
  ASSERT_EQ(submitted_->exit_code, 0);
  auto job = HearthJson({"status", *job_id_});
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ((*job)["id"].string, *job_id_);
  EXPECT_EQ((*job)["state"].string, "SUCCEEDED");
  EXPECT_EQ((*job)["spec"]["name"].string, "quick");

  CommandResult r = Hearth({"status", *job_id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, *job_id_ + "  quick  SUCCEEDED"));
  EXPECT_TRUE(Contains(r.out, "checkpoint   " + *job_id_ + "/30"));

  auto list = HearthJson({"list", "--state", "succeeded"});
  ASSERT_TRUE(list.has_value());
  bool found = false;
  for (const auto& j : (*list)["jobs"].array) found = found || j["id"].string == *job_id_;
  EXPECT_TRUE(found);
  list = HearthJson({"list", "--state", "FAILED,CANCELLED"});
  ASSERT_TRUE(list.has_value());
  for (const auto& j : (*list)["jobs"].array) EXPECT_NE(j["id"].string, *job_id_);

  for (const std::vector<std::string>& args : {std::vector<std::string>{"list"}, {"status"}}) {
    r = Hearth(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, "ID ")) << args[0];
    EXPECT_TRUE(Contains(r.out, *job_id_)) << args[0];
  }
}

TEST_F(RemoteE2eTest, LogsShowEveryRankOrOne) {
  ASSERT_EQ(submitted_->exit_code, 0);
  CommandResult r = Hearth({"logs", *job_id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "[rank 0] "));
  r = Hearth({"logs", *job_id_, "--rank", "0", "--tail", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto line = ParseJson(r.out);
  ASSERT_TRUE(line.has_value()) << r.out;
  EXPECT_EQ((*line)["rank"].number, 0);
  EXPECT_EQ((*line)["text"].type, testing::Json::Type::kString);
}

TEST_F(RemoteE2eTest, CheckpointsAndVerifiedDownload) {
  ASSERT_EQ(submitted_->exit_code, 0);
  auto list = HearthJson({"checkpoints", *job_id_});
  ASSERT_TRUE(list.has_value());
  ASSERT_FALSE((*list)["checkpoints"].array.empty());
  const testing::Json& latest = (*list)["checkpoints"].array.back();
  EXPECT_EQ(latest["id"].string, *job_id_ + "/30");

  TempDir tmp;
  const std::string file = tmp.file("model.safetensors");
  auto written = HearthJson({"download", *job_id_, "-o", file});
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ((*written)["path"].string, file);
  EXPECT_EQ((*written)["sha256"].string, latest["sha256"].string);
  EXPECT_EQ(std::to_string(std::filesystem::file_size(file)), latest["size_bytes"].string);
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
  // It is an ordinary checkpoint.
  const CommandResult inspect = testing::RunHearth({"inspect", file});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;

  // Into a directory, under the checkpoint's name.
  const CommandResult r =
      Hearth({"download", *job_id_, "--checkpoint", latest["id"].string, "-o", tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(tmp.file(*job_id_ + "-30.safetensors"))) << r.out;

  const CommandResult missing = Hearth({"download", *job_id_, "--checkpoint", "x/1", "-o", file});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(OneLineMentioning(missing.err, "NOT_FOUND: "));
}

TEST_F(RemoteE2eTest, EvalAndPredictWithTheJob) {
  ASSERT_EQ(submitted_->exit_code, 0);
  const std::string data = "examples/data/linear_regression.csv";
  auto metrics = HearthJson({"eval", *job_id_, "--data", data});
  ASSERT_TRUE(metrics.has_value());
  EXPECT_GT((*metrics)["examples"].number, 0);
  EXPECT_EQ((*metrics)["metrics"]["mse"].type, testing::Json::Type::kNumber);
  // The Evaluate call returns the whole report; a job's is written only where --out says.
  const testing::Json& report = (*metrics)["report"];
  EXPECT_EQ(report["task"].string, "REGRESSION");
  EXPECT_EQ(report["metrics"].array.size(),
            7u);  // loss, mse, mae, r2 (the job's), rmse, mape, median
  EXPECT_GT(report["residuals"].array.size(), 0u);
  TempDir tmp;
  const CommandResult written = Hearth({"eval", *job_id_, "--data", data, "--out", tmp.path()});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_TRUE(absl::StrContains(written.out, "median_absolute_error")) << written.out;
  EXPECT_TRUE(std::filesystem::exists(tmp.path() + "/report.json"));
  EXPECT_TRUE(std::filesystem::exists(tmp.path() + "/residuals.svg"));

  const CommandResult r = Hearth({"predict", *job_id_, "--input", data});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = testing::SplitLines(r.out);
  ASSERT_GT(lines.size(), 1u);
  EXPECT_EQ(lines[0], "prediction");
  EXPECT_EQ(lines.size(), static_cast<size_t>((*metrics)["examples"].number) + 1);

  // Data outside hearthd's data roots is refused.
  const CommandResult outside = Hearth({"eval", *job_id_, "--data", "/etc/hostname"});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_TRUE(OneLineMentioning(outside.err, "PERMISSION_DENIED: "));
}

TEST_F(RemoteE2eTest, ErrorsFromTheCoordinatorAreOneLineWithTheCode) {
  CommandResult r = Hearth({"status", "j-999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(OneLineMentioning(r.err, "hearth status: NOT_FOUND: "));
  ASSERT_EQ(submitted_->exit_code, 0);
  r = Hearth({"cancel", *job_id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(OneLineMentioning(r.err, "hearth cancel: FAILED_PRECONDITION: "));
}

TEST_F(RemoteE2eTest, FailedJobExitsOneWithTheFailingRankAndItsLog) {
  std::string json = kQuickJob;
  json.replace(json.find(R"("lr": 0.05)"), 10, R"("lr": 1e9)");
  const std::string job = hearthd_->file("nan.json");
  WriteFileOrFail(job, json);
  const CommandResult r = Hearth({"submit", job, "--follow"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::vector<std::string> lines = testing::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_TRUE(Contains(r.err, "hearth submit: " + lines[0] + " failed: rank 0: "));
  EXPECT_TRUE(Contains(r.err, "NaN"));
  EXPECT_TRUE(Contains(r.err, "hearth logs " + lines[0] + " --rank 0"));
}

TEST_F(RemoteE2eTest, CancellingAFollowedJobEndsTheFollowerWithExitOne) {
  std::string json = kQuickJob;
  json.replace(json.find(R"("epochs": 3)"), 11, R"("epochs": 100000)");
  const std::string job = hearthd_->file("long.json");
  WriteFileOrFail(job, json);
  const CommandResult submitted = Hearth({"submit", job});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string id = submitted.out.substr(0, submitted.out.size() - 1);
  testing::ChildProcess follower(
      {testing::HearthBinary(), "status", id, "--follow", "--coordinator", hearthd_->address()},
      hearthd_->file("follow.out"), hearthd_->file("follow.err"));
  EXPECT_EQ(WaitForState(id, "RUNNING"), "RUNNING");
  const CommandResult cancelled = Hearth({"cancel", id});
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(WaitForState(id, "CANCELLED"), "CANCELLED");
  for (int i = 0; i < 200 && !follower.Poll(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(follower.running()) << "the follower did not end with the job";
  EXPECT_EQ(follower.Wait(), 1);
  EXPECT_TRUE(Contains(testing::ReadFileOrEmpty(hearthd_->file("follow.err")),
                       "hearth status: " + id + " was cancelled"));
}

TEST_F(RemoteE2eTest, SweepFollowShowsTheTrialsAndTheBest) {
  const std::string sweep = hearthd_->file("sweep.json");
  WriteFileOrFail(sweep, std::string(R"({"name": "lr", "base": )") + kQuickJob + R"(,
      "parameters": [{"path": "optimizer.lr", "values": [0.01, 0.05]}],
      "method": "GRID", "metric": "val_loss"})");
  const CommandResult r = Hearth({"sweep", sweep, "--follow"});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nhearthd:\n" << hearthd_->log();
  const std::vector<std::string> lines = testing::SplitLines(r.out);
  ASSERT_FALSE(lines.empty());
  const std::string id = lines[0];
  EXPECT_TRUE(std::regex_match(id, std::regex("s-[0-9]+"))) << r.out;
  EXPECT_TRUE(Contains(r.out, id + "  lr  SUCCEEDED  grid search, 2 trials, minimize val_loss"));
  EXPECT_TRUE(Contains(r.out, "best: trial "));
  EXPECT_TRUE(Contains(r.err, "optimizer.lr=0.05): SUCCEEDED (val_loss "));

  auto status = HearthJson({"status", id});
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ((*status)["state"].string, "SUCCEEDED");
  ASSERT_EQ((*status)["trials"].array.size(), 2u);
  const int best = static_cast<int>((*status)["best_trial"].number);
  ASSERT_GE(best, 0);
  // A trial is an ordinary job that knows its sweep.
  auto trial = HearthJson({"status", (*status)["trials"].array[best]["job_id"].string});
  ASSERT_TRUE(trial.has_value());
  EXPECT_EQ((*trial)["sweep_id"].string, id);
}

TEST(RemoteAuthTest, TokenIsRequiredAndSentFromFlagOrEnvironment) {
  ScopedEnv no_coordinator("HEARTH_COORDINATOR", std::nullopt);
  ScopedEnv no_token("HEARTH_TOKEN_FILE", std::nullopt);
  TempDir tmp;
  const std::string token = tmp.file("token");
  WriteFileOrFail(token, "0123456789abcdef0123456789abcdef\n");
  auto hearthd = testing::Hearthd::Start({"--token-file", token});
  if (hearthd == nullptr) GTEST_SKIP() << "no hearthd in this build";
  const std::string address = hearthd->address();

  CommandResult r = testing::RunHearth({"list", "--coordinator", address});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(OneLineMentioning(r.err, "hearth list: UNAUTHENTICATED: "));
  EXPECT_TRUE(Contains(r.err, "--token-file"));

  r = testing::RunHearth({"list", "--coordinator", address, "--token-file", token});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  {
    ScopedEnv env("HEARTH_TOKEN_FILE", token);
    r = testing::RunHearth({"list", "--coordinator", address});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string wrong = tmp.file("wrong");
  WriteFileOrFail(wrong, "fedcba9876543210fedcba9876543210");
  r = testing::RunHearth({"list", "--coordinator", address, "--token-file", wrong});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(OneLineMentioning(r.err, "hearth list: UNAUTHENTICATED: "));
}

TEST(RemoteTlsTest, CaFileFromFlagOrEnvironmentConnectsOverTls) {
  ScopedEnv no_coordinator("HEARTH_COORDINATOR", std::nullopt);
  ScopedEnv no_ca("HEARTH_CA_FILE", std::nullopt);
  if (!std::filesystem::exists("/usr/bin/openssl")) GTEST_SKIP() << "no openssl to make a cert";
  TempDir tmp;
  const std::string cert = tmp.file("cert.pem"), key = tmp.file("key.pem");
  const CommandResult made =
      testing::RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                           "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto hearthd = testing::Hearthd::Start({"--tls-cert", cert, "--tls-key", key});
  if (hearthd == nullptr) GTEST_SKIP() << "no hearthd in this build";
  const std::string address = hearthd->address();

  CommandResult r = testing::RunHearth({"list", "--coordinator", address, "--ca", cert});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  {
    ScopedEnv env("HEARTH_CA_FILE", cert);
    r = testing::RunHearth({"list", "--coordinator", address});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  // Plaintext to a TLS server: unavailable, with the hint to pass --ca.
  r = testing::RunHearth({"list", "--coordinator", address});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(OneLineMentioning(r.err, "hearth list: UNAVAILABLE: "));
  EXPECT_TRUE(Contains(r.err, "--ca FILE"));
}

}  // namespace
}  // namespace hearth
